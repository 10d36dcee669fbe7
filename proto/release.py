"""The ptyd release, known to the daemon (`hello.version`) and to clients alike; it lives in
proto, the one package both sides share, so the daemon never imports the command's package.
pyproject.toml's `version` must be the same (tests/proto/test_release.py)."""

VERSION = "0.1.0"
