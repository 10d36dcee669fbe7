"""Attach through a real terminal (tmux): the screen on arrival, typing, resizing, detaching,
several viewers, and every way of leaving with the terminal restored."""

from __future__ import annotations

import os
import signal

from ptyd.client import Client
from tests.attach.conftest import Tmux, attach_command, reference_screen
from tests.conftest import DaemonProcess, agent, screen_text, wait_for_output, wait_until
from tests.tmuxterm import terminal_mode


def all_output(client: Client, name: str) -> bytes:
    info = client.info(name)
    return bytes(client.read(name, 0, max_bytes=4 << 20)["data"])[: info["end"]]


def test_attach_shows_inline_agent_screen_then_goes_live(client: Client, daemon: DaemonProcess,
                                                         tmux: Tmux) -> None:
    client.spawn(agent("inline_tui"), name="ink", cols=80, rows=24)
    wait_for_output(client, "ink", "| >")
    for word in ("alpha", "beta", "gamma"):
        client.input("ink", word)
        client.input("ink", "\r")
    wait_for_output(client, "ink", "you said: gamma")
    client.input("ink", "draft")  # typed but not submitted: the box shows it
    wait_for_output(client, "ink", "draft")
    pane = tmux.start(attach_command(daemon, "ink"), 80, 24)
    tmux.wait_for(pane, "draft")
    assert tmux.screen(pane) == reference_screen(all_output(client, "ink"), 80, 24)
    tmux.text(pane, "ed")
    tmux.keys(pane, "Enter")
    lines = tmux.wait_for(pane, "you said: drafted")
    assert lines == reference_screen(all_output(client, "ink"), 80, 24)


def test_attach_shows_full_screen_program(client: Client, daemon: DaemonProcess,
                                          tmux: Tmux) -> None:
    client.spawn(agent("fullscreen"), name="fs", cols=70, rows=20)
    wait_for_output(client, "fs", "redraw 0")
    client.input("fs", "abc")
    wait_for_output(client, "fs", "redraw 3")
    pane = tmux.start(attach_command(daemon, "fs"), 70, 20)
    lines = tmux.wait_for(pane, "redraw 3")
    assert lines[0] == "+" + "-" * 68 + "+" and lines[-1] == "+" + "-" * 68 + "+"
    assert lines[1].startswith("|size 70x20 redraw 3")
    tmux.keys(pane, "q")  # leaves the alternate screen; the viewer follows, then it exits
    tmux.wait_for(pane, "[rc=0]")
    assert any("fullscreen done" in line for line in tmux.screen(pane))


def test_attach_shows_tail_of_plain_output(client: Client, daemon: DaemonProcess,
                                           tmux: Tmux) -> None:
    client.spawn(["sh", "-c", "for i in $(seq 1 500); do echo line $i; done; read x"],
                 name="plain", cols=60, rows=15)
    wait_for_output(client, "plain", "line 500")
    pane = tmux.start(attach_command(daemon, "plain"), 60, 15)
    lines = tmux.wait_for(pane, "line 500")
    assert lines == reference_screen(all_output(client, "plain"), 60, 15)
    assert lines[0] == "line 487"


def test_typing_resizing_and_detach_key(client: Client, daemon: DaemonProcess,
                                        tmux: Tmux) -> None:
    client.spawn(agent("prompt"), name="p", cols=80, rows=24)
    pane = tmux.start(attach_command(daemon, "p"), 80, 24)
    tmux.wait_for(pane, "ready>")
    tmux.text(pane, "typed by a person")
    tmux.keys(pane, "Enter")
    tmux.wait_for(pane, "echo: typed by a person")
    assert client.info("p")["viewers"] == 1
    tmux.resize(pane, 100, 30)  # the viewer's SIGWINCH reaches the program at once
    tmux.wait_for(pane, "winch 100x30")
    assert (client.info("p")["cols"], client.info("p")["rows"]) == (100, 30)
    tmux.keys(pane, "C-\\")
    lines = tmux.wait_for(pane, "[rc=0]")
    assert any("[detached from session p]" in line for line in lines)
    assert terminal_mode(tmux, pane) == "icanon", "terminal left in raw mode"
    assert client.info("p")["status"] == "running"
    wait_until(lambda: client.info("p")["viewers"] == 0)


def test_reattach_after_detach_sees_everything(client: Client, daemon: DaemonProcess,
                                               tmux: Tmux) -> None:
    client.spawn(agent("prompt"), name="re", cols=80, rows=24)
    first = tmux.start(attach_command(daemon, "re"), 80, 24, name="one")
    tmux.wait_for(first, "ready>")
    tmux.keys(first, "C-\\")
    tmux.wait_for(first, "[rc=0]")
    client.input("re", "while you were away\r")
    wait_for_output(client, "re", "echo: while you were away")
    second = tmux.start(attach_command(daemon, "re"), 80, 24, name="two")
    tmux.wait_for(second, "echo: while you were away")


