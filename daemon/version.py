"""The version of ptyd this daemon runs, as it reports it in `hello` and events."""

from ptyd.proto.release import VERSION


def installed_version() -> str:
    return VERSION
