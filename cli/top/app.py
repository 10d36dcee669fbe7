"""The overview's loop: keys in, actions out through the client library, a frame on change.

Everything runs on one asyncio loop: the daemons' event streams (DaemonView), stdin (a reader),
signals, and the actions a key starts. Nothing redraws on a timer except the once-a-second tick
that ages the FOR column, and a frame writes only the lines that changed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ptyd.client import PtydError

from . import actions, render
from .daemons import DaemonView, Target
from .model import Row, fit, matches, sort_rows, table
from .preview import Preview
from .terminal import Screen, split_keys

ATTACH_END_S = 5.0


@dataclass
class Prompt:
    label: str
    done: Callable[[str], Awaitable[None]]
    text: str = ""
    live: Callable[[str], None] | None = None
    cancel: Callable[[], object] | None = None


@dataclass
class Confirm:
    question: str
    action: Callable[[], Awaitable[None]]


class App:
    def __init__(self, targets: list[Target], screen: Screen, give_up_s: float = 10.0):
        self.screen = screen
        self.views: list[DaemonView] = []
        self.preview = Preview(self.views, self.changed, self.spawn_task)
        self.views += [DaemonView(t, self.changed, self.preview.output) for t in targets]
        self.give_up_s = give_up_s
        self.exit_message = ""
        """Why the overview ended, if not by a person's q: printed after the terminal is back."""
        self.selected: tuple[str, str] | None = None
        self.filter = ""
        self.mode = "list"  # list | help | diff
        self.prompt: Prompt | None = None
        self.confirm: Confirm | None = None
        self.message = ""
        self.diff_title = ""
        self.diff: list[str] = []
        self.diff_top = 0
        self._draw_pending = False
        self._done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._suspended = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._typeahead: list[str] | None = None
        """Keys read while a series of questions is between two of them (the next is asked
        by a task that has not run yet): they belong to that next question, not to the list."""

    # -- running ----------------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            loop.add_signal_handler(sig, self.quit, 128 + sig)
        loop.add_signal_handler(signal.SIGWINCH, self._resized)
        loop.set_exception_handler(self._crashed)
        self.screen.enter()
        loop.add_reader(self.screen.in_fd, self._on_stdin)
        runners = [asyncio.ensure_future(v.run()) for v in self.views]
        ticker = asyncio.ensure_future(self._tick())
        try:
            self.draw()
            return await self._done
        finally:
            loop.remove_reader(self.screen.in_fd)
            for task in [*runners, ticker, *self._tasks]:
                task.cancel()
            for task in [*runners, ticker, *self._tasks]:
                with contextlib.suppress(BaseException):
                    await task
            self.screen.leave()
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGWINCH):
                loop.remove_signal_handler(sig)

    def _crashed(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """A bug of ours in a callback: leave (the terminal restored), then say what it was,
        rather than print a traceback over the frame and go on in a broken state."""
        error = context.get("exception")
        self.exit_message = f"internal error: {error!r}" if error else str(context["message"])
        self.quit(1)

    def quit(self, code: int = 0) -> None:
        if not self._done.done():
            self._done.set_result(code)

    async def _tick(self) -> None:
        """Age the FOR column; give up when every daemon has been gone for a while."""
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            if all(v.down_since is not None and now - v.down_since > self.give_up_s
                   for v in self.views):
                self.exit_message = "lost every daemon: " + "; ".join(
                    f"{v.target.name}: {v.status}" for v in self.views)
                self.quit(1)
                return
            self.changed()

    def _resized(self) -> None:
        self.screen.invalidate()
        self.changed()

    def changed(self) -> None:
        """Something shown may have changed: draw once, soon (many events, one frame)."""
        if not self._draw_pending:
            self._draw_pending = True
            asyncio.get_running_loop().call_soon(self.draw)

    def spawn_task(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(self._guard(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, coro: Awaitable[Any]) -> None:
        """An action's failure is a message in the footer, never the end of the overview."""
        try:
            await coro
        except PtydError as e:
            self.message = f"{render.RED}{str(e).splitlines()[0]}{render.RESET}"
        except (ValueError, OSError) as e:
            self.message = f"{render.RED}{e}{render.RESET}"
        self.changed()

    # -- the rows ---------------------------------------------------------------------------------

    def rows(self) -> list[Row]:
        rows = [r for v in self.views for r in v.rows.values() if matches(r, self.filter)]
        return sort_rows(rows)

    def current(self) -> tuple[Row, DaemonView] | None:
        rows = self.rows()
        if not rows:
            return None
        # A selection whose row is not (yet) there (a session just started, whose event is on
        # its way) is kept; meanwhile the first row stands in for it.
        row = next((r for r in rows if r.key == self.selected), rows[0])
        if self.selected is None:
            self.selected = row.key
        view = next(v for v in self.views if v.target.name == row.daemon)
        return row, view

    def move(self, delta: int) -> None:
        rows = self.rows()
        if not rows:
            return
        keys = [r.key for r in rows]
        at = keys.index(self.selected) if self.selected in keys else 0
        self.selected = keys[max(0, min(len(keys) - 1, at + delta))]

    # -- drawing ----------------------------------------------------------------------------------

    def draw(self) -> None:
        self._draw_pending = False
        if self._suspended or not self.screen.active:
            return
        cur = self.current()
        self.preview.follow(cur[0].key if cur else None)
        width, height = self.screen.size()
        if self.mode == "help":
            self.screen.draw(render.help_lines(width, height))
            return
        if self.mode == "diff":
            self.screen.draw(render.diff_lines(self.diff_title, self.diff, self.diff_top,
                                               width, height))
            return
        self.screen.draw(self._list_frame(width, height))

    def _list_frame(self, width: int, height: int) -> list[str]:
        rows = self.rows()
        need = sum(1 for r in rows if r.info.get("state") in ("waiting", "error"))
        daemons = "  ".join(f"{v.target.name}: {v.status}" for v in self.views)
        title = f" ptyd top — {len(rows)} sessions, {need} need you — {daemons}"
        if self.filter:
            title += f" — filter /{self.filter}"
        header, lines = table(rows, width, len(self.views) > 1)
        list_h = max(3, (height - 4) * 2 // 5)
        at = next((i for i, r in enumerate(rows) if r.key == self.selected), 0)
        first = max(0, min(at - list_h // 2, len(rows) - list_h))
        shown = []
        for i in range(first, min(len(rows), first + list_h)):
            line = lines[i]
            shown.append(render.REVERSE + line + " " * (width - len(line)) + render.RESET
                         if i == at else line)
        if not rows:
            shown.append(render.DIM + "  no sessions (N starts an agent)" + render.RESET)
        frame = [render.bar(title, width), render.BOLD + header + render.RESET, *shown]
        frame += [""] * (list_h + 2 - len(frame))
        cur = self.current()
        label = ""
        if cur is not None:
            info = cur[0].info
            label = f" {info['name']} ({info.get('cols')}x{info.get('rows')})"
            if info.get("state_text"):
                label += f" — {info['state_text']}"
        frame.append(render.DIM + ("─" * 2 + label + " ").ljust(width, "─")[:width]
                     + render.RESET)
        preview_h = height - len(frame) - 1
        frame += render.preview_lines(self.preview.lines if cur else [], width, preview_h)
        frame.append(self._footer(width))
        return frame[:height]

    def _footer(self, width: int) -> str:
        if self.prompt is not None:
            return fit(f"{self.prompt.label}{self.prompt.text}", width - 1) + "█"
        if self.confirm is not None:
            return render.YELLOW + fit(f"{self.confirm.question} (y/n)", width) \
                + render.RESET
        if self.message:
            return self.message
        return render.DIM + fit(render.FOOTER, width) + render.RESET

    # -- keys -------------------------------------------------------------------------------------

    def _on_stdin(self) -> None:
        try:
            data = os.read(self.screen.in_fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the terminal went away
            self.quit(1)
            return
        for key in split_keys(data):
            self.key(key)
        self.draw()  # at once: a key must reach the screen without waiting for anything

    def key(self, key: str) -> None:
        if self.prompt is None and self._typeahead is not None:
            self._typeahead.append(key)  # typed ahead of the next question: kept for it
            return
        if self.prompt is not None:
            self._prompt_key(self.prompt, key)
        elif self.confirm is not None:
            confirm, self.confirm = self.confirm, None
            if key in ("y", "Y"):
                self.spawn_task(confirm.action())
            else:
                self.message = "cancelled"
        elif self.mode == "help":
            self.mode = "list"
        elif self.mode == "diff":
            self._diff_key(key)
        else:
            self.message = ""
            self._list_key(key)

    def _prompt_key(self, prompt: Prompt, key: str) -> None:
        if key == "enter":
            self.prompt = None
            self.spawn_task(prompt.done(prompt.text))
            return
        if key in ("esc", "C-c"):
            self.prompt = None
            if prompt.live is not None:
                prompt.live("")
            if prompt.cancel is not None:
                prompt.cancel()
            return
        if key == "backspace":
            prompt.text = prompt.text[:-1]
        elif key == "C-u":
            prompt.text = ""
        elif len(key) == 1:
            prompt.text += key
        if prompt.live is not None:
            prompt.live(prompt.text)

    def _diff_key(self, key: str) -> None:
        _, height = self.screen.size()
        page = max(1, height - 3)
        step = {"up": -1, "down": 1, "pgup": -page, "pgdn": page, " ": page,
                "home": -len(self.diff), "end": len(self.diff)}.get(key)
        if step is not None:
            self.diff_top = max(0, min(max(0, len(self.diff) - page), self.diff_top + step))
        elif key in ("q", "esc", "d"):
            self.mode = "list"

    def _list_key(self, key: str) -> None:
        if key in ("q", "C-c", "C-d"):
            self.quit(0)
            return
        if key in ("up", "down", "pgup", "pgdn"):
            self.move({"up": -1, "down": 1, "pgup": -10, "pgdn": 10}[key])
            return
        if key == "?":
            self.mode = "help"
            return
        if key == "/":
            self.prompt = Prompt("filter /", self._set_filter, self.filter, self._live_filter)
            return
        if key == "N":
            self._typeahead = []  # what is typed before the first question shows is its
            self.spawn_task(self._new_agent())
            return
        if key == "C-l":
            self.screen.invalidate()
            return
        cur = self.current()
        if cur is None:
            return
        row, view = cur
        waiting = row.info.get("state") == "waiting"
        name = row.name
        if key == "enter" and waiting:
            self.spawn_task(self._say(actions.answer(view, name, self.preview.lines, "enter")))
        elif key in ("enter", "a", "r"):
            self.spawn_task(self._attach(row, view, read_only=key == "r"))
        elif key in ("y", "n"):
            if waiting:
                self.spawn_task(self._say(actions.answer(view, name, self.preview.lines, key)))
            else:
                self.message = f"{name} is not waiting at a dialog"
        elif key == "s":
            self.prompt = Prompt(f"send to {name}: ", lambda t: self._say(actions.send(view, name, t)))
        elif key == "k":
            self.confirm = Confirm(f"kill {name}?", lambda: self._say(actions.kill(view, name)))
        elif key == "x":
            self.confirm = Confirm(f"remove {name}{' (running: kill it)' if row.info.get('status') == 'running' else ''}?",
                                   lambda: self._say(actions.remove(view, name)))
        elif key in ("P", "R") and not row.info.get("branch"):
            self.message = f"{name} has no branch: only agents on a branch pause"
        elif key == "P":
            self.confirm = Confirm(f"pause {name} (end it, WIP commit, remove its checkout)?",
                                   lambda: self._say(actions.pause(view, name)))
        elif key == "R":
            self.spawn_task(self._say(actions.resume(view, name)))
        elif key in ("c", "m", "p", "d"):
            if not row.info.get("branch"):
                self.message = f"{name} has no branch (start agents with N and a repository)"
            elif key == "c":
                self.prompt = Prompt(f"commit {name}, message: ",
                                     lambda t: self._say(actions.commit(view, name, t)))
            elif key == "m":
                self.confirm = Confirm(f"merge {row.info['branch']} into "
                                       f"{row.info.get('integration')}?",
                                       lambda: self._say(actions.git(view, name, "git.merge", "merged")))
            elif key == "p":
                self.confirm = Confirm(f"push {row.info['branch']} to origin?",
                                       lambda: self._say(actions.git(view, name, "git.push", "pushed")))
            else:
                self.spawn_task(self._show_diff(view, name, str(row.info["branch"])))

    def _live_filter(self, text: str) -> None:
        self.filter = text

    async def _set_filter(self, text: str) -> None:
        self.filter = text

    # -- actions ----------------------------------------------------------------------------------

    async def _attach(self, row: Row, view: DaemonView, read_only: bool) -> None:
        """Hand the terminal to `ptyd attach` and take it back when it returns (the detach
        key): the overview goes on following events meanwhile, but draws nothing."""
        argv = [sys.executable, "-m", "ptyd", *view.target.cli_args, "attach", row.name]
        if read_only:
            argv.append("--read-only")
        loop = asyncio.get_running_loop()
        self._suspended = True
        loop.remove_reader(self.screen.in_fd)
        self.screen.lend()
        try:
            proc = await asyncio.create_subprocess_exec(*argv)
            try:
                code = await proc.wait()
            except asyncio.CancelledError:
                # The overview is ending (q is not reachable now: SIGTERM, SIGHUP): the attach
                # ends first and restores the terminal, then we do.
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), ATTACH_END_S)
                raise
        finally:
            self.screen.take_back()
            if not self._done.done():
                loop.add_reader(self.screen.in_fd, self._on_stdin)
            self._suspended = False
        self.message = f"back from {row.name}" + (f" (attach exited {code})" if code else "")

    async def _new_agent(self) -> None:
        """Ask for the name, command, repository and task one after another, then spawn."""
        cur = self.current()
        view = cur[1] if cur else next((v for v in self.views if v.up), self.views[0])
        try:
            name = await self._ask("new agent: name (empty: a number): ")
            command = await self._ask("command (empty: your shell): ")
            repo = await self._ask("repository (empty: none; an absolute path): ")
            task = await self._ask("task id (the branch agent/NAME-TASK): ") if repo else ""
        finally:  # answered, or cancelled (Esc): keys typed since go to the list again
            ahead, self._typeahead = self._typeahead or [], None
            for key in ahead:
                self.key(key)
        started = await actions.new_agent(view, name, command, repo, task)
        self.selected = (view.target.name, started)
        self.message = f"started {started}"

    async def _say(self, action: Awaitable[str]) -> None:
        self.message = await action

    async def _show_diff(self, view: DaemonView, name: str, branch: str) -> None:
        self.diff = await actions.diff(view, name)
        self.diff_title, self.diff_top, self.mode = f"{name}: {branch}", 0, "diff"

    async def _ask(self, label: str) -> str:
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def done(text: str) -> None:
            answer.set_result(text)

        self.prompt = Prompt(label, done, cancel=answer.cancel)
        # Keys read since the last question was answered are this one's (Enter among them
        # answers it, and what follows waits for the next).
        ahead, self._typeahead = self._typeahead or [], []
        for key in ahead:
            self.key(key)
        self.changed()
        return await answer
