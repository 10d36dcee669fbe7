"""Hook data is data: a hook reports only for the session it runs in (its token), and the agent
session id it carries, later an argument of `claude --resume`, must be a UUID."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from ptyd.client import BadRequest, Client
from tests.conftest import DaemonProcess, agent


def token_of(client: Client, name: str) -> str:
    """The token in the session's own environment, as its hooks see it."""
    s = client.session(name)
    s.send_line("env PTYD_SESSION_TOKEN")
    return s.expect(r"PTYD_SESSION_TOKEN=([0-9a-f]+)", timeout=10).group(1)


def hook(client: Client, session: str, token: str | None, **payload: object) -> dict[str, object]:
    params = {"session": session, "event": "Stop", "payload": payload}
    if token is not None:
        params["token"] = token
    return client.request("hook", params)


def test_a_hook_without_the_session_token_is_refused(client: Client) -> None:
    client.spawn(agent("prompt"), name="a")
    client.spawn(agent("prompt"), name="b")
    token_a, token_b = token_of(client, "a"), token_of(client, "b")
    assert token_a != token_b and len(token_a) == 32
    with pytest.raises(BadRequest, match="token"):
        hook(client, "a", None)
    with pytest.raises(BadRequest, match="token"):
        hook(client, "a", token_b)  # another session's token: a hook of session b
    assert hook(client, "a", token_a)["state"] == "idle"
    shown = json.dumps([client.list(), client.info("a"), client.events(0)], default=str)
    assert token_a not in shown and token_b not in shown  # never shown


FIXED_UUID = "cdbaa8cd-a4a1-40d2-8968-41b8b4238316"
"""A fixed id: test ids must be the same at every collection (pytest-xdist's workers compare)."""


@pytest.mark.parametrize("session_id", ["--dangerously-skip-permissions", "-c", "",
                                        "0" * 36, f"{FIXED_UUID} ", f"{FIXED_UUID}\n", 7])
def test_an_agent_session_id_that_is_not_a_uuid_is_refused(client: Client,
                                                           session_id: object) -> None:
    client.spawn(agent("prompt"), name="a")
    token = token_of(client, "a")
    with pytest.raises(BadRequest, match="UUID"):
        hook(client, "a", token, session_id=session_id)
    assert client.info("a")["agent_session_id"] is None
    good = str(uuid.uuid4())
    hook(client, "a", token, session_id=good)
    assert client.info("a")["agent_session_id"] == good


def test_the_token_and_the_agent_state_survive_an_upgrade(daemon: DaemonProcess,
                                                           client: Client) -> None:
    client.spawn(agent("prompt"), name="a")
    token = token_of(client, "a")  # a line submitted: turn 1
    client.request("hook", {"session": "a", "event": "StopFailure", "token": token,
                            "payload": {"error": "rate_limit", "last_assistant_message": "429"}})
    before = client.info("a")
    assert (before["state"], before["state_reason"], before["turn"]) == ("error", "rate_limit", 1)
    seq = client.events(0)["last"]
    assert client.request("upgrade")["upgrading"] is True
    daemon.wait_upgraded(seq)
    with daemon.client() as again:
        after = again.info("a")
        assert {k: after[k] for k in ("state", "state_reason", "state_text", "turn",
                                      "state_seq")} == \
            {k: before[k] for k in ("state", "state_reason", "state_text", "turn", "state_seq")}
        assert hook(again, "a", token)["state"] == "error"  # a late Stop does not hide it
        with pytest.raises(BadRequest, match="token"):
            hook(again, "a", "0" * 32)


def test_a_token_is_fresh_per_session_and_not_taken_from_the_spawn_env(
        client: Client) -> None:
    client.spawn(agent("prompt"), name="a", env={"PTYD_SESSION_TOKEN": "chosen-by-caller",
                                                 "PATH": "/usr/bin:/bin"})
    token = token_of(client, "a")
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    with pytest.raises(BadRequest):
        hook(client, "a", "chosen-by-caller")

