"""A session's state is declared once (daemon/sessionstate.py): every field is carried across
an upgrade, encoded in its own form, or declared transient; and every carried field comes back
from the handover state with the value it had."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import types
import typing
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest

from ptyd.daemon import handover
from ptyd.daemon.scrollback import Scrollback
from ptyd.daemon.session import ExitStatus, Session
from ptyd.daemon.sessionstate import CARRIED, ENCODED, TRANSIENT
from ptyd.daemon.viewers import Viewer


def test_every_session_field_is_declared_once() -> None:
    fields = {f.name for f in dataclasses.fields(Session)}
    carried = [c.attr for c in CARRIED]
    assert len(carried) == len(set(carried))
    groups = [set(carried), set(ENCODED), set(TRANSIENT)]
    assert sum(len(g) for g in groups) == len(set().union(*groups)), "declared twice"
    assert sorted(fields - set().union(*groups)) == [], \
        "new Session fields: declare them in daemon/sessionstate.py"
    assert sorted(set().union(*groups) - fields) == [], "declared fields Session no longer has"


def _sample(hint: Any, default: Any, n: int) -> Any:
    """A value of the field's type that differs from its default."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = args[0]
    origin = typing.get_origin(hint) or hint
    if origin is bool:
        return not default
    if origin is int:
        return 1000 + n
    if origin is float:
        return 1.5e9 + n
    if origin is str:
        return f"value-{n}"
    if origin is list:
        return [f"item-{n}"]
    if origin is dict:
        return {f"KEY{n}": f"value-{n}"}
    raise AssertionError(f"no sample for {hint!r}: extend _sample")


@pytest.fixture
def fds() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_every_carried_field_round_trips_through_handover(fds: tuple[int, int]) -> None:
    hints = typing.get_type_hints(Session)
    defaults = {f.name: f.default for f in dataclasses.fields(Session)}
    session = Session(name="a1", argv=["sh"], cwd="/", pid=1, master_fd=fds[0], cols=80,
                      rows=24, scrollback=Scrollback(4096))
    expected: dict[str, Any] = {}
    for n, field_ in enumerate(CARRIED):
        if field_.attr in ("master_fd", "stderr_fd"):
            value = fds[0] if field_.attr == "master_fd" else fds[1]
        elif field_.attr == "name":
            value = "agent-7"
        else:
            value = _sample(hints[field_.attr], defaults[field_.attr], n)
        setattr(session, field_.attr, value)
        expected[field_.attr] = value
    session.exit_status = ExitStatus(3, None)
    session.held_input = [b"held"]
    session.scrollback.append(b"hello")
    session.viewers["v1"] = Viewer("v1", "agent-7", b"peer", True, 90, 30)

    entry = msgpack.unpackb(msgpack.packb(handover.session_state(session, 123.0),
                                          use_bin_type=True), raw=False)
    restored = handover.restore_session(entry)

    assert {a: getattr(restored, a) for a in expected} == expected
    assert restored.exit_status == ExitStatus(3, None)
    assert (restored.held_input, restored.held_input_bytes) == ([b"held"], 4)
    assert restored.scrollback.read(0, 5) == b"hello"
    assert restored.viewers["v1"].read_only and entry["timeout_at"] == 123.0


def test_an_older_state_without_a_field_restores_its_default(fds: tuple[int, int]) -> None:
    session = Session(name="a1", argv=["sh"], cwd="/", pid=1, master_fd=fds[0], cols=80,
                      rows=24, scrollback=Scrollback(4096))
    entry = handover.session_state(session, None)
    del entry["git"], entry["containment"], entry["resumed_from"]
    restored = handover.restore_session(entry)
    assert (restored.repo, restored.cgroup, restored.resumed_from) == (None, None, None)
