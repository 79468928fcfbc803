"""Each CLI command as calls on the hub's API (backends.hub.client.HubClient), whichever target
answers it (a hub, the running desk's socket, or this process's own desk: cli.targets).

A command prints its result on stdout (text, or JSON with --json) and returns the exit code: 0
done, 1 refused or failed. A refusal is the API's own sentence on stderr (the caller prints it).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backends.hub.client import HubClient, HubError, Offline
from cli import render
from cli.args import DONE, REFUSED
from cli.render import Outcome, View
from desk.models import ConversationStatus, Message, MessageStatus
from desk.text import display_name

PENDING = frozenset({MessageStatus.QUEUED, MessageStatus.SENDING})
"""A send whose outcome WhatsApp has not given yet."""

FIRST_POLL, MOST_POLL = 0.05, 1.0
"""Seconds between two looks at a send's outcome: the first soon (a send on loopback takes tens of
milliseconds), then doubling up to a second, so a long wait costs the hub one request a second."""


class Refused(Exception):
    """The command cannot be done as asked; the sentence says why (exit 1)."""


@dataclass
class Command:
    """One run of a command: its arguments, the client, and where it prints."""

    args: argparse.Namespace
    client: HubClient
    view: Callable[[], View]
    """The words' context (zone, now, who "mine" is), made when first needed."""
    out: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic

    def run(self) -> int:
        return int(getattr(self, "_" + self.args.command)())

    def _print(self, text: str, value: Any) -> None:
        self.out(render.dumps(value) if self.args.json else text)

    # --- reading --------------------------------------------------------------------------------------
    def _list(self) -> int:
        _, conversations = self.client.conversations()
        view = self.view()
        conversations.sort(key=lambda c: (c.waiting_since is None, c.waiting_since or c.last_message_at or view.now, c.id))
        if self.args.json:
            self.out(render.dumps({"conversations": [render.conversation_json(c, view) for c in conversations]}))
        else:
            for conv in conversations:
                self.out(render.list_line(conv, view))
        return DONE

    def _show(self) -> int:
        detail = self.client.conversation(self.args.id)
        view = self.view()
        if self.args.json:
            self.out(render.dumps({
                "conversation": render.conversation_json(detail.conversation, view),
                "messages": [render.message_json(m) for m in detail.messages],
            }))
            return DONE
        for line in render.header_lines(detail.conversation, view):
            self.out(line)
        self.out("")
        for message in detail.messages:
            self.out(render.message_line(message, view))
        if not detail.messages:
            self.out("No messages yet.")
        return DONE

    # --- sending --------------------------------------------------------------------------------------
    def _reply(self) -> int:
        key = self.args.key or str(uuid.uuid4())
        return self._sent(key, lambda: self.client.reply(self.args.id, key, self.args.text))

    def _template(self) -> int:
        key = self.args.key or str(uuid.uuid4())
        language = self.args.language or self._language()
        values = dict(self.args.param)
        return self._sent(key, lambda: self.client.template(self.args.id, key, self.args.name, language, values))

    def _language(self) -> str:
        """The template's language when none was given: its only approved one, else the customer's."""
        conversation = self.client.conversation(self.args.id).conversation
        _, templates = self.client.templates(conversation.business_number_id)
        languages = sorted({t.language for t in templates if t.name == self.args.name and t.sendable})
        if len(languages) == 1:
            return languages[0]
        name = display_name(self.args.name, 60)
        if not languages:
            raise Refused(f"The business number has no approved template named {name}.")
        customer = conversation.language
        for language in languages:
            if customer and language.split("_")[0].lower() == customer.lower():
                return language
        raise Refused(f"The template {name} is in {', '.join(languages)}: say which with --language.")

    def _sent(self, key: str, send: Callable[[], Message]) -> int:
        """Send, wait up to --wait seconds for the outcome, and tell it."""
        try:
            message = send()
        except Offline as exc:
            if not exc.may_have_arrived:
                raise
            raise Refused(
                f"{exc.sentence} The hub may have taken the message: `wadesk show {display_name(self.args.id)}` "
                f"tells; running the command again with --key {key} never sends it twice."
            ) from None
        started = self.monotonic()
        message, lost = self._wait(message)
        told = render.outcome(message, round(self.monotonic() - started, 1))
        if lost is not None and not told.done:
            told = Outcome(told.word, f"{told.sentence} (Its outcome could not be asked: {lost})", False)
        if self.args.json:  # a script reads the outcome whatever it is
            self.out(render.dumps({**told.as_json(message), "key": key}))
        elif told.done:
            self.out(told.sentence)
        else:  # a failure is a sentence on stderr, like any refusal
            print(f"wadesk: {told.sentence}", file=sys.stderr)
        return DONE if told.done else REFUSED

    def _wait(self, message: Message) -> tuple[Message, str | None]:
        """The message once WhatsApp answered, or as it stands after --wait seconds; and, when the
        hub stopped answering meanwhile, its sentence."""
        deadline = self.monotonic() + self.args.wait
        pause = FIRST_POLL
        while message.status in PENDING and (left := deadline - self.monotonic()) > 0:
            self.sleep(min(pause, left))
            pause = min(pause * 2, MOST_POLL)
            try:
                messages = self.client.conversation(message.conversation_id).messages
            except HubError as exc:
                return message, exc.sentence
            message = next((m for m in messages if m.id == message.id), message)
        return message, None

    # --- the agent's actions --------------------------------------------------------------------------
    def _note(self) -> int:
        message = self.client.note(self.args.id, self.args.text)
        self._print(f"Note added to {display_name(self.args.id)}.", {"message": render.message_json(message)})
        return DONE

    def _assign(self) -> int:
        assignee = None if self.args.agent.lower() == "nobody" else self.args.agent
        found = self.client.assign(self.args.id, assignee)
        whose = f"{display_name(found, 40)}'s" if found else "nobody's"
        self._print(f"{display_name(self.args.id)} is now {whose}.", {"conversation_id": self.args.id, "assignee": found})
        return DONE

    def _resolve(self) -> int:
        self.client.set_status(self.args.id, ConversationStatus.RESOLVED)
        self._print(f"{display_name(self.args.id)} is resolved.", {"conversation_id": self.args.id, "status": "resolved"})
        return DONE
