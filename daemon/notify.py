"""Tell a person when an agent needs them: `[[notify]]` rules run a command or POST a webhook
when a session enters a state (`waiting`, `error`, `idle`, `exited`).

    [[notify]]
    states = ["waiting", "error"]            # which states page (idle: a turn ended; exited)
    sessions = ["agent-*"]                   # session name globs (default: every session)
    command = ["notify-send", "ptyd", "{session}: {state} {reason}"]
    # or: webhook = "https://hooks.example.com/T0/B0/xyz"   (https, or http to loopback only)
    delay = 2.0                              # seconds the state must last (debounce)
    timeout = 10.0                           # a command or POST running longer is killed

Debounce: one delivery per session, rule and state *entry* (a change of state_reason inside the
same state is not a new entry), and only if the state still holds `delay` seconds after it was
entered, so a permission prompt a script answers at once pages nobody. Deliveries run off the
event loop (a child reaped by the daemon's SIGCHLD handler, or a worker thread for a webhook),
at most MAX_RUNNING at once, each bounded by its timeout; beyond MAX_QUEUED running or waiting
ones new deliveries are dropped. A failure is logged once and never retried.

A command gets a clean environment (a few of the daemon's own variables so a desktop notifier
reaches the display, never the agent's) plus PTYD_SESSION, PTYD_STATE, PTYD_REASON,
PTYD_EXIT_CODE, PTYD_BRANCH, PTYD_TEXT; `{session}`, `{state}`, `{reason}`, `{exit_code}`,
`{branch}`, `{text}`, `{turn}` in its arguments are replaced (other braces stay as written).
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import ipaddress
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .agentstate import ERROR, EXITED, IDLE, WAITING
from .logs import log

if TYPE_CHECKING:
    from .session import Session

NOTIFY_STATES = (WAITING, ERROR, IDLE, EXITED)
DEFAULT_DELAY_S = 2.0
DEFAULT_TIMEOUT_S = 10.0
MAX_DELAY_S = 3600.0
MAX_TIMEOUT_S = 300.0
MAX_RUNNING = 4
MAX_QUEUED = 64
MAX_RULES = 64
_FIELD_RE = re.compile(r"\{(session|state|reason|exit_code|branch|text|turn)\}")
PASSED_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "DISPLAY",
              "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR")
"""The daemon's own variables a notifier may need (a desktop notification needs the display
and the session bus); nothing else, and never the agent's environment."""
_KEYS = {"states", "sessions", "command", "webhook", "delay", "timeout"}


@dataclass(frozen=True)
class NotifyRule:
    states: tuple[str, ...]
    sessions: tuple[str, ...] = ("*",)
    command: tuple[str, ...] | None = None
    webhook: str | None = None
    delay: float = DEFAULT_DELAY_S
    timeout: float = DEFAULT_TIMEOUT_S

    def matches(self, state: str, session: str) -> bool:
        return state in self.states and any(
            fnmatch.fnmatchcase(session, glob) for glob in self.sessions)

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"states": list(self.states), "sessions": list(self.sessions),
                                 "delay": self.delay, "timeout": self.timeout}
        if self.command is not None:
            shown["command"] = list(self.command)
        else:
            shown["webhook"] = self.webhook
        return shown


def parse_rule(value: object) -> NotifyRule:
    """One `[[notify]]` table (or one entry of a spawn's `notify`); ValueError says what is
    wrong, as "KEY: reason"."""
    if not isinstance(value, dict):
        raise ValueError("a table with states and command or webhook")
    unknown = sorted(set(value) - _KEYS)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown key (known: {', '.join(sorted(_KEYS))})")
    states = _strings(value.get("states"), "states")
    bad = [s for s in states if s not in NOTIFY_STATES]
    if not states or bad:
        raise ValueError(f"states: expected some of {', '.join(NOTIFY_STATES)}")
    sessions = _strings(value.get("sessions", ["*"]), "sessions") or ("*",)
    command, webhook = value.get("command"), value.get("webhook")
    if (command is None) == (webhook is None):
        raise ValueError("command or webhook: exactly one of them")
    if command is not None:
        command = _strings(command, "command")
        if not command or not command[0]:
            raise ValueError("command: expected a non-empty array of strings")
    if webhook is not None:
        check_webhook(webhook)
    return NotifyRule(states, sessions, command, webhook,
                      _seconds(value, "delay", DEFAULT_DELAY_S, 0.0, MAX_DELAY_S),
                      _seconds(value, "timeout", DEFAULT_TIMEOUT_S, 0.1, MAX_TIMEOUT_S))


def parse_rules(value: object) -> tuple[NotifyRule, ...]:
    """An array of rules; ValueError names the index of the bad one."""
    if not isinstance(value, list) or len(value) > MAX_RULES:
        raise ValueError(f"an array of at most {MAX_RULES} tables ([[notify]])")
    rules = []
    for index, item in enumerate(value):
        try:
            rules.append(parse_rule(item))
        except ValueError as e:
            raise ValueError(f"[{index}] {e}") from None
    return tuple(rules)


def check_webhook(url: object) -> str:
    """https anywhere, or http to a loopback address only: a state change (a session name, a
    reason) is not sent in clear text across a network."""
    if not isinstance(url, str) or any(c in url for c in "\r\n\x00 "):
        raise ValueError("webhook: expected a URL string")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return url
    raise ValueError(f"webhook: {url!r} must be https, or http to a loopback address "
                     "(127.0.0.1, ::1, localhost)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _strings(value: object, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and "\x00" not in v
                                              for v in value):
        raise ValueError(f"{key}: expected an array of strings")
    return tuple(value)


