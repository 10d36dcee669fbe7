"""The trust boundary of a client: it talks to a daemon only through a runtime directory (and
sockets) of its own user, private, never a symlink, and it checks before it sends anything.

The stranger is a real second user (created here; root only) whose "daemon" is a listener that
records every byte it receives, in the default directory <tmp>/ptyd-<our uid> it took first.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptyd.attach import AttachOptions, attach
from ptyd.client import AsyncClient, Client, UnsafeRuntimeDir
from ptyd.runtime.process import TerminalManager
from tests.conftest import AGENTS, PYTHON, run_cli, short_tempdir, wait_until

STRANGER = f"ptyd-stranger-{os.getpid()}"
"""Of this run only: another test run on the machine (whose fixture deletes its user at the
end) must not delete ours while we use it."""
pytestmark = pytest.mark.xdist_group("second-user")
"""One worker runs this module (pytest-xdist): the module-scoped user must not be created
and deleted by two workers at once."""
SYSTEM_PYTHON = "/usr/bin/python3"  # our venv may not be readable by another user


@pytest.fixture(scope="module")
def stranger() -> Iterator[pwd.struct_passwd]:
    if os.getuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser") \
            or not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip("needs root, useradd, runuser and /usr/bin/python3 for a second user")
    created = False
    try:
        pwd.getpwnam(STRANGER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", STRANGER], check=True, capture_output=True)
        created = True
    yield pwd.getpwnam(STRANGER)
    if created:
        subprocess.run(["userdel", STRANGER], check=False, capture_output=True)


def as_stranger(*argv: str) -> list[str]:
    return ["runuser", "-u", STRANGER, "--", *argv]


@pytest.fixture
def trap(stranger: pwd.struct_passwd) -> Iterator[tuple[Path, Path]]:
    """(tmp, dir): the stranger listens in dir = tmp/ptyd-<our uid>, a 0700 directory of theirs."""
    base = short_tempdir()
    os.chown(base, stranger.pw_uid, stranger.pw_gid)
    directory = base / f"ptyd-{os.getuid()}"
    mkdir = f"import os; os.mkdir({str(directory)!r}, 0o700)"
    subprocess.run(as_stranger(SYSTEM_PYTHON, "-c", mkdir), check=True)
    # The listener's source is handed over, not its path: the stranger may not be able to read
    # our checkout (a clone in a 0700 directory, as `mktemp -d` makes).
    trap = (AGENTS / "socket_trap.py").read_text()
    proc = subprocess.Popen(as_stranger(SYSTEM_PYTHON, "-c", trap, str(directory)),
                            start_new_session=True)
    try:
        wait_until(lambda: (base / "ready").exists() or proc.poll() is not None, 15,
                   message="the stranger's listener")
        assert proc.poll() is None
        yield base, directory
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def default_dir_env(tmp: Path) -> dict[str, str]:
    """Our environment with the default runtime directory under `tmp`: no XDG_RUNTIME_DIR."""
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "PTYD_DIR")}
    env["TMPDIR"] = str(tmp)
    return env


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_cli_refuses_a_strangers_default_directory_and_sends_nothing(
        trap: tuple[Path, Path]) -> None:
    tmp, directory = trap
    env = default_dir_env(tmp)
    for verb in (["ls"], ["new", "-d", "--", "true"]):  # without and with autostart
        result = run_cli(*verb, env=env)
        assert result.returncode == 1, result
        line = one_line(result.stderr)
        assert f"unsafe runtime directory {directory}: owned by {STRANGER}" in line
        assert "not by you" in line and "PTYD_DIR" in line
    assert not (tmp / "received").exists(), "the stranger's listener got bytes from us"


def test_library_attach_runtime_and_hook_refuse_a_strangers_directory(
        trap: tuple[Path, Path]) -> None:
    tmp, directory = trap
    with pytest.raises(UnsafeRuntimeDir, match="owned by " + STRANGER):
        Client(directory, autostart=True)

    async def connect() -> None:
        async with AsyncClient(directory):
            pass

    with pytest.raises(UnsafeRuntimeDir):
        asyncio.run(connect())
    with pytest.raises(UnsafeRuntimeDir):
        asyncio.run(attach({"dir": directory}, AttachOptions("a1")))
    with pytest.raises(UnsafeRuntimeDir):
        TerminalManager(tmp, daemon_dir=directory)
    env = dict(os.environ, PTYD_DIR=str(directory), PTYD_SESSION="a1")
    hook = subprocess.run([PYTHON, "-m", "ptyd.hook", "Stop"], env=env, capture_output=True,
                          text=True, timeout=30, input=json.dumps({"hook_event_name": "Stop"}))
    assert hook.returncode == 0, "a hook never fails loudly"
    assert "unsafe runtime directory" in hook.stderr
    assert not (tmp / "received").exists(), "the stranger's listener got bytes from us"


def test_a_directory_given_away_is_refused_with_its_daemon_untouched(
        stranger: pwd.struct_passwd, daemon) -> None:  # type: ignore[no-untyped-def]
    os.chown(daemon.dir, stranger.pw_uid, stranger.pw_gid)
    try:
        with pytest.raises(UnsafeRuntimeDir, match=f"{daemon.dir}: owned by {STRANGER}"):
            Client(daemon.dir).spawn(["true"], name="leak")
    finally:
        os.chown(daemon.dir, 0, 0)
    os.chown(daemon.dir / "ctl.sock", stranger.pw_uid, stranger.pw_gid)
    try:
        with pytest.raises(UnsafeRuntimeDir, match="ctl.sock: owned by " + STRANGER):
            Client(daemon.dir).spawn(["true"], name="leak")
    finally:
        os.chown(daemon.dir / "ctl.sock", 0, 0)
    with daemon.client() as c:
        assert c.list() == [], "nothing reached the daemon"


def test_a_symlinked_runtime_directory_is_refused(rundir: Path) -> None:
    real = rundir.parent / "real"
    real.mkdir(mode=0o700)
    rundir.symlink_to(real)
    result = run_cli("--dir", str(rundir), "new", "-d", "--", "true")
    assert result.returncode == 1
    assert "symbolic link" in one_line(result.stderr)
    assert list(real.iterdir()) == [], "nothing was created through the link"


def test_a_0755_runtime_directory_at_autostart_is_one_line_and_exit_1(rundir: Path) -> None:
    rundir.mkdir(mode=0o700)
    os.chmod(rundir, 0o755)
    result = run_cli("--dir", str(rundir), "new", "-d", "--", "true")
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "mode 0755" in line and f"chmod 700 {rundir}" in line
    assert list(rundir.iterdir()) == [], "nothing was created before the check"


def test_a_symlinked_daemon_log_is_refused_at_autostart(rundir: Path) -> None:
    rundir.mkdir(mode=0o700)
    target = rundir.parent / "victim"
    target.write_text("precious\n")
    (rundir / "daemon.log").symlink_to(target)
    try:
        result = run_cli("--dir", str(rundir), "new", "-d", "--", "true")
    finally:
        run_cli("--dir", str(rundir), "shutdown", "-q")  # had one started after all
    assert result.returncode == 1
    assert "daemon.log: it is a symbolic link" in one_line(result.stderr)
    assert target.read_text() == "precious\n"


def test_the_owners_own_private_directory_still_works(rundir: Path) -> None:
    """The checks refuse strangers only: autostart in a fresh directory creates it 0700."""
    result = run_cli("--dir", str(rundir), "new", "-d", "--", "true")
    try:
        assert result.returncode == 0, result.stderr
        assert os.stat(rundir).st_mode & 0o777 == 0o700
    finally:
        run_cli("--dir", str(rundir), "shutdown", "-q")
