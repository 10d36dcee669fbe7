"""One exit-code mapping for all clients (proto/exitstatus.py)."""

from __future__ import annotations

from ptyd.proto.exitstatus import UNKNOWN_EXIT_CODE, shell_code


def test_a_signal_is_128_plus_its_number() -> None:
    assert shell_code({"exit_code": None, "exit_signal": 15}) == 143


def test_an_exit_code_is_itself() -> None:
    assert shell_code({"exit_code": 0, "exit_signal": None}) == 0
    assert shell_code({"exit_code": 3, "exit_signal": None}) == 3


def test_an_unknown_status_is_not_success() -> None:
    """An adopted session ended, but not known how: `wait` and `attach` both say 1 (they said
    1 and 0 before)."""
    assert shell_code({"exit_code": None, "exit_signal": None}) == UNKNOWN_EXIT_CODE == 1
