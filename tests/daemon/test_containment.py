"""A session's whole process tree ends with it (kill, rm -f, shutdown, timeout, and the
program's own exit), with a cgroup per session and with the fallback (subreaper + tracking):
every test runs against both. tests/agents/spawn_tree.py leaves a `setsid` daemon, a `nohup`
job, an orphaned background grandchild and a double-forked daemon deaf to SIGTERM and SIGHUP.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptyd.client import Client
from ptyd.daemon import containment
from tests.conftest import (
    DaemonProcess,
    agent,
    load_factor,
    run_cli,
    short_tempdir,
    start_daemon,
    stop_daemon,
    wait_for_output,
    wait_until,
)

GRACE = "1"
"""The daemon's kill grace here: the deaf daemon of spawn_tree needs the SIGKILL after it."""
LEFT_BEHIND = 4
"""Processes spawn_tree starts that outlive their parents."""


def survivors(pids: list[int]) -> list[int]:
    """Of spawn_tree's (setsid daemon, nohup job, grandchild, double-forked daemon), those the
    terminal's hangup at the program's exit does not end (the grandchild is in the terminal's
    foreground process group)."""
    return [pids[0], pids[1], pids[3]]


def let_exit(c: Client, name: str) -> dict[str, object]:
    """spawn_tree with `exit`: let it exit by itself; its info once exited."""
    c.input(name, "go\r")
    return wait_until(lambda: (i := c.info(name))["status"] == "exited" and i,
                      message=f"{name} to exit")


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat.rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")


