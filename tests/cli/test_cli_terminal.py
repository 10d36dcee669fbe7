"""The CLI in a real terminal (tmux), judged by what a person sees: `ptyd screen`, `ptyd logs`
replayed into a terminal, and Ctrl-C typed at a waiting command."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from ptyd.client import Client
from tests.attach.conftest import attach_command
from tests.conftest import (
    DaemonProcess,
    agent,
    connected_and_asleep,
    run_cli,
    wait_for_output,
    wait_until,
)
from tests.tmuxterm import Tmux, pane_command, ptyd_argv


def cli_command(daemon: DaemonProcess, *args: str, then: str = "") -> str:
    """Shell command for a pane: `ptyd ARGS`, then print its exit code (the pane stays)."""
    return pane_command(ptyd_argv(daemon, *args), after=then or "sleep 60")


def test_screen_is_what_an_attached_terminal_shows(client: Client, daemon: DaemonProcess,
                                                   tmux: Tmux) -> None:
    client.spawn(agent("fullscreen"), name="fs", cols=70, rows=20)
    wait_for_output(client, "fs", "redraw 0")
    client.input("fs", "ab")
    wait_for_output(client, "fs", "redraw 2")
    pane = tmux.start(attach_command(daemon, "fs"), 70, 20)
    seen = tmux.wait_for(pane, "redraw 2")
    shown = daemon.cli("screen", "fs")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split("\n")[:-1] == seen
    state = json.loads(daemon.cli("screen", "fs", "--json").stdout)
    assert state["lines"] == seen and state["alternate"] is True
    assert (state["cols"], state["rows"]) == (70, 20)


def test_screen_escapes_keep_colours_and_json_has_cursor_and_title(daemon: DaemonProcess,
                                                                   tmux: Tmux) -> None:
    script = r'printf "\033]2;build\007\033[1;31mred\033[0m plain\r\nnext"; sleep 60'
    daemon.cli("new", "-s", "col", "--size", "40x5", "--", "sh", "-c", script)
    wait_until(lambda: "next" in daemon.cli("logs", "col").stdout)
    assert daemon.cli("screen", "col").stdout.split("\n")[:2] == ["red plain", "next"]
    styled = daemon.cli("screen", "-e", "col").stdout.split("\n")
    assert styled[0] == "\x1b[0;1;31mred\x1b[0m plain"
    state = json.loads(daemon.cli("screen", "--json", "col").stdout)
    assert state["cursor"] == {"row": 1, "col": 4, "visible": True}
    assert state["title"] == "build" and state["alternate"] is False
    # Shown in a terminal, the styled rows look as the session does.
    pane = tmux.start(cli_command(daemon, "screen", "-e", "col"), 40, 10)
    assert tmux.wait_for(pane, "[rc=0]")[:2] == ["red plain", "next"]
    assert "\x1b[1m\x1b[31mred" in tmux.run("capture-pane", "-p", "-e", "-t", pane)


def test_logs_to_a_terminal_types_nothing_and_leaves_the_cursor_visible(
        daemon: DaemonProcess, tmux: Tmux) -> None:
    # An agent that asked the terminal who it is and where the cursor is, hid the cursor, set
    # the title and went to the alternate screen: all of it long ago.
    script = (r'printf "\033[c\033[6n\033]2;evil title\007\033[?25l\033[?1049hin alt\r\n";'
              r'sleep 60')
    daemon.cli("new", "-s", "q", "--", "sh", "-c", script)
    wait_until(lambda: "in alt" in daemon.cli("logs", "q").stdout)
    # After logs, the shell reads a line: whatever the terminal answered shows up in it.
    pane = tmux.start(cli_command(daemon, "logs", "q",
                                  then='read -r line; echo "typed:[$line]" | cat -v; sleep 60'), 80, 24)
    shown = tmux.wait_for(pane, "[rc=0]")
    assert shown[0] == "in alt"  # the full-screen program's last frame stays in view
    tmux.keys(pane, "Enter")
    lines = tmux.wait_for(pane, "typed:")
    assert "typed:[]" in lines
    flags = tmux.run("display-message", "-p", "-t", pane,
                     "#{cursor_flag} #{alternate_on} #{pane_title}").split(maxsplit=2)
    assert flags[:2] == ["1", "0"]  # cursor visible, alternate screen left
    assert flags[2].strip() != "evil title"
    assert daemon.cli("logs", "q").stdout.startswith("\x1b[c\x1b[6n")  # a pipe: byte-exact


def _child_waiting(pane_pid: int) -> int | None:
    """The pid of the pane shell's ptyd child once it is connected (its SIGINT handling in
    place) and asleep waiting for the daemon."""
    children = Path(f"/proc/{pane_pid}/task/{pane_pid}/children").read_text().split()
    for pid in map(int, children):
        if connected_and_asleep(pid):
            return pid
    return None


@pytest.mark.parametrize("args", [["logs", "-f", "s"], ["wait", "s"], ["attach", "s"]])
def test_ctrl_c_typed_at_a_waiting_command_exits_130_quietly(
        daemon: DaemonProcess, tmux: Tmux, args: list[str]) -> None:
    daemon.cli("new", "-s", "s", "--", "sh", "-c", "echo started; exec sleep 60")
    wait_until(lambda: "started" in daemon.cli("logs", "s").stdout)
    stopped = args[0] == "attach"
    if stopped:  # attach's start-up: a daemon that does not answer (yet)
        os.kill(daemon.proc.pid, signal.SIGSTOP)
    try:
        pane = tmux.start(cli_command(daemon, *args), 80, 24)
        wait_until(lambda: _child_waiting(tmux.pane_pid(pane)), message="ptyd waiting")
        tmux.keys(pane, "C-c")
        lines = tmux.wait_for(pane, "[rc=")
    finally:
        if stopped:
            os.kill(daemon.proc.pid, signal.SIGCONT)
    assert any(line.endswith("[rc=130]") for line in lines), lines
    assert not any("Traceback" in line or "Error" in line for line in lines), lines
    assert run_cli("--dir", str(daemon.dir), "info", "s").returncode == 0
