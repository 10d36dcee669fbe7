"""Claude Code: settings whose hooks report its state, its dialogs read from the screen, folder
trust in its config, `--resume` of its conversation. Its helpers: daemon/claude_hooks.py (the
settings file), daemon/claude_config.py (~/.claude.json), daemon/dialogs.py (the screen),
daemon/agentstate.py `for_hook` (hook events → states)."""

from __future__ import annotations

from typing import Any

from ptyd.proto.errors import ErrorCode, ProtocolError

from .. import dialogs
from ..agentstate import AGENT_SESSION_ID_RE, Change, for_hook
from ..claude_config import TrustError, prepare_trust
from ..claude_hooks import claude_argv, write_settings
from ..logs import log
from .base import Launch

RESUME_OPTIONS = {"--resume", "-r", "--continue", "-c"}


class Claude:
    name = "claude"
    hooks = True

    def prepare(self, launch: Launch) -> list[str]:
        """Exact agent state from Claude Code's own hooks, and no self-update mid-session."""
        try:
            settings = write_settings(launch.runtime_dir, launch.name, launch.settings)
        except OSError as e:  # a full disk, a planted symlink (safefiles.UnsafeFile)
            log.error("session=%s cannot write its Claude settings: %s", launch.name, e)
            raise ProtocolError(ErrorCode.SPAWN_FAILED,
                                f"cannot write the Claude Code settings file: {e}") from None
        argv = claude_argv(launch.argv, settings)
        launch.env["DISABLE_AUTOUPDATER"] = "1"
        _trust_folder(launch)
        return argv

    def on_hook(self, event: str, payload: dict[str, Any]) -> Change | None:
        return for_hook(event, payload)

    def find_dialog(self, lines: list[str]) -> tuple[str, str | None] | None:
        return dialogs.find_dialog(lines)

    def resume_argv(self, argv: list[str], agent_session_id: str | None) -> list[str]:
        """`--resume=ID` joined to its option, so no value can ever read as an option; only a
        UUID (the id came from a hook), and not when the command already resumes."""
        given = {arg.split("=", 1)[0] for arg in argv}
        if isinstance(agent_session_id, str) and AGENT_SESSION_ID_RE.fullmatch(
                agent_session_id) and not RESUME_OPTIONS & given:
            return [*argv, f"--resume={agent_session_id}"]
        return list(argv)


def _trust_folder(launch: Launch) -> None:
    """Claude asks whether to trust a new folder: answer for the person when they asked
    (`trust`), or when the folder is a checkout of a repository they already trust."""
    try:
        why = prepare_trust(launch.env, launch.cwd, launch.trust, launch.repo)
    except TrustError as e:
        if launch.trust:
            raise ProtocolError(ErrorCode.SPAWN_FAILED, f"cannot trust {launch.cwd} in Claude's "
                                f"config: {e}", {"argv": list(launch.argv)}) from None
        log.warning("session=%s trust of %s not inherited from %s: %s", launch.name,
                    launch.cwd, launch.repo, e)
        return
    if why is not None:
        log.info("session=%s trusted %s in Claude's config (%s)", launch.name, launch.cwd, why)


KIND = Claude()
