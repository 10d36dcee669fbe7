"""`ptyd send` remembers its input for `ptyd wait` in the runtime directory, never in a shared
temporary directory where another user could plant a link for it to write through."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import DaemonProcess, agent, wait_until


def test_send_records_its_turn_in_the_runtime_directory_only(daemon: DaemonProcess,
                                                             tmp_path: Path) -> None:
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    # What the old code wrote to: <tmp>/ptyd-cli-UID/sent-*.json; plant the directory as a link.
    (shared / f"ptyd-cli-{os.getuid()}").symlink_to(tmp_path)
    daemon.cli("new", "-s", "p", "--", *agent("prompt"))
    wait_until(lambda: "ready>" in daemon.cli("logs", "p").stdout)
    env = {**os.environ, "TMPDIR": str(shared)}
    env.pop("XDG_RUNTIME_DIR", None)
    sent = daemon.cli("send", "p", "hello", "-k", "Enter", env=env)
    assert sent.returncode == 0, sent.stderr
    records = list((daemon.dir / "cli").glob("sent-*.json"))
    assert len(records) == 1 and records[0].stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob("sent-*")) and victim.read_text() == "precious\n"
    waited = daemon.cli("wait", "p", "--until", "idle", "--timeout", "30", env=env)
    assert waited.returncode == 0 and waited.stdout.strip() == "idle", waited