def test_custom_detach_key(client: Client, daemon: DaemonProcess, tmux: Tmux) -> None:
    client.spawn(agent("prompt"), name="k", cols=80, rows=24)
    pane = tmux.start(attach_command(daemon, "k", "--detach-key", "C-a"), 80, 24)
    tmux.wait_for(pane, "ready>")
    tmux.keys(pane, "C-\\")  # now an ordinary key: the program's terminal makes it SIGQUIT
    tmux.wait_for(pane, "got SIGQUIT")
    tmux.keys(pane, "C-a")
    tmux.wait_for(pane, "[detached from session k]")


def test_two_viewers_one_read_only(client: Client, daemon: DaemonProcess, tmux: Tmux) -> None:
    client.spawn(agent("prompt"), name="shared", cols=80, rows=24)
    writer = tmux.start(attach_command(daemon, "shared"), 80, 24, name="w")
    watcher = tmux.start(attach_command(daemon, "shared", "-r"), 80, 24, name="r")
    tmux.wait_for(writer, "ready>")
    tmux.wait_for(watcher, "ready>")
    wait_until(lambda: client.info("shared")["viewers"] == 2)
    tmux.text(watcher, "ignored")
    tmux.keys(watcher, "Enter")
    tmux.text(writer, "from the writer")
    tmux.keys(writer, "Enter")
    tmux.wait_for(watcher, "echo: from the writer")
    assert "ignored" not in screen_text(client, "shared")
    # Both sessions end the same way for both viewers.
    tmux.text(writer, "exit 3")
    tmux.keys(writer, "Enter")
    tmux.wait_for(writer, "[rc=3]")
    lines = tmux.wait_for(watcher, "[rc=3]")
    assert any("[ptyd: session shared exited with code 3]" in line for line in lines)


def test_read_only_input_is_refused_by_the_daemon(client: Client, daemon: DaemonProcess,
                                                  tmux: Tmux) -> None:
    client.spawn(["cat"], name="ro", cols=80, rows=24)
    pane = tmux.start(attach_command(daemon, "ro", "--read-only"), 80, 24)
    wait_until(lambda: client.info("ro")["viewers"] == 1)
    viewer = client.request("list")["sessions"][0]
    assert viewer["viewers"] == 1
    # A program speaking for that viewer (its id is on the daemon's event log) is refused.
    attached = [e for e in client.events(0)["events"] if e["type"] == "viewer.attached"]
    from ptyd.client import RemoteError
    try:
        client.request("input", {"session": "ro", "data": b"x", "viewer": attached[-1]["viewer"]})
    except RemoteError as e:
        assert e.code == "read_only"
    else:
        raise AssertionError("input from a read-only viewer was accepted")
    tmux.keys(pane, "C-\\")


def test_killed_viewer_leaves_session_untouched(client: Client, daemon: DaemonProcess,
                                                tmux: Tmux) -> None:
    client.spawn(agent("prompt"), name="v", cols=80, rows=24)
    pane = tmux.start(attach_command(daemon, "v"), 80, 24)
    tmux.wait_for(pane, "ready>")
    wait_until(lambda: client.info("v")["viewers"] == 1)
    attach_pid = int(os.popen(f"pgrep -f 'attach v' -P {tmux.pane_pid(pane)}").read().split()[0])
    os.kill(attach_pid, signal.SIGKILL)
    wait_until(lambda: client.info("v")["viewers"] == 0, message="viewer to be dropped")
    client.input("v", "still here\r")
    wait_for_output(client, "v", "echo: still here")
    assert client.info("v")["status"] == "running"


def test_daemon_stopping_under_viewer(client: Client, daemon: DaemonProcess,
                                      tmux: Tmux) -> None:
    client.spawn(["sleep", "60"], name="z", cols=80, rows=24)
    pane = tmux.start(attach_command(daemon, "z"), 80, 24)
    wait_until(lambda: client.info("z")["viewers"] == 1)
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait(10)
    lines = tmux.wait_for(pane, "[rc=1]")
    assert any("lost the connection to the daemon" in line for line in lines)
    assert terminal_mode(tmux, pane) == "icanon"
    # Let the fixture's teardown find a daemon to stop.
    from tests.conftest import start_daemon
    daemon.proc = start_daemon(daemon.dir).proc


