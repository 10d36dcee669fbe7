"""The version of ptyd this daemon runs, as it reports it in `hello` and events."""

from ptyd import __version__


def installed_version() -> str:
    return __version__
