"""Crash survival: kill -9 the daemon; its successor takes the agents back from the fd store.

The test plays systemd: it serves the notify socket (keeping the PTY fds the daemon stores with
FDSTORE=1, as SCM_RIGHTS), and starts the next daemon with those fds as named socket-activation
fds (LISTEN_FDS / LISTEN_FDNAMES=pty-<name>), exactly as systemd's fd store hands them back."""

from __future__ import annotations

import array
import os
import re
import signal
import socket
import subprocess
import textwrap
from pathlib import Path

from ptyd.client import Client
from ptyd.daemon import persist
from tests.conftest import PYTHON, agent, wait_for_output, wait_until


class FdStore:
    """The service manager's side of the notify protocol: messages and stored fds."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.fds: dict[str, int] = {}
        self.messages: list[str] = []

    def drain(self) -> None:
        while True:
            try:
                data, ancdata, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
            except BlockingIOError:
                return
            text = data.decode()
            self.messages.append(text)
            fields = dict(line.split("=", 1) for line in text.split("\n") if "=" in line)
            fds = array.array("i")
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            if fields.get("FDSTORE") == "1":
                for fd in fds:
                    self.fds[fields["FDNAME"]] = fd
            if fields.get("FDSTOREREMOVE") == "1":
                fd = self.fds.pop(fields["FDNAME"], None)
                if fd is not None:
                    os.close(fd)

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.sock.close()


LAUNCHER = textwrap.dedent("""
    import os, sys
    names, fds = sys.argv[1].split(":"), [int(x) for x in sys.argv[2].split(",")]
    for i, fd in enumerate(fds):
        os.dup2(fd, 3 + i)
    os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS=str(len(fds)),
                      LISTEN_FDNAMES=":".join(names))
    os.execv(sys.executable, [sys.executable, "-m", "ptyd", "--dir", sys.argv[3], "serve",
                              *sys.argv[4:]])
""")


def start(rundir: Path, store: FdStore, fds: dict[str, int] | None = None,
          *serve_args: str) -> subprocess.Popen[bytes]:
    rundir.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "NOTIFY_SOCKET": str(store.path)}
    log = open(rundir.parent / "daemon.log", "ab")  # noqa: SIM115
    if not fds:
        argv = [PYTHON, "-m", "ptyd", "--dir", str(rundir), "serve", *serve_args]
        return subprocess.Popen(argv, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    names, numbers = list(fds), [str(fd) for fd in fds.values()]
    return subprocess.Popen([PYTHON, "-c", LAUNCHER, ":".join(names), ",".join(numbers),
                             str(rundir), *serve_args], env=env, stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL, pass_fds=list(fds.values()))


def stop_all(rundir: Path, store: FdStore, *procs: subprocess.Popen[bytes] | None) -> None:
    """Shut down whichever daemon still runs, then let the stored fds go."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            with Client(rundir, timeout=5) as c:
                c.shutdown(grace=1)
            proc.wait(15)
    store.close()


def answering(rundir: Path) -> bool:
    try:
        with Client(rundir, timeout=1) as c:
            c.hello()
            return True
    except Exception:
        return False


