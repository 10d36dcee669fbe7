"""`ptyd top` driven as a person would: keys through tmux, the screen read back from tmux."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from ptyd.client import Client
from tests.agents.fake_claude_support import claude_home, fake_claude_command
from tests.conftest import (
    DaemonProcess,
    agent,
    run_cli,
    start_daemon,
    stop_daemon,
    wait_until,
)
from tests.gitrepos import add_origin, git, make_project
from tests.top.conftest import Tmux, top_command

TITLE = "ptyd top —"


def start_top(tmux: Tmux, daemon: DaemonProcess, tmp_path: Path, *options: str,
              remotes: str = "", cols: int = 120, rows: int = 30) -> str:
    pane = tmux.start(top_command(daemon, tmp_path, *options, remotes=remotes), cols, rows)
    tmux.wait_for(pane, TITLE)
    return pane


def row_of(tmux: Tmux, pane: str, name: str) -> str:
    return next((line for line in tmux.screen(pane) if line.split()[:1] == [name]), "")


def wait_row(tmux: Tmux, pane: str, name: str, *words: str, timeout: float = 10) -> str:
    return wait_until(lambda: (row := row_of(tmux, pane, name)) and
                      all(w in row for w in words) and row, timeout,
                      message=f"row {name} with {words} on the overview")


def restored(tmux: Tmux, pane: str, rc: int) -> None:
    """The shell's screen is back (alternate screen left), cooked mode, and the exit code."""
    lines = tmux.wait_for(pane, "icanon")
    assert f"[rc={rc}]" in lines
    assert "before-top" in lines  # the screen from before the overview came back
    assert "icanon" in lines and "-icanon" not in lines
    assert not any(TITLE in line for line in lines)


def test_lists_sessions_and_shows_new_ones_live(tmux: Tmux, client: Client,
                                                 daemon: DaemonProcess, tmp_path: Path) -> None:
    client.spawn(["sh", "-c", "echo first; exec sleep 60"], name="one")
    pane = start_top(tmux, daemon, tmp_path)
    wait_row(tmux, pane, "one", "running")
    client.spawn(["sh", "-c", "echo second; exec sleep 60"], name="two")  # an event, no poll
    wait_row(tmux, pane, "two", "running")
    client.kill("two")
    wait_row(tmux, pane, "two", "exit")
    client.remove("two")
    wait_until(lambda: not row_of(tmux, pane, "two"), message="two gone from the overview")
    tmux.keys(pane, "q")
    restored(tmux, pane, 0)


def test_preview_shows_the_selected_screen_live(tmux: Tmux, client: Client,
                                                 daemon: DaemonProcess, tmp_path: Path) -> None:
    s = client.spawn(agent("prompt"), name="e")
    pane = start_top(tmux, daemon, tmp_path)
    wait_row(tmux, pane, "e")
    s.send_line("preview-marker-1")
    tmux.wait_for(pane, "preview-marker-1")
    tmux.keys(pane, "s")  # send through the overview
    tmux.text(pane, "typed-in-top")
    tmux.keys(pane, "Enter")
    s.expect("typed-in-top")
    tmux.wait_for(pane, "typed-in-top")


def test_enter_attaches_and_the_detach_key_comes_back(tmux: Tmux, client: Client,
                                                      daemon: DaemonProcess,
                                                      tmp_path: Path) -> None:
    s = client.spawn(agent("prompt"), name="e")
    pane = start_top(tmux, daemon, tmp_path)
    wait_row(tmux, pane, "e")
    tmux.keys(pane, "Enter")
    wait_until(lambda: client.info("e")["viewers"] == 1, message="the attach")
    wait_until(lambda: not any(TITLE in line for line in tmux.screen(pane)),
               message="the session's own screen")
    tmux.text(pane, "from-the-attach")
    tmux.keys(pane, "Enter")
    s.expect("from-the-attach")
    tmux.keys(pane, "C-\\")
    tmux.wait_for(pane, "back from e")
    wait_until(lambda: client.info("e")["viewers"] == 0, message="the detach")
    tmux.keys(pane, "q")
    restored(tmux, pane, 0)


