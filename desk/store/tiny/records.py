"""The journal's records: each mutation as a typed value, decoded once from its line, and the
interpreter that applies it to a conversation's shard in memory.

The live write path and the replay at open run exactly `apply`; every record is idempotent (a
second application changes nothing), which is what makes replaying a journal after a kill safe.
Each record names the agent who acted (`by`; None for what WhatsApp or a customer did).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from desk.codec import (
    conversation_status,
    customer_from_doc,
    customer_to_doc,
    message_from_doc,
    message_status,
    message_to_doc,
    pricing_from_doc,
    pricing_to_doc,
    template_from_doc,
    template_to_doc,
    ts_from_doc,
    ts_to_doc,
)
from desk.language import language_after
from desk.models import (
    ConversationStatus,
    ConversationStatusChanged,
    Customer,
    Direction,
    Event,
    Message,
    MessageReceived,
    MessageStatus,
    Pricing,
    Priority,
    StatusChanged,
    Template,
    TemplatesChanged,
    conversation_id,
)
from desk.store import audit, rules
from desk.store.tiny.shard import Shard
from desk.summary import NOT_A_QUESTION, ConversationMeta, reopens


@dataclass(frozen=True, slots=True)
class MessageIn:
    """A message WhatsApp told us of: the customer's, or one of ours sent elsewhere (an echo)."""

    cid: str
    business_number_id: str
    customer: Customer
    message: Message
    OP = "message"

    def to_doc(self) -> dict[str, Any]:
        return {
            "op": self.OP,
            "cid": self.cid,
            "bn": self.business_number_id,
            "customer": customer_to_doc(self.customer),
            "message": message_to_doc(self.message),
        }


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One of ours, put in the outbox (QUEUED)."""

    cid: str
    message: Message
    by: str | None = None
    OP = "outgoing"

    def to_doc(self) -> dict[str, Any]:
        return {"op": self.OP, "cid": self.cid, "message": message_to_doc(self.message), "by": self.by}


@dataclass(frozen=True, slots=True)
class OutboxUpdate:
    """What the outbox learnt of one of ours (sending, sent with its wamid, failed, unknown)."""

    cid: str
    message_id: str
    status: MessageStatus
    at: datetime | None
    wamid: str | None = None
    error_code: int | None = None
    error_text: str | None = None
    by: str | None = None
    OP = "update"

    def to_doc(self) -> dict[str, Any]:
        return {
            "op": self.OP,
            "cid": self.cid,
            "id": self.message_id,
            "status": self.status.value,
            "at": ts_to_doc(self.at),
            "wamid": self.wamid,
            "error_code": self.error_code,
            "error_text": self.error_text,
            "by": self.by,
        }


@dataclass(frozen=True, slots=True)
class StatusIn:
    """WhatsApp's status for one of ours, by wamid (it may come before we know the wamid)."""

    cid: str
    wamid: str
    status: MessageStatus
    at: datetime | None
    error_code: int | None = None
    error_text: str | None = None
    pricing: Pricing | None = None
    OP = "status"

    def to_doc(self) -> dict[str, Any]:
        return {"op": self.OP, "cid": self.cid, **self.pending_doc()}

    def pending_doc(self) -> dict[str, Any]:
        """How the shard keeps it while no message of ours has its wamid (pricing only when given)."""
        doc = {
            "wamid": self.wamid,
            "status": self.status.value,
            "at": ts_to_doc(self.at),
            "error_code": self.error_code,
            "error_text": self.error_text,
        }
        return doc if self.pricing is None else {**doc, "pricing": pricing_to_doc(self.pricing)}


