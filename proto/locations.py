"""Where configuration files and recordings live by default: computed, never looked up.

Pure functions of the environment (XDG base directories), shared by the daemon, which reads its
configuration from these files and writes recordings there, and by the CLI (`ptyd keys`, the
trusted-repository list). Clients learn where recordings are from `hello`'s `recording_dir`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

SYSTEM_CONFIG_FILE = Path("/etc/ptyd/config.toml")


def _xdg(env: Mapping[str, str], name: str, home: str, fallback: str) -> Path:
    # The XDG spec: a relative value is invalid and must be ignored.
    value = env.get(name, "")
    return Path(value) if value.startswith("/") else Path(home) / fallback


def user_config_file(env: Mapping[str, str], home: str) -> Path:
    """$XDG_CONFIG_HOME/ptyd/config.toml, ~/.config/ptyd/config.toml by default."""
    return _xdg(env, "XDG_CONFIG_HOME", home, ".config") / "ptyd" / "config.toml"


def keys_dir(env: Mapping[str, str], home: str) -> Path:
    """$XDG_CONFIG_HOME/ptyd/keys: CURVE certificates for remote access (ptyd keys generate)."""
    return _xdg(env, "XDG_CONFIG_HOME", home, ".config") / "ptyd" / "keys"


def default_state_dir(env: Mapping[str, str], home: str) -> Path:
    """$XDG_STATE_HOME/ptyd: what must survive a reboot (persistent sessions)."""
    return _xdg(env, "XDG_STATE_HOME", home, ".local/state") / "ptyd"


def trusted_repos_file(env: Mapping[str, str], home: str) -> Path:
    """$XDG_STATE_HOME/ptyd/trusted-repos.json: the repositories whose `.ptyd.toml` the user
    allowed (`ptyd trust-repo`), each with the SHA-256 of the file allowed."""
    return default_state_dir(env, home) / "trusted-repos.json"


def default_recording_dir(env: Mapping[str, str], home: str) -> Path:
    """$XDG_STATE_HOME/ptyd/recordings, ~/.local/state/ptyd/recordings by default."""
    return _xdg(env, "XDG_STATE_HOME", home, ".local/state") / "ptyd" / "recordings"


def recording_suffix(fmt: str) -> str:
    """File name suffix of a recording format: NAME.cast (asciicast v2), NAME.log (raw)."""
    return ".cast" if fmt == "asciicast" else ".log"
