"""LeanClient: the `ptyd` command's client, quick to start for one-request commands."""

from ._lean import LeanClient

__all__ = ["LeanClient"]
