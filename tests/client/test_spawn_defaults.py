"""A spawn inherits its caller's directory and environment, like subprocess.Popen: the daemon is
another process, started elsewhere, and its own directory and variables are not the caller's."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from ptyd.client import AsyncClient, Client
from tests.conftest import DaemonProcess, wait_for_output

SHOW = ["sh", "-c", 'echo "cwd=$(pwd) mark=${PTYD_TEST_MARK:-unset} more=${MORE:-unset} end"']


def test_spawn_runs_in_the_callers_directory_with_its_environment(
        client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PTYD_TEST_MARK", "from-caller")
    client.spawn(SHOW, name="plain")
    out = wait_for_output(client, "plain", " end")
    assert f"cwd={tmp_path} mark=from-caller more=unset end" in out


def test_env_replaces_and_extra_env_adds(
        client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PTYD_TEST_MARK", "from-caller")
    (tmp_path / "sub").mkdir()
    client.spawn(SHOW, name="added", extra_env={"MORE": "extra"})
    assert "mark=from-caller more=extra end" in wait_for_output(client, "added", " end")
    client.spawn(SHOW, name="replaced", env={"PATH": os.environ["PATH"]},
                 extra_env={"MORE": "x"}, cwd="sub")  # relative to the caller, as with Popen
    out = wait_for_output(client, "replaced", " end")
    assert f"cwd={tmp_path / 'sub'} mark=unset more=x end" in out


def test_async_client_has_the_same_defaults(
        daemon: DaemonProcess, client: Client, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PTYD_TEST_MARK", "async-caller")

    async def spawn() -> None:
        async with AsyncClient(daemon.dir) as c:
            await c.spawn(SHOW, name="async")

    asyncio.run(spawn())
    out = wait_for_output(client, "async", " end")
    assert f"cwd={tmp_path} mark=async-caller more=unset end" in out
