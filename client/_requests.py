"""The blocking request methods, written once over `request()` for both blocking clients (Client,
and LeanClient of the `ptyd` command); AsyncClient documents what each one means."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from . import _connect
from ._exceptions import PtydError
from ._rules import BUDGET_RETRY_FIRST_S, BUDGET_RETRY_FOR_S, BUDGET_RETRY_MAX_S, budget_refusal


class BlockingRequests:
    client_name: str
    timeout: float

    def request(self, op: str, params: dict[str, Any] | None = None, *,
                timeout: float | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def hello(self) -> dict[str, Any]:
        return self.request("hello", _connect.hello_params(self.client_name))

    def list(self) -> list[dict[str, Any]]:
        sessions: list[dict[str, Any]] = self.request("list")["sessions"]
        return sessions

    def info(self, session: str) -> dict[str, Any]:
        return self.request("info", {"session": session})

    def input(self, session: str, data: bytes | str, *, force: bool = False
              ) -> dict[str, Any]:
        if isinstance(data, str):
            data = data.encode()
        return self.request("input", {"session": session, "data": data,
                                      "force": force or None})

    def resize(self, session: str, cols: int, rows: int) -> dict[str, Any]:
        return self.request("resize", {"session": session, "cols": cols, "rows": rows})

    def signal(self, session: str, signal: str | int, *, group: bool = False) -> dict[str, Any]:
        return self.request("signal", {"session": session, "signal": signal, "group": group})

    def kill(self, session: str, *, signal: str | int | None = None,
             grace: float | None = None) -> dict[str, Any]:
        return self.request("kill", {"session": session, "signal": signal, "grace": grace})

    def read(self, session: str, offset: int | None = None, *, max_bytes: int | None = None,
             clamp: bool = False, stream: str | None = None) -> dict[str, Any]:
        params = {"session": session, "offset": offset, "max_bytes": max_bytes,
                  "clamp": clamp or None, "stream": stream}
        deadline, pause = time.monotonic() + BUDGET_RETRY_FOR_S, BUDGET_RETRY_FIRST_S
        while True:
            try:
                return self.request("read", params)
            except PtydError as e:  # (LimitExceeded: the budget's backpressure, see _rules)
                if not budget_refusal(e) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, BUDGET_RETRY_MAX_S)

    def wait(self, session: str, timeout: float | None = None, *,
             until: str | Sequence[str] | None = None, after_turn: int | None = None,
             since_seq: int | None = None) -> dict[str, Any]:
        transport = 0.0 if timeout is None else timeout + self.timeout
        states = [until] if isinstance(until, str) else None if until is None else list(until)
        return self.request("wait", {"session": session, "timeout": timeout, "until": states,
                                     "after_turn": after_turn, "since_seq": since_seq},
                            timeout=transport)

    def remove(self, session: str, *, force: bool = False) -> dict[str, Any]:
        return self.request("remove", {"session": session, "force": force or None},
                            timeout=0 if force else None)

    def pause(self, session: str, *, message: str | None = None) -> dict[str, Any]:
        return self.request("pause", {"session": session, "message": message}, timeout=0)

    def resume(self, session: str) -> dict[str, Any]:
        return self.request("resume", {"session": session}, timeout=0)

    def shutdown(self, grace: float | None = None) -> dict[str, Any]:
        return self.request("shutdown", {"grace": grace})

    def events(self, since: int, max: int | None = None) -> dict[str, Any]:
        return self.request("events", {"since": since, "max": max})
