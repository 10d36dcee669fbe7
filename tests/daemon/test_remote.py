"""Remote access over loopback TCP: CURVE on both sockets, an allow-list of client keys.
A client with a wrong or unknown key, or none, gets nothing: no session list, no output."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import zmq

from ptyd.client import AuthenticationFailed, Client, CurveKeys, PtydError
from ptyd.client._curve import generate
from ptyd.proto import encode_request
from ptyd.proto.paths import Endpoints
from tests.conftest import free_tcp_ports, run_cli, start_daemon, stop_daemon, wait_for_output


@pytest.fixture
def remote(rundir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    keys = tmp_path / "keys"
    generate(keys, "server")
    generate(keys, "client")
    generate(keys, "stranger")
    authorized = tmp_path / "authorized"
    authorized.mkdir()
    shutil.copy(keys / "client.key", authorized / "client.key")
    port, port2 = free_tcp_ports(2)
    control, publish = f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{port2}"
    d = start_daemon(rundir, "--remote-control", control, "--remote-publish", publish,
                     "--server-secret-key", str(keys / "server.key_secret"),
                     "--authorized-keys", str(authorized))
    yield d, keys, Endpoints(control, publish)
    assert stop_daemon(d) == 0


def test_authorized_key_gets_everything(remote) -> None:  # type: ignore[no-untyped-def]
    _d, keys, endpoints = remote
    curve = CurveKeys.load(keys / "server.key", keys / "client.key_secret")
    with Client(endpoints=endpoints, curve=curve, timeout=5) as c:
        c.spawn(["sh", "-c", "echo over tcp; read x"], name="r")
        wait_for_output(c, "r", "over tcp")
        chunks = c.output("r", 0)
        assert b"over tcp" in next(chunks).data  # the encrypted publish socket works too
        assert [s["name"] for s in c.list()] == ["r"]


@pytest.mark.parametrize(("server", "client", "words"), [
    ("server.key", "stranger.key_secret", "not authorized"),
    ("stranger.key", "client.key_secret", "wrong server key"),
])
def test_unknown_or_wrong_key_gets_nothing(remote, server: str, client: str,  # type: ignore[no-untyped-def]
                                           words: str) -> None:
    _d, keys, endpoints = remote
    curve = CurveKeys.load(keys / server, keys / client)
    with pytest.raises(PtydError) as e, Client(endpoints=endpoints, curve=curve, timeout=3):
        pass
    assert (isinstance(e.value, AuthenticationFailed) and words in str(e.value)) or \
        "no reply" in str(e.value)


def test_plain_tcp_client_gets_nothing(remote) -> None:  # type: ignore[no-untyped-def]
    _d, _keys, endpoints = remote
    ctx = zmq.Context()
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(endpoints.control)
    dealer.send_multipart(encode_request(1, "list", {}))
    assert dealer.poll(1500) == 0, "a client without CURVE must get no answer"
    sub = ctx.socket(zmq.SUB)
    sub.connect(endpoints.publish)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    assert sub.poll(1500) == 0, "nor any published output or event"
    ctx.destroy(linger=0)


def test_attach_and_cli_over_tcp(remote) -> None:  # type: ignore[no-untyped-def]
    _d, keys, endpoints = remote
    args = ["--connect", endpoints.control, "--server-key", str(keys / "server.key"),
            "--client-key", str(keys / "client.key_secret")]
    result = run_cli(*args, "new", "-s", "cli", "--", "sh", "-c", "echo hi from cli")
    assert result.returncode == 0, result.stderr
    assert run_cli(*args, "wait", "cli").returncode == 0
    assert "hi from cli" in run_cli(*args, "logs", "cli").stdout
    refused = run_cli("--connect", endpoints.control, "--server-key", str(keys / "server.key"),
                      "--client-key", str(keys / "stranger.key_secret"), "ls")
    assert refused.returncode == 1


def test_upgrade_over_tcp_returns_once_the_successor_serves(remote) -> None:  # type: ignore[no-untyped-def]
    """Over TCP the connection to the old daemon ends for good at its re-exec (there is no lock
    to look at): `ptyd upgrade` reconnects to wait for the successor."""
    _d, keys, endpoints = remote
    args = ["--connect", endpoints.control, "--server-key", str(keys / "server.key"),
            "--client-key", str(keys / "client.key_secret")]
    result = run_cli(*args, "upgrade")
    assert result.returncode == 0, result.stderr
    assert "now runs version" in result.stdout
    made = run_cli(*args, "new", "-d", "-s", "after", "--", "sleep", "60")
    assert made.returncode == 0, made.stderr


def test_plain_tcp_is_refused_at_start(rundir: Path) -> None:
    result = run_cli("--dir", str(rundir), "serve", "--remote-control", "tcp://127.0.0.1:1",
                     "--remote-publish", "tcp://127.0.0.1:2")
    assert result.returncode != 0 and "CURVE" in result.stderr




def test_keys_generate_never_overwrites_an_existing_key_without_force(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert run_cli("keys", "generate", "--keys-dir", str(keys)).returncode == 0
    secret = (keys / "client.key_secret").read_bytes()
    again = run_cli("keys", "generate", "--keys-dir", str(keys))
    assert again.returncode == 1
    assert "already exist" in again.stderr and "--force" in again.stderr
    assert (keys / "client.key_secret").read_bytes() == secret
    forced = run_cli("keys", "generate", "--keys-dir", str(keys), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (keys / "client.key_secret").read_bytes() != secret
    assert (keys / "client.key_secret").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in keys.iterdir()) == ["client.key", "client.key_secret"]


@pytest.mark.parametrize("loose", ["directory", "key file"])
def test_an_allow_list_others_can_write_is_refused(rundir: Path, tmp_path: Path,
                                                    loose: str) -> None:
    keys = tmp_path / "keys"
    generate(keys, "server")
    generate(keys, "client")
    authorized = tmp_path / "authorized"
    authorized.mkdir(mode=0o755)
    shutil.copy(keys / "client.key", authorized / "client.key")
    target = authorized if loose == "directory" else authorized / "client.key"
    target.chmod(0o775 if loose == "directory" else 0o664)
    port, port2 = free_tcp_ports(2)
    result = run_cli("--dir", str(rundir), "serve",
                     "--remote-control", f"tcp://127.0.0.1:{port}",
                     "--remote-publish", f"tcp://127.0.0.1:{port2}",
                     "--server-secret-key", str(keys / "server.key_secret"),
                     "--authorized-keys", str(authorized))
    assert result.returncode != 0
    assert f"{target} is writable by group or others" in result.stderr
    assert "chmod go-w" in result.stderr


def test_remote_spawn_defaults_to_the_daemons_directory_and_environment(  # type: ignore[no-untyped-def]
        remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller's directory and variables mean nothing on another machine: a remote spawn
    runs where the daemon runs, with its environment, plus `extra_env`."""
    _d, keys, endpoints = remote
    daemon_cwd = Path.cwd()  # the daemon was started from here
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PTYD_TEST_MARK", "caller-only")
    curve = CurveKeys.load(keys / "server.key", keys / "client.key_secret")
    show = 'echo "cwd=$(pwd) mark=${PTYD_TEST_MARK:-unset} more=${MORE:-unset} end"'
    with Client(endpoints=endpoints, curve=curve, timeout=5) as c:
        c.spawn(["sh", "-c", show], name="r", extra_env={"MORE": "extra"})
        out = wait_for_output(c, "r", " end")
    assert f"cwd={daemon_cwd} mark=unset more=extra end" in out
