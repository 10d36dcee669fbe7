"""The configuration: layered TOML files and the command line, with the source of every value;
invalid files named by file, line and key; SIGHUP reloads what can change live."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import pytest

from ptyd.daemon.configfile import ConfigError, Configuration, Request, daemon_config, load
from tests.conftest import start_daemon, stop_daemon, wait_until


class Layers:
    """A system file, a user file (through XDG_CONFIG_HOME) and an explicit file, all in a
    temporary directory; `load()` reads them as the daemon does."""

    def __init__(self, root: Path):
        self.root = root
        self.system = root / "etc" / "config.toml"
        self.user = root / "xdg" / "ptyd" / "config.toml"
        self.explicit = root / "explicit.toml"
        self.env = {"HOME": str(root / "home"), "XDG_CONFIG_HOME": str(root / "xdg"),
                    "XDG_STATE_HOME": str(root / "state")}

    def write(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def load(self, explicit: bool = False, **command_line: object) -> Configuration:
        return load(Request(env=self.env, system_file=self.system,
                            config_file=self.explicit if explicit else None,
                            command_line=command_line))

    def error(self, path: Path, text: str) -> ConfigError:
        self.write(path, text)
        with pytest.raises(ConfigError) as caught:
            self.load(explicit=path == self.explicit)
        return caught.value


@pytest.fixture
def layers(tmp_path: Path) -> Layers:
    return Layers(tmp_path)


def test_defaults_without_any_file(layers: Layers) -> None:
    config = load(Request(env=layers.env, system_file=layers.system))
    assert config.value("limits.scrollback") == 4 << 20
    assert config.value("recording.dir") == layers.root / "state" / "ptyd" / "recordings"
    assert config.files == [(layers.system, False), (layers.user, False)]
    assert all(str(s.source) == "default" for s in config.settings.values())


def test_each_layer_beats_the_one_below_and_remembers_its_line(layers: Layers) -> None:
    layers.write(layers.system, """\
        kill_grace = 1.5
        [limits]
        scrollback = "1M"
        max_sessions = 10
        [env.set]
        FROM = "system"
        KEEP = "system"
    """)
    layers.write(layers.user, """\
        # the user's own
        [limits]
        scrollback = "2M"
        max_sessions = 20
        [env.set]
        FROM = "user"
    """)
    layers.write(layers.explicit, """\
        [limits]
        max_sessions = 30
    """)
    config = load(Request(env=layers.env, system_file=layers.system,
                          config_file=layers.explicit,
                          command_line={"limits.max_sessions": "40",
                                        "env.set": ["CLI=yes"]}))
    sources = {key: str(s.source) for key, s in config.settings.items()}
    assert config.value("kill_grace") == 1.5 and sources["kill_grace"] == f"{layers.system}:1"
    assert config.value("limits.scrollback") == 2 << 20
    assert sources["limits.scrollback"] == f"{layers.user}:3"
    assert config.value("limits.max_sessions") == 40
    assert sources["limits.max_sessions"] == "command line --max-sessions"
    assert sources["log_level"] == "default"
    assert config.table("env.set") == {"FROM": "user", "KEEP": "system", "CLI": "yes"}
    assert str(config.tables["env.set"]["KEEP"].source) == f"{layers.system}:7"
    assert str(config.tables["env.set"]["FROM"].source) == f"{layers.user}:6"


def test_ptyd_dir_beats_files_and_the_command_line_beats_it(layers: Layers) -> None:
    layers.write(layers.user, 'dir = "/srv/ptyd"\n')
    config = load(Request(env={**layers.env, "PTYD_DIR": "/run/x"}, system_file=layers.system))
    assert config.value("dir") == Path("/run/x")
    assert str(config.settings["dir"].source) == "environment $PTYD_DIR"
    config = load(Request(env=layers.env, system_file=layers.system))
    assert config.value("dir") == Path("/srv/ptyd")
    config = load(Request(env={**layers.env, "PTYD_DIR": "/run/x"}, system_file=layers.system,
                          command_line={"dir": "/run/cli"}))
    assert config.value("dir") == Path("/run/cli")


def test_daemon_config_carries_every_setting(layers: Layers) -> None:
    layers.write(layers.user, """\
        log_level = "warning"
        publish_hwm = 50
        [limits]
        max_total_scrollback = "1G"
        [env.default]
        EDITOR = "vi"
        [recording]
        format = "asciicast"
        input = true
        dir = "~/rec"
        max_bytes = "1M"
        keep = 2
    """)
    config = daemon_config(load(Request(env=layers.env, system_file=layers.system)))
    assert config.log_level == "warning" and config.publish_hwm == 50
    assert config.max_total_scrollback_bytes == 1 << 30
    assert config.session_env(None)["EDITOR"] == "vi"
    assert config.session_env({"A": "1"}) == {"A": "1"}  # a spawn's own env is taken as is
    rec = config.recording
    assert (rec.format, rec.input, rec.max_bytes, rec.keep) == ("asciicast", True, 1 << 20, 2)
    assert rec.dir == Path("~/rec").expanduser()
    assert config.remote is None


def test_syntax_error_names_file_line_and_column(layers: Layers) -> None:
    error = layers.error(layers.user, 'log_level = "info"\n[limits]\nscrollback = \n')
    assert str(error).startswith(f"{layers.user}:3:14: invalid TOML")
    assert error.line == 3 and "\n" not in str(error)


def test_wrong_type_names_key_and_line(layers: Layers) -> None:
    error = layers.error(layers.user, '# comment\n\n[limits]\nmax_sessions = "many"\n')
    assert str(error) == (f'{layers.user}:4: limits.max_sessions: expected an integer in '
                          '1..1000000, got "many"')


def test_bad_value_in_an_inline_table_names_the_assignment_line(layers: Layers) -> None:
    error = layers.error(layers.system, '\nenv = { set = { LANG = 5 } }\n')
    assert error.key == "env.set.LANG" and error.line == 2 and error.path == layers.system


def test_bad_size_and_range(layers: Layers) -> None:
    error = layers.error(layers.user, '[limits]\nscrollback = "12 parsecs"\n')
    assert error.key == "limits.scrollback" and error.line == 2 and "4M" in error.reason
    error = layers.error(layers.user, 'kill_grace = -1\n')
    assert error.key == "kill_grace" and "got -1" in str(error)


def test_unknown_key_and_table_with_a_suggestion(layers: Layers) -> None:
    error = layers.error(layers.user, '[limits]\nscrolback = "1M"\n')
    assert error.key == "limits.scrolback" and error.line == 2
    assert "did you mean 'scrollback'" in str(error)
    error = layers.error(layers.user, 'log_level = "info"\n\n[recordings]\nformat = "log"\n')
    assert error.key == "recordings" and error.line == 3 and "'recording'" in str(error)
    error = layers.error(layers.user, '[limits]\nmax_request_bytes = 5\n')
    assert "fixed by the protocol" in str(error)


def test_a_table_where_a_value_belongs_and_the_reverse(layers: Layers) -> None:
    assert layers.error(layers.user, "recording = 5\n").key == "recording"
    assert layers.error(layers.user, "[log_level]\n").key == "log_level"


def test_tcp_without_curve_is_refused_with_an_explanation(layers: Layers) -> None:
    error = layers.error(layers.explicit, """\
        [remote]
        control = "tcp://0.0.0.0:7710"
        publish = "tcp://0.0.0.0:7711"
    """)
    assert error.key == "remote.control" and error.line == 2 and error.path == layers.explicit
    assert "plain TCP is refused" in str(error) and "CURVE" in str(error)
    assert "remote.server_secret_key and remote.authorized_keys" in str(error)


def test_remote_endpoints_come_in_pairs_and_only_on_tcp(layers: Layers) -> None:
    error = layers.error(layers.user, '[remote]\npublish = "tcp://127.0.0.1:7711"\n')
    assert error.key == "remote.publish" and "remote.control must be set too" in str(error)
    error = layers.error(layers.user, '[remote]\ncontrol = "ipc:///tmp/x"\n')
    assert error.key == "remote.control" and "tcp://" in error.reason


def test_remote_with_curve_keys(layers: Layers) -> None:
    keys = layers.root / "keys"
    (keys / "authorized").mkdir(parents=True)
    secret = keys / "server.key_secret"
    secret.write_text("secret\n")
    secret.chmod(0o644)
    text = f"""\
        [remote]
        control = "tcp://127.0.0.1:7710"
        publish = "tcp://127.0.0.1:7711"
        server_secret_key = "{secret}"
        authorized_keys = "{keys / 'authorized'}"
    """
    error = layers.error(layers.user, text)
    assert error.key == "remote.server_secret_key" and error.line == 4
    assert "chmod 600" in str(error)
    secret.chmod(0o600)
    config = daemon_config(load(Request(env=layers.env, system_file=layers.system)))
    assert config.remote is not None and config.remote.server_secret_key == secret
    assert config.remote_control == "tcp://127.0.0.1:7710"
    assert config.remote_authorized_keys == keys / "authorized"


def test_missing_explicit_file_and_bad_command_line_value(layers: Layers) -> None:
    with pytest.raises(ConfigError, match="no such file") as caught:
        layers.load(explicit=True)
    assert caught.value.path == layers.explicit and not caught.value.from_command_line
    with pytest.raises(ConfigError) as caught:
        layers.load(**{"limits.scrollback": "12"})
    assert caught.value.from_command_line
    assert str(caught.value).startswith("command line --scrollback: limits.scrollback:")


def test_session_scrollback_must_fit_the_total(layers: Layers) -> None:
    error = layers.error(layers.user, '[limits]\nscrollback = "8M"\n'
                                      'max_total_scrollback = "4M"\n')
    assert error.key == "limits.max_total_scrollback" and error.line == 3


# -- the daemon: reload on SIGHUP ------------------------------------------------------------------

def test_sighup_reload_applies_to_the_next_session_and_keeps_on_bad_file(
        rundir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    config = tmp_path / "ptyd.toml"
    config.write_text('[limits]\nscrollback = "64k"\n')
    daemon = start_daemon(rundir, "--config", str(config))
    try:
        with daemon.client() as c:
            c.spawn(["sleep", "30"], name="before")
            assert c.info("before")["scrollback_bytes"] == 64 << 10

            config.write_text('[limits]\nscrollback = "128k"\n')
            daemon.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "config reloaded: scrollback_bytes=131072" in daemon.log(),
                       message="the reload in the log")
            c.spawn(["sleep", "30"], name="after")
            assert c.info("after")["scrollback_bytes"] == 128 << 10
            assert c.info("before")["scrollback_bytes"] == 64 << 10  # running ones keep theirs

            config.write_text('[limits]\nscrollback = "256k"\nmax_sessions = "lots"\n')
            daemon.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "config reload failed" in daemon.log(), message="the failure")
            line = next(ln for ln in daemon.log().splitlines() if "reload failed" in ln)
            assert f"{config}:3: limits.max_sessions" in line
            c.spawn(["sleep", "30"], name="kept")
            assert c.info("kept")["scrollback_bytes"] == 128 << 10
    finally:
        assert stop_daemon(daemon) == 0
    assert "Traceback" not in daemon.log()
