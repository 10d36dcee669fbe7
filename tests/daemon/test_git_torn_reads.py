"""A listing that loses the race with a config writer reads again instead of failing.

libgit2 stats .git/config and then reads it at every lookup; another thread replacing the file
(the agent registry lives there) in between gives "could not read (expected N bytes, read M)".
The race itself is too narrow to provoke on demand, so the rule is checked on the error libgit2
raises: read-only listings run again, and any other error still goes through at once.
"""

from __future__ import annotations

from collections.abc import Callable

import pygit2
import pytest

from ptyd.daemon.git._git import OPEN_ATTEMPTS, git_errors, rereads_torn_config
from ptyd.proto.gitworkspace import GitWorkspaceError

TORN = "could not read (expected 698 bytes, read 687)"


def flaky(failures: int, message: str = TORN) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    @rereads_torn_config
    def listing() -> str:
        calls.append(1)
        if len(calls) <= failures:
            with git_errors("listing agent branches"):
                raise pygit2.GitError(message)
        return "listed"
    return calls, listing


def test_a_torn_config_read_is_read_again() -> None:
    calls, listing = flaky(2)
    assert listing() == "listed"
    assert len(calls) == 3


def test_a_config_torn_every_time_still_fails_in_the_end() -> None:
    calls, listing = flaky(OPEN_ATTEMPTS)
    with pytest.raises(GitWorkspaceError, match="could not read"):
        listing()
    assert len(calls) == OPEN_ATTEMPTS


def test_other_git_errors_are_not_retried() -> None:
    calls, listing = flaky(1, "reference 'refs/heads/x' not found")
    with pytest.raises(GitWorkspaceError, match="not found"):
        listing()
    assert len(calls) == 1
