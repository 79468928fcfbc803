"""The agent's actions as records, decided against the conversation's document as it is (under the
store's lock on it: the embedded store's write lock, the PostgreSQL store's row lock): what each
store's outbox, read marker, status, note and claim calls turn into before the interpreter applies
them. One home for what every store checks and computes first."""

from __future__ import annotations

import uuid
from datetime import datetime

from desk.models import ConversationStatus, Direction, Message, MessageStatus
from desk.store import records, rules
from desk.store.document import ConversationDocument
from desk.summary import failure_key, summarize


def check_outgoing(message: Message) -> None:
    """What may go into the outbox (before any lock): ValueError with why not."""
    if message.status is not MessageStatus.QUEUED:
        raise ValueError(f"an outgoing message is recorded QUEUED, not {message.status.value}")
    if message.direction is not Direction.OUTBOUND:
        raise ValueError("only our own (outbound) messages go through the outbox")


def check_update(doc: ConversationDocument, message_id: str) -> None:
    """An outbox update names one of our messages: KeyError (no such message) or ValueError."""
    doc_id = doc.by_id.get(message_id)
    if doc_id is None:
        raise KeyError(f"{doc.id}: no message {message_id}")
    if doc.message(doc_id).direction is not Direction.OUTBOUND:
        raise ValueError(f"{message_id} is a customer's message, not one of ours")


def read(doc: ConversationDocument, upto: datetime | None, agent: str | None) -> records.Read | None:
    """The agent opened it: they have seen the customer's messages up to `upto` (None: the
    newest) and our latest failure. None when there is nothing to have seen."""
    newest = upto or max((m.timestamp for m in doc.transcript if m.direction is Direction.INBOUND), default=None)
    failure = failure_key(doc.transcript)
    if newest is None and failure is None:
        return None
    return records.Read(doc.id, newest, failure, agent)


def check_status(status: ConversationStatus, until: datetime | None) -> None:
    if until is not None and status is not ConversationStatus.SNOOZED:
        raise ValueError("only a snoozed conversation has an until")


def status(
    doc: ConversationDocument, status: ConversationStatus, until: datetime | None, agent: str | None, now: datetime
) -> records.ConversationState | None:
    """The conversation opened, made pending, snoozed or resolved by an agent; None when it is so."""
    meta = doc.meta
    assert meta is not None  # an agent's action on a conversation that exists
    current = summarize(meta, doc.transcript)
    if current.status is status and current.snoozed_until == until:
        return None
    at = rules.status_at(now, doc.transcript)
    resolved_at = at if status is ConversationStatus.RESOLVED else meta.resolved_at
    # Reopening what was resolved begins a new episode: the resolution clock starts again.
    opened_at = at if current.status is ConversationStatus.RESOLVED else current.opened_at
    return records.ConversationState(doc.id, status, resolved_at, agent, at, until, opened_at)


def check_note(text: str) -> None:
    if not text.strip():
        raise ValueError("a note needs text")


def note(doc: ConversationDocument, text: str, agent: str | None, now: datetime) -> records.Outgoing:
    """An internal note, stamped no earlier than the conversation's last message."""
    at = rules.status_at(now, doc.transcript)
    message = Message(
        f"note-{uuid.uuid4().hex}", doc.id, Direction.OUTBOUND, "note", at, MessageStatus.NOTE, text=text, agent=agent
    )
    return records.Outgoing(doc.id, message, agent)


def claim(doc: ConversationDocument, agent: str, now: datetime) -> records.Assignment | None:
    """The conversation given to `agent` if nobody has it; None when somebody has (they, or
    `agent` already: nothing changes)."""
    assert doc.meta is not None  # an agent's action on a conversation that exists
    if doc.meta.assignee is not None:
        return None
    return records.Assignment(doc.id, agent, agent, now)
