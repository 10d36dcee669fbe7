"""An agent that leaves processes behind, the ways real ones do: a `setsid` daemon, a `nohup`
job, a background grandchild, and a double-forked daemon that ignores SIGTERM and SIGHUP (only
SIGKILL ends it). Writes their pids, one a line, to PIDS_FILE, prints READY, then stays (or,
with `exit`, exits 0 when a line is typed: everything it started is left behind, but for
what the terminal's hangup ends: the background grandchild, in its foreground group).

usage: spawn_tree.py PIDS_FILE [stay|exit]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

SLEEP = ["sleep", "1000"]


def double_forked_daemon() -> int:
    """fork, setsid, fork again, the middle one exits: the daemon is an orphan in its own
    session, re-parented away from us. It ignores SIGTERM and SIGHUP."""
    read, write = os.pipe()
    first = os.fork()
    if first == 0:
        os.setsid()
        second = os.fork()
        if second == 0:
            os.close(read)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            os.write(write, f"{os.getpid()}\n".encode())
            os.close(write)
            os.execvp(SLEEP[0], SLEEP)  # ignored signals stay ignored across exec
        os._exit(0)
    os.close(write)
    os.waitpid(first, 0)
    with os.fdopen(read) as f:
        return int(f.readline())


def main() -> None:
    pids_file, mode = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "stay")
    # Not a group leader, so `setsid` makes its new session without forking: its pid stays.
    setsid_daemon = subprocess.Popen(["setsid", *SLEEP])
    nohup_job = subprocess.Popen(["nohup", *SLEEP], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    # A background job whose shell is gone: `sh -c 'sleep & echo $!'`, the sleep re-parented.
    out = subprocess.run(["sh", "-c", 'sleep 1000 >/dev/null 2>&1 & echo $!'],
                         capture_output=True, text=True, check=True).stdout
    grandchild = int(out.split()[0])
    daemon = double_forked_daemon()
    pids = [setsid_daemon.pid, nohup_job.pid, grandchild, daemon]
    with open(pids_file + ".tmp", "w") as f:
        f.write("".join(f"{pid}\n" for pid in pids))
    os.rename(pids_file + ".tmp", pids_file)
    print("READY", flush=True)
    if mode == "exit":
        sys.stdin.readline()
        os._exit(0)
    while True:
        signal.pause()  # until a signal ends it


if __name__ == "__main__":
    main()
