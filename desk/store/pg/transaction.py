"""One write of the PostgreSQL store, as one transaction: lock the conversations' rows (`FOR
UPDATE`, in the order of their ids so that two writers never deadlock; a new conversation's row
is inserted first), decide each record with the interpreter the embedded store uses
(desk/store/interpreter.py) over the documents as the rows hold them, write back each changed
document with its summary (desk.summary, as the embedded store computes it), its search words and
who is sending what, and number the changes in the event log as the last step before the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from desk.codec import conversation_from_row, conversation_to_row, template_from_doc, template_to_doc, ts_from_doc, ts_to_doc
from desk.models import Conversation, Customer, Direction, MessageStatus, Template
from desk.store import interpreter, records, rules
from desk.store.contract import ChangeKind
from desk.store.document import ConversationDocument
from desk.store.pg import events, search
from desk.store.pg.connect import columns
from desk.summary import summarize, summary_after


def loads(document: bytes | None) -> dict[str, Any] | None:
    """A conversation's document as its row holds it (orjson's bytes: 0007_documents_bytes.sql)."""
    return None if document is None else orjson.loads(document)


def _dumps(value: object) -> Jsonb:
    return Jsonb(value, dumps=lambda v: orjson.dumps(v).decode())


@dataclass
class Locked:
    """A conversation's row, locked by this transaction, and its document as it is now."""

    doc: ConversationDocument
    summary: Conversation | None
    """The summary the row held when locked."""
    in_flight: bool
    customer: Customer | None
    """The customer as the row held them (search indexes them again when they change)."""
    changed: bool = False
    sending: set[str] = field(default_factory=set)
    """Messages this transaction made SENDING: claimed by this store instance."""


