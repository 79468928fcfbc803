"""The CLI's subcommands on `wadesk`'s parser (tui/cli.py): their arguments, help and checks.

Usage errors are argparse's (exit 2, its message on stderr), so a script's typo never looks like
a refusal."""

from __future__ import annotations

import argparse

DONE, REFUSED = 0, 1
"""The CLI's exit codes: done; refused or failed (the hub or the store said no, a send failed or its
outcome is unknown). 2, usage, is argparse's."""

DEFAULT_WAIT = 30.0
"""Seconds `reply` and `template` wait for WhatsApp's answer unless told (--wait)."""

COMMANDS = ("list", "show", "reply", "template", "note", "assign", "resolve")
"""The scriptable commands (docs/cli.md); `wadesk` with another command, or none, is the desk."""


def _param(value: str) -> tuple[str, str]:
    """--param K=V: the template's parameter K (a name, or a position "1") is V."""
    name, equals, text = value.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=VALUE")
    return name.strip(), text


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 <= seconds <= 3600:
        raise argparse.ArgumentTypeError("--wait takes 0 to 3600 seconds")
    return seconds


def _text(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("the text is empty")
    return value


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser], after: argparse.ArgumentParser) -> None:
    """Add list, show, reply, template, note, assign and resolve; `after` holds the options every
    command takes (--config, --data-dir, ...)."""
    target = argparse.ArgumentParser(add_help=False)
    target.add_argument("--hub", metavar="URL", help="act through this hub (token from [hub] token_env, "
                        "default $WADESK_HUB_TOKEN); default: [hub] url when backend = \"hub\", else the local desk's data")
    target.add_argument("--json", action="store_true", help="print JSON with stable keys (docs/cli.md) instead of text")
    parents = [after, target]
    sending = argparse.ArgumentParser(add_help=False)
    sending.add_argument("--wait", type=_seconds, default=DEFAULT_WAIT, metavar="SECONDS",
                         help=f"how long to wait for WhatsApp's answer (default {DEFAULT_WAIT:g})")
    sending.add_argument("--key", metavar="KEY", help="an idempotency key of your own: the same key again sends nothing "
                         "and tells the first send's outcome (default: a new one each time)")

    def add(name: str, help: str, description: str, *more: argparse.ArgumentParser) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[*parents, *more], help=help, description=description)

    add("list", "list the conversations, one a line", "One conversation per line: id, customer, status, how long "
        "they waited, the SLA, the owner (tab-separated; --json for scripts).")
    show = add("show", "show a conversation: a header, then one message per line",
               "A header (customer, status, SLA, owner, window), then one message per line: time, direction, status, text.")
    show.add_argument("id", help="the conversation's id (as `wadesk list` prints it)")
    reply = add("reply", "send free text and wait for WhatsApp's answer",
                "Send TEXT to the customer (inside the 24-hour window) and wait for the outcome: sent, failed, "
                "unknown or still queued. Exit 0 only when WhatsApp accepted it.", sending)
    reply.add_argument("id", help="the conversation's id")
    reply.add_argument("text", type=_text, help="the reply (quote it)")
    template = add("template", "send an approved template and wait for WhatsApp's answer",
                   "Send the approved template NAME with its parameters (--param K=V, once each) and wait for the outcome.",
                   sending)
    template.add_argument("id", help="the conversation's id")
    template.add_argument("name", help="the template's name")
    template.add_argument("--param", type=_param, action="append", default=[], metavar="K=V",
                          help="a parameter: its name, or its position for {{1}} (repeat for each)")
    template.add_argument("--language", help="the template's language code (default: its only one, else the customer's)")
    note = add("note", "add an internal note (colleagues only, never sent)", "Add a note to the conversation for colleagues.")
    note.add_argument("id", help="the conversation's id")
    note.add_argument("text", type=_text, help="the note (quote it)")
    assign = add("assign", "give a conversation to an agent", "Give the conversation to AGENT (an agent id); "
                 "\"nobody\" gives it to no one.")
    assign.add_argument("id", help="the conversation's id")
    assign.add_argument("agent", help="the agent's id, or \"nobody\"")
    resolve = add("resolve", "resolve a conversation", "Mark the conversation resolved.")
    resolve.add_argument("id", help="the conversation's id")
