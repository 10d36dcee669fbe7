"""Every process a session starts ends with it: background jobs, `nohup`, `setsid` and
double-forked daemons included.

Two mechanisms, the strongest the machine offers:

- "cgroup": each session's program starts in its own cgroup v2 (made under the daemon's own
  cgroup: a systemd unit needs `Delegate=yes`). Nothing can leave a cgroup by forking or
  `setsid`, so its `cgroup.procs` is exactly what the session holds and `cgroup.kill` ends it
  all at once.
- "tracked" (no writable cgroup2, or PTYD_CONTAINMENT=tracked): the daemon is a child
  subreaper, so orphans re-parent to it (and it reaps them) instead of to init; a session's
  processes are found in /proc when needed: the leader, its terminal session (sid), anything
  whose environment carries the session's PTYD_SESSION_EPOCH, and every descendant of those.
  A process that leaves the session AND clears its environment escapes this one.

Nothing here polls: /proc and cgroup files are read only when a session is stopped, exits, or
is described, so idle sessions cost nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from .logs import log

PR_SET_CHILD_SUBREAPER = 36
MODE_VAR = "PTYD_CONTAINMENT"
"""The daemon's environment may force the fallback: PTYD_CONTAINMENT=tracked (default auto)."""
EPOCH_VAR = "PTYD_SESSION_EPOCH"
"""Set in every session's environment: with PTYD_SESSION, it names the session an orphan came
from (read in /proc/PID/environ by the tracked mechanism)."""
CGROUP = "cgroup"
TRACKED = "tracked"
SCAN_CACHE_S = 0.2
"""A /proc scan answers every `processes` count asked within this long (one `list` of many
sessions scans once)."""


def become_subreaper() -> bool:
    """prctl(PR_SET_CHILD_SUBREAPER): orphans of our sessions re-parent to us, not to init,
    so they stay findable and are reaped by our SIGCHLD handler."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def cgroup2_mount(mountinfo: str = "/proc/self/mountinfo") -> Path | None:
    """Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup on a unified system,
    /sys/fs/cgroup/unified on a hybrid one."""
    try:
        lines = Path(mountinfo).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "cgroup2":
            # The mount point is field 5; spaces in it are escaped as \040.
            return Path(left.split()[4].replace("\\040", " "))
    return None


def own_cgroup(path: str = "/proc/self/cgroup") -> str | None:
    """Our cgroup v2 path ("0::/..."), relative to the cgroup2 mount."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith("0::"):
                return line[3:]
    except OSError:
        pass
    return None


def join_cgroup(cgroup: str) -> Callable[[], None]:
    """For the forked child, before exec: move itself ("0" = the writer) into the cgroup, so
    nothing the program starts is ever outside it. A failure leaves the child where it is; the
    daemon sees that and tracks the session instead."""
    procs = os.path.join(cgroup, "cgroup.procs")

    def join() -> None:
        with contextlib.suppress(OSError):
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

    return join


def in_cgroup(pid: int, cgroup: str, mount: Path) -> bool:
    return own_cgroup(f"/proc/{pid}/cgroup") == "/" + os.path.relpath(cgroup, mount)