class Transaction:
    """The writes of one call, in one transaction on `conn` (the caller commits, or rolls back on
    an exception: then nothing of the call counts)."""

    def __init__(self, conn: psycopg.Connection, owner: int, now: datetime) -> None:
        """`now`: the store's clock, stamped on the changes."""
        self.conn = conn
        self.owner = owner
        self.now = now
        self.locked: dict[str, Locked] = {}
        self.changes: list[events.Pending] = []

    # --- locking -------------------------------------------------------------------------------------

    def lock(self, cids: Iterable[str], *, create: bool) -> None:
        """Lock the rows of these conversations, in id order. `create`: make the rows of those that
        have none (a customer's first message, a status before its conversation)."""
        wanted = sorted(set(cids) - self.locked.keys())
        if not wanted:
            return
        if create:
            self.conn.execute(
                "INSERT INTO conversations (id) SELECT unnest(%b::text[]) ORDER BY 1 ON CONFLICT DO NOTHING", (wanted,)
            )
        rows = self.conn.execute(
            "SELECT id, document, summary, in_flight FROM conversations WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            (wanted,),
        ).fetchall()
        for cid, document, summary, in_flight in rows:
            doc = ConversationDocument(cid, loads(document))
            self.locked[cid] = Locked(
                doc, conversation_from_row(summary) if summary else None, bool(in_flight),
                doc.meta.customer if doc.meta else None,
            )

    def known(self, cid: str) -> ConversationDocument:
        """The conversation's document, locked, for an agent's action: KeyError when there is no
        such conversation."""
        self.lock([cid], create=False)
        found = self.locked.get(cid)
        if found is None or found.doc.meta is None:
            raise KeyError(cid)
        return found.doc

    # --- deciding ------------------------------------------------------------------------------------

    def apply(self, record: records.Record, agent: str | None) -> tuple[str | None, Any]:
        """Decide one record (its conversation locked already, or a catalogue's row locked here).
        Returns (the conversation id if it changed visibly, the interpreter's result)."""
        if isinstance(record, records.Templates):
            self._templates(record, agent)
            return None, None
        locked = self.locked[record.cid]
        changed, result = interpreter.apply(locked.doc, record)
        if not changed:
            return None, result
        locked.changed = True
        if isinstance(record, records.OutboxUpdate) and record.status is MessageStatus.SENDING:
            locked.sending.add(record.message_id)
        if (meta := locked.doc.meta) is None or not interpreter.visible(record, result):
            return None, result
        self.changes.append(events.Pending(ChangeKind.CONVERSATION, record.cid, meta.business_number_id, agent=agent))
        return record.cid, result

    def _templates(self, record: records.Templates, agent: str | None) -> None:
        bn = record.business_number_id
        self.conn.execute(
            "INSERT INTO templates (business_number_id, templates) VALUES (%s, '[]') ON CONFLICT DO NOTHING", (bn,)
        )
        row = self.conn.execute(
            "SELECT templates, synced_at FROM templates WHERE business_number_id = %s FOR UPDATE", (bn,)
        ).fetchone()
        assert row is not None  # inserted above if it was missing
        current: tuple[tuple[Template, ...], datetime | None] = (tuple(template_from_doc(t) for t in row[0]), ts_from_doc(row[1]))
        new = rules.catalogue_after(current, record.templates, record.synced_at)
        if new == current:
            return
        self.conn.execute(
            "UPDATE templates SET templates = %s, synced_at = %s WHERE business_number_id = %s",
            (_dumps([template_to_doc(t) for t in new[0]]), ts_to_doc(new[1]), bn),
        )
        self.changes.append(events.Pending(ChangeKind.TEMPLATES, business_number_id=bn, agent=agent))

    def put_document(self, cid: str, document: dict[str, Any]) -> tuple[int, int]:
        """An imported conversation (locked already): taken whole when the row has none, else
        its messages the row lacks (by id or wamid) added. Returns (messages, audit entries)
        added; (0, 0) when it is all there (a second import)."""
        locked = self.locked[cid]
        source = ConversationDocument(cid, document)
        if locked.doc.meta is None:
            if source.meta is None:
                return 0, 0
            locked.doc, locked.changed = source, True
            source.appended = list(source.transcript)  # every message to index
            source.reshaped = True
            self.changes.append(events.Pending(ChangeKind.CONVERSATION, cid))
            return len(source.transcript), len(source.audit())
        missing = [m for m in source.transcript if locked.doc.find(m.id) is None]
        for message in missing:
            locked.doc.insert(message)
        if missing:
            locked.doc.reshaped = locked.changed = True
            self.changes.append(events.Pending(ChangeKind.CONVERSATION, cid))
        return len(missing), 0

    # --- writing back --------------------------------------------------------------------------------

    def finish(self) -> list[int]:
        """Write back what changed, then number the changes (the last step before the commit).
        A handful of statements whatever the number of conversations (an applier's turn writes
        dozens: one statement each was one round trip each, and each round trip waits for the
        GIL behind the hub's event loop)."""
        rows = _Rows()
        for cid, locked in self.locked.items():
            if locked.changed:
                self._write(cid, locked, rows)
            elif not locked.doc.storage.has_data:
                rows.empty.append(cid)  # a row inserted for a write that changed nothing
        rows.write(self.conn)
        return events.append(self.conn, self.changes, self.now)

    def _write(self, cid: str, locked: Locked, rows: _Rows) -> None:
        doc = locked.doc
        meta = doc.meta
        document = orjson.dumps(doc.document())
        if meta is None:  # statuses waiting for a conversation that has not come yet
            rows.documents.append((cid, document))
            return
        previous = locked.summary if not doc.reshaped else None
        summary = summary_after(previous, meta, doc.appended) if previous is not None else None
        if summary is not None:
            in_flight = locked.in_flight  # customer messages only
        else:
            summary = summarize(meta, doc.transcript)
            in_flight = rules.in_flight(doc.transcript)
        rows.conversations.append((
            cid, document, orjson.dumps(conversation_to_row(summary)).decode(), summary.waiting_since is not None,
            in_flight, meta.business_number_id, meta.customer.id,
        ))
        customer = meta.customer if meta.customer != locked.customer else None
        rows.search.extend(search.rows(cid, customer, doc.appended))
        if locked.in_flight or in_flight:
            self._sending(cid, locked)  # rarely any: one statement a conversation does

    def _sending(self, cid: str, locked: Locked) -> None:
        """Who is sending what: this instance claims what it made SENDING; a message that is not
        SENDING any more is nobody's."""
        now = {
            m.id for m in locked.doc.transcript
            if m.direction is Direction.OUTBOUND and m.status is MessageStatus.SENDING
        }
        self.conn.execute(
            "DELETE FROM sending WHERE conversation_id = %s AND NOT message_id = ANY(%s)", (cid, sorted(now))
        )
        for mid in sorted(locked.sending & now):
            self.conn.execute(
                "INSERT INTO sending (conversation_id, message_id, owner) VALUES (%s, %s, %s) "
                "ON CONFLICT (conversation_id, message_id) DO UPDATE SET owner = excluded.owner",
                (cid, mid, self.owner),
            )


_CONVERSATIONS = (
    "UPDATE conversations AS c SET document = u.document, summary = u.summary::jsonb, waiting = u.waiting, "
    "in_flight = u.in_flight, business_number_id = u.business_number_id, customer_id = u.customer_id "
    "FROM unnest(%b::text[], %b::bytea[], %b::text[], %b::bool[], %b::bool[], %b::text[], %b::text[]) "
    "AS u(id, document, summary, waiting, in_flight, business_number_id, customer_id) WHERE c.id = u.id"
)


@dataclass
class _Rows:
    """What one transaction writes back, gathered to be written in one statement a table."""

    conversations: list[tuple[str, bytes, str, bool, bool, str, str]] = field(default_factory=list)
    documents: list[tuple[str, bytes]] = field(default_factory=list)
    """Rows of statuses waiting for their conversation: the document alone."""
    empty: list[str] = field(default_factory=list)
    search: list[search.Row] = field(default_factory=list)

    def write(self, conn: psycopg.Connection) -> None:
        if self.conversations:
            conn.execute(_CONVERSATIONS, columns(self.conversations))
        if self.documents:
            conn.execute(
                "UPDATE conversations AS c SET document = u.document "
                "FROM unnest(%b::text[], %b::bytea[]) AS u(id, document) WHERE c.id = u.id",
                columns(self.documents),
            )
        if self.empty:
            conn.execute("DELETE FROM conversations WHERE id = ANY(%s) AND document IS NULL", (self.empty,))
        search.put(conn, self.search)
