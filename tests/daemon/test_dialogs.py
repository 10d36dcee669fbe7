"""Reading Claude Code's dialogs from the screen, and telling keys from text (pure functions)."""

from __future__ import annotations

import pytest

from ptyd.daemon.agentstate import Change, clean_text, error_reason, for_hook, is_key
from ptyd.daemon.dialogs import find_dialog, screen_lines

# The real 2.1.197 trust dialog at 100x30 (docs: claude-cli-pty.md §3), with blank rows above.
TRUST_2_1_197 = """\



 Accessing workspace:
 /tmp/trd/work
 Quick safety check: Is this a project you created or one you trust? (Like your own code, a
 well-known open source project, or work from your team). If not, take a moment to review what's in
 this folder first.
 Claude Code'll be able to read, edit, and execute files here.
 Security guide
 \u276f 1. Yes, I trust this folder
   2. No, exit
 Enter to confirm · Esc to cancel
""".splitlines()

PERMISSION = """\
> please ask for permission
╭──────────────────────────────────────────────╮
│ Bash command                                 │
│                                              │
│   touch approved.txt                         │
│                                              │
│ Do you want to proceed?                      │
│ \u276f 1. Yes                                      │
│   2. No, and tell Claude what to do (esc)    │
╰──────────────────────────────────────────────╯
""".splitlines()

# The same words as prose in the transcript, with the input box below them: no dialog.
PROSE = """\
> how do dialogs look?
⏺ They ask, for example:
  Do you want to proceed?
  \u276f 1. Yes, I trust this folder
    2. No, exit
────────────────────────────────────────────────
\u276f \x20
────────────────────────────────────────────────
  ? for shortcuts
""".splitlines()


def test_the_real_trust_dialog_is_found_with_its_question() -> None:
    assert find_dialog(TRUST_2_1_197) == ("trust",
                                          "Is this a project you created or one you trust?")


def test_a_permission_prompt_in_a_box_is_found() -> None:
    assert find_dialog(PERMISSION) == ("permission", "Do you want to proceed?")


def test_dialog_words_in_the_transcript_above_the_input_box_do_not_count() -> None:
    assert find_dialog(PROSE) is None


def test_a_numbered_list_typed_at_the_prompt_is_not_a_dialog() -> None:
    rule = "─" * 60
    assert find_dialog(["> earlier", rule, "\u276f 1. fix the parser", "  2. add tests", rule,
                        "  ? for shortcuts"]) is None


def test_the_bypass_warning_and_an_unknown_choice() -> None:
    bypass = ["WARNING: Claude Code running in Bypass Permissions mode", "",
              "\u276f 1. No, exit", "  2. Yes, I accept"]
    assert find_dialog(bypass) == ("bypass",
                                   "WARNING: Claude Code running in Bypass Permissions mode")
    assert find_dialog(["Select model", "\u276f 1. Sonnet", "  2. Opus"]) == ("dialog",
                                                                            "Select model")
    assert find_dialog(["just output", "\u276f "]) is None
    login = ["Claude Code can be used with your Claude subscription or billed based on API usage",
             "Select login method:", "\u276f 1. Claude account with subscription",
             "  2. Anthropic Console account"]
    assert find_dialog(login) == ("login", "Select login method:")
    mcp = ["New MCP server found in .mcp.json: github", "", "MCP servers may execute code.",
           "\u276f 1. Use this and all future MCP servers in this project",
           "  2. Use this MCP server", "  3. Continue without using this MCP server"]
    assert find_dialog(mcp) == ("mcp", "New MCP server found in .mcp.json: github")


def test_the_screen_is_rebuilt_from_an_inline_tui_tail() -> None:
    # Drawn, then redrawn in place with relative moves, as Claude Code does.
    tail = (b"hello\r\nworld\r\n\x1b[>1u\xe2\x9d\xaf 1. Yes, proceed\r\n  2. No\x1b[1A\r"
            b"\x1b[J\xe2\x9d\xaf 1. Yes, I trust this folder\r\n  2. No, exit")
    lines = screen_lines(tail, 40, 6, from_bottom=True)
    assert lines[-2:] == ["\u276f 1. Yes, I trust this folder", "  2. No, exit"]
    assert "u" not in "".join(lines[:2])  # private CSI (kitty keyboard) dropped, no stray 'u'


@pytest.mark.parametrize(("data", "key"), [
    (b"\r", True), (b"\x03", True), (b"\x1b[A", True), (b"\x1bOB", True), (b"\x1b", True),
    (b"1", True), (b"y", True), ("é".encode(), True), (b"\t", True),
    (b"hello", False), (b"12", False), (b"fix it\r", False), (b"\x1b[200~x\x1b[201~", False),
])
def test_keys_are_control_bytes_escape_sequences_or_one_character(data: bytes,
                                                                   key: bool) -> None:
    assert is_key(data) is key


def test_a_stop_failure_names_its_error_shortly_and_safely() -> None:
    change = for_hook("StopFailure", {"error": "rate_limit",
                                      "last_assistant_message": "API Error:\x1b[31m 429\n"})
    assert change == Change("error", "rate_limit", "API Error: 429")
    assert error_reason({"error": "Authentication-Failed"}) == "authentication_failed"
    assert error_reason({"error": "x; rm -rf /"}) == "unknown"
    assert error_reason({"error": {"type": "billing_error"}}) == "billing_error"
    assert clean_text("a" * 1000) is not None and len(clean_text("a" * 1000) or "") == 300
