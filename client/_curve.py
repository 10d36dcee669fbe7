"""CURVE keys for reaching a daemon over TCP (see daemon/remote.py).

The daemon's public key authenticates the daemon to us; our key pair authenticates us to the
daemon, which admits only public keys in its authorized-keys directory. Key files are ZeroMQ
certificates as `ptyd keys generate` writes them: NAME.key (public) and NAME.key_secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
import zmq.auth

from ptyd.proto import locations


def keys_dir() -> Path:
    return locations.keys_dir(os.environ, str(Path.home()))


@dataclass(frozen=True)
class CurveKeys:
    server_public: bytes
    public: bytes
    secret: bytes

    @classmethod
    def load(cls, server_key: str | os.PathLike[str] | None = None,
             client_key: str | os.PathLike[str] | None = None) -> CurveKeys:
        """Load the daemon's public certificate and our secret one (defaults: server.key and
        client.key_secret in ~/.config/ptyd/keys)."""
        directory = keys_dir()
        server_path = Path(server_key) if server_key else directory / "server.key"
        client_path = Path(client_key) if client_key else directory / "client.key_secret"
        server_public, _ = zmq.auth.load_certificate(server_path)
        public, secret = zmq.auth.load_certificate(client_path)
        if secret is None:
            raise ValueError(f"{client_path} holds no secret key (use NAME.key_secret)")
        return cls(server_public, public, secret)

    def apply(self, sock: zmq.Socket[Any]) -> None:
        sock.curve_serverkey = self.server_public
        sock.curve_publickey = self.public
        sock.curve_secretkey = self.secret


def generate(directory: Path, name: str) -> tuple[Path, Path]:
    """Write NAME.key and NAME.key_secret (0600) into `directory` (0700)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    public, secret = zmq.auth.create_certificates(str(directory), name)
    os.chmod(secret, 0o600)
    return Path(public), Path(secret)