def test_agents_survive_kill_9_and_are_adopted(rundir: Path) -> None:
    store = FdStore(rundir.parent / "notify")
    first = start(rundir, store)
    second = None
    try:
        wait_until(lambda: answering(rundir), 15)
        with Client(rundir) as c:
            a = c.spawn(agent("prompt"), name="a")
            c.spawn(["sh", "-c", "sleep 60 & wait"], name="b")
            held = wait_until(lambda: (i := c.info("b"))["processes"] == 2 and i)
            wait_for_output(c, "a", "ready> ")
            c.input("a", "before the crash\r")
            wait_for_output(c, "a", "echo: before the crash")
            epoch = c.info("a")["epoch"]
            c.input("a", "env PTYD_SESSION_TOKEN\r")
            token = re.search(r"PTYD_SESSION_TOKEN=([0-9a-f]+)",
                              wait_for_output(c, "a", "PTYD_SESSION_TOKEN=")).group(1)

        def stored_and_saved() -> bool:
            store.drain()
            return {"pty-a", "pty-b"} <= set(store.fds) and (rundir / "state.msgpack").exists()

        def saved_with_echo() -> bool:
            state = persist.load(rundir)
            return state is not None and any(
                b"echo: before the crash" in s["scrollback"]["data"] for s in state["sessions"])

        wait_until(stored_and_saved, 10, message="fds stored and state saved")
        wait_until(saved_with_echo, 10, message="a periodic save that includes the echo")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        os.kill(a["pid"], 0)  # the agent outlived its daemon
        second = start(rundir, store, dict(store.fds))
        wait_until(lambda: answering(rundir), 15)
        with Client(rundir) as c:
            info = c.info("a")
            assert info["status"] == "running" and info["pid"] == a["pid"]
            assert info["epoch"] != epoch, "offsets of the old epoch no longer hold"
            hook = {"session": "a", "event": "Stop", "payload": {}, "token": token}
            assert c.request("hook", hook)["state"] == "idle", "its hooks still report"
            out = wait_for_output(c, "a", "restarted after a crash")
            assert "echo: before the crash" in out
            c.input("a", "after the crash\r")
            wait_for_output(c, "a", "echo: after the crash")
            c.input("a", "exit 3\r")
            done = c.wait("a", 10)
            assert done["exited"] and done["stop_reason"] == "exit status unknown (adopted)"
            assert c.info("b")["status"] == "running"
            # b's processes are still held the same way (its cgroup came through the state).
            adopted = wait_until(lambda: (i := c.info("b"))["processes"] == 2 and i)
            assert adopted["containment"] == held["containment"]
    finally:
        stop_all(rundir, store, first, second)


def test_an_unreadable_state_file_is_logged_per_session_not_silent(rundir: Path) -> None:
    """Without a readable state the successor cannot adopt the terminals it is handed: it
    closes them (which hangs up their programs), and the log names each one and why."""
    store = FdStore(rundir.parent / "notify")
    first = start(rundir, store)
    second = None
    try:
        wait_until(lambda: answering(rundir), 15)
        with Client(rundir) as c:
            c.spawn(agent("prompt"), name="lost")
            wait_for_output(c, "lost", "ready> ")

        def stored_and_saved() -> bool:
            store.drain()
            return "pty-lost" in store.fds and persist.load(rundir) is not None

        wait_until(stored_and_saved, 10, message="fd stored and state saved")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        (rundir / persist.STATE_FILE).write_bytes(b"\xc1 not msgpack")
        second = start(rundir, store, dict(store.fds))
        wait_until(lambda: answering(rundir), 15)
        with Client(rundir) as c:
            assert c.list() == []
        log = (rundir.parent / "daemon.log").read_text()
        assert re.search(r"session=lost cannot be adopted after the crash \(cannot read "
                         r".*state\.msgpack", log), log
    finally:
        stop_all(rundir, store, first, second)


def test_a_recording_goes_on_in_a_new_part_after_a_crash(rundir: Path, tmp_path: Path) -> None:
    """What was recorded before the crash stays in its file (rotated to .1); what the agent
    prints after the adoption is recorded again, in a fresh file, instead of nowhere."""
    recordings = tmp_path / "recordings"
    store = FdStore(rundir.parent / "notify")
    args = ("--recording-dir", str(recordings))
    first = start(rundir, store, None, *args)
    second = None
    try:
        wait_until(lambda: answering(rundir), 15)
        with Client(rundir) as c:
            c.request("spawn", {"argv": agent("prompt"), "name": "r", "record": "log"})
            wait_for_output(c, "r", "ready> ")
            c.input("r", "before the crash\r")
            wait_for_output(c, "r", "echo: before the crash")
        log_path = recordings / "r.log"

        def saved_and_flushed() -> bool:
            store.drain()
            state = persist.load(rundir)
            return ("pty-r" in store.fds and state is not None
                    and any(b"echo: before the crash" in s["scrollback"]["data"]
                            for s in state["sessions"])
                    and log_path.exists() and b"echo: before the crash" in log_path.read_bytes())

        wait_until(saved_and_flushed, 10, message="fd stored, state saved, recording flushed")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        second = start(rundir, store, dict(store.fds), *args)
        wait_until(lambda: answering(rundir), 15)
        with Client(rundir) as c:
            c.input("r", "after the crash\r")
            wait_for_output(c, "r", "echo: after the crash")
        wait_until(lambda: log_path.exists() and b"echo: after the crash" in log_path.read_bytes(),
                   message="the output after the adoption in the recording")
        assert b"echo: before the crash" in (recordings / "r.log.1").read_bytes()
    finally:
        stop_all(rundir, store, first, second)
