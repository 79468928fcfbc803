"""The store's records: each mutation as a typed value (what each does to a conversation's
document: interpreter.py), in every store: the embedded one journals them (one line each, decoded
once), the PostgreSQL one applies them in its write transactions. Each record names the agent who
acted (`by`; None for what WhatsApp or a customer did).
"""

from __future__ import annotations

from dataclasses import dataclass
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
from desk.models import (
    ConversationStatus,
    ConversationStatusChanged,
    Customer,
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


LEFT_SENDING = (
    "The desk stopped while this message was being sent; it may or may not have reached the customer."
)
"""The error text of an OutboxUpdate to UNKNOWN for a message whose sender stopped mid-send."""


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
            doc.get("error_code"), doc.get("error_text"), pricing_of(doc),
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


def pricing_of(doc: dict[str, Any]) -> Pricing | None:
    """A status record's pricing (records and pending statuses from before pricing have none)."""
    raw = doc.get("pricing")
    return None if raw is None else pricing_from_doc(raw)
