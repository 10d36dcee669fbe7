"""Sessions end to end: spawn, input, resize, signals, exit status, wait, remove."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from ptyd.client import Client, NoSuchSession, SessionExists, SessionExited, SessionRunning
from tests.conftest import agent, screen_text, wait_for_output, wait_until


def test_spawn_runs_program_under_a_real_pty(client: Client) -> None:
    info = client.spawn(["sh", "-c", "tty; echo TERM=$TERM; stty size"], name="t1",
                        cols=100, rows=30)
    assert info["name"] == "t1" and info["status"] == "running" and info["pid"] > 0
    client.wait("t1", 10)
    out = screen_text(client, "t1")
    assert "/dev/pts/" in out
    assert "TERM=xterm-256color" in out
    assert "30 100" in out


def test_default_names_are_lowest_free_numbers(client: Client) -> None:
    names = [client.spawn(agent("ignore_term"))["name"] for _ in range(3)]
    assert names == ["1", "2", "3"]
    client.remove("2", force=True)
    assert client.spawn(agent("ignore_term"))["name"] == "2"


def test_duplicate_name_is_refused(client: Client) -> None:
    client.spawn(agent("prompt"), name="dup")
    with pytest.raises(SessionExists, match="already exists"):
        client.spawn(agent("prompt"), name="dup")


def test_input_reaches_program_and_echo_comes_back(client: Client) -> None:
    client.spawn(agent("prompt"), name="p")
    wait_for_output(client, "p", "ready> ")
    client.input("p", b"hello there\r")
    wait_for_output(client, "p", "echo: hello there")


def test_exit_code_is_recorded_and_wait_returns_it(client: Client) -> None:
    client.spawn(agent("exit_with", "7"), name="e7")
    info = client.wait("e7", 10)
    assert info["exited"] and info["status"] == "exited"
    assert info["exit_code"] == 7 and info["exit_signal"] is None
    assert "exiting with 7" in screen_text(client, "e7")


def test_killing_signal_is_recorded(client: Client) -> None:
    client.spawn(agent("exit_with", "-SEGV"), name="sig")
    info = client.wait("sig", 10)
    assert info["exit_code"] is None and info["exit_signal"] == signal.SIGSEGV


def test_resize_changes_terminal_size_and_sends_sigwinch(client: Client) -> None:
    client.spawn(agent("prompt"), name="r", cols=80, rows=24)
    wait_for_output(client, "r", "ready> ")
    result = client.resize("r", 132, 43)
    assert result["changed"]
    wait_for_output(client, "r", "winch 132x43")
    client.input("r", "size\r")
    wait_for_output(client, "r", "size=132x43")
    assert client.info("r")["cols"] == 132
    assert not client.resize("r", 132, 43)["changed"]


def test_signal_reaches_program(client: Client) -> None:
    client.spawn(["sleep", "60"], name="s")
    client.signal("s", "INT")
    info = client.wait("s", 10)
    assert info["exit_signal"] == signal.SIGINT


def test_kill_sends_sigterm_then_sigkill_after_grace(client: Client) -> None:
    client.spawn(agent("ignore_term"), name="stub")
    wait_for_output(client, "stub", "stubborn and ready")
    started = time.monotonic()
    client.kill("stub", grace=0.5)
    info = client.wait("stub", 10)
    assert info["exit_signal"] == signal.SIGKILL
    assert time.monotonic() - started >= 0.5


def test_kill_ends_whole_process_group(client: Client) -> None:
    client.spawn(["sh", "-c", "sleep 100 & sleep 100 & echo started; wait"], name="grp")
    wait_for_output(client, "grp", "started")
    client.kill("grp", grace=2)
    assert client.wait("grp", 10)["exited"]


def test_exited_session_stays_listed_with_scrollback_until_removed(client: Client) -> None:
    client.spawn(["echo", "final words"], name="gone")
    client.wait("gone", 10)
    listed = {s["name"]: s for s in client.list()}
    assert listed["gone"]["status"] == "exited"
    assert "final words" in screen_text(client, "gone")
    client.remove("gone")
    with pytest.raises(NoSuchSession, match="ptyd ls"):
        client.info("gone")


def test_input_to_exited_session_is_an_error(client: Client) -> None:
    client.spawn(["true"], name="done")
    client.wait("done", 10)
    with pytest.raises(SessionExited):
        client.input("done", "x")
    with pytest.raises(SessionExited):
        client.resize("done", 10, 10)


def test_remove_running_session_needs_force(client: Client) -> None:
    client.spawn(agent("ignore_term"), name="busy")
    with pytest.raises(SessionRunning, match="still running"):
        client.remove("busy")
    client.remove("busy", force=True)
    assert all(s["name"] != "busy" for s in client.list())


def test_wait_times_out_without_exit(client: Client) -> None:
    client.spawn(["sleep", "30"], name="slow")
    info = client.wait("slow", 0.2)
    assert info["exited"] is False and info["status"] == "running"


def test_wait_does_not_block_other_requests(client: Client, daemon) -> None:  # type: ignore[no-untyped-def]
    client.spawn(["sleep", "30"], name="long")
    result: dict[str, object] = {}

    def waiter() -> None:
        with daemon.client() as other:
            result.update(other.wait("long", None))

    thread = threading.Thread(target=waiter)
    thread.start()
    # While that wait is parked, the same daemon answers everything else at once.
    for _ in range(50):
        assert client.hello()["protocol"] == 1
    client.spawn(["true"], name="quick")
    assert client.wait("quick", 10)["exited"]
    assert thread.is_alive()
    client.kill("long", grace=1)
    thread.join(10)
    assert result["exited"] is True


def test_many_waiters_on_one_session_all_answered(client: Client) -> None:
    client.spawn(agent("prompt"), name="w")
    wait_for_output(client, "w", "ready> ")
    results = []

    def waiter() -> None:
        results.append(client.wait("w", 20)["exit_code"])

    threads = [threading.Thread(target=waiter) for _ in range(10)]
    for t in threads:
        t.start()
    wait_until(lambda: True)
    client.input("w", "exit 4\r")
    for t in threads:
        t.join(20)
    assert results == [4] * 10


def test_child_environment_is_scrubbed_and_marked(client: Client) -> None:
    env = {"PATH": "/usr/bin:/bin", "TMUX": "/tmp/tmux-0/default,1,0", "TERM_PROGRAM": "tmux",
           "KEEP_ME": "yes", "TERM": "dumb"}
    client.spawn(agent("prompt"), name="env", env=env)
    wait_for_output(client, "env", "ready> ")
    for name in ("TMUX", "TERM_PROGRAM", "KEEP_ME", "TERM", "PTYD_SESSION"):
        client.input("env", f"env {name}\r")
    out = wait_for_output(client, "env", "PTYD_SESSION=env")
    assert "TMUX unset" in out and "TERM_PROGRAM unset" in out
    assert "KEEP_ME=yes" in out and "TERM=xterm-256color" in out


def test_child_gets_default_sigpipe(client: Client) -> None:
    # Python ignores SIGPIPE; an agent's shell pipeline must see the default disposition.
    client.spawn(["sh", "-c", "yes | head -n 1; echo rc=$?"], name="pipe")
    client.wait("pipe", 10)
    out = screen_text(client, "pipe")
    assert "rc=0" in out and "Broken pipe" not in out


def test_cwd_is_used(client: Client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    client.spawn(["pwd"], name="cwd", cwd=str(tmp_path))
    client.wait("cwd", 10)
    assert str(tmp_path) in screen_text(client, "cwd")
