"""`ptyd top` over several daemons: the local one and one over CURVE on loopback TCP, named in
the remotes file, in one table with a DAEMON column; and `--connect` alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ptyd.client import Client, CurveKeys
from ptyd.client._curve import generate
from ptyd.proto.paths import Endpoints
from tests.conftest import (
    DaemonProcess,
    free_port_pair,
    short_tempdir,
    start_daemon,
    stop_daemon,
    wait_until,
)
from tests.top.conftest import Tmux
from tests.top.test_top import TITLE, row_of, start_top, wait_row


@pytest.fixture
def far(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A second daemon, reachable only over TCP with CURVE (its own runtime directory)."""
    keys = tmp_path / "keys"
    generate(keys, "server")
    generate(keys, "client")
    authorized = tmp_path / "authorized"
    authorized.mkdir()
    shutil.copy(keys / "client.key", authorized / "client.key")
    port, port2 = free_port_pair()  # the remotes file names the control port only
    endpoints = Endpoints(f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{port2}")
    base = short_tempdir()
    d = start_daemon(base / "run", "--remote-control", endpoints.control, "--remote-publish",
                     endpoints.publish, "--server-secret-key", str(keys / "server.key_secret"),
                     "--authorized-keys", str(authorized))
    yield d, keys, endpoints
    assert stop_daemon(d) == 0
    shutil.rmtree(base, ignore_errors=True)


def test_two_daemons_in_one_table(tmux: Tmux, client: Client, daemon: DaemonProcess, far,  # type: ignore[no-untyped-def]
                                  tmp_path: Path) -> None:
    _d, keys, endpoints = far
    curve = CurveKeys.load(keys / "server.key", keys / "client.key_secret")
    client.spawn(["sleep", "60"], name="near1")
    with Client(endpoints=endpoints, curve=curve, timeout=5) as remote:
        remote.spawn(["sleep", "60"], name="far1")
        remotes = (f'[[remote]]\nname = "far"\nendpoint = "{endpoints.control}"\n'
                   f'server_key = "{keys / "server.key"}"\n'
                   f'client_key = "{keys / "client.key_secret"}"\n')
        pane = start_top(tmux, daemon, tmp_path, remotes=remotes, cols=150)
        tmux.wait_for(pane, "far: up")
        assert any(line.split()[:1] == ["DAEMON"] for line in tmux.screen(pane))
        shown = lambda: {tuple(line.split()[:2]) for line in tmux.screen(pane)}  # noqa: E731
        wait_until(lambda: {("local", "near1"), ("far", "far1")} <= shown(),
                   message="both daemons' sessions")
        remote.spawn(["sleep", "60"], name="far2")  # live over the encrypted publish socket
        wait_until(lambda: ("far", "far2") in shown(), message="far2 on the overview")


def test_connect_watches_one_remote_daemon(tmux: Tmux, daemon: DaemonProcess, far,  # type: ignore[no-untyped-def]
                                           tmp_path: Path) -> None:
    _d, keys, endpoints = far
    curve = CurveKeys.load(keys / "server.key", keys / "client.key_secret")
    with Client(endpoints=endpoints, curve=curve, timeout=5) as remote:
        remote.spawn(["sleep", "60"], name="only-far")
        pane = start_top(tmux, daemon, tmp_path, "--connect", endpoints.control,
                         "--server-key", str(keys / "server.key"), "--client-key",
                         str(keys / "client.key_secret"))
        wait_row(tmux, pane, "only-far", "running")
        assert TITLE in tmux.screen(pane)[0]
        assert not row_of(tmux, pane, "DAEMON")
