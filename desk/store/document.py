"""One conversation's document, in memory: its conversation, its messages, the statuses waiting
for a wamid, its audit log. What the interpreter (interpreter.py) decides every write against,
whichever store keeps it: the embedded store in a TinyDB file per conversation
(desk/store/tiny/shard.py, a ConversationDocument with a file), the PostgreSQL store in a jsonb
column of the conversation's row (desk/store/pg).

The document is TinyDB's layout, tables of doc id -> doc: `conversation` (one doc, id 1: business
number, customer, status and when it was set, resolved_at, snoozed_until, opened_at, read_upto,
priority, labels, language, assignee), `messages` (one doc per message, doc ids in arrival
order), `pending_statuses` (status events for a wamid we do not know yet), `audit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import replace
from typing import Any, cast

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document

from desk.codec import (
    check_message_doc,
    conversation_status,
    customer_from_doc,
    customer_to_doc,
    message_from_doc,
    message_to_doc,
    ts_from_doc,
    ts_to_doc,
)
from desk.models import Direction, Message, Priority
from desk.summary import ConversationMeta, customer_fields

TABLES = ("conversation", "messages", "pending_statuses", "audit")
"""The document's tables (a file holding one may keep others beside them)."""


def meta_to_doc(meta: ConversationMeta) -> dict[str, Any]:
    return {
        "id": meta.id,
        "business_number_id": meta.business_number_id,
        "customer": customer_to_doc(meta.customer),
        "status": meta.status.value,
        "resolved_at": ts_to_doc(meta.resolved_at),
        "read_upto": ts_to_doc(meta.read_upto),
        "failure_seen": meta.failure_seen,
        "assignee": meta.assignee,
        "status_at": ts_to_doc(meta.status_at),
        "snoozed_until": ts_to_doc(meta.snoozed_until),
        "opened_at": ts_to_doc(meta.opened_at),
        "priority": meta.priority.value,
        "labels": list(meta.labels),
        "language": meta.language,
    }


def meta_from_doc(doc: dict[str, Any]) -> ConversationMeta:
    return ConversationMeta(
        id=doc["id"],
        business_number_id=doc["business_number_id"],
        customer=customer_from_doc(doc["customer"]),
        status=conversation_status(doc.get("status", "open")),
        resolved_at=ts_from_doc(doc.get("resolved_at")),
        read_upto=ts_from_doc(doc.get("read_upto")),
        failure_seen=doc.get("failure_seen"),
        assignee=doc.get("assignee"),
        status_at=ts_from_doc(doc.get("status_at")),
        snoozed_until=ts_from_doc(doc.get("snoozed_until")),
        opened_at=ts_from_doc(doc.get("opened_at")),
        priority=Priority(doc.get("priority", "normal")),
        labels=tuple(doc.get("labels", ())),
        language=doc.get("language"),
    )


def _replace_with(new: dict[str, Any]) -> Callable[[MutableMapping[str, Any]], None]:
    def transform(doc: MutableMapping[str, Any]) -> None:
        doc.clear()
        doc.update(new)

    return transform


def in_order(messages: Iterable[tuple[Message, int]]) -> tuple[Message, ...]:
    """(message, doc id) pairs as a transcript: oldest first (timestamp, then arrival)."""
    return tuple(m for m, _ in sorted(messages, key=lambda pair: (pair[0].timestamp, pair[1])))


