"""The audit log: every action on a conversation, with who and when, as the store keeps it.

Each store writes an entry in the same durable write as the action itself (the embedded store in
the conversation's file, replayed from the journal with it), so the log can never say something
happened that did not, nor miss what did. Entries are `(action, detail)` pairs made here, the one
home of their encoding (tui.labels.activity says them in words, in the agent's zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from desk.codec import ts_from_doc, ts_to_doc
from desk.models import ConversationStatus, Message, Priority

ASSIGNED = "assigned"
STATUS = "status"
REOPENED = "reopened"
PRIORITY = "priority"
LABELS = "labels"
NOTE = "note"
SENT = "sent"
TEMPLATE = "template"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime | None
    """When it was done (None: an older record that did not say)."""
    agent: str | None
    """Who did it: an agent's name; None for the customer, WhatsApp or the desk itself."""
    action: str
    detail: str
    """What it was set to: the assignee's id ("" for nobody), the status ("snoozed" with its time
    in epoch seconds after a space), the priority, the labels added and removed ("+vip -billing"),
    the message's id."""


def assigned(assignee: str | None) -> tuple[str, str]:
    return ASSIGNED, assignee or ""


def status(new: ConversationStatus, until: datetime | None = None) -> tuple[str, str]:
    return STATUS, new.value if until is None else f"{new.value} {ts_to_doc(until)}"


def reopened() -> tuple[str, str]:
    """A customer's message opened a conversation that was resolved, pending or snoozed."""
    return REOPENED, "the customer wrote"


def priority(new: Priority) -> tuple[str, str]:
    return PRIORITY, new.value


def labels(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, str]:
    added = [f"+{label}" for label in new if label not in old]
    removed = [f"-{label}" for label in old if label not in new]
    return LABELS, " ".join(added + removed)


def message(m: Message) -> tuple[str, str]:
    """One of ours recorded: a note, a template, or any other message sent."""
    if m.type == "note":
        return NOTE, m.id
    return (TEMPLATE if m.type == "template" else SENT), m.id


def entry_doc(at: datetime | None, agent: str | None, action: str, detail: str) -> dict[str, Any]:
    return {"at": ts_to_doc(at), "by": agent, "action": action, "detail": detail}


MESSAGE_ACTIONS = frozenset({NOTE, SENT, TEMPLATE})
"""Entries whose message the transcript shows already: the others are shown between messages."""


def until_of(detail: str) -> datetime | None:
    """A snooze entry's time (None: until the customer writes)."""
    _, _, seconds = detail.partition(" ")
    return ts_from_doc(float(seconds)) if seconds else None


def entry_from_doc(doc: dict[str, Any]) -> AuditEntry:
    return AuditEntry(ts_from_doc(doc.get("at")), doc.get("by"), str(doc["action"]), str(doc.get("detail", "")))
