"""The interpreter of the store's records (records.py): what each one does to a conversation's
document in memory (document.py), for every store: the embedded one's live write path and its
replay of the journal at open, and the PostgreSQL store's write transactions, run exactly `apply`.
Every record is idempotent (a second application changes nothing), which is what makes replaying a
journal after a kill, or applying one webhook twice, safe."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from desk.codec import message_status, ts_from_doc
from desk.language import language_after
from desk.models import ConversationStatus, Direction, Message
from desk.store import audit, rules
from desk.store.document import ConversationDocument
from desk.store.records import (
    Assignment,
    ConversationState,
    Labelled,
    MessageIn,
    OutboxUpdate,
    Outgoing,
    Prioritised,
    ShardRecord,
    StatusIn,
    Written,
    pricing_of,
)
from desk.summary import NOT_A_QUESTION, ConversationMeta, reopens


def apply(shard: ConversationDocument, r: ShardRecord) -> tuple[bool, Any]:
    """Apply one record to a loaded shard, in memory. Returns (changed, the op's result): the
    message for the outbox's records, whether a message took it for a status."""
    if isinstance(r, MessageIn):
        return _message(shard, r), None
    if isinstance(r, Outgoing):
        existing = shard.find(r.message.id)
        if existing is not None:
            return False, shard.message(existing)
        if shard.meta is None:
            raise KeyError(shard.id)
        doc_id = shard.insert(r.message)
        _apply_pending(shard, doc_id)
        shard.add_audit(audit.entry_doc(r.message.timestamp, r.by, *audit.message(r.message)))
        return True, shard.message(doc_id)
    if isinstance(r, OutboxUpdate):
        return _outbox_update(shard, r)
    if isinstance(r, StatusIn):
        return _status(shard, r)
    if isinstance(r, Written):
        return False, None
    meta = shard.meta
    if meta is None:
        return False, None
    if isinstance(r, ConversationState):
        new = replace(
            meta, status=r.status, resolved_at=r.resolved_at, status_at=r.at or r.resolved_at,
            snoozed_until=r.until, opened_at=r.opened_at or meta.opened_at,
        )
        return _set(shard, new, r.at, r.by, audit.status(r.status, r.until)), None
    if isinstance(r, Assignment):
        return _set(shard, replace(meta, assignee=r.assignee), r.at, r.by, audit.assigned(r.assignee)), None
    if isinstance(r, Prioritised):
        return _set(shard, replace(meta, priority=r.priority), r.at, r.by, audit.priority(r.priority)), None
    if isinstance(r, Labelled):
        return _set(shard, replace(meta, labels=r.labels), r.at, r.by, audit.labels(meta.labels, r.labels)), None
    read_upto = rules.read_upto(meta.read_upto, r.read_upto)
    failure_seen = r.failure_seen or meta.failure_seen
    if read_upto == meta.read_upto and failure_seen == meta.failure_seen:
        return False, None
    shard.set_meta(replace(meta, read_upto=read_upto, failure_seen=failure_seen))
    return True, None


def _set(shard: ConversationDocument, meta: ConversationMeta, at: datetime | None, by: str | None, entry: tuple[str, str]) -> bool:
    """The agent's change to the conversation's meta, kept in its audit log; False when it changes
    nothing (then nothing is logged either: every record is idempotent)."""
    if meta == shard.meta:
        return False
    shard.set_meta(meta)
    shard.add_audit(audit.entry_doc(at, by, *entry))
    return True


def visible(record: ShardRecord, result: Any) -> bool:
    """Whether a change that `apply` made shows in the conversation (its summary or transcript):
    a status kept waiting for a wamid we do not know yet does not, until it moves our message."""
    return not isinstance(record, StatusIn) or bool(result)


def _message(shard: ConversationDocument, r: MessageIn) -> bool:
    if shard.find(r.message.id) is not None:
        return False  # a duplicate: nothing at all changes
    meta = shard.meta
    if meta is None:
        language = language_after(None, r.message.text) if r.message.direction is Direction.INBOUND else None
        shard.set_meta(ConversationMeta(shard.id, r.business_number_id, r.customer, language=language))
    else:
        new = replace(meta, customer=rules.merge_customer(meta.customer, r.customer))
        asked_at = r.message.timestamp
        asks = r.message.direction is Direction.INBOUND and r.message.type not in NOT_A_QUESTION
        if asks and r.message.text:
            new = replace(new, language=language_after(meta.language, r.message.text))
        if asks and reopens(meta, asked_at):
            # A new episode when it had been resolved; the same one, going on, when it waited on
            # the customer or slept.
            opened_at = asked_at if meta.status is ConversationStatus.RESOLVED else meta.opened_at
            new = replace(new, status=ConversationStatus.OPEN, status_at=asked_at, snoozed_until=None, opened_at=opened_at)
            shard.add_audit(audit.entry_doc(asked_at, None, *audit.reopened()))
        if new != meta:
            shard.set_meta(new, by_customer=True)
    doc_id = shard.insert(r.message)
    if r.message.direction is Direction.OUTBOUND:
        _apply_pending(shard, doc_id)
    return True


def _outbox_update(shard: ConversationDocument, r: OutboxUpdate) -> tuple[bool, Message]:
    doc_id = shard.by_id.get(r.message_id)
    if doc_id is None:
        raise KeyError(r.message_id)
    old = shard.message(doc_id)
    new = rules.outbox_update(old, r.status, r.at, r.wamid, r.error_code, r.error_text)
    if new is None:
        return False, old
    shard.replace(doc_id, new)
    _apply_pending(shard, doc_id)
    return True, shard.message(doc_id)


def _status(shard: ConversationDocument, r: StatusIn) -> tuple[bool, bool]:
    """Returns (changed, applied to a message)."""
    doc_id = shard.ours_by_wamid(r.wamid)
    if doc_id is None:
        pending = r.pending_doc()
        if any(p == pending for _, p in shard.pending()):
            return False, False
        shard.add_pending(pending)
        return True, False
    new = rules.whatsapp_status(shard.message(doc_id), r.status, r.at, r.error_code, r.error_text, r.pricing)
    if new is None:
        return False, False
    shard.replace(doc_id, new)
    return True, True


def _apply_pending(shard: ConversationDocument, doc_id: int) -> None:
    """Statuses that came before we knew the message's wamid, applied now in arrival order."""
    message = shard.message(doc_id)
    if message.direction is not Direction.OUTBOUND:
        return
    keys = {message.id, message.wamid} - {None}
    matched = [(pid, p) for pid, p in shard.pending() if p.get("wamid") in keys]
    if not matched:
        return
    for _, p in sorted(matched, key=lambda item: item[0]):
        new = rules.whatsapp_status(
            message, message_status(p["status"]), ts_from_doc(p.get("at")), p.get("error_code"), p.get("error_text"),
            pricing_of(p),
        )
        if new is not None:
            message = new
    if message is not shard.message(doc_id):
        shard.replace(doc_id, message)
    shard.remove_pending([pid for pid, _ in matched])