def _seconds(table: Mapping[str, object], key: str, default: float, lo: float,
             hi: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ValueError(f"{key}: expected seconds from {lo:g} to {hi:g}")
    return float(value)


# -- delivery ----------------------------------------------------------------------------------

RunHelper = Callable[..., Awaitable[tuple[int, str]]]


class NotifyHost(Protocol):
    """What the notifier needs of the daemon."""

    @property
    def notify_rules(self) -> tuple[NotifyRule, ...]: ...
    @property
    def stopping(self) -> bool: ...
    def call_later(self, delay: float, callback: Callable[[], None]) -> None: ...
    def start_task(self, coro: Awaitable[Any]) -> None: ...
    async def run_helper(self, argv: list[str], timeout: float, *,
                         env: dict[str, str] | None = None,
                         new_session: bool = False) -> tuple[int, str]: ...


def fields_of(session: Session) -> dict[str, str]:
    status = session.exit_status
    code = status.code if status is not None else None
    return {"session": session.name, "state": session.state,
            "reason": session.state_reason or "", "text": session.state_text or "",
            "exit_code": "" if code is None else str(code), "branch": session.branch or "",
            "turn": str(session.turn)}


class Notifier:
    """Arms one timer per (session, rule, state entry); delivers when it fires and the state
    still holds."""

    def __init__(self, host: NotifyHost) -> None:
        self.host = host
        self._armed: weakref.WeakKeyDictionary[Session, dict[int, float]] = (
            weakref.WeakKeyDictionary())
        """Per session (forgotten with it): rule index -> state_since of the entry armed for."""
        self._slots = asyncio.Semaphore(MAX_RUNNING)
        self._queued = 0
        self.delivered = 0
        self.failed = 0

    def on_state(self, session: Session) -> None:
        """Called by every state change (lifecycle.set_state)."""
        if session.state == IDLE and session.turn == 0:
            return  # ready at start-up: no turn has ended, nobody to tell
        rules = [*self.host.notify_rules, *session.notify]
        for index, rule in enumerate(rules):
            if not rule.matches(session.state, session.name):
                continue
            armed, entry = self._armed.setdefault(session, {}), session.state_since
            if armed.get(index) == entry:
                continue  # same entry (a new reason or text): notified once already
            armed[index] = entry
            self.host.call_later(rule.delay, functools.partial(
                self._due, rule, session, session.state, entry))

    def _due(self, rule: NotifyRule, session: Session, state: str, entry: float) -> None:
        if self.host.stopping:
            return  # sessions ended by a shutdown or an upgrade page nobody
        if session.state != state or session.state_since != entry:
            log.debug("session=%s notify skipped: %s lasted less than %gs", session.name,
                      state, rule.delay)
            return
        if self._queued >= MAX_QUEUED:
            log.warning("session=%s notify dropped: %d deliveries already queued",
                        session.name, self._queued)
            return
        self._queued += 1
        self.host.start_task(self._deliver(rule, fields_of(session)))

    async def _deliver(self, rule: NotifyRule, fields: dict[str, str]) -> None:
        try:
            async with self._slots:
                if rule.command is not None:
                    ok, why = await self._run(rule, fields)
                else:
                    assert rule.webhook is not None
                    ok, why = await asyncio.to_thread(_post, rule.webhook, fields, rule.timeout)
        except Exception as e:  # a notifier must never take the daemon down
            ok, why = False, f"{type(e).__name__}: {e}"
        finally:
            self._queued -= 1
        target = " ".join(rule.command) if rule.command else rule.webhook
        if ok:
            self.delivered += 1
            log.info("session=%s notify state=%s delivered to %s", fields["session"],
                     fields["state"], target)
        else:
            self.failed += 1
            log.warning("session=%s notify state=%s failed (%s): %s", fields["session"],
                        fields["state"], target, why)

    async def _run(self, rule: NotifyRule, fields: dict[str, str]) -> tuple[bool, str]:
        assert rule.command is not None
        argv = [_FIELD_RE.sub(lambda m: fields[m[1]], arg) for arg in rule.command]
        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        env.setdefault("PATH", os.defpath)
        env.update({"PTYD_" + k.upper(): v for k, v in fields.items()})
        try:
            code, output = await self.host.run_helper(argv, rule.timeout, env=env,
                                                      new_session=True)
        except OSError as e:
            return False, f"cannot run {argv[0]}: {e.strerror}"
        if code == 0:
            return True, ""
        tail = " ".join(output.split())[-200:]
        return False, f"exit {code}" + (f": {tail}" if tail else "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could lead a loopback-only webhook elsewhere: not followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
"""No proxy from the daemon's environment (it would see the payload), no redirects."""


def _post(url: str, fields: dict[str, str], timeout: float) -> tuple[bool, str]:
    """In a worker thread: POST the fields as JSON; `text` is a one-line summary, the field
    chat webhooks (Slack, Mattermost, Rocket.Chat) show."""
    summary = f"{fields['session']}: {fields['state']}"
    summary += f" {fields['reason']}" if fields["reason"] else ""
    summary += f" - {fields['text']}" if fields["text"] else ""
    body = {**fields, "exit_code": int(fields["exit_code"]) if fields["exit_code"] else None,
            "turn": int(fields["turn"]), "summary": summary, "text": summary}
    body["state_text"] = fields["text"]
    request = urllib.request.Request(url, json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "ptyd-notify"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as e:
        return False, f"HTTP {e.code}"
    except (OSError, ValueError) as e:
        return False, str(e)
    return (200 <= status < 300), f"HTTP {status}"