class Buffer(Storage):
    """TinyDB's storage for a document held in memory: `dirty` says it changed since `preload`
    (whoever keeps the document writes it, wherever it lives)."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] | None = None
        self.dirty = False

    def read(self) -> dict[str, dict[str, Any]] | None:
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data
        self.dirty = True

    @property
    def has_data(self) -> bool:
        """Whether there is content (loaded, or written since)."""
        return self._data is not None

    def preload(self, data: dict[str, dict[str, Any]] | None) -> None:
        """Take `data` as what the document holds (the caller read it, from wherever)."""
        self._data = data
        self.dirty = False


class ConversationDocument:
    """A conversation's document, loaded. Only the writer touches one; readers get `transcript`."""

    def __init__(self, conversation_id: str, data: dict[str, Any] | None) -> None:
        """Load `data` (None: a conversation with no document yet). Raises one of ValueError,
        KeyError, TypeError or AttributeError for a document that is not one."""
        self.id = conversation_id
        self.db = TinyDB(storage=Buffer)
        # TinyDB types its storage as the base class; it is an instance of the class passed above.
        self.storage = cast(Buffer, self.db.storage)
        self.storage.preload(data)
        self._conversation = self.db.table("conversation", cache_size=0)
        self._pending = self.db.table("pending_statuses", cache_size=0)
        self._audit = self.db.table("audit", cache_size=0)
        self.meta: ConversationMeta | None = None
        # The messages table is kept as the document holds it (doc id -> doc, each doc replaced,
        # never changed in place) and a Message is built from a doc only when asked for: most
        # writes need a lookup by id and the new message, not the 20 or 200 objects before it
        # (building them was half the writer's time). TinyDB's own table rebuilds the whole table
        # on each insert.
        self._docs: dict[str, dict[str, Any]] = {}
        self._built: dict[int, Message] = {}
        self.by_id: dict[str, int] = {}
        self.by_wamid: dict[str, int] = {}
        self._next_id = 1
        self._transcript: tuple[Message, ...] | None = None
        self.appended: list[Message] = []
        """Messages inserted since the store last summarised the document (`summarised`)..."""
        self.reshaped = False
        """...and whether anything else changed since (then the summary is computed afresh)."""
        self._load(data)

    def _load(self, data: dict[str, Any] | None) -> None:
        doc = self._conversation.get(doc_id=1)
        self.meta = meta_from_doc(doc) if doc is not None else None
        docs = (data or {}).get("messages") or {}
        if not isinstance(docs, dict):
            raise ValueError("the messages table is not an object")
        for key, raw in docs.items():
            check_message_doc(raw)
            self._index(int(key), raw)
        self._docs = docs
        self._next_id = max(map(int, docs), default=0) + 1

    def _index(self, doc_id: int, raw: dict[str, Any]) -> None:
        old = self._docs.get(str(doc_id))
        if old is not None and old.get("wamid") and self.by_wamid.get(old["wamid"]) == doc_id:
            del self.by_wamid[old["wamid"]]
        self.by_id[raw["id"]] = doc_id
        wamid = raw.get("wamid")
        if wamid:
            self.by_wamid[wamid] = doc_id
        self._transcript = None

    def document(self) -> dict[str, Any]:
        """The document as it is now (its tables; what `ConversationDocument(id, data)` loads)."""
        data = {name: table for name, table in (self.storage.read() or {}).items() if name in TABLES}
        data["messages"] = self._docs
        return data

    @property
    def exists(self) -> bool:
        return self.meta is not None

    def message(self, doc_id: int) -> Message:
        message = self._built.get(doc_id)
        if message is None:
            message = self._built[doc_id] = message_from_doc(self._docs[str(doc_id)], self.id)
        return message

    @property
    def transcript(self) -> tuple[Message, ...]:
        """Every message, oldest first (timestamp, then arrival)."""
        if self._transcript is None:
            self._transcript = in_order((self.message(int(key)), int(key)) for key in self._docs)
        return self._transcript

    def summarised(self) -> None:
        """The store's summary now reflects every change."""
        self.appended = []
        self.reshaped = False

    # --- lookups -----------------------------------------------------------------------------------

    def find(self, key: str) -> int | None:
        """A message's doc id by its id or its wamid."""
        doc_id = self.by_id.get(key)
        if doc_id is None:
            doc_id = self.by_wamid.get(key)
        return doc_id

    def ours_by_wamid(self, wamid: str) -> int | None:
        """Our (outbound) message whose wamid, or id, is `wamid`."""
        for doc_id in (self.by_wamid.get(wamid), self.by_id.get(wamid)):
            if doc_id is not None and self._docs[str(doc_id)]["direction"] == Direction.OUTBOUND.value:
                return doc_id
        return None

    # --- changes (in memory until the store writes the document) -----------------------------------

    def set_meta(self, meta: ConversationMeta, *, by_customer: bool = False) -> None:
        """`by_customer`: the change a customer's message made (summary_after can follow it)."""
        doc = meta_to_doc(meta)
        if self._conversation.contains(doc_id=1):
            self._conversation.update(_replace_with(doc), doc_ids=[1])
        else:
            self._conversation.insert(Document(doc, doc_id=1))
        if not by_customer or self.meta is None or replace(meta, **customer_fields(self.meta)) != self.meta:
            self.reshaped = True
        self.meta = meta

    def insert(self, message: Message) -> int:
        doc_id = self._next_id
        self._next_id += 1
        self._put(doc_id, message)
        self.appended.append(message)
        return doc_id

    def replace(self, doc_id: int, message: Message) -> None:
        self._put(doc_id, message)
        self.reshaped = True

    def _put(self, doc_id: int, message: Message) -> None:
        raw = message_to_doc(message)
        self._index(doc_id, raw)
        self._docs[str(doc_id)] = raw  # a new doc: a reader's snapshot keeps the old one whole
        self._built[doc_id] = message
        data = self.storage.read()
        self.storage.write(data if data is not None else {})  # marks the document changed

    def pending(self) -> list[tuple[int, dict[str, Any]]]:
        return [(doc.doc_id, dict(doc)) for doc in self._pending.all()]

    def add_pending(self, doc: dict[str, Any]) -> None:
        self._pending.insert(doc)
        self.reshaped = True

    def remove_pending(self, doc_ids: list[int]) -> None:
        if doc_ids:
            self._pending.remove(doc_ids=doc_ids)
            self.reshaped = True

    def audit(self) -> list[dict[str, Any]]:
        """The audit log's entries (desk.store.audit), oldest first."""
        return [dict(doc) for doc in self._audit.all()]

    def add_audit(self, doc: dict[str, Any]) -> None:
        self._audit.insert(doc)  # nothing the summary shows: not reshaped
