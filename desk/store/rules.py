"""The store's rules, as pure functions: what may change and into what.

Every store implementation decides with these (the TinyDB one and a shared one alike), and the
backends use the template merge for their own catalogue, so a rule has one home. The contract
suite (tests/store_contract/) holds each of them: take one out and it fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from desk.models import RETRYABLE, Customer, Direction, Message, MessageStatus, Pricing, Template
from desk.text import display_name

SETTLED = frozenset({MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED})
"""WhatsApp said the message arrived: the outbox can no longer change its status."""

IN_FLIGHT = frozenset({MessageStatus.QUEUED, MessageStatus.SENDING})
"""Our message is the outbox's: recorded and not sent yet, or being sent."""

_RANK = {
    MessageStatus.RECEIVED: 0,
    MessageStatus.NOTE: 0,
    MessageStatus.QUEUED: 1,
    MessageStatus.SENDING: 2,
    MessageStatus.UNKNOWN: 3,
    MessageStatus.FAILED: 4,
    MessageStatus.SENT: 5,
    MessageStatus.DELIVERED: 6,
    MessageStatus.READ: 7,
    MessageStatus.PLAYED: 8,
}


# --- statuses of our messages --------------------------------------------------------------------


def whatsapp_moves(old: MessageStatus, new: MessageStatus) -> bool:
    """Whether a status WhatsApp reports moves our message forward (it sends them in no
    particular order). FAILED is final unless a later success arrives (a second device can still
    get it), and any word from WhatsApp settles UNKNOWN."""
    if new is old or old in (MessageStatus.RECEIVED, MessageStatus.NOTE):
        return False  # a status names one of our messages, and a note never left
    if old is MessageStatus.FAILED:
        return new in SETTLED
    if new is MessageStatus.FAILED:
        return _RANK[old] < _RANK[MessageStatus.DELIVERED]
    return _RANK[new] > _RANK[old]


def whatsapp_status(
    message: Message,
    status: MessageStatus,
    at: datetime | None,
    error_code: int | None,
    error_text: str | None,
    pricing: Pricing | None = None,
) -> Message | None:
    """Our message after WhatsApp's status, or None when nothing changes. A status that would move
    it backwards changes nothing, except that its pricing is kept when the message has none yet
    (they come in no particular order, and only some carry it). Only a failure carries WhatsApp's
    error; any other status clears it. Pricing once known is kept: a status without it never
    erases it."""
    if not whatsapp_moves(message.status, status):
        return replace(message, pricing=pricing) if pricing is not None and message.pricing is None else None
    pricing = pricing or message.pricing
    if status is MessageStatus.FAILED:
        return message.with_status(status, at, error_code=error_code, error_text=error_text, pricing=pricing)
    return message.with_status(status, at, error_code=None, error_text=None, pricing=pricing)


def outbox_allows(old: MessageStatus, new: MessageStatus) -> bool:
    """The outbox's moves: anything except out of a state WhatsApp settled (delivered, read,
    played), and back to QUEUED only from FAILED or UNKNOWN (an agent's explicit retry)."""
    if new is old:
        return True
    if old in SETTLED or MessageStatus.RECEIVED in (old, new) or MessageStatus.NOTE in (old, new):
        return False
    if new is MessageStatus.QUEUED:
        return old in RETRYABLE
    return True


def outbox_update(
    message: Message,
    status: MessageStatus,
    at: datetime | None,
    wamid: str | None,
    error_code: int | None,
    error_text: str | None,
) -> Message | None:
    """Our message after the outbox's report, or None when nothing changes (a move the outbox may
    not make, or the same report again). A wamid once known is kept; the error is kept only on a
    failure or an unknown outcome."""
    if not outbox_allows(message.status, status):
        return None
    wamid = wamid or message.wamid
    if status not in RETRYABLE:
        error_code = error_text = None
    if (status, wamid, error_code, error_text) == (message.status, message.wamid, message.error_code, message.error_text):
        return None
    return message.with_status(status, at, wamid=wamid, error_code=error_code, error_text=error_text)


def in_flight(messages: Iterable[Message]) -> bool:
    return any(m.direction is Direction.OUTBOUND and m.status in IN_FLIGHT for m in messages)


# --- conversations --------------------------------------------------------------------------------


def merge_customer(known: Customer, incoming: Customer) -> Customer:
    """What we know of a customer after a new message from them: each field they sent replaces
    ours, except a stand-in name (WhatsApp sends no profile with system messages, so the parser
    names the customer by number), which never replaces a real one."""
    stand_ins = ("", incoming.phone, incoming.username, incoming.id)
    return Customer(
        id=known.id,
        name=known.name if incoming.name in stand_ins else incoming.name,
        phone=incoming.phone or known.phone,
        username=incoming.username or known.username,
        country=incoming.country or known.country,
    )


def status_at(now: datetime, transcript: Sequence[Message]) -> datetime:
    """When a conversation's new status (resolved, pending, snoozed, open) counts as set: now, but
    never before a message already there, whatever the clocks say, so that resolving is not undone
    at once by a customer message with a (skewed) later timestamp."""
    return max([now] + [m.timestamp for m in transcript[-1:]])


LABEL_LENGTH = 32


def labels(given: Iterable[str]) -> tuple[str, ...]:
    """Labels as a conversation keeps them: each on one line, without control characters,
    lowercased (so "VIP" and "vip" are one label), cut to LABEL_LENGTH, each once, sorted."""
    tidy = (display_name(label, LABEL_LENGTH).strip().lower() for label in given)
    return tuple(sorted({label for label in tidy if label}))


def read_upto(seen: datetime | None, newest: datetime | None) -> datetime | None:
    """The read marker only moves forward."""
    if newest is None or (seen is not None and seen >= newest):
        return seen
    return newest


# --- templates ------------------------------------------------------------------------------------


def merge_templates(catalogue: Iterable[Template], updates: Iterable[Template]) -> tuple[Template, ...]:
    """The catalogue with each update in place of the template it names (by TemplateRef), new ones
    added at the end: a webhook about one template changes that one and keeps the rest."""
    by_key = {t.key: t for t in catalogue}
    for t in updates:
        by_key[t.key] = t
    return tuple(by_key.values())


def catalogue_after(
    current: tuple[tuple[Template, ...], datetime | None],
    incoming: Sequence[Template],
    synced_at: datetime | None,
) -> tuple[tuple[Template, ...], datetime | None]:
    """A business number's catalogue and last full sync after news of templates: a full sync
    (`synced_at` set) replaces it; a webhook about a template or two updates those and keeps the
    rest and the last sync time."""
    if synced_at is not None:
        return tuple(incoming), synced_at
    return merge_templates(current[0], incoming), current[1]
