"""persist.py's error paths: a state file that cannot be used says why; a notify socket that is
gone makes the fd store report failure instead of raising."""

from __future__ import annotations

import os
from pathlib import Path

import msgpack
import pytest

from ptyd.daemon import handover, persist


def _write(directory: Path, data: bytes) -> None:
    path = directory / persist.STATE_FILE
    path.write_bytes(data)
    path.chmod(0o600)


def test_a_missing_state_file_says_so(tmp_path: Path) -> None:
    state, why = persist.read_state(tmp_path)
    assert state is None and "does not exist" in why


def test_a_corrupt_state_file_says_what_is_wrong(tmp_path: Path) -> None:
    _write(tmp_path, b"\xc1 not msgpack")
    state, why = persist.read_state(tmp_path)
    assert state is None and why.startswith("cannot read")


def test_a_state_file_of_another_format_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, msgpack.packb({"format": handover.FORMAT + 1, "sessions": []}))
    state, why = persist.read_state(tmp_path)
    assert state is None and f"format {handover.FORMAT}" in why


def test_a_good_state_file_is_read(tmp_path: Path) -> None:
    _write(tmp_path, msgpack.packb({"format": handover.FORMAT, "sessions": []}))
    state, why = persist.read_state(tmp_path)
    assert state == {"format": handover.FORMAT, "sessions": []} and why == ""


def test_the_fd_store_reports_a_vanished_service_manager(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    r, w = os.pipe()
    try:
        assert persist.store_fd("a1", r) is False
        assert persist.forget_fd("a1") is False
    finally:
        os.close(r)
        os.close(w)


def test_without_a_notify_socket_nothing_is_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert persist.fd_store_available() is False
    assert persist.forget_fd("a1") is False
