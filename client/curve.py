"""CURVE keys for remote daemons: where they live, how to make a pair (`ptyd keygen`)."""

from ._curve import CurveKeys, generate, keys_dir

__all__ = ["CurveKeys", "generate", "keys_dir"]
