"""systemd unit files for ptyd, written by `ptyd systemd install`.

Two flavours: a user unit (`systemctl --user enable --now ptyd`), and a system template unit
`ptyd@USER.service` that runs one daemon per user. Each comes with a `.socket` unit for socket
activation (systemd creates the ipc sockets; the daemon adopts them with ZeroMQ's USE_FD).

Settings worth knowing:
- Type=notify: READY=1 is sent only once both sockets answer; WatchdogSec: pings come from the
  event loop, so a stuck loop is restarted.
- KillMode=mixed: SIGTERM goes to the daemon alone, which ends its sessions itself (SIGHUP,
  then SIGKILL after its grace); anything left when TimeoutStopSec expires is SIGKILLed, so no
  agent outlives the service by accident.
- RuntimeDirectoryPreserve=yes: the socket directory survives restarts.
- Delegate=yes: the daemon may make cgroups under its own, one per session, so that every
  process a session starts ends with it (daemon/containment.py).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from .safefiles import write_atomic

SERVICE = """\
[Unit]
Description=ptyd: pseudo-terminal multiplexer daemon for AI coding agents
Documentation=https://pypi.org/project/ptyd/
{after}
[Service]
Type=notify
NotifyAccess=main
ExecStart={exec_start}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=1
WatchdogSec=30
TimeoutStopSec=30
{kill_mode}
Delegate=yes
{user}RuntimeDirectory={runtime_name}
RuntimeDirectoryMode=0700
RuntimeDirectoryPreserve=yes
UMask=0077

[Install]
WantedBy={wanted_by}
"""

SOCKET = """\
[Unit]
Description=ptyd sockets (control and publish)

[Socket]
ListenStream={dir}/ctl.sock
FileDescriptorName=control
ListenStream={dir}/pub.sock
FileDescriptorName=publish
SocketMode=0600
DirectoryMode=0700
{service}
[Install]
WantedBy=sockets.target
"""


def exec_start(runtime_dir: str, extra: list[str]) -> str:
    return shlex.join([sys.executable, "-m", "ptyd", "--dir", runtime_dir, "serve", *extra])


KILL_MIXED = "KillMode=mixed"
KILL_SURVIVE = """\
# Crash survival: agents are not killed with the daemon; their PTYs wait in the fd store for
# the restarted daemon (it ends them itself on an orderly stop).
KillMode=process
FileDescriptorStoreMax=4096"""


def user_units(extra: list[str] | None = None, survive_crashes: bool = False
               ) -> dict[str, str]:
    """ptyd.service and ptyd.socket for `systemctl --user`; sockets in $XDG_RUNTIME_DIR/ptyd."""
    directory = "%t/ptyd"
    return {
        "ptyd.service": SERVICE.format(after="", exec_start=exec_start(directory, extra or []),
                                       user="", runtime_name="ptyd", wanted_by="default.target",
                                       kill_mode=KILL_SURVIVE if survive_crashes else KILL_MIXED),
        "ptyd.socket": SOCKET.format(dir=directory, service=""),
    }


def system_units(extra: list[str] | None = None, survive_crashes: bool = False
                 ) -> dict[str, str]:
    """ptyd@.service and ptyd@.socket: `systemctl enable --now ptyd@alice` runs alice's daemon
    with its sockets in /run/ptyd-alice."""
    directory = "/run/ptyd-%i"
    return {
        "ptyd@.service": SERVICE.format(after="After=network.target\n",
                                        exec_start=exec_start(directory, extra or []),
                                        user="User=%i\n", runtime_name="ptyd-%i",
                                        wanted_by="multi-user.target",
                                        kill_mode=KILL_SURVIVE if survive_crashes
                                        else KILL_MIXED),
        "ptyd@.socket": SOCKET.format(dir=directory, service="SocketUser=%i\n"),
    }


def install(target: Path, units: dict[str, str]) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in units.items():
        path = target / name
        # A fresh file renamed into place: never written through a link planted at the name.
        write_atomic(path, text.encode(), mode=0o644)
        written.append(path)
    return written
