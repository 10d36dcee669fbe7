"""The installed version of ptyd, as the daemon reports it in `hello` and events."""

from importlib.metadata import PackageNotFoundError, version


def installed_version() -> str:
    try:
        return version("ptyd")
    except PackageNotFoundError:
        return "unknown"
