"""One release number: proto/release.py, pyproject.toml and `ptyd.__version__` agree."""

from __future__ import annotations

import tomllib
from pathlib import Path

import ptyd
from ptyd.proto.release import VERSION


def test_the_release_is_written_once() -> None:
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == VERSION == ptyd.__version__
