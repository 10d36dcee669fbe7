"""The seed's process API: TerminalManager spawns Claude Code agents, AgentProcess is one of them.

    from ptyd.runtime.process import TerminalManager

    manager = TerminalManager(Path("."))
    process = manager.spawn_claude_agent("architect-T001", "Complete task T001",
                                         working_dir=Path("sandbox"), timeout=300,
                                         dangerously_skip_permissions=True)
    code = manager.wait_for_completion("architect-T001", timeout=300)
    print(manager.get_output("architect-T001"))

Every agent is a ptyd session (named after the agent id, so a person can `ptyd attach` to it):
it runs in the daemon under a real terminal and outlives this program. The manager is a client
of the daemon (the default one, or `daemon_dir`; started if none runs).

What the seed's names mean here:
- `spawn_claude_agent(...)` starts `claude` (the `claude` argument, else $PTYD_CLAUDE, else
  `claude` on PATH). Print mode (the default) runs `claude -p PROMPT`; `interactive=True` starts
  the TUI and types the prompt once the agent is at its prompt. `timeout` is enforced by the
  daemon: past it the agent is stopped (SIGTERM, SIGKILL after the kill grace) and
  `stop_reason` is 'timeout', even if this program is gone.
- `wait_for_completion(agent_id, timeout)` returns when the task is done. Print mode: when the
  process exits; it returns the exit code. Interactive: when the agent finished the turn its
  prompt started (Claude Code's Stop hook: daemon state `idle` entered after the prompt was
  typed) or exited; it returns the exit code if it exited, else None with the agent still at
  its prompt (`send_prompt` gives it the next task, `terminate` ends it). A turn that failed
  (StopFailure: not logged in, a rate limit; daemon state `error`) returns TURN_FAILED (1, what
  `claude -p` exits with then), and `AgentProcess.failure` and `get_errors` say why. At the
  timeout it returns None; `AgentProcess.done` tells the two Nones apart.
- Lines (`output_lines`, `error_lines`, `get_output`, callbacks) are text as a person reads it:
  escape sequences removed, carriage-return redraws collapsed (`ptyd.client.LineCooker`). For an
  interactive agent, whose TUI redraws its last rows, a line is final once it is out of the
  screen's reach (scrolled up, or the agent exited); `output_lines` also shows the rows still on
  screen, callbacks get each line once, when it is final, in order.
- `return_code` follows subprocess: the exit code, or -N for a killing signal N.
- stdout and stderr: a terminal has one output, so by default (interactive) the agent's stderr
  goes to the terminal too and `error_lines` stays empty. In print mode (or with
  `separate_stderr=True`) stderr gets its own pipe: captured apart, streamed on its own topic,
  but a person attached to the terminal does not see it, and the interleaving of the two is
  lost.

Claude Code specifics, handled by spawn_claude_agent so that an agent started from code does not
stop at a dialog nobody sees:
- DISABLE_AUTOUPDATER=1 (the daemon sets it too): no self-update inside a session.
- Onboarding and folder trust: an interactive Claude Code in a new directory first shows the
  onboarding flow or a trust dialog. Before an interactive spawn the manager makes sure the
  Claude config (`$CLAUDE_CONFIG_DIR/.claude.json`, else `$HOME/.claude.json`; `claude_home`
  chooses another HOME for the agents) has `hasCompletedOnboarding: true` and
  `projects[<working dir>].hasTrustDialogAccepted: true`. This is the user's real config unless
  `claude_home` says otherwise (that is where their login and settings are): only those keys
  are added, nothing else changes, the file is replaced atomically and only when something was
  missing, under a lock shared by every manager of the daemon. `seed_claude_config=False` turns
  this off. Print mode needs none of it and touches nothing.
- Running as root, `--dangerously-skip-permissions` is refused unless the environment declares a
  sandbox: the manager sets IS_SANDBOX=1 then. The bypass-mode warning dialog (default "No,
  exit") is skipped with the setting skipDangerousModePermissionPrompt, passed in the
  per-session settings file the daemon writes (nothing of the user's is touched).
- The prompt of an interactive agent is typed, then Enter is pressed as a separate write
  PASTE_GAP_S later (text and Enter in one read are taken as a paste and the Enter is lost);
  if the agent does not take the prompt (no UserPromptSubmit) Enter is pressed again. A prompt
  with newlines is sent as a bracketed paste.
- CLAUDECODE and CLAUDE_CODE_ENTRYPOINT are removed from the agent's environment: set when this
  program itself runs inside Claude Code, they make a nested `claude` refuse to start.

Thread safety: the manager's table of agents is guarded by a threading.Lock; spawns from many
threads run concurrently (the lock is not held during a spawn). The output of every agent is
read on the client's event loop and handed to one thread per agent (a daemon thread), which
turns it into lines and runs the callbacks, in order.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ptyd.client import (
    Client,
    ExpectTimeout,
    LineCooker,
    Lost,
    NoSuchSession,
    PtydError,
    Session,
    SessionExists,
)
from ptyd.client.rundir import make_runtime_dir, open_private
from ptyd.proto import pubsub

log = logging.getLogger("ptyd.runtime")

CLAUDE_ENV = "PTYD_CLAUDE"
"""Environment variable naming the `claude` executable to run (tests point it at a fake)."""

DEFAULT_COLS, DEFAULT_ROWS = 120, 40
KILL_GRACE_S = 5.0
REQUEST_TIMEOUT_S = 60.0
"""Replies may be slow when a daemon starts many agents at once on a small machine."""
STARTUP_TIMEOUT_S = 60.0
"""Interactive: how long the agent may take to reach its prompt before the prompt is given up."""
PROMPT_ACK_S = 3.0
"""Interactive: how long to wait for the agent to take a prompt before pressing Enter again."""
PROMPT_RETRIES = 2
TURN_FAILED = 1
"""wait_for_completion's value for an interactive turn that failed (daemon state `error`)."""
FIRST_PAINT_QUIET_S, FIRST_PAINT_MAX_S = 0.2, 3.0
"""Interactive: before the first prompt, wait for this much output silence (at most so long)."""
JOIN_TIMEOUT_S = 60.0
"""How long to wait for the last lines of an exited agent to be read and delivered."""
NESTED_ENV = ("CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT")

