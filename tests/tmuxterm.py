"""A real terminal for tests: a private tmux server whose pane runs a `ptyd` command.

tmux is the terminal emulator that judges what a person would see (capture-pane), and
`send-keys` types as a person would. Each test gets its own tmux server (-L), so nothing is
shared with a tmux the developer may be running. One set of helpers for the attach, top and
CLI terminal tests.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence

import pytest

from tests.conftest import PYTHON, DaemonProcess, wait_until

SHOW_MODE = "stty -a | grep -o -- '-\\?icanon'"
"""Printed by a pane's shell after the command: `icanon` when the terminal was restored to
cooked mode, `-icanon` when it was left raw."""


class Tmux:
    def __init__(self) -> None:
        self.socket = f"ptyd-test-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                                capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def start(self, command: str, cols: int = 80, rows: int = 24, name: str = "main") -> str:
        """Open a pane of exactly cols x rows running `command` under sh; returns its target."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
        args = ["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-s", name,
                "-x", str(cols), "-y", str(rows), command]
        subprocess.run(args, check=True, env=env, timeout=10)
        self.run("set-option", "-t", name, "status", "off")
        self.run("set-option", "-t", name, "remain-on-exit", "on")
        self.run("resize-window", "-t", name, "-x", str(cols), "-y", str(rows))
        return name

    def keys(self, target: str, *keys: str) -> None:
        self.run("send-keys", "-t", target, *keys)

    def text(self, target: str, text: str) -> None:
        self.run("send-keys", "-t", target, "-l", text)

    def screen(self, target: str) -> list[str]:
        return [line.rstrip() for line in self.run("capture-pane", "-p", "-t", target)
                .split("\n")][:-1]

    def resize(self, target: str, cols: int, rows: int) -> None:
        self.run("resize-window", "-t", target, "-x", str(cols), "-y", str(rows))

    def pane_pid(self, target: str) -> int:
        return int(self.run("display-message", "-p", "-t", target, "#{pane_pid}").strip())

    def pane_dead_status(self, target: str) -> int | None:
        out = self.run("display-message", "-p", "-t", target,
                       "#{pane_dead} #{pane_dead_status}").split()
        return int(out[1]) if out and out[0] == "1" else None

    def wait_for(self, target: str, text: str, timeout: float = 10) -> list[str]:
        seen: list[str] = []

        def shown() -> list[str] | None:
            seen[:] = self.screen(target)
            return seen if any(text in line for line in seen) else None

        try:
            return wait_until(shown, timeout, message=f"{text!r} on the tmux screen")
        except pytest.fail.Exception as e:  # say what the screen showed instead
            pytest.fail(f"{e.msg}; the screen:\n" + "\n".join(seen))

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=10)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    t = Tmux()
    yield t
    t.kill()


def ptyd_argv(daemon: DaemonProcess, *args: str) -> list[str]:
    return [PYTHON, "-m", "ptyd", "--dir", str(daemon.dir), *args]


def pane_command(argv: Sequence[str], *, before: str = "", after: str = "sleep 60") -> str:
    """Shell command for a pane: `before`, then `argv`, then its exit code as `[rc=N]` and
    `after` (by default a pause, so the pane stays for the test to read)."""
    head = f"{before}; " if before else ""
    return f"{head}{shlex.join(argv)}; echo \"[rc=$?]\"; {after}"


def terminal_mode(tmux: Tmux, pane: str) -> str:
    """After the command exited, the pane's shell printed SHOW_MODE: `icanon` or `-icanon`."""
    lines = wait_until(lambda: [x for x in tmux.screen(pane) if x in ("icanon", "-icanon")],
                       message="the stty line")
    return str(lines[-1])
