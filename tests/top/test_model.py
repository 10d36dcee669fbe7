"""The overview's table as pure functions: order, columns, widths."""

from __future__ import annotations

from ptyd.top.model import Row, ago, cells, fit, sort_rows, table
from ptyd.top.terminal import split_keys


def info(name: str, state: str, **fields: object) -> dict[str, object]:
    return {"name": name, "status": "running", "state": state, "state_since": 100.0,
            "viewers": 0, **fields}


def test_sessions_that_need_a_person_come_first() -> None:
    rows = [Row("d", info("w1", "working")), Row("d", info("i1", "idle")),
            Row("d", info("e1", "error", state_reason="rate_limit")),
            Row("d", info("q1", "waiting", state_reason="trust")),
            Row("d", info("x1", "exited", status="exited", exit_code=3))]
    assert [r.name for r in sort_rows(rows)] == ["q1", "e1", "i1", "w1", "x1"]


def test_cells_say_state_reason_age_changes_and_diff() -> None:
    row = Row("d", info("a", "waiting", state_reason="trust", branch="agent/a-t", dirty=True),
              diff={"files_changed": 4, "insertions": 12, "deletions": 3},
              branch={"ahead": 2, "dirty": True})
    assert cells(row, now=100.0 + 125) == ["a", "running", "waiting: trust", "2m", "agent/a-t",
                                           "dirty ↑2", "+12 -3, 4 files", "0"]
    exited = Row("d", info("b", "exited", status="exited", exit_code=None, exit_signal=9))
    assert cells(exited, now=100.0)[1] == "exit sig9"
    stopping = info("c", "exited", status="exited", exit_code=0, stop_reason="paused")
    assert cells(Row("d", stopping), now=100.0)[1] == "pausing", "not committed yet"
    assert cells(Row("d", {**stopping, "paused": True}), now=100.0)[1] == "paused"
    assert ago(3 * 86400) == "3d"


def test_lines_never_exceed_the_width_even_with_wide_characters() -> None:
    rows = [Row("far-away-host", info("名前名前名前名前名前", "idle"))]
    header, lines = table(rows, 30, show_daemon=True, now=100.0)
    assert header.startswith("DAEMON")
    assert sum(2 if ord(c) > 0x2E80 else 1 for c in lines[0]) <= 30
    assert fit("ab名", 3) == "ab"


def test_keys_are_split_into_names_and_text() -> None:
    assert split_keys(b"\x1b[Ax\r\x7f\x03\xc3\xa9\x1b") == ["up", "x", "enter", "backspace",
                                                           "C-c", "é", "esc"]


def test_a_narrow_terminal_still_shows_every_column() -> None:
    row = Row("d", info("agent-with-a-long-name", "waiting", state_reason="permission",
                        branch="agent/agent-with-a-long-name-task"),
              diff={"files_changed": 2, "insertions": 5, "deletions": 1}, branch={"ahead": 1})
    header, lines = table([row], 80, show_daemon=False, now=100.0)
    assert header.split() == ["NAME", "STATUS", "STATE", "FOR", "BRANCH", "CHANGES", "DIFF",
                              "VIEW"]
    assert len(lines[0]) <= 80 and lines[0].rstrip().endswith("0")
