"""`Option.live` says whether SIGHUP applies an option: the help of a restart-only one says so."""

from __future__ import annotations

import argparse

from ptyd.daemon.configfile import OPTIONS
from ptyd.daemon.main import add_arguments


def test_the_help_of_a_restart_only_option_says_so() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    helps = {a.dest: a.help or "" for a in parser._actions}
    for option in OPTIONS:
        assert ("takes effect when the daemon restarts" in helps[option.dest]) != option.live
