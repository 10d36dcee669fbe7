"""What makes a runtime directory safe to talk through: the rule daemon and clients share.

With XDG_RUNTIME_DIR unset the default directory is <tmp>/ptyd-<uid>, a name any local user can
create first. A client that connected to whatever daemon listens there would hand a stranger
its spawn requests, environment included. So, as tmux does with its socket directory, a client
talks to a daemon only through a real directory (not a symlink) owned by the caller, with no
group or other permission bits, and through sockets the caller owns. Once the directory is ours
and private, nobody but root can change what is inside it, so checking it once is enough.

Pure functions of stat results: the caller does the lstat (proto/ does no I/O).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

WHAT_TO_DO = "remove it, or set PTYD_DIR (or --dir) to a private directory of yours"


def runtime_dir_problem(path: Path, st: os.stat_result, uid: int, owner: str) -> str | None:
    """Why `path` (lstat'ed as `st`) must not be used by user `uid`, or None if it may.
    `owner` describes st.st_uid for the message, e.g. "mallory (uid 1001)"."""
    if stat.S_ISLNK(st.st_mode):
        return f"unsafe runtime directory {path}: it is a symbolic link; {WHAT_TO_DO}"
    if not stat.S_ISDIR(st.st_mode):
        return f"unsafe runtime directory {path}: it is not a directory; {WHAT_TO_DO}"
    if st.st_uid != uid:
        return (f"unsafe runtime directory {path}: owned by {owner}, not by you (uid {uid}); "
                f"its daemon may be someone else's; {WHAT_TO_DO}")
    if st.st_mode & 0o077:
        return (f"unsafe runtime directory {path}: mode {stat.S_IMODE(st.st_mode):04o} "
                f"is accessible by group or others; run 'chmod 700 {path}'")
    return None


def socket_problem(path: Path, st: os.stat_result, uid: int, owner: str) -> str | None:
    """Why the socket `path` inside a runtime directory must not be connected to, or None."""
    if not stat.S_ISSOCK(st.st_mode):
        return f"unsafe socket {path}: it is not a socket; {WHAT_TO_DO}"
    if st.st_uid != uid:
        return f"unsafe socket {path}: owned by {owner}, not by you (uid {uid}); {WHAT_TO_DO}"
    return None