OutputCallback = Callable[[str, str], Any]
"""callback(stream, line): stream is 'stdout' or 'stderr'."""

_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]")
_config_lock = threading.Lock()


class AgentProcess:
    """One agent: a ptyd session running Claude Code, and the lines read from it so far."""

    def __init__(self, agent_id: str, session: Session, working_dir: Path, interactive: bool,
                 rows: int):
        self.agent_id = agent_id
        self.session = session
        """The ptyd Session handle: send_keys(), screen(), expect(), info(), ..."""
        self.working_dir = working_dir
        self.interactive = interactive
        self.started = time.time()
        self.error: str | None = None
        """Why the prompt could not be given (interactive), if it could not."""
        self.failure: str | None = None
        """Why the last turn failed (interactive, daemon state `error`): `reason: message`,
        e.g. 'authentication_failed: Not logged in · Please run /login'; None if it did not."""
        self._lock = threading.Lock()        # the lines and the exit
        self._dispatch = threading.RLock()   # callbacks, in order, each line once
        self._lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        # An interactive TUI redraws its last rows: lines are final once out of the screen.
        self._cookers = {"stdout": LineCooker(reach=rows - 1 if interactive else 0),
                         "stderr": LineCooker()}
        self._callbacks: list[OutputCallback] = []
        self._return_code: int | None = None
        self._exited = False
        self._stop_reason: str | None = None
        self._ended: dict[str, threading.Event] = {}
        self._turn_started: float | None = None
        self._turn_seq: int | None = None
        """The daemon's event number when the prompt was typed: its turn ends after it."""
        self._turn_given = threading.Event()
        self._done = False

    def __repr__(self) -> str:
        status = "running" if not self._exited else f"exited {self._return_code}"
        return f"<AgentProcess {self.agent_id!r} pid={self.pid} {status}>"

    @property
    def pid(self) -> int:
        return int(self.session["pid"])

    @property
    def name(self) -> str:
        """The ptyd session name (`ptyd attach NAME`)."""
        return self.session.name

    @property
    def is_running(self) -> bool:
        """Whether the agent's process is still alive (asks the daemon until it has exited)."""
        if not self._exited:
            with contextlib.suppress(PtydError):
                info = self.session.info()
                if info["status"] == "exited":
                    self._record_exit(info)
        return not self._exited

    @property
    def return_code(self) -> int | None:
        """The exit code (-N if killed by signal N); None while running."""
        return self._return_code

    @property
    def stop_reason(self) -> str | None:
        """Why ptyd stopped it: 'timeout', 'killed', or None (it exited by itself)."""
        return self._stop_reason

    @property
    def done(self) -> bool:
        """The task is done: the process exited, or (interactive) the turn of its last prompt
        has finished."""
        return self._exited or self._done

    @property
    def state(self) -> str:
        """The agent state now: starting, working, waiting (for a person: which dialog is
        `session.info()["state_reason"]`), idle, error (its last turn failed), exited."""
        if self._exited:
            return "exited"
        try:
            return str(self.session.info().get("state") or "unknown")
        except PtydError:
            return "unknown"

    @property
    def output_lines(self) -> list[str]:
        """Lines of output so far (a copy), including rows an interactive TUI may still redraw."""
        with self._lock:
            return self._lines["stdout"] + self._cookers["stdout"].pending

    @property
    def error_lines(self) -> list[str]:
        """Lines of the separate stderr so far (empty when stderr shares the terminal)."""
        with self._lock:
            return self._lines["stderr"] + self._cookers["stderr"].pending

    # -- reading ----------------------------------------------------------------------------------

    def _start_reading(self, streams: Sequence[str]) -> None:
        """Follow the streams from their first byte: the session's callback thread (a daemon
        thread, one per agent) cooks the chunks into lines and calls the callbacks, in order."""
        for stream in streams:
            ended = threading.Event()
            self._ended[stream] = ended
            self.session.on_output(functools.partial(self._on_chunk, stream), stream=stream,
                                   on_end=functools.partial(self._on_end, stream, ended))

    def _on_chunk(self, stream: str, item: pubsub.OutputChunk | Lost) -> None:
        cooker = self._cookers[stream]
        with self._dispatch:
            with self._lock:
                if isinstance(item, Lost):
                    lines = [*cooker.flush(), f"[ptyd: {item.end - item.offset} bytes of "
                             "output were evicted before they could be read]"]
                else:
                    lines = cooker.feed(item.data)
                self._lines[stream].extend(lines)
            self._deliver(stream, lines)

    def _on_end(self, stream: str, ended: threading.Event) -> None:
        with self._dispatch:
            with self._lock:
                lines = self._cookers[stream].flush()
                self._lines[stream].extend(lines)
            self._deliver(stream, lines)
        if stream == "stdout":
            with contextlib.suppress(PtydError):
                info = self.session.info()
                if info["status"] == "exited":
                    self._record_exit(info)
        ended.set()

    def _deliver(self, stream: str, lines: list[str]) -> None:
        for callback in list(self._callbacks):
            for line in lines:
                try:
                    callback(stream, line)
                except Exception:
                    log.exception("agent=%s output callback %r failed", self.agent_id, callback)

    def _add_callback(self, callback: OutputCallback) -> None:
        with self._dispatch:  # no line is delivered while the backlog is replayed
            with self._lock:
                backlog = {stream: list(lines) for stream, lines in self._lines.items()}
            self._callbacks.append(callback)
            for stream, lines in backlog.items():
                for line in lines:
                    try:
                        callback(stream, line)
                    except Exception:
                        log.exception("agent=%s output callback %r failed", self.agent_id,
                                      callback)

    def _record_exit(self, info: dict[str, Any]) -> None:
        with self._lock:
            if self._exited:
                return
            code, signum = info.get("exit_code"), info.get("exit_signal")
            self._return_code = -int(signum) if signum is not None else \
                (int(code) if code is not None else None)
            self._stop_reason = info.get("stop_reason")
            self._exited = True

    def _join_reading(self, timeout: float) -> None:
        """Wait until every line of an exited agent has been read and delivered."""
        if threading.current_thread().name == f"ptyd-callbacks-{self.name}":
            return  # called from a callback: the reading waits for us, not we for it
        deadline = time.monotonic() + timeout
        for ended in self._ended.values():
            ended.wait(max(0.0, deadline - time.monotonic()))


