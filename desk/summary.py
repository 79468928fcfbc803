"""A conversation's summary from its messages: the one home of the rule, pure.

The store recomputes a conversation's summary from its shard after every change and the inbox
shows it; `one_line` is also what the UI uses to show a message on one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from desk.models import (
    Conversation,
    ConversationStatus,
    Customer,
    Direction,
    Message,
    MessageStatus,
    Priority,
)
from desk.text import display_name, flatten

PREVIEW_LENGTH = 200
"""The longest preview the index keeps; the inbox cuts it to its column anyway."""

REPLIED = frozenset(
    {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED}
)
"""Our message reached WhatsApp: it counts as a reply (it stops the SLA clock)."""

NOT_A_REPLY = frozenset({"note"})
"""Outbound types the customer never sees (notes to colleagues): they do not answer anything."""

NOT_A_QUESTION = frozenset({"reaction", "system"})
"""Inbound message types that do not ask for an answer: they neither start the clock nor reopen."""

GREETING = "greeting"
AWAY = "away"
AUTOMATIC = frozenset({GREETING, AWAY})
"""Outbound types the desk sends by itself (desk.autoreply): the customer gets them, but no agent
wrote them, so they answer nothing (the SLA clock runs on) and say nothing was seen (unread stays).
A failed one is shown as any failure of ours."""


@dataclass(frozen=True, slots=True)
class ConversationMeta:
    """What a shard knows about its conversation besides the messages."""

    id: str
    business_number_id: str
    customer: Customer
    status: ConversationStatus = ConversationStatus.OPEN
    resolved_at: datetime | None = None
    read_upto: datetime | None = None
    """The agent has seen every customer message up to this timestamp; None: nothing seen."""
    failure_seen: str | None = None
    """The failure of ours the agent has seen (`failure_key`): its mark leaves the inbox row."""
    assignee: str | None = None
    """The agent id who owns the conversation; None: nobody."""
    status_at: datetime | None = None
    """When `status` was set (older shards: None, read as `resolved_at`): a customer's question
    after it reopens a conversation that is not open (`reopens`)."""
    snoozed_until: datetime | None = None
    opened_at: datetime | None = None
    """When this episode began (None in older shards: the first question there is)."""
    priority: Priority = Priority.NORMAL
    labels: tuple[str, ...] = ()
    language: str | None = None


def customer_fields(meta: ConversationMeta) -> dict[str, Any]:
    """The meta's fields that a customer's messages change (`summary_after` reads them)."""
    return {
        "customer": meta.customer, "status": meta.status, "status_at": meta.status_at,
        "snoozed_until": meta.snoozed_until, "opened_at": meta.opened_at, "language": meta.language,
    }


def latest_ours(messages: Sequence[Message]) -> Message | None:
    """Our latest message the customer was meant to get (notes left out), or None."""
    latest: Message | None = None
    for m in messages:
        if m.direction is Direction.OUTBOUND and m.type not in NOT_A_REPLY:
            if latest is None or m.timestamp >= latest.timestamp:
                latest = m
    return latest


def failure_key(messages: Sequence[Message]) -> str | None:
    """Which failure the agent sees when our latest message has failed, else None.

    The message id and the time of the failure: a retry that fails again is a new failure to
    show, whatever the clocks say (a `failed` webhook carries WhatsApp's time, not ours).
    """
    latest = latest_ours(messages)
    if latest is None or latest.status is not MessageStatus.FAILED:
        return None
    at = latest.status_at.timestamp() if latest.status_at is not None else ""
    return f"{latest.id}@{at}"


def summarize(meta: ConversationMeta, messages: Sequence[Message]) -> Conversation:
    """The summary of a conversation. `messages` oldest first (timestamp, then arrival)."""
    last_inbound_at: datetime | None = None
    last_message_at: datetime | None = None
    newest: Message | None = None
    first_reply_at: datetime | None = None
    last_reply_at: datetime | None = None
    last_outbound_at: datetime | None = None
    inbound: list[datetime] = []
    inbound_questions: list[datetime] = []

    for m in messages:
        ts = m.timestamp
        if last_message_at is None or ts >= last_message_at:
            last_message_at = ts
            newest = m
        if m.direction is Direction.INBOUND:
            if last_inbound_at is None or ts > last_inbound_at:
                last_inbound_at = ts
            inbound.append(ts)
            if m.type not in NOT_A_QUESTION:
                inbound_questions.append(ts)
            continue
        if m.type in AUTOMATIC:
            continue
        if m.type not in NOT_A_REPLY and (last_outbound_at is None or ts > last_outbound_at):
            last_outbound_at = ts
        if m.status in REPLIED and m.type not in NOT_A_REPLY:
            if first_reply_at is None or ts < first_reply_at:
                first_reply_at = ts
            if last_reply_at is None or ts > last_reply_at:
                last_reply_at = ts

    # Unread: customer messages after the agent last looked, or last wrote (writing implies reading).
    seen = max((t for t in (meta.read_upto, last_outbound_at) if t is not None), default=None)
    unread = sum(1 for ts in inbound if seen is None or ts > seen)

    waiting_since: datetime | None = None
    for ts in inbound_questions:
        if (last_reply_at is None or ts > last_reply_at) and (
            waiting_since is None or ts < waiting_since
        ):
            waiting_since = ts

    status = meta.status
    if any(reopens(meta, ts) for ts in inbound_questions):
        status = ConversationStatus.OPEN
    opened_at = meta.opened_at or (inbound_questions[0] if inbound_questions else None)

    failed = failure_key(messages)
    return Conversation(
        id=meta.id,
        business_number_id=meta.business_number_id,
        customer=meta.customer,
        last_inbound_at=last_inbound_at,
        last_message_at=last_message_at,
        preview=one_line(newest, PREVIEW_LENGTH) if newest is not None else "",
        preview_direction=newest.direction if newest is not None else None,
        unread=unread,
        waiting_since=waiting_since,
        first_reply_at=first_reply_at,
        last_reply_at=last_reply_at,
        message_count=len(messages),
        undelivered=failed is not None and failed != meta.failure_seen,
        **_from_meta(meta, status, opened_at),
    )


def _from_meta(meta: ConversationMeta, status: ConversationStatus, opened_at: datetime | None) -> dict[str, Any]:
    """The summary's fields that the meta decides."""
    return {
        "status": status,
        "assignee": meta.assignee,
        "priority": meta.priority,
        "labels": meta.labels,
        "snoozed_until": meta.snoozed_until if status is ConversationStatus.SNOOZED else None,
        "opened_at": opened_at,
        "resolved_at": meta.resolved_at,
        "language": meta.language,
    }


def reopens(meta: ConversationMeta, asked_at: datetime) -> bool:
    """Whether a customer's question asked at `asked_at` reopens the conversation: it was
    resolved, pending or snoozed, and the question came after it was made so."""
    if meta.status is ConversationStatus.OPEN:
        return False
    since = meta.status_at or meta.resolved_at
    return since is None or asked_at > since


def summary_after(previous: Conversation, meta: ConversationMeta, appended: Sequence[Message]) -> Conversation | None:
    """`summarize(meta, messages + appended)` from `previous == summarize(meta', messages)`, without
    the messages, where `meta` is what applying the customer's `appended` messages made of `meta'`
    (their name merged, the conversation reopened, its episode and language set): for the common
    write (customer messages newer than everything, which the writer gets far more often than it
    has the transcript built). None when it cannot tell; then summarize. summarize stays the one
    definition: a property test holds this to it."""
    last_message_at, waiting_since, unread = previous.last_message_at, previous.waiting_since, previous.unread
    # Applying customer messages only ever opens a conversation: open before (a question there
    # reopened it) stays open.
    reopened = ConversationStatus.OPEN in (meta.status, previous.status)
    opened_at = meta.opened_at or previous.opened_at
    newest: Message | None = None
    for m in appended:
        ts = m.timestamp
        if (
            m.direction is not Direction.INBOUND
            or last_message_at is None
            or ts <= last_message_at
            or (meta.read_upto is not None and ts <= meta.read_upto)
        ):
            return None
        # Newer than every message: after our last reply and our last message, so it is unread,
        # and a question waits from it unless an earlier one already does.
        last_message_at, newest, unread = ts, m, unread + 1
        if m.type not in NOT_A_QUESTION:
            waiting_since = waiting_since or ts
            opened_at = opened_at or ts
            reopened = reopened or reopens(meta, ts)
    status = ConversationStatus.OPEN if reopened else meta.status
    fields = _from_meta(meta, status, opened_at)
    if newest is None:
        return replace(previous, customer=meta.customer, **fields)
    return replace(
        previous,
        customer=meta.customer,
        last_inbound_at=last_message_at,
        last_message_at=last_message_at,
        preview=one_line(newest, PREVIEW_LENGTH),
        preview_direction=Direction.INBOUND,
        unread=unread,
        waiting_since=waiting_since,
        message_count=previous.message_count + len(appended),
        **fields,
    )  # first and last reply, undelivered: as they were (customer messages change neither)


# --- one line per message ------------------------------------------------------------------------

"""Whitespace and control characters (newlines, tabs, ESC of an ANSI sequence, ...)."""

_MEDIA_WORDS = {
    "image": "image",
    "video": "video",
    "audio": "audio",
    "voice": "voice message",
    "document": "document",
    "sticker": "sticker",
}


def human_size(size: int) -> str:
    """1.2 MB, 340 KB, 12 B (binary units, as phones show them)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    if size < 1024**3:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{size / 1024**3:.1f} GB"


def one_line(message: Message, max_length: int | None = None) -> str:
    """A message on one line: the inbox preview and the reply quote.

    text: its text with newlines collapsed; media: "image: caption", "document: name.pdf (1.2 MB)",
    "voice message"; "location: name"; "contact: Name"; "reaction 👍"; "template: name (en_US)";
    "unsupported message"; any other type its text, or "<type> message" when it has none.
    The result holds no newline or control character; markup is left as it is (the UI escapes).
    """
    line = _one_line(message)
    if max_length is not None and len(line) > max_length:
        line = line[: max_length - 1].rstrip() + "…"
    return line


def _one_line(m: Message) -> str:
    kind = m.type
    text = flatten(m.text) if m.text else ""
    media = m.media
    if kind == "text":
        return text
    if media is not None or kind in _MEDIA_WORDS:
        media_kind = media.kind if media is not None else kind
        if kind == "voice" or media_kind == "voice":
            return "voice message"
        word = _MEDIA_WORDS.get(media_kind, media_kind)
        if media_kind == "document":
            name = display_name(media.filename or "") if media is not None else ""
            name = name or (flatten(media.caption or "") if media is not None else "") or text
            size = f" ({human_size(media.size)})" if media is not None and media.size is not None else ""
            if name:
                return f"{word}: {name}{size}"
            return f"{word}{size}"
        caption = (flatten(media.caption) if media is not None and media.caption else "") or text
        return f"{word}: {caption}" if caption else word
    if kind == "location":
        loc = m.location
        name = ""
        if loc is not None:
            name = flatten(loc.name or "") or flatten(loc.address or "")
        name = name or text
        return f"location: {name}" if name else "location"
    if kind == "contacts":
        names = [flatten(_contact_name(c)) for c in m.contacts]
        names = [n for n in names if n]
        if not names:
            return f"contact: {text}" if text else "contact"
        if len(names) == 1:
            return f"contact: {names[0]}"
        return f"contacts: {names[0]} and {len(names) - 1} more"
    if kind == "reaction":
        return f"reaction {text}" if text else "reaction removed"
    if kind == "template":
        name = flatten(m.template or "")
        return f"template: {name}" if name else (f"template: {text}" if text else "template")
    if kind == "unsupported":
        return "unsupported message"
    return text if text else f"{flatten(kind) or 'empty'} message"


def _contact_name(line: str) -> str:
    """ "Name +number" -> "Name" (a line without a number is all name)."""
    head, sep, tail = line.rpartition(" ")
    if sep and tail.lstrip("+").replace("-", "").isdigit():
        return head
    return line
