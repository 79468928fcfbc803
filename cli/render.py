"""What the CLI prints: text that reads linearly, and JSON with stable keys (docs/cli.md).

Text is for people, screen readers and grep: one conversation per line in `list`, a header and then
one message per line in `show`, fields separated by tabs (customer text never holds one: it is
flattened), states in words, never colours or symbols a screen reader would spell out. Customer
text is hostile: every name and message goes through desk.text (no control, escape or bidi
character reaches the terminal). JSON keeps the exact text, with those characters written as
`\\uXXXX` escapes, so that a script decodes what the customer wrote and a terminal shows no control.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from desk.contacts import handle
from desk.durations import short_duration
from desk.models import Conversation, ConversationStatus, Direction, Message, MessageStatus
from desk.sla import SlaKind, SlaPolicy, sla_state
from desk.status import current
from desk.text import display_name, escaped, flatten
from desk.window import window
from tui.labels import local_time

NAME_LIMIT = 60
"""A customer's name in a line of `list` or the header of `show`, at most (cut with …)."""

SENT_STATUSES = frozenset({MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED})
"""WhatsApp accepted the message: the send is done."""


@dataclass(frozen=True)
class View:
    """What the words depend on: the agent's zone, now, who "mine" is and the SLA policies."""

    zone: ZoneInfo
    now: datetime
    me: str
    policy: Callable[[str], SlaPolicy]
    """The SLA policy of a business number."""


def dumps(value: Any) -> str:
    """JSON for stdout: UTF-8 as written, the characters a terminal would obey escaped."""
    return escaped(json.dumps(value, ensure_ascii=False, indent=2))


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# --- conversations ----------------------------------------------------------------------------------


def status_words(conv: Conversation, view: View) -> str:
    """"waiting", "open", "pending", "snoozed until Wed 09:00", "snoozed until they write", "resolved"."""
    status = current(conv, view.now)
    if status is ConversationStatus.SNOOZED:
        return f"snoozed until {local_time(conv.snoozed_until, view.zone, view.now)}" if conv.snoozed_until else (
            "snoozed until they write"
        )
    if status is ConversationStatus.OPEN and conv.waiting_since is not None:
        return "waiting"
    return str(status.value)


def waiting_words(conv: Conversation, view: View) -> str:
    """"waited 2h05m" (for our answer), or "not waiting"."""
    if conv.waiting_since is None:
        return "not waiting"
    return f"waited {short_duration(view.now - conv.waiting_since)}"


def sla_words(conv: Conversation, view: View) -> str:
    """"first response breached 1h05m", "next response due 12m", "resolution ok 3h10m", or "no SLA running"."""
    state = sla_state(conv, view.policy(conv.business_number_id), view.now)
    if state.kind is SlaKind.NONE:
        return "no SLA running"
    return f"{state.clock} {state.label()}"


def owner_words(conv: Conversation, view: View) -> str:
    """"mine", "unassigned", or "owner <id>" (neutralised: an id is text someone typed)."""
    if conv.assignee is None:
        return "unassigned"
    return "mine" if conv.assignee == view.me else f"owner {display_name(conv.assignee, 40)}"


def customer_words(conv: Conversation) -> str:
    """"Dora Díaz, +1 555-0101": the name neutralised, then the number (or the username)."""
    name = display_name(conv.customer.name, NAME_LIMIT) or "(no name)"
    return f"{name}, {display_name(handle(conv.customer), 40)}"


def list_line(conv: Conversation, view: View) -> str:
    """One conversation: id, customer, status, waiting, SLA, owner, separated by tabs."""
    fields = (display_name(conv.id), customer_words(conv), status_words(conv, view), waiting_words(conv, view),
              sla_words(conv, view), owner_words(conv, view))
    return "\t".join(fields)


def conversation_json(conv: Conversation, view: View) -> dict[str, Any]:
    state = sla_state(conv, view.policy(conv.business_number_id), view.now)
    customer = conv.customer
    return {
        "id": conv.id,
        "business_number_id": conv.business_number_id,
        "customer": {"id": customer.id, "name": customer.name, "phone": customer.phone, "username": customer.username},
        "status": current(conv, view.now).value,
        "snoozed_until": _iso(conv.snoozed_until),
        "waiting_since": _iso(conv.waiting_since),
        "waited_seconds": None if conv.waiting_since is None else int((view.now - conv.waiting_since).total_seconds()),
        "sla": None if state.kind is SlaKind.NONE else {
            "clock": state.clock, "state": state.kind.value, "due_at": _iso(state.due_at),
        },
        "window_open": window(conv.last_inbound_at, view.now).open,
        "assignee": conv.assignee,
        "priority": conv.priority.value,
        "labels": list(conv.labels),
        "unread": conv.unread,
        "last_message_at": _iso(conv.last_message_at),
        "preview": conv.preview,
    }