def test_read_only_attach_types_nothing(tmux: Tmux, client: Client, daemon: DaemonProcess,
                                        tmp_path: Path) -> None:
    s = client.spawn(agent("prompt"), name="e")
    pane = start_top(tmux, daemon, tmp_path)
    wait_row(tmux, pane, "e")
    tmux.keys(pane, "r")
    wait_until(lambda: client.info("e")["viewers"] == 1, message="the read-only attach")
    tmux.text(pane, "not-typed")
    tmux.keys(pane, "Enter")
    s.send_line("typed-by-client")  # what the viewer typed would come before this
    s.expect("typed-by-client")
    assert b"not-typed" not in client.read("e", 0)["data"]
    tmux.keys(pane, "C-\\")
    tmux.wait_for(pane, "back from e")


def test_a_dialog_of_the_fake_claude_is_answered(tmux: Tmux, client: Client,
                                                 daemon: DaemonProcess, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    home = claude_home(tmp_path / "home", trusted=[])  # not trusted: the trust dialog
    client.spawn([str(fake_claude_command(tmp_path / "bin"))], name="c", cwd=str(project),
                 env={**os.environ, "HOME": str(home)}, agent="claude", cols=100, rows=24)
    pane = start_top(tmux, daemon, tmp_path)
    wait_row(tmux, pane, "c", "waiting: trust", timeout=20)
    tmux.wait_for(pane, "Yes, I trust this folder")  # the dialog in the preview
    tmux.keys(pane, "y")
    wait_until(lambda: client.info("c")["state"] in ("idle", "working"), timeout=20,
               message="the dialog answered")
    wait_until(lambda: "waiting" not in row_of(tmux, pane, "c"), message="the row updated")


def test_kill_asks_first(tmux: Tmux, client: Client, daemon: DaemonProcess,
                         tmp_path: Path) -> None:
    client.spawn(["sleep", "60"], name="victim")
    pane = start_top(tmux, daemon, tmp_path)
    wait_row(tmux, pane, "victim", "running")
    tmux.keys(pane, "k")
    tmux.wait_for(pane, "kill victim? (y/n)")
    tmux.keys(pane, "n")
    tmux.wait_for(pane, "cancelled")
    assert client.info("victim")["status"] == "running"
    tmux.keys(pane, "k")
    tmux.wait_for(pane, "kill victim? (y/n)")
    tmux.keys(pane, "y")
    wait_row(tmux, pane, "victim", "exit")
    tmux.keys(pane, "x")
    tmux.wait_for(pane, "remove victim?")
    tmux.keys(pane, "y")
    wait_until(lambda: not client.list(), message="the removal")


def test_terminal_restored_after_sigterm(tmux: Tmux, client: Client, daemon: DaemonProcess,
                                         tmp_path: Path) -> None:
    pane = start_top(tmux, daemon, tmp_path)
    shell = tmux.pane_pid(pane)
    top = wait_until(lambda: _child_of(shell), message="the top process")
    os.kill(top, signal.SIGTERM)
    restored(tmux, pane, 128 + signal.SIGTERM)


def test_terminal_restored_after_the_daemon_goes_away(tmux: Tmux, daemon: DaemonProcess,
                                                      tmp_path: Path) -> None:
    pane = start_top(tmux, daemon, tmp_path, "--give-up", "1")
    tmux.wait_for(pane, "local: up")
    assert stop_daemon(daemon) == 0
    restored(tmux, pane, 1)
    assert any("lost every daemon" in line for line in tmux.screen(pane))


def _child_of(pid: int) -> int | None:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid and b"top" in cmdline:
                return int(entry)
    return None


def test_commit_diff_merge_and_push_on_a_real_repository(tmux: Tmux, client: Client,
                                                    daemon: DaemonProcess,
                                                    tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", {"README.md": "# demo\n"})
    add_origin(project, tmp_path / "origin.git")
    client.request("spawn", {"argv": ["sh"], "name": "ag", "repo": str(project),
                             "task": "t1", "env": {"PATH": os.environ["PATH"], "PS1": "$ "}})
    pane = start_top(tmux, daemon, tmp_path, cols=140)
    wait_row(tmux, pane, "ag", "agent/ag-t1", "clean")
    tmux.keys(pane, "s")
    tmux.text(pane, "printf 'work of the agent\\n' > notes.txt")
    tmux.keys(pane, "Enter")
    wait_row(tmux, pane, "ag", "dirty")  # its state events bring the git stats
    tmux.keys(pane, "c")
    tmux.wait_for(pane, "commit ag, message:")
    tmux.text(pane, "agent notes")
    tmux.keys(pane, "Enter")
    tmux.wait_for(pane, "committed ag")
    wait_row(tmux, pane, "ag", "↑1", "+1 -0, 1 file")
    tmux.keys(pane, "d")
    tmux.wait_for(pane, "+work of the agent")
    tmux.keys(pane, "q")
    tmux.keys(pane, "m")
    tmux.wait_for(pane, "merge agent/ag-t1 into integration? (y/n)")
    tmux.keys(pane, "y")
    tmux.wait_for(pane, "merged ag: fast-forward")
    assert git(project, "show", "integration:notes.txt") == "work of the agent"
    tmux.keys(pane, "p")
    tmux.wait_for(pane, "push agent/ag-t1 to origin? (y/n)")
    tmux.keys(pane, "y")
    tmux.wait_for(pane, "pushed ag")
    assert git(tmp_path / "origin.git", "show", "agent/ag-t1:notes.txt") == "work of the agent"


def test_carries_on_across_an_upgrade_and_a_restart(tmux: Tmux, daemon: DaemonProcess,
                                                    tmp_path: Path) -> None:
    pane = start_top(tmux, daemon, tmp_path, "--give-up", "30")
    tmux.wait_for(pane, "local: up")
    assert daemon.cli("upgrade").returncode == 0  # returns once the successor serves
    with daemon.client() as c:
        c.spawn(["sleep", "60"], name="after-upgrade")
    wait_row(tmux, pane, "after-upgrade", "running")
    assert stop_daemon(daemon) == 0
    tmux.wait_for(pane, "local: down")
    again = start_daemon(daemon.dir)
    try:
        with again.client() as c:
            c.spawn(["sleep", "60"], name="after-restart")
        wait_row(tmux, pane, "after-restart", "running")
        assert not row_of(tmux, pane, "after-upgrade")  # the old daemon's sessions are gone
    finally:
        assert stop_daemon(again) == 0


def test_pause_and_resume_from_the_overview(tmux: Tmux, client: Client, daemon: DaemonProcess,
                                            tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", {"README.md": "# demo\n"})
    info = client.request("spawn", {"argv": ["sleep", "600"], "name": "ag",
                                    "repo": str(project), "task": "t1"})
    (Path(info["cwd"]) / "wip.txt").write_bytes(b"half done\n")
    pane = start_top(tmux, daemon, tmp_path, cols=140)
    wait_row(tmux, pane, "ag", "agent/ag-t1")
    tmux.keys(pane, "P")
    tmux.wait_for(pane, "pause ag")
    tmux.keys(pane, "y")
    wait_row(tmux, pane, "ag", "paused")
    assert git(project, "show", "agent/ag-t1:wip.txt") == "half done"
    assert not Path(info["cwd"]).exists()
    tmux.keys(pane, "R")
    wait_row(tmux, pane, "ag", "running")
    assert (Path(info["cwd"]) / "wip.txt").read_bytes() == b"half done\n"


def test_filter_help_and_a_new_agent(tmux: Tmux, client: Client, daemon: DaemonProcess,
                                     tmp_path: Path) -> None:
    client.spawn(["sleep", "60"], name="alpha")
    client.spawn(["sleep", "60"], name="beta")
    pane = start_top(tmux, daemon, tmp_path)
    wait_row(tmux, pane, "beta")
    tmux.keys(pane, "/")
    tmux.text(pane, "alp")
    wait_until(lambda: not row_of(tmux, pane, "beta"), message="the filter")
    tmux.keys(pane, "Enter")
    assert row_of(tmux, pane, "alpha")
    tmux.keys(pane, "/", "C-u", "Enter")
    wait_row(tmux, pane, "beta")
    tmux.keys(pane, "?")
    tmux.wait_for(pane, "keys (any key: back)")
    tmux.keys(pane, "Space")
    # (The help screen's title and its line for N hold the texts waited for below: wait for
    # what only the list and the questions show.)
    tmux.wait_for(pane, "⏎ attach")
    tmux.keys(pane, "N")
    tmux.wait_for(pane, "new agent: name (empty")
    tmux.text(pane, "gamma")
    tmux.keys(pane, "Enter")
    tmux.wait_for(pane, "command (empty")
    tmux.text(pane, "sh -c 'echo gamma-started; exec sleep 60'")
    tmux.keys(pane, "Enter")
    tmux.wait_for(pane, "repository (empty")
    tmux.keys(pane, "Enter")
    wait_row(tmux, pane, "gamma", "running")
    assert client.info("gamma")["cwd"] == os.getcwd()  # a local daemon: our directory
    tmux.wait_for(pane, "gamma-started")  # selected, and previewed


def test_no_daemon_is_a_one_line_error(tmp_path: Path) -> None:
    config = tmp_path / "remotes.toml"
    config.write_text("")
    result = run_cli("--dir", str(tmp_path / "none"), "top", "--remotes", str(config))
    assert result.returncode == 1 and "no ptyd daemon is running" in result.stderr
    config.write_text("[[remote]]\nname = 3\n")
    result = run_cli("--dir", str(tmp_path / "none"), "top", "--remotes", str(config))
    assert result.returncode == 2 and "needs name" in result.stderr


def test_sigterm_while_attached_ends_the_attach_and_restores(tmux: Tmux, client: Client,
                                                             daemon: DaemonProcess,
                                                             tmp_path: Path) -> None:
    client.spawn(agent("prompt"), name="e")
    pane = start_top(tmux, daemon, tmp_path)
    wait_row(tmux, pane, "e")
    tmux.keys(pane, "Enter")
    wait_until(lambda: client.info("e")["viewers"] == 1, message="the attach")
    top = wait_until(lambda: _child_of(tmux.pane_pid(pane)), message="the top process")
    os.kill(top, signal.SIGTERM)
    restored(tmux, pane, 128 + signal.SIGTERM)
    wait_until(lambda: client.info("e")["viewers"] == 0, message="the attach ended")
    assert client.info("e")["status"] == "running"


def test_keys_typed_ahead_of_the_questions_answer_them(tmux: Tmux, client: Client,
                                                      daemon: DaemonProcess,
                                                      tmp_path: Path) -> None:
    """N, then the answers typed at once (a paste, or a fast typist on a busy machine): each
    key belongs to the question it was typed for, even before that question is drawn. They
    used to reach the list instead: "a" of "gamma" attached to the selected session."""
    client.spawn(["sleep", "60"], name="alpha")
    pane = start_top(tmux, daemon, tmp_path)
    wait_row(tmux, pane, "alpha")
    tmux.text(pane, "Ndelta\rsh -c 'echo delta-started; exec sleep 60'\r\r")
    wait_row(tmux, pane, "delta", "running")
    assert client.info("delta")["argv"][-1] == "echo delta-started; exec sleep 60"
    assert client.info("alpha")["viewers"] == 0, "nothing attached to the selected session"
    tmux.wait_for(pane, "delta-started")