class TerminalManager:
    """Spawns and tracks Claude Code agents as ptyd sessions (see the module doc).

    `base_dir`: relative working directories are taken relative to it. `daemon_dir`: the
    daemon's runtime directory (default: the user's); `autostart`: start a daemon if none runs.
    `claude`: the executable (default $PTYD_CLAUDE, else `claude`). `claude_home`: the HOME of
    the agents (default: yours). `client`: an existing ptyd Client to use instead;
    `request_timeout`: how long the manager's own client waits for a reply.
    """

    def __init__(self, base_dir: Path | str = ".", *, daemon_dir: Path | str | None = None,
                 autostart: bool = True, claude: str | None = None,
                 claude_home: Path | str | None = None, seed_claude_config: bool = True,
                 client: Client | None = None, cols: int = DEFAULT_COLS,
                 rows: int = DEFAULT_ROWS, request_timeout: float = REQUEST_TIMEOUT_S):
        self.base_dir = Path(base_dir)
        self.claude = claude
        self.claude_home = Path(claude_home) if claude_home is not None else None
        self.seed_claude_config = seed_claude_config
        self.cols, self.rows = cols, rows
        self._owns_client = client is None
        self.client = client if client is not None else Client(
            daemon_dir, autostart=autostart, client_name="ptyd-runtime",
            timeout=request_timeout)
        self.processes: dict[str, AgentProcess] = {}
        self._lock = threading.Lock()
        self._reserved: set[str] = set()

    def __enter__(self) -> TerminalManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading (the agents go on running in the daemon; terminate_all() stops them)."""
        with self._lock:
            processes = list(self.processes.values())
        for process in processes:
            with contextlib.suppress(PtydError):
                process.session.close()
        if self._owns_client:
            self.client.close()

    # -- spawning ---------------------------------------------------------------------------------

    def spawn_claude_agent(self, agent_id: str, prompt: str, working_dir: Path | str,
                           timeout: float | None = None,
                           dangerously_skip_permissions: bool = False, *,
                           model: str | None = None, extra_args: Sequence[str] = (),
                           interactive: bool = False, separate_stderr: bool | None = None,
                           env: dict[str, str] | None = None) -> AgentProcess:
        """Start Claude Code on `prompt` in `working_dir` (created if missing); see the module
        doc for print and interactive mode. `env` adds to this process's environment."""
        cwd = (self.base_dir / working_dir).absolute()
        cwd.mkdir(parents=True, exist_ok=True)
        if separate_stderr is None:
            separate_stderr = not interactive
        argv = [self._claude_executable()]
        if dangerously_skip_permissions:
            argv.append("--dangerously-skip-permissions")
        if model:
            argv += ["--model", model]
        argv += list(extra_args)
        if not interactive:
            argv += ["-p", *(["--"] if prompt.startswith("-") else []), prompt]
        agent_env = self._agent_env(dangerously_skip_permissions, env)
        if interactive and self.seed_claude_config:
            prepare_claude_config(claude_config_file(agent_env), [str(cwd)],
                                  Path(self.client.dir))
        settings = {"skipDangerousModePermissionPrompt": True} \
            if dangerously_skip_permissions else None
        with self._lock:
            current = self.processes.get(agent_id)
            if agent_id in self._reserved or (current is not None and not current._exited):
                raise RuntimeError(f"agent {agent_id!r} is already running (terminate it first)")
            self._reserved.add(agent_id)
        try:
            session = self._spawn(session_name(agent_id), argv, cwd, agent_env, settings, timeout,
                                  "pipe" if separate_stderr else "pty")
            process = AgentProcess(agent_id, session, cwd, interactive, self.rows)
            with self._lock:
                self.processes[agent_id] = process
        finally:
            with self._lock:
                self._reserved.discard(agent_id)
        process._start_reading(["stdout", "stderr"] if separate_stderr else ["stdout"])
        log.info("agent=%s spawned session=%s pid=%d mode=%s", agent_id, session.name,
                 process.pid, "interactive" if interactive else "print")
        if interactive:
            threading.Thread(target=self._first_prompt, args=(process, prompt), daemon=True,
                             name=f"ptyd-agent-{agent_id}-prompt").start()
        else:
            process._turn_given.set()
        return process

    def _spawn(self, name: str, argv: list[str], cwd: Path, env: dict[str, str],
               settings: dict[str, Any] | None, timeout: float | None, stderr: str) -> Session:
        for attempt in (1, 2):
            try:
                return self.client.spawn(argv, name=name, cwd=str(cwd), env=env, cols=self.cols,
                                         rows=self.rows, agent="claude", agent_settings=settings,
                                         timeout=timeout, stderr=stderr)
            except SessionExists:
                # A session of that name from an earlier run: replace it once it has exited.
                if attempt == 2 or self.client.info(name)["status"] != "exited":
                    raise RuntimeError(f"a ptyd session named {name!r} is running (not "
                                       "started by this manager); choose another agent id"
                                       ) from None
                with contextlib.suppress(NoSuchSession):
                    self.client.remove(name)
        raise AssertionError("unreachable")

    def _claude_executable(self) -> str:
        return self.claude or os.environ.get(CLAUDE_ENV) or "claude"

    def _agent_env(self, skip_permissions: bool, extra: dict[str, str] | None
                   ) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in NESTED_ENV}
        env["DISABLE_AUTOUPDATER"] = "1"
        if self.claude_home is not None:
            env["HOME"] = str(self.claude_home.absolute())
        if skip_permissions and os.geteuid() == 0:
            env["IS_SANDBOX"] = "1"  # as root, the bypass is refused without it
        env.update(extra or {})
        return env

    # -- prompts ----------------------------------------------------------------------------------

    def _first_prompt(self, process: AgentProcess, prompt: str) -> None:
        try:
            info = process.session.wait(STARTUP_TIMEOUT_S, until=["idle", "waiting"])
            if info["exited"] or not info["reached"]:
                why = "exited" if info["exited"] else \
                    f"did not reach its prompt within {STARTUP_TIMEOUT_S:g}s"
                process.error = f"the agent {why}: its prompt was not given"
                log.warning("agent=%s %s", process.agent_id, process.error)
                return
            # The SessionStart hook may come before the prompt is drawn: let the first paint
            # finish, so that what is typed reaches the input box.
            with contextlib.suppress(ExpectTimeout):
                process.session.wait_until_quiet(FIRST_PAINT_QUIET_S, timeout=FIRST_PAINT_MAX_S)
            self._submit(process, prompt)
        except (PtydError, RuntimeError) as e:  # RuntimeError: the manager was closed
            process.error = f"giving the prompt failed: {e}"
            log.warning("agent=%s %s", process.agent_id, process.error)
        finally:
            process._turn_given.set()

    def send_prompt(self, agent_id: str, prompt: str) -> None:
        """Interactive: give the agent its next prompt (it should be idle, at its prompt);
        wait_for_completion then waits for this turn."""
        process = self._get(agent_id)
        if not process.interactive:
            raise ValueError(f"agent {agent_id!r} runs in print mode: it takes no more prompts")
        process._turn_given.clear()
        try:
            self._submit(process, prompt)
        finally:
            process._turn_given.set()

    def _submit(self, process: AgentProcess, prompt: str) -> None:
        """Type the prompt, press Enter apart, and make sure the agent took it."""
        session = process.session
        process._done = False
        process.failure = None
        text = f"\x1b[200~{prompt}\x1b[201~" if "\n" in prompt or "\r" in prompt else prompt
        sent = session.send(text)
        process._turn_started = time.time()
        process._turn_seq = sent.get("seq")
        session.send_keys("Enter")
        for _ in range(PROMPT_RETRIES):
            info = session.wait(PROMPT_ACK_S, until=["working", "waiting", "idle", "error"],
                                since_seq=process._turn_seq)
            if info["exited"] or info["reached"]:
                return
            log.info("agent=%s did not take its prompt: pressing Enter again", process.agent_id)
            session.send_keys("Enter")

    # -- waiting and results ----------------------------------------------------------------------

    def wait_for_completion(self, agent_id: str, timeout: float | None = None) -> int | None:
        """Wait until the task is done (see the module doc); the exit code if the agent exited,
        else None (interactive turn finished, or the timeout passed: see `done`)."""
        process = self._get(agent_id)
        deadline = None if timeout is None else time.monotonic() + timeout

        def remaining() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        if not process._turn_given.wait(remaining()):
            return None
        if process.interactive and process._turn_started is None and process.error:
            return None  # the prompt could not be given (`error` says why): nothing to wait for
        until = ["idle", "error"] if process.interactive and process._turn_started else None
        # Only a state entered after the prompt was typed ends its turn, never the idle before.
        info = process.session.wait(remaining(), until=until, since_seq=process._turn_seq)
        if info["exited"]:
            process._record_exit(info)
            process._join_reading(JOIN_TIMEOUT_S)
            return process.return_code
        if until is None or not info["reached"]:
            return None
        process._done = True
        if info["state"] == "error":
            process.failure = f"{info['state_reason']}: {info['state_text'] or ''}".rstrip(": ")
            log.warning("agent=%s turn failed: %s", process.agent_id, process.failure)
            return TURN_FAILED
        return None

    def get_output(self, agent_id: str) -> str:
        """The agent's output so far, lines joined with newlines."""
        return "\n".join(self._get(agent_id).output_lines)

    def get_errors(self, agent_id: str) -> str:
        """The agent's separate stderr so far (see the module doc), lines joined; then why its
        last turn failed, if it did (`AgentProcess.failure`)."""
        process = self._get(agent_id)
        failure = [f"turn failed: {process.failure}"] if process.failure else []
        return "\n".join(process.error_lines + failure)

    def register_output_callback(self, agent_id: str, callback: OutputCallback) -> None:
        """Call `callback(stream, line)` for every line of the agent, 'stdout' or 'stderr':
        first the lines read before registration, then each new line once it is final, in
        order, exactly once, in the agent's callback thread."""
        self._get(agent_id)._add_callback(callback)

    # -- ending -----------------------------------------------------------------------------------

    def terminate(self, agent_id: str, grace: float = KILL_GRACE_S) -> bool:
        """Stop the agent and every process it started: SIGHUP and SIGTERM, SIGKILL after
        `grace` seconds (ptyd kill); wait for it. True if it was running."""
        process = self._get(agent_id)
        if process._exited:
            return False
        try:
            reply = self.client.kill(process.name, grace=grace)
            info = self.client.wait(process.name, grace + 5)
        except NoSuchSession:
            process._record_exit({})
            return False
        process._record_exit(info)
        process._join_reading(JOIN_TIMEOUT_S)
        return reply.get("status") != "exited"

    def terminate_all(self, grace: float = KILL_GRACE_S) -> None:
        """Stop every running agent of this manager (all at once, then wait for each)."""
        with self._lock:
            processes = [p for p in self.processes.values() if not p._exited]
        for process in processes:
            with contextlib.suppress(NoSuchSession):
                self.client.kill(process.name, grace=grace)
        for process in processes:
            self.terminate(process.agent_id, grace)

    def remove(self, agent_id: str) -> None:
        """Forget an exited agent and remove its session (and scrollback) from the daemon."""
        process = self._get(agent_id)
        if not process._exited and process.is_running:
            raise RuntimeError(f"agent {agent_id!r} is still running (terminate it first)")
        process.session.close()
        with contextlib.suppress(NoSuchSession):
            self.client.remove(process.name)
        with self._lock:
            self.processes.pop(agent_id, None)

    def _get(self, agent_id: str) -> AgentProcess:
        with self._lock:
            process = self.processes.get(agent_id)
        if process is None:
            raise KeyError(f"no agent {agent_id!r} (spawn_claude_agent starts one)")
        return process