def window_words(conv: Conversation, view: View) -> str:
    """"open, 23h10m left", "closed 3d4h ago", "closed (the customer never wrote)"."""
    state = window(conv.last_inbound_at, view.now)
    if state.open:
        return f"open, {short_duration(state.remaining)} left"
    if state.closed_for is None:
        return "closed (the customer never wrote)"
    return f"closed {short_duration(state.closed_for)} ago"


def header_lines(conv: Conversation, view: View) -> list[str]:
    """`show`'s header: one "Label: value" line each, read before the messages."""
    lines = [
        f"Conversation: {display_name(conv.id)}",
        f"Customer: {customer_words(conv)}",
        f"Status: {status_words(conv, view)}; {waiting_words(conv, view)}; {sla_words(conv, view)}",
        f"Owner: {owner_words(conv, view)}",
        f"Priority: {conv.priority.value}",
        f"Window: {window_words(conv, view)}",
    ]
    if conv.labels:
        lines.append(f"Labels: {', '.join(display_name(label, 40) for label in conv.labels)}")
    return lines


# --- messages ---------------------------------------------------------------------------------------


def direction_words(message: Message) -> str:
    """"in" (the customer), "out" (us; "out by ana" when an agent is named), "note" (colleagues only)."""
    if message.status is MessageStatus.NOTE:
        who = f" by {display_name(message.agent, 30)}" if message.agent else ""
        return f"note{who}"
    if message.direction is Direction.INBOUND:
        return "in"
    return f"out by {display_name(message.agent, 30)}" if message.agent else "out"


def message_status_words(message: Message) -> str:
    """The status as a word; a failure says WhatsApp's code and sentence, an unknown what it means."""
    if message.status is MessageStatus.FAILED:
        code = f" {message.error_code}" if message.error_code else ""
        reason = f": {flatten(message.error_text)}" if message.error_text else ""
        return f"failed{code}{reason}"
    if message.status is MessageStatus.UNKNOWN:
        return "unknown: may have reached the customer"
    return str(message.status.value)


def message_text(message: Message) -> str:
    """The message on one line: its text, or what it carries ("[image] photo.jpg: caption")."""
    text = flatten(message.text)
    if message.media is not None:
        name = display_name(message.media.filename or "", 60)
        parts = [f"[{message.media.kind}]"] + ([name] if name else [])
        return " ".join(parts) + (f": {text}" if text else "")
    if message.type == "template" and message.template:
        return f"[template {display_name(message.template, 60)}] {text}".rstrip()
    if not text and message.type not in ("text", "note"):
        return f"[{display_name(message.type, 20)}]"
    return text


def message_line(message: Message, view: View) -> str:
    """One message: time, direction, status, text, separated by tabs."""
    return "\t".join((local_time(message.timestamp, view.zone, view.now), direction_words(message),
                      message_status_words(message), message_text(message)))


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "time": _iso(message.timestamp),
        "direction": message.direction.value,
        "type": message.type,
        "status": message.status.value,
        "text": message.text,
        "agent": message.agent,
        "wamid": message.wamid,
        "error_code": message.error_code,
        "error_text": message.error_text,
        "template": message.template,
        "filename": message.media.filename if message.media is not None else None,
    }


# --- the outcome of a send ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """Where a reply or a template stands when the CLI stops waiting, told honestly."""

    word: str
    """"sent", "failed", "unknown", "queued" (still queued or sending when the wait ended)."""
    sentence: str
    done: bool
    """Exit 0: WhatsApp accepted it."""

    def as_json(self, message: Message) -> dict[str, Any]:
        return {"outcome": self.word, "sentence": self.sentence, "message": message_json(message)}


def outcome(message: Message, waited: float) -> Outcome:
    """What to say of `message` after waiting `waited` seconds for it."""
    if message.status in SENT_STATUSES:
        return Outcome("sent", f"Sent: WhatsApp accepted it as {display_name(message.wamid or '?')}.", True)
    if message.status is MessageStatus.FAILED:
        code = f" ({message.error_code})" if message.error_code else ""
        why = flatten(message.error_text or "WhatsApp gave no reason")
        return Outcome("failed", f"Not sent{code}: {why}", False)
    if message.status is MessageStatus.UNKNOWN:
        why = flatten(message.error_text or "No answer from WhatsApp.")
        return Outcome(
            "unknown",
            f"Outcome unknown: {why} It may have reached the customer; it was not sent again.",
            False,
        )
    return Outcome(
        "queued",
        f"Still {message.status.value} after {waited:g} s: it will be sent without you; "
        "do not send it again (wadesk show tells its outcome).",
        False,
    )