@pytest.fixture(params=["auto", "tracked"])
def contained(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[DaemonProcess]:
    """A daemon with the best containment the machine offers (auto), or forced to fall back
    to tracking (tracked)."""
    monkeypatch.setenv("PTYD_CONTAINMENT", request.param)
    base = short_tempdir()
    d = start_daemon(base / "run", "--kill-grace", GRACE)
    d.mode = request.param  # type: ignore[attr-defined]
    yield d
    code = stop_daemon(d)
    assert code == 0, d.log()
    assert "Traceback" not in d.log(), d.log()


def start_tree(d: DaemonProcess, c: Client, name: str, *args: str, **options: object
               ) -> list[int]:
    """Spawn spawn_tree; wait until the session holds all of its processes; their pids."""
    pids_file = d.dir.parent / f"{name}.pids"
    c.spawn(agent("spawn_tree", str(pids_file), *args), name=name, **options)
    wait_for_output(c, name, "READY")
    pids = [int(p) for p in pids_file.read_text().split()]
    assert len(pids) == LEFT_BEHIND and all(alive(p) for p in pids)
    return pids


def check_mechanism(d: DaemonProcess, info: dict[str, object]) -> None:
    if d.mode == "tracked":  # type: ignore[attr-defined]
        assert info["containment"] == "tracked"
    else:
        assert info["containment"] in ("cgroup", "tracked")


def all_gone(pids: list[int], timeout: float = 20) -> None:
    wait_until(lambda: not any(alive(p) for p in pids), timeout,
               message=f"every process of {pids} to end (left: "
                       f"{[p for p in pids if alive(p)]})")


def test_info_counts_the_processes(contained: DaemonProcess) -> None:
    with contained.client() as c:
        start_tree(contained, c, "t")
        info = wait_until(lambda: (i := c.info("t"))["processes"] == LEFT_BEHIND + 1 and i,
                          message="info to count the program and the 4 it started")
        check_mechanism(contained, info)
        assert info["keep_processes"] is False


def test_kill_ends_every_process(contained: DaemonProcess) -> None:
    with contained.client() as c:
        pids = start_tree(contained, c, "t")
        c.kill("t", grace=1)
        all_gone(pids)
        info = wait_until(lambda: (i := c.info("t"))["status"] == "exited" and i)
        assert info["stop_reason"] == "killed"
        assert info["exit_signal"] == signal.SIGHUP  # the leader ended at the first signal
        wait_until(lambda: c.info("t")["processes"] == 0)


def test_remove_force_ends_every_process(contained: DaemonProcess) -> None:
    with contained.client() as c:
        pids = start_tree(contained, c, "t")
        c.remove("t", force=True)
        all_gone(pids)
        assert c.list() == []


def test_shutdown_ends_every_process(contained: DaemonProcess) -> None:
    with contained.client() as c:
        pids = start_tree(contained, c, "t")
    assert stop_daemon(contained) == 0
    all_gone(pids)


def test_timeout_ends_every_process(contained: DaemonProcess) -> None:
    with contained.client() as c:
        # Long enough for the tree to start and say READY on a loaded machine (the timeout
        # counts from the spawn; a SIGHUP before the tree is up would end it too early).
        pids = start_tree(contained, c, "t", timeout=2 + 2 * load_factor())
        all_gone(pids)
        info = wait_until(lambda: (i := c.info("t"))["status"] == "exited" and i)
        assert info["stop_reason"] == "timeout"
    listing = contained.cli("ls")
    assert "timed out" in listing.stdout, listing
    shown = contained.cli("info", "t")
    assert "timed out" in shown.stdout and "exit_signal" in shown.stdout, shown


def test_own_exit_ends_what_it_left(contained: DaemonProcess) -> None:
    with contained.client() as c:
        pids = start_tree(contained, c, "t", "exit")
        info = let_exit(c, "t")
        all_gone(pids)
        assert info["exit_code"] == 0 and info["stop_reason"] is None


def test_keep_processes_keeps_them_until_removed(contained: DaemonProcess) -> None:
    with contained.client() as c:
        pids = start_tree(contained, c, "t", "exit", keep_processes=True)
        info = let_exit(c, "t")
        assert info["keep_processes"] is True
        # Exited, yet what it left still runs and is counted.
        wait_until(lambda: c.info("t")["processes"] == len(survivors(pids)))
        assert all(alive(p) for p in survivors(pids))
        c.remove("t")  # the session was the handle on them: removing it ends them
        all_gone(pids)


def test_kill_of_an_exited_session_ends_kept_processes(contained: DaemonProcess) -> None:
    with contained.client() as c:
        pids = start_tree(contained, c, "t", "exit", keep_processes=True)
        let_exit(c, "t")
        assert all(alive(p) for p in survivors(pids))
        c.kill("t", grace=1)
        all_gone(pids)


def test_a_new_session_with_the_same_name_is_not_hit(contained: DaemonProcess) -> None:
    """The old session's processes are attributed by its epoch, not its name."""
    with contained.client() as c:
        old = start_tree(contained, c, "t", "exit", keep_processes=True)
        let_exit(c, "t")
        c.remove("t")
        new = c.spawn(agent("prompt"), name="t")
        all_gone(old)
        assert c.info("t")["status"] == "running" and alive(new["pid"])


def test_kill_interactive_bash_ends_by_sighup(contained: DaemonProcess) -> None:
    """bash ignores SIGTERM when interactive: SIGHUP (a closing terminal) ends it at once. The
    grace is long, so an end by SIGKILL would show as exit_signal 9."""
    with contained.client() as c:
        c.spawn(["bash", "--norc", "--noprofile"], name="sh",
                env={"PATH": os.environ["PATH"], "PS1": "READY$ "})
        wait_for_output(c, "sh", "READY$ ")
        c.kill("sh", grace=60)
        info = wait_until(lambda: (i := c.info("sh"))["status"] == "exited" and i, 30)
        assert info["exit_signal"] == signal.SIGHUP


def test_kill_hangs_up_again_with_the_sigterm(contained: DaemonProcess) -> None:
    """bash consumes a SIGHUP that lands between drawing its prompt and waiting for a key, and
    ignores SIGTERM: without a second SIGHUP it lived the whole grace (18 of 60 shells killed
    as their prompt appeared, measured). late_hangup behaves so every time."""
    with contained.client() as c:
        c.spawn(agent("late_hangup"), name="lh")
        wait_for_output(c, "lh", "READY")
        c.kill("lh", grace=60)
        info = wait_until(lambda: (i := c.info("lh"))["status"] == "exited" and i, 30)
        assert info["exit_signal"] == signal.SIGHUP


def test_kill_with_an_explicit_signal_sends_only_that(contained: DaemonProcess) -> None:
    """`--signal TERM` is sent as asked (no SIGHUP first): bash ignores it, SIGKILL ends it."""
    with contained.client() as c:
        c.spawn(["bash", "--norc", "--noprofile"], name="sh",
                env={"PATH": os.environ["PATH"], "PS1": "READY$ "})
        wait_for_output(c, "sh", "READY$ ")
        c.kill("sh", signal="TERM", grace=0.5)
        info = wait_until(lambda: (i := c.info("sh"))["status"] == "exited" and i, 30)
        assert info["exit_signal"] == signal.SIGKILL


def test_shutdown_shows_as_words(contained: DaemonProcess) -> None:
    """While the daemon stops, a session it ended reads `stopped by shutdown`; a stubborn one
    keeps the daemon up until the grace ends."""
    with contained.client() as c:
        c.spawn(agent("prompt"), name="quick")
        stubborn = c.spawn(agent("ignore_term"), name="stubborn")
        wait_for_output(c, "stubborn", "ready")
        c.shutdown(grace=60)
        info = wait_until(lambda: (i := c.info("quick"))["status"] == "exited" and i, 20)
        assert info["stop_reason"] == "shutdown"
        assert c.info("stubborn")["status"] == "running"
        listing = contained.cli("ls")
        assert "stopped by shutdown" in listing.stdout, listing
        os.kill(stubborn["pid"], signal.SIGKILL)  # rather than wait the grace out


def test_kill_help_says_hangup_first() -> None:
    shown = run_cli("kill", "--help")
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    assert "SIGHUP" in text and "then SIGTERM" in text and "SIGKILL" in text, text


@pytest.mark.parametrize("how", ["kill", "rm -f", "timeout"])
def test_end_of_session_hooks_run_and_end(contained: DaemonProcess, how: str) -> None:
    """`kill`, `rm -f` and a timeout give the agent a catchable signal first, so its
    end-of-session hook runs (rm -f used to SIGKILL at once); the hook's process ends too."""
    hook_file = contained.dir.parent / "hook.pid"
    with contained.client() as c:
        c.spawn(agent("session_end", str(hook_file)), name="a",
                # The agent must have its SIGHUP handler before the timeout ends it.
                timeout=1 + load_factor() if how == "timeout" else None)
        wait_for_output(c, "a", "READY")
        if how == "kill":
            c.kill("a", grace=1)
        elif how == "rm -f":
            c.remove("a", force=True)
        hook = int(wait_until(lambda: hook_file.exists() and hook_file.read_text().strip(),
                              message="the end-of-session hook to run"))
        all_gone([hook])


def test_finds_the_cgroup2_mount_and_our_cgroup(tmp_path: Path) -> None:
    """Hybrid systems mount cgroup2 at /sys/fs/cgroup/unified, unified ones at /sys/fs/cgroup;
    a mount point with a space comes escaped as \\040."""
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/my\\040unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n")
    assert containment.cgroup2_mount(str(mountinfo)) == Path("/sys/fs/cgroup/my unified")
    mountinfo.write_text("1 0 0:1 / /proc rw - proc proc rw\n")
    assert containment.cgroup2_mount(str(mountinfo)) is None
    cgroups = tmp_path / "cgroup"
    cgroups.write_text("9:name=systemd:/\n4:memory:/x\n0::/system.slice/ptyd@a.service\n")
    assert containment.own_cgroup(str(cgroups)) == "/system.slice/ptyd@a.service"


def test_kill_follows_sighup_with_sigterm(contained: DaemonProcess) -> None:
    """A program deaf to SIGHUP still gets SIGTERM, long before the grace ends."""
    with contained.client() as c:
        c.spawn(["sh", "-c", "trap '' HUP; echo READY; exec sleep 1000"], name="deaf")
        wait_for_output(c, "deaf", "READY")
        c.kill("deaf", grace=60)
        info = wait_until(lambda: (i := c.info("deaf"))["status"] == "exited" and i, 30)
        assert info["exit_signal"] == signal.SIGTERM


@pytest.mark.parametrize("mode", ["auto", "tracked"])
def test_shutdown_ends_what_a_removed_session_still_holds(
        mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`rm` of a session with kept processes gives them the daemon's (long) grace; a shutdown
    meanwhile does not leave them behind: it ends them within its own grace."""
    monkeypatch.setenv("PTYD_CONTAINMENT", mode)
    d = start_daemon(short_tempdir() / "run", "--kill-grace", "600")
    try:
        with d.client() as c:
            pids = start_tree(d, c, "t", "exit", keep_processes=True)
            let_exit(c, "t")
            c.remove("t")  # SIGTERM now; the double-forked daemon ignores it
            wait_until(lambda: not alive(pids[0]))  # the SIGTERM was sent
            assert alive(pids[3])
            c.shutdown(grace=1)
        assert d.proc.wait(30) == 0
        all_gone(pids)
    finally:
        stop_daemon(d)


def test_new_keep_processes_from_the_command_line(daemon: DaemonProcess) -> None:
    made = daemon.cli("new", "-d", "-s", "k", "--keep-processes", "--", "sleep", "60")
    assert made.returncode == 0, made
    with daemon.client() as c:
        assert c.info("k")["keep_processes"] is True
    assert re.search(r"^keep_processes +yes$", daemon.cli("info", "k").stdout, re.M)