# -- helpers --------------------------------------------------------------------------------------

def session_name(agent_id: str) -> str:
    """The ptyd session name of an agent: its id, with characters ptyd refuses replaced."""
    name = _NAME_CHARS.sub("-", agent_id)[:64]
    if not name or name[0] in "-.":
        name = ("agent-" + name)[:64]
    return name


def claude_config_file(env: dict[str, str]) -> Path:
    """Where Claude Code keeps its state (onboarding, trusted folders) for this environment."""
    config_dir = env.get("CLAUDE_CONFIG_DIR")
    if config_dir:
        return Path(config_dir) / ".claude.json"
    return Path(env.get("HOME") or Path.home()) / ".claude.json"


def prepare_claude_config(path: Path, project_dirs: Sequence[str], lock_dir: Path) -> bool:
    """Make sure Claude Code starts unattended: onboarding done, the folders trusted. Adds only
    what is missing, keeps everything else, replaces the file atomically; True if it changed.
    A file that is not valid JSON is left alone (and logged)."""
    path = Path(os.path.realpath(path))
    projects = {p for d in project_dirs for p in (d, os.path.realpath(d))}
    make_runtime_dir(lock_dir)  # the daemon's directory: ours alone, or UnsafeRuntimeDir
    lock_fd = open_private(lock_dir / "claude-config.lock", os.O_WRONLY | os.O_CREAT)
    with _config_lock, os.fdopen(lock_fd, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # other managers (processes) of this daemon
        try:
            text = path.read_text()
        except FileNotFoundError:
            text = "{}"
        try:
            config = json.loads(text)
        except ValueError:
            config = None
        if not isinstance(config, dict):
            log.warning("%s is not a JSON object: left alone (Claude Code may show its "
                        "onboarding or trust dialog)", path)
            return False
        changed = config.get("hasCompletedOnboarding") is not True
        config["hasCompletedOnboarding"] = True
        known = config.setdefault("projects", {})
        for project in sorted(projects):
            entry = known.setdefault(project, {})
            if entry.get("hasTrustDialogAccepted") is not True:
                entry["hasTrustDialogAccepted"] = True
                changed = True
        if changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.ptyd-{os.getpid()}-{threading.get_ident()}")
            mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
            # O_EXCL | O_NOFOLLOW: the temporary name is guessable; never write through a
            # file or link someone put there first.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)  # ours, left by a crash: unlink removes a link, never follows
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, mode)
            with os.fdopen(fd, "w") as f:
                json.dump(config, f, indent=2)
            os.replace(temp, path)
            log.info("claude config %s: onboarding and trust of %s recorded", path,
                     ", ".join(sorted(projects)))
        return changed