class Containment:
    """The daemon's side: makes a cgroup per session (or tracks), finds, counts, signals and
    releases what a session holds. One per daemon."""

    def __init__(self, wanted: str | None = None) -> None:
        self.wanted = (wanted or os.environ.get(MODE_VAR) or "auto").lower()
        self.mount: Path | None = None
        self.base: Path | None = None
        """The daemon's own cgroup directory (ptyd-PID under our cgroup), if cgroups work."""
        self.subreaper = False
        self._scan: tuple[float, dict[int, tuple[int, int, str | None]]] = (0.0, {})

    @property
    def mechanism(self) -> str:
        return CGROUP if self.base is not None else TRACKED

    def setup(self) -> None:
        self.subreaper = become_subreaper()
        if self.wanted != TRACKED:
            self.base = self._make_base()
        log.info("containment: %s%s", self.mechanism,
                 f" under {self.base}" if self.base else
                 (" (subreaper)" if self.subreaper else " (not a subreaper: orphans go to init)"))

    def _make_base(self) -> Path | None:
        mount, own = cgroup2_mount(), own_cgroup()
        if mount is None or own is None:
            return None
        parent = mount / own.lstrip("/")
        self._sweep(parent)
        base = parent / f"ptyd-{os.getpid()}"
        try:
            base.mkdir(exist_ok=True)
        except OSError as e:
            log.info("containment: cannot make a cgroup in %s (%s)", parent, e)
            return None
        if not (base / "cgroup.kill").exists():  # Linux < 5.14: no way to kill it all at once
            with contextlib.suppress(OSError):
                base.rmdir()
            return None
        self.mount = mount
        return base

    def _sweep(self, parent: Path) -> None:
        """Empty cgroups of daemons that died (a cgroup still holding processes stays: rmdir
        refuses it, and a restarted daemon may adopt its sessions)."""
        with contextlib.suppress(OSError):
            for entry in parent.glob("ptyd-*"):
                pid = entry.name[5:]
                if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    _remove_tree(entry)

    def new_cgroup(self, epoch: int) -> str | None:
        """A fresh cgroup for a session about to be spawned (None: track it)."""
        if self.base is None:
            return None
        path = self.base / f"s{epoch}"
        try:
            path.mkdir()
        except OSError as e:
            log.warning("containment: cannot make %s (%s): tracking instead", path, e)
            return None
        return str(path)

    def confirm(self, cgroup: str | None, pid: int) -> str | None:
        """After the spawn: the child joined its cgroup, or the session falls back to tracking."""
        if cgroup is None or self.mount is None:
            return None
        if in_cgroup(pid, cgroup, self.mount):
            return cgroup
        log.warning("containment: pid %d did not join %s: tracking it instead", pid, cgroup)
        self.release(cgroup)
        return None

    # -- what a session holds -------------------------------------------------------------------

    def members(self, cgroup: str | None, leader: int | None, tag: str | None,
                fresh: bool = True) -> list[int]:
        """The processes a session holds now. `leader`: the program's pid while not reaped;
        `tag`: its PTYD_SESSION_EPOCH value."""
        if cgroup is not None:
            return _cgroup_pids(cgroup)
        return self._tracked(leader, tag, fresh)

    def _tracked(self, leader: int | None, tag: str | None, fresh: bool) -> list[int]:
        procs = self._processes(fresh)
        me = os.getpid()
        found = {pid for pid, (_ppid, sid, ptag) in procs.items()
                 if pid != me and ((leader is not None and leader in (pid, sid))
                                   or (tag is not None and ptag == tag))}
        children: dict[int, list[int]] = {}
        for pid, (ppid, _sid, _tag) in procs.items():
            children.setdefault(ppid, []).append(pid)
        queue = list(found)
        while queue:  # descendants of members are members, whatever their environment
            for child in children.get(queue.pop(), ()):
                if child not in found and child != me:
                    found.add(child)
                    queue.append(child)
        return sorted(found)

    def _processes(self, fresh: bool) -> dict[int, tuple[int, int, str | None]]:
        """pid -> (ppid, sid, PTYD_SESSION_EPOCH) of every live process (zombies left out:
        they hold nothing)."""
        now = time.monotonic()
        if not fresh and now - self._scan[0] < SCAN_CACHE_S:
            return self._scan[1]
        procs: dict[int, tuple[int, int, str | None]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat.rsplit(b")", 1)[1].split()  # the command name may hold spaces and ")"
            if fields[0] in (b"Z", b"X"):
                continue
            procs[int(entry)] = (int(fields[1]), int(fields[3]), _epoch_of(entry))
        self._scan = (now, procs)
        return procs

    def signal(self, pids: Iterable[int], signum: int) -> int:
        sent = 0
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)
                sent += 1
        return sent

    def kill(self, cgroup: str | None, pids: Iterable[int]) -> None:
        """SIGKILL everything: through cgroup.kill (also what forks meanwhile), else by pid."""
        if cgroup is not None:
            try:
                Path(cgroup, "cgroup.kill").write_text("1")
                return
            except OSError as e:
                log.warning("containment: cgroup.kill of %s failed: %s", cgroup, e)
                pids = _cgroup_pids(cgroup)
        self.signal(pids, signal.SIGKILL)

    def release(self, cgroup: str | None) -> bool:
        """Remove a session's empty cgroup; False while it still holds processes."""
        if cgroup is None:
            return True
        try:
            os.rmdir(cgroup)
        except FileNotFoundError:
            return True
        except OSError as e:
            if e.errno != errno.EBUSY:
                log.warning("containment: cannot remove %s: %s", cgroup, e)
            return False
        return True

    def close(self) -> None:
        """The daemon stops in order, its sessions ended: SIGKILL whatever is still in its
        cgroups (a safety net: nothing it started outlives it), and remove those now empty."""
        if self.base is not None:
            with contextlib.suppress(OSError):
                (self.base / "cgroup.kill").write_text("1")  # the child cgroups' too
            _remove_tree(self.base)


def _cgroup_pids(cgroup: str) -> list[int]:
    try:
        return [int(p) for p in Path(cgroup, "cgroup.procs").read_text().split()]
    except OSError:
        return []


def _epoch_of(pid: str) -> str | None:
    """The PTYD_SESSION_EPOCH in a process's environment (as it was at its exec)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read()
    except OSError:  # gone, or not ours to read
        return None
    at = environ.find(_EPOCH_PREFIX)
    if at < 0 or (at > 0 and environ[at - 1] != 0):
        return None
    start = at + len(_EPOCH_PREFIX)
    end = environ.find(b"\0", start)
    return environ[start:end if end >= 0 else None].decode(errors="replace")


_EPOCH_PREFIX = f"{EPOCH_VAR}=".encode()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_tree(path: Path) -> None:
    """rmdir a cgroup and its empty children (rmdir is the only way; files inside are virtual)."""
    with contextlib.suppress(OSError):
        for child in path.iterdir():
            if child.is_dir():
                _remove_tree(child)
    with contextlib.suppress(OSError):
        path.rmdir()