def test_agent_exit_code_propagates(client: Client, daemon: DaemonProcess, tmux: Tmux) -> None:
    client.spawn(agent("prompt"), name="ex", cols=80, rows=24)
    pane = tmux.start(attach_command(daemon, "ex"), 80, 24)
    tmux.wait_for(pane, "ready>")
    tmux.text(pane, "exit 42")
    tmux.keys(pane, "Enter")
    lines = tmux.wait_for(pane, "[rc=42]")
    assert any("[ptyd: session ex exited with code 42]" in line for line in lines)


def test_attach_to_exited_session_shows_final_screen(client: Client, daemon: DaemonProcess,
                                                     tmux: Tmux) -> None:
    client.spawn(["sh", "-c", "echo last words; exit 5"], name="old", cols=80, rows=24)
    client.wait("old", 10)
    pane = tmux.start(attach_command(daemon, "old"), 80, 24)
    lines = tmux.wait_for(pane, "[rc=5]")
    assert lines[0] == "last words"
    assert any("exited with code 5" in line for line in lines)


def test_replay_does_not_resend_old_terminal_queries(client: Client, daemon: DaemonProcess,
                                                     tmux: Tmux) -> None:
    # The agent asked for device attributes at start; replaying that to tmux would make tmux
    # answer now, and the answer would arrive as the agent's input.
    client.spawn(agent("inline_tui", "--show-raw"), name="q", cols=80, rows=24)
    wait_for_output(client, "q", "| >")
    pane = tmux.start(attach_command(daemon, "q"), 80, 24)
    tmux.wait_for(pane, "inline agent v1")
    tmux.text(pane, "z")
    tmux.wait_for(pane, "raw b'z'")
    assert "raw b'\\x1b" not in screen_text(client, "q")


def test_signals_to_the_viewer_restore_the_terminal(client: Client, daemon: DaemonProcess,
                                                    tmux: Tmux) -> None:
    client.spawn(agent("fullscreen"), name="sg", cols=80, rows=24)
    pane = tmux.start(attach_command(daemon, "sg"), 80, 24)
    tmux.wait_for(pane, "redraw")
    attach_pid = int(os.popen(f"pgrep -f 'attach sg' -P {tmux.pane_pid(pane)}").read().split()[0])
    os.kill(attach_pid, signal.SIGTERM)
    lines = tmux.wait_for(pane, "[rc=143]")
    assert any("detached from session sg" in line for line in lines)
    assert not any(line.startswith("|size") for line in lines), "alternate screen not left"
    assert client.info("sg")["status"] == "running"


def test_viewer_carries_on_across_a_daemon_upgrade(client: Client, daemon: DaemonProcess,
                                                   tmux: Tmux) -> None:
    client.spawn(agent("prompt"), name="up", cols=80, rows=24)
    pane = tmux.start(attach_command(daemon, "up"), 80, 24)
    tmux.wait_for(pane, "ready>")
    wait_until(lambda: client.info("up")["viewers"] == 1)
    seq = client.events(0)["last"]
    client.request("upgrade")

    daemon.wait_upgraded(seq)
    tmux.text(pane, "typed after the upgrade")
    tmux.keys(pane, "Enter")
    tmux.wait_for(pane, "echo: typed after the upgrade")
    with daemon.client() as c:
        wait_until(lambda: c.info("up")["viewers"] == 1)
    tmux.keys(pane, "C-\\")
    tmux.wait_for(pane, "[rc=0]")


def test_attach_runs_without_asyncio_or_pyte(client: Client, daemon: DaemonProcess, tmux: Tmux,
                                             tmp_path: object) -> None:
    """The keystroke path is one plain poll loop: attach imports no event loop (and no screen
    emulator: the person's terminal is the screen)."""
    import shlex
    from pathlib import Path

    from tests.conftest import PYTHON

    imports = Path(str(tmp_path)) / "imports.txt"
    client.spawn(agent("prompt"), name="lean", cols=80, rows=24)
    argv = [PYTHON, "-X", "importtime", "-m", "ptyd", "--dir", str(daemon.dir), "attach", "lean"]
    pane = tmux.start(f"{shlex.join(argv)} 2>{shlex.quote(str(imports))}; echo \"[rc=$?]\"; "
                      "sleep 60", 80, 24)
    tmux.wait_for(pane, "ready>")
    tmux.text(pane, "typed")
    tmux.keys(pane, "Enter")
    tmux.wait_for(pane, "echo: typed")
    tmux.keys(pane, "C-\\")
    tmux.wait_for(pane, "[rc=0]")
    modules = {line.split("|")[-1].strip() for line in imports.read_text().splitlines()
               if line.startswith("import time:")}
    assert "ptyd.attach.viewer" in modules
    assert not {"asyncio", "zmq.asyncio", "pyte"} & modules
