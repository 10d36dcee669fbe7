"""Remote access: the control and publish sockets on TCP, only ever with CURVE.

Output can carry secrets, so the publish socket is encrypted and authenticated as well as the
control socket. Clients are admitted by public key: every `*.key` certificate in the authorized
keys directory (as written by `ptyd keys generate`) is let in, and nothing else. ZeroMQ's ZAP
handler answers the handshake: a client with a wrong or unknown key gets no connection at all,
so no session list and no output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio
import zmq.auth
from zmq.auth.asyncio import AsyncioAuthenticator

from ptyd.proto.limits import MAX_FRAME_BYTES, MAX_PEERS

from .configfile import loose_modes
from .listener import Listener, control_socket, publish_socket
from .logs import log
from .peers import PeerGate

ZAP_DOMAIN = "ptyd"


class RemoteConfigError(Exception):
    """Remote access is asked for in a way that would not be safe; the message says why."""


def check(control: str | None, publish: str | None, secret_key: Any, authorized: Any) -> None:
    if not control and not publish:
        return
    if not (control and publish):
        raise RemoteConfigError("remote access needs both a control and a publish endpoint")
    for endpoint in (control, publish):
        if not endpoint.startswith("tcp://"):
            raise RemoteConfigError(f"remote endpoint {endpoint!r} must be tcp://HOST:PORT")
    if not secret_key or not authorized:
        raise RemoteConfigError(
            "plain TCP is refused: output can contain secrets, so remote endpoints need CURVE; "
            "give the server's secret key (ptyd keys generate) and a directory of authorized "
            "client keys")


def bind(ctx: zmq.asyncio.Context, config: Any, peer_gates: dict[str, PeerGate]
         ) -> Listener | None:
    """Bind the remote pair if the configuration asks for it (None otherwise); its control
    socket's PeerGate goes into `peer_gates` as "remote"."""
    control_ep = getattr(config, "remote_control", None)
    publish_ep = getattr(config, "remote_publish", None)
    secret_file = getattr(config, "remote_secret_key", None)
    authorized = getattr(config, "remote_authorized_keys", None)
    check(control_ep, publish_ep, secret_file, authorized)
    if not control_ep or not publish_ep or not secret_file:
        return None
    public, secret = zmq.auth.load_certificate(Path(secret_file))
    if secret is None:
        raise RemoteConfigError(f"{secret_file} holds no secret key (use the .key_secret file)")
    auth = AsyncioAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain=ZAP_DOMAIN, location=str(authorized))
    control = control_socket(ctx, MAX_FRAME_BYTES)
    publish = publish_socket(ctx, getattr(config, "publish_hwm", 1000))
    for sock in (control, publish):
        sock.curve_server = True
        sock.curve_secretkey = secret
        sock.curve_publickey = public
        sock.zap_domain = ZAP_DOMAIN.encode()
    # Counted from the first connection on (see daemon/peers.py): monitored before the bind.
    peer_gates["remote"] = PeerGate(ctx, control, "remote", MAX_PEERS)
    control.bind(control_ep)
    publish.bind(publish_ep)
    log.info("remote access on %s and %s (CURVE; authorized keys in %s)", control_ep,
             publish_ep, authorized)
    return Listener("remote", control, publish, authenticator=auth)


def reload_keys(listeners: list[Listener], authorized: Any) -> None:
    """Re-read the authorized keys directory (on SIGHUP), unless it became changeable by
    others since (StrictModes): then the keys already loaded stay, and the log says why."""
    for auth in (listener.authenticator for listener in listeners):
        if auth is None or not authorized:
            continue
        try:
            problem = loose_modes(Path(authorized))
        except OSError as e:
            problem = str(e)
        if problem:
            log.error("authorized keys not reloaded: %s", problem)
            return
        auth.configure_curve(domain=ZAP_DOMAIN, location=str(authorized))


def stop(listeners: list[Listener]) -> None:
    """Stop the authenticators (before the context is destroyed)."""
    for listener in listeners:
        if listener.authenticator is not None:
            listener.authenticator.stop()
            listener.authenticator = None
