"""Small builders for the contract suite: a business number, its customers, their messages, ours,
WhatsApp's statuses and templates, each at a number of minutes after T0, and a view of everything a
store shows (to compare a store before and after it is killed)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from desk.models import (
    Conversation,
    ConversationStatus,
    ConversationStatusChanged,
    Customer,
    Direction,
    Message,
    MessageReceived,
    MessageStatus,
    StatusChanged,
    Template,
    TemplatesChanged,
    TemplateStatus,
    conversation_id,
)
from desk.store.contract import Store

BN = "106540352242922"
OTHER_BN = "106540352242999"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
NOW_MINUTES = 600
NOW = T0 + timedelta(minutes=NOW_MINUTES)
"""Where the harness's clock starts: after every message the tests build, unless a test moves it."""

ALICE = Customer("15551234567", "Alice", phone="+15551234567", country="US")
BOB = Customer("447700900123", "Bob", phone="+447700900123", country="GB")
CAROL = Customer("5511987654321", "Carol", phone="+5511987654321", country="BR")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def cid(customer: Customer = ALICE, bn: str = BN) -> str:
    return conversation_id(bn, customer.id)


def inbound(
    mid: str, minutes: float, text: str = "hi", *, customer: Customer = ALICE, bn: str = BN, type: str = "text"
) -> MessageReceived:
    """A customer's message, as the backend reports it."""
    message = Message(mid, cid(customer, bn), Direction.INBOUND, type, at(minutes), MessageStatus.RECEIVED, text)
    return MessageReceived(bn, customer, message)


def outgoing(
    mid: str,
    minutes: float,
    text: str = "hello",
    *,
    customer: Customer = ALICE,
    bn: str = BN,
    status: MessageStatus = MessageStatus.QUEUED,
    direction: Direction = Direction.OUTBOUND,
) -> Message:
    """One of ours, as the composer hands it to the outbox."""
    return Message(mid, cid(customer, bn), direction, "text", at(minutes), status, text, agent="ana")


def status(
    wamid: str,
    st: MessageStatus,
    minutes: float,
    *,
    customer: Customer = ALICE,
    bn: str = BN,
    error_code: int | None = None,
    error_text: str | None = None,
) -> StatusChanged:
    """WhatsApp's word on one of ours."""
    return StatusChanged(bn, customer.id, wamid, st, at(minutes), error_code, error_text)


def conversation_status(
    st: ConversationStatus, minutes: float, *, customer: Customer = ALICE, bn: str = BN
) -> ConversationStatusChanged:
    return ConversationStatusChanged(bn, customer.id, st, at(minutes))


def template(
    name: str,
    language: str = "en_US",
    *,
    st: TemplateStatus = TemplateStatus.APPROVED,
    body: str = "Hello {{1}}",
    bn: str = BN,
) -> Template:
    return Template(name, language, "UTILITY", st, bn, body, id=f"{name}-{language}")


def templates_changed(*templates: Template, synced_at: datetime | None = None, bn: str = BN) -> TemplatesChanged:
    """A full sync when `synced_at` is given; else a webhook about these templates."""
    return TemplatesChanged(bn, templates, synced_at)


# --- reading a store ------------------------------------------------------------------------------


def message(store: Store, message_id: str, conversation: str | None = None) -> Message:
    """One message of a conversation (Alice's by default), by its id."""
    found = [m for m in store.messages(conversation or cid()) if m.id == message_id]
    assert len(found) == 1, f"{message_id}: {len(found)} messages"
    return found[0]


def summary(store: Store, conversation: str) -> Conversation:
    """A conversation's summary, which the test knows is there."""
    found = store.conversation(conversation)
    assert found is not None, f"no conversation {conversation}"
    return found


def catalogue(store: Store, bn: str = BN) -> dict[tuple[str, str], Template]:
    """The business number's templates by (name, language): the contract promises no order."""
    return {(t.name, t.language): t for t in store.templates(bn)}


def send(store: Store, mid: str, minutes: float, wamid: str, *, customer: Customer = ALICE) -> Message:
    """One of ours through the outbox: recorded, being sent, accepted by WhatsApp with `wamid`."""
    message = store.record_outgoing(outgoing(mid, minutes, customer=customer))
    store.update_outgoing(message.conversation_id, mid, MessageStatus.SENDING, at=at(minutes))
    return store.update_outgoing(message.conversation_id, mid, MessageStatus.SENT, at=at(minutes), wamid=wamid)


def view(store: Store, business_numbers: tuple[str, ...] = (BN, OTHER_BN)) -> dict[str, Any]:
    """Everything the store shows: the summaries, transcripts, drafts, the outbox, the templates."""
    conversations = sorted(store.conversations(), key=lambda c: c.id)
    return {
        "conversations": conversations,
        "messages": {c.id: store.messages(c.id) for c in conversations},
        "drafts": {c.id: store.draft(c.id) for c in conversations},
        "waiting": sorted(c.id for c in store.waiting_conversations()),
        "queued": [m.id for m in store.queued()],
        "templates": {bn: (catalogue(store, bn), store.templates_synced_at(bn)) for bn in business_numbers},
    }