@dataclass(frozen=True, slots=True)
class ConversationState:
    """The conversation opened, made pending, snoozed or resolved (by an agent, or by WhatsApp's
    side of the backend), at `at`; `resolved_at` and `opened_at` as they are after it."""

    cid: str
    status: ConversationStatus
    resolved_at: datetime | None
    by: str | None = None
    at: datetime | None = None
    """None in older journals: `resolved_at`."""
    until: datetime | None = None
    """SNOOZED: until when (None: until the customer writes)."""
    opened_at: datetime | None = None
    OP = "conv_status"

    def to_doc(self) -> dict[str, Any]:
        return {
            "op": self.OP,
            "cid": self.cid,
            "status": self.status.value,
            "resolved_at": ts_to_doc(self.resolved_at),
            "by": self.by,
            "at": ts_to_doc(self.at),
            "until": ts_to_doc(self.until),
            "opened_at": ts_to_doc(self.opened_at),
        }


@dataclass(frozen=True, slots=True)
class Read:
    """The agent has seen the customer's messages up to `read_upto` and our failure `failure_seen`."""

    cid: str
    read_upto: datetime | None
    failure_seen: str | None
    by: str | None = None
    OP = "read"

    def to_doc(self) -> dict[str, Any]:
        return {
            "op": self.OP,
            "cid": self.cid,
            "read_upto": ts_to_doc(self.read_upto),
            "failure_seen": self.failure_seen,
            "by": self.by,
        }


@dataclass(frozen=True, slots=True)
class Templates:
    """News of a business number's templates: a full sync (`synced_at` set) or a webhook's few."""

    business_number_id: str
    templates: tuple[Template, ...]
    synced_at: datetime | None
    OP = "templates"

    def to_doc(self) -> dict[str, Any]:
        return {
            "op": self.OP,
            "bn": self.business_number_id,
            "templates": [template_to_doc(t) for t in self.templates],
            "synced_at": ts_to_doc(self.synced_at),
        }


@dataclass(frozen=True, slots=True)
class Assignment:
    """The conversation given to an agent (their agent id), or to nobody (None)."""

    cid: str
    assignee: str | None
    by: str | None = None
    at: datetime | None = None
    OP = "assign"

    def to_doc(self) -> dict[str, Any]:
        return {"op": self.OP, "cid": self.cid, "assignee": self.assignee, "by": self.by, "at": ts_to_doc(self.at)}


@dataclass(frozen=True, slots=True)
class Prioritised:
    cid: str
    priority: Priority
    by: str | None = None
    at: datetime | None = None
    OP = "priority"

    def to_doc(self) -> dict[str, Any]:
        return {"op": self.OP, "cid": self.cid, "priority": self.priority.value, "by": self.by, "at": ts_to_doc(self.at)}


@dataclass(frozen=True, slots=True)
class Labelled:
    """The conversation's labels, all of them (rules.labels has made them tidy)."""

    cid: str
    labels: tuple[str, ...]
    by: str | None = None
    at: datetime | None = None
    OP = "labels"

    def to_doc(self) -> dict[str, Any]:
        return {"op": self.OP, "cid": self.cid, "labels": list(self.labels), "by": self.by, "at": ts_to_doc(self.at)}


@dataclass(frozen=True, slots=True)
class Written:
    """retry() wrote what was held for a conversation: nothing to redo, journaled only so that
    the change it makes visible has a number of its own, as every change does."""

    cid: str
    OP = "written"

    def to_doc(self) -> dict[str, Any]:
        return {"op": self.OP, "cid": self.cid}


ShardRecord = (
    MessageIn | Outgoing | OutboxUpdate | StatusIn | ConversationState | Read | Assignment | Prioritised | Labelled
    | Written
)
Record = ShardRecord | Templates

HOLDABLE = (MessageIn, StatusIn, ConversationState)
"""Backend events: when their conversation's file cannot be read, they wait in the journal (they
need nothing from the file to be recorded). The agent's own actions need the file: they raise."""


