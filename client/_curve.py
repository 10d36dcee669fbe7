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
        import zmq.auth  # only remote connections need it (it imports logging)

        server_public, _ = zmq.auth.load_certificate(server_path)
        public, secret = zmq.auth.load_certificate(client_path)
        if secret is None:
            raise ValueError(f"{client_path} holds no secret key (use NAME.key_secret)")
        return cls(server_public, public, secret)

    def apply(self, sock: zmq.Socket[Any]) -> None:
        sock.curve_serverkey = self.server_public
        sock.curve_publickey = self.public
        sock.curve_secretkey = self.secret


def generate(directory: Path, name: str, force: bool = False) -> tuple[Path, Path]:
    """Write NAME.key and NAME.key_secret (0600) into `directory` (0700). An existing pair is
    never replaced unless `force` (FileExistsError): as with ssh-keygen, overwriting a key
    locks out everyone who trusted the old one."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    targets = (directory / f"{name}.key", directory / f"{name}.key_secret")
    existing = [str(p) for p in targets if os.path.lexists(p)]
    if existing and not force:
        raise FileExistsError(f"{' and '.join(existing)} already exist(s); --force replaces "
                              "them (whoever trusted the old key is then refused)")
    # Made in a private scratch directory, then moved in: rename and link never follow a
    # symlink planted at the target name, and link refuses an existing one (no clobbering).
    import shutil  # only `ptyd keys generate` writes keys
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=directory))
    try:
        import zmq.auth

        made = zmq.auth.create_certificates(str(scratch), name)
        os.chmod(made[1], 0o600)
        for source, target in zip(made, targets, strict=True):
            if force:
                os.replace(source, target)
            else:
                os.link(source, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return targets
