"""The shared rule of a safe runtime directory, on stat results made up for each case."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ptyd.proto.trust import runtime_dir_problem, socket_problem

D = Path("/tmp/ptyd-1000")


def fake_stat(mode: int, uid: int) -> os.stat_result:
    return os.stat_result((mode, 0, 0, 1, uid, uid, 0, 0, 0, 0))


def test_a_private_directory_of_ours_is_safe() -> None:
    assert runtime_dir_problem(D, fake_stat(stat.S_IFDIR | 0o700, 1000), 1000, "me") is None


def test_each_unsafe_directory_names_the_problem_and_the_remedy() -> None:
    cases = {
        (stat.S_IFLNK | 0o777, 1000): "symbolic link",
        (stat.S_IFREG | 0o600, 1000): "not a directory",
        (stat.S_IFDIR | 0o700, 1001): "owned by mallory (uid 1001), not by you (uid 1000)",
        (stat.S_IFDIR | 0o755, 1000): "mode 0755 is accessible by group or others",
        (stat.S_IFDIR | 0o701, 1000): "mode 0701",
    }
    for (mode, uid), words in cases.items():
        problem = runtime_dir_problem(D, fake_stat(mode, uid), 1000, "mallory (uid 1001)")
        assert problem is not None and str(D) in problem and words in problem, problem
        assert "PTYD_DIR" in problem or "chmod 700" in problem


def test_sockets_must_be_sockets_of_ours() -> None:
    sock = D / "ctl.sock"
    assert socket_problem(sock, fake_stat(stat.S_IFSOCK | 0o700, 1000), 1000, "me") is None
    assert "not a socket" in str(socket_problem(sock, fake_stat(stat.S_IFLNK | 0o777, 1000),
                                                1000, "me"))
    assert "owned by uid 1001" in str(socket_problem(sock, fake_stat(stat.S_IFSOCK | 0o777, 1001),
                                                     1000, "uid 1001"))