def from_event(event: Event, agent: str | None) -> Record:
    """The record of a backend event."""
    if isinstance(event, MessageReceived):
        cid = conversation_id(event.business_number_id, event.customer.id)
        return MessageIn(cid, event.business_number_id, event.customer, event.message)
    if isinstance(event, StatusChanged):
        cid = conversation_id(event.business_number_id, event.customer_id)
        return StatusIn(cid, event.wamid, event.status, event.timestamp, event.error_code, event.error_text, event.pricing)
    if isinstance(event, TemplatesChanged):
        return Templates(event.business_number_id, tuple(event.templates), event.synced_at)
    if isinstance(event, ConversationStatusChanged):
        cid = conversation_id(event.business_number_id, event.customer_id)
        resolved = event.status is ConversationStatus.RESOLVED
        return ConversationState(cid, event.status, event.at if resolved else None, agent, event.at)
    raise TypeError(f"not a store event: {event!r}")


def decode(doc: dict[str, Any]) -> Record:
    """One journal line's record. Raises KeyError, ValueError or TypeError when it is not one."""
    op = doc["op"]
    if op == "message":
        cid = doc["cid"]
        return MessageIn(cid, doc["bn"], customer_from_doc(doc["customer"]), message_from_doc(doc["message"], cid))
    if op == "outgoing":
        return Outgoing(doc["cid"], message_from_doc(doc["message"], doc["cid"]), doc.get("by"))
    if op == "update":
        return OutboxUpdate(
            doc["cid"], doc["id"], message_status(doc["status"]), ts_from_doc(doc["at"]),
            doc.get("wamid"), doc.get("error_code"), doc.get("error_text"), doc.get("by"),
        )
    if op == "status":
        return StatusIn(
            doc["cid"], doc["wamid"], message_status(doc["status"]), ts_from_doc(doc.get("at")),
            doc.get("error_code"), doc.get("error_text"), _pricing(doc),
        )
    if op == "conv_status":
        return ConversationState(
            doc["cid"], conversation_status(doc["status"]), ts_from_doc(doc["resolved_at"]), doc.get("by"),
            ts_from_doc(doc.get("at")), ts_from_doc(doc.get("until")), ts_from_doc(doc.get("opened_at")),
        )
    if op == "read":
        return Read(doc["cid"], ts_from_doc(doc["read_upto"]), doc.get("failure_seen"), doc.get("by"))
    if op == "assign":
        return Assignment(doc["cid"], doc["assignee"], doc.get("by"), ts_from_doc(doc.get("at")))
    if op == "priority":
        return Prioritised(doc["cid"], Priority(doc["priority"]), doc.get("by"), ts_from_doc(doc.get("at")))
    if op == "labels":
        return Labelled(doc["cid"], tuple(map(str, doc["labels"])), doc.get("by"), ts_from_doc(doc.get("at")))
    if op == "written":
        return Written(doc["cid"])
    if op == "templates":
        templates = tuple(template_from_doc(t) for t in doc["templates"])
        return Templates(doc["bn"], templates, ts_from_doc(doc.get("synced_at")))
    raise ValueError(f"unknown journal op {op!r}")


# --- the interpreter -------------------------------------------------------------------------------


def apply(shard: Shard, r: ShardRecord) -> tuple[bool, Any]:
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


def _set(shard: Shard, meta: ConversationMeta, at: datetime | None, by: str | None, entry: tuple[str, str]) -> bool:
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


def _message(shard: Shard, r: MessageIn) -> bool:
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


def _outbox_update(shard: Shard, r: OutboxUpdate) -> tuple[bool, Message]:
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


def _status(shard: Shard, r: StatusIn) -> tuple[bool, bool]:
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


def _apply_pending(shard: Shard, doc_id: int) -> None:
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
            _pricing(p),
        )
        if new is not None:
            message = new
    if message is not shard.message(doc_id):
        shard.replace(doc_id, message)
    shard.remove_pending([pid for pid, _ in matched])


def _pricing(doc: dict[str, Any]) -> Pricing | None:
    """A status record's pricing (records and pending statuses from before pricing have none)."""
    raw = doc.get("pricing")
    return None if raw is None else pricing_from_doc(raw)
