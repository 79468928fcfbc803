"""PgStore: the store contract on PostgreSQL, for a team (docs/storage.md, "The PostgreSQL store").

Any number of instances (hub replicas, each with several threads) on one database at once. Every
write is one transaction (transaction.py) deciding with the embedded store's interpreter under the
conversation's row lock; every read is a query of what is committed, so an instance sees every
other's writes at once. Changes are the event log's (events.py), read once for every consumer
by one tail (tail.py: one LISTEN connection an instance, on its event loop).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg_pool import ConnectionPool, PoolTimeout

from desk.clock import Clock, SystemClock
from desk.codec import conversation_from_row
from desk.customer import CustomerProfile, customer_profile
from desk.models import Conversation, ConversationStatus, Direction, Event, Message, MessageStatus, Priority, Template
from desk.quick_replies import QuickReply, quick_reply
from desk.store import actions, records, rules
from desk.store.audit import AuditEntry, entry_from_doc
from desk.store.contract import SEARCH_LIMIT, Change, SearchHit, Store
from desk.store.document import ConversationDocument
from desk.store.pg import events, library, migrate, owners, search
from desk.store.pg.connect import open_pool, unavailable
from desk.store.pg.tail import Tails
from desk.store.pg.transaction import Transaction, loads

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRIES = 5
"""Tries of a write PostgreSQL rolled back for a deadlock or a serialization failure (rare: rows
are locked in one order) before it counts as the database's fault."""


def _given(record: records.Record) -> Callable[[ConversationDocument], records.Record]:
    return lambda doc: record


class StoreClosed(RuntimeError):
    """The store is used before open() or after close()."""


class PgStore(Store):
    def __init__(self, conninfo: str, *, clock: Clock | None = None, pool_size: int = 8) -> None:
        """`conninfo`: a libpq connection string or URL (it may hold a password: never shown);
        `pool_size`: connections the instance's threads share at most."""
        self._conninfo = conninfo
        self._clock: Clock = clock or SystemClock()
        self._pool_size = pool_size
        self._pool: ConnectionPool | None = None
        self._owner: owners.Owner | None = None
        self._tails = Tails(conninfo, self._read)

    # --- lifecycle -----------------------------------------------------------------------------------

    def open(self) -> None:
        """Reach the database (StoreUnavailable with a sentence), check its schema (migrate.check:
        run `wadesk hub migrate` first), and settle what instances that are gone left SENDING."""
        if self._pool is not None:
            return
        pool = open_pool(self._conninfo, max_size=self._pool_size)
        try:
            with pool.connection() as conn:
                migrate.check(conn)
            self._owner = owners.Owner(self._conninfo)
        except psycopg.OperationalError as exc:
            pool.close()
            raise unavailable(self._conninfo, exc) from None
        except BaseException:
            pool.close()
            raise
        self._pool = pool
        self.recover_sending()

    def close(self) -> None:
        self._tails.close()
        if self._owner is not None:
            self._owner.close()
            self._owner = None
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> PgStore:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the database --------------------------------------------------------------------------------

    def _read(self, query: Callable[[psycopg.Connection], T]) -> T:
        if self._pool is None:
            raise StoreClosed("the store is not open")
        try:
            with self._pool.connection() as conn:
                return query(conn)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise unavailable(self._conninfo, exc) from None

    def _write(self, work: Callable[[Transaction], T]) -> T:
        """`work` in one transaction, its changes numbered last; retried when PostgreSQL rolled
        it back for a deadlock or a serialization failure (work decides from what it reads)."""
        if self._pool is None or self._owner is None:
            raise StoreClosed("the store is not open")
        for attempt in range(RETRIES):
            try:
                with self._pool.connection() as conn, conn.transaction():
                    tx = Transaction(conn, self._owner.id, self._clock.now())
                    result = work(tx)
                    tx.finish()
                return result
            except (errors.DeadlockDetected, errors.SerializationFailure) as exc:
                log.warning("a write was rolled back (%s); trying again", type(exc).__name__)
                if attempt == RETRIES - 1:
                    raise unavailable(self._conninfo, exc) from None
            except (psycopg.OperationalError, PoolTimeout) as exc:
                raise unavailable(self._conninfo, exc) from None
        raise AssertionError("unreachable")  # the loop returns or raises

    def _record(self, cid: str, decide: Callable[[ConversationDocument], records.Record | None], agent: str | None) -> object:
        """An agent's action on a known conversation: decided under its row lock; the record's
        result (None when `decide` found nothing to do)."""

        def work(tx: Transaction) -> object:
            record = decide(tx.known(cid))
            return None if record is None else tx.apply(record, agent)[1]

        return self._write(work)

    # --- reading ---------------------------------------------------------------------------------------

    def conversations(self, *, after: str | None = None, limit: int | None = None) -> list[Conversation]:
        def query(conn: psycopg.Connection) -> list[Conversation]:
            if limit is None and after is None:
                rows = conn.execute("SELECT summary FROM conversations WHERE summary IS NOT NULL").fetchall()
            else:
                rows = conn.execute(
                    "SELECT summary FROM conversations WHERE summary IS NOT NULL AND id > %s ORDER BY id LIMIT %s",
                    (after or "", limit),
                ).fetchall()
            return [conversation_from_row(row[0]) for row in rows]

        return self._read(query)

    def waiting_conversations(self) -> list[Conversation]:
        rows = self._read(lambda c: c.execute("SELECT summary FROM conversations WHERE waiting").fetchall())
        return [conversation_from_row(row[0]) for row in rows if row[0]]

    def is_empty(self) -> bool:
        row = self._read(lambda c: c.execute("SELECT EXISTS (SELECT 1 FROM conversations WHERE summary IS NOT NULL)").fetchone())
        return not (row and row[0])

    def conversation(self, conversation_id: str) -> Conversation | None:
        row = self._read(lambda c: c.execute("SELECT summary FROM conversations WHERE id = %s", (conversation_id,)).fetchone())
        return conversation_from_row(row[0]) if row and row[0] else None

    def _document(self, conversation_id: str) -> ConversationDocument:
        row = self._read(lambda c: c.execute("SELECT document FROM conversations WHERE id = %s", (conversation_id,)).fetchone())
        return ConversationDocument(conversation_id, loads(row[0]) if row else None)

    def messages(self, conversation_id: str) -> list[Message]:
        return list(self._document(conversation_id).transcript)

    def queued(self) -> list[Message]:
        rows = self._read(lambda c: c.execute("SELECT id, document FROM conversations WHERE in_flight ORDER BY id").fetchall())
        found = [
            m for cid, document in rows for m in ConversationDocument(cid, loads(document)).transcript
            if m.direction is Direction.OUTBOUND and m.status is MessageStatus.QUEUED
        ]
        return sorted(found, key=lambda m: m.timestamp)

    def audit(self, conversation_id: str) -> list[AuditEntry]:
        doc = self._document(conversation_id)
        if not doc.exists:
            raise KeyError(conversation_id)
        return [entry_from_doc(entry) for entry in doc.audit()]

    def search(self, query: str, *, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
        return self._read(lambda c: search.search(c, query, limit))

    # --- following changes ---------------------------------------------------------------------------

    def last_change(self) -> int:
        return self._read(events.last)

    def changes(self, after: int) -> AsyncIterator[Change]:
        return self._tails.follow(after)

    def trim_events(self, before: datetime) -> int:
        """Delete the changes committed before `before` ([hub] keep_events_hours), but the newest;
        returns how many. A consumer resuming from before what is kept gets a RESYNC first."""
        return self._read(lambda c: events.trim(c, before))

    # --- writing ---------------------------------------------------------------------------------------

    def apply(self, event: Event, *, agent: str | None = None) -> str | None:
        return self.apply_each([event], agent=agent)[0]

    def apply_each(self, events: Sequence[Event], *, agent: str | None = None) -> list[str | None]:
        batch = [records.from_event(e, agent) for e in events]

        def work(tx: Transaction) -> list[str | None]:
            tx.lock((r.cid for r in batch if not isinstance(r, records.Templates)), create=True)
            return [tx.apply(r, agent)[0] for r in batch]

        return self._write(work)

    def record_outgoing(self, message: Message, *, agent: str | None = None) -> Message:
        actions.check_outgoing(message)
        recorded = self._record(message.conversation_id, lambda doc: records.Outgoing(doc.id, message, agent), agent)
        assert isinstance(recorded, Message)  # the outbox's records result in the message
        return recorded

    def update_outgoing(
        self,
        conversation_id: str,
        message_id: str,
        status: MessageStatus,
        *,
        at: datetime,
        wamid: str | None = None,
        error_code: int | None = None,
        error_text: str | None = None,
        agent: str | None = None,
    ) -> Message:
        def decide(doc: ConversationDocument) -> records.Record:
            actions.check_update(doc, message_id)
            return records.OutboxUpdate(conversation_id, message_id, status, at, wamid, error_code, error_text, agent)

        updated = self._record(conversation_id, decide, agent)
        assert isinstance(updated, Message)  # the outbox's records result in the message
        return updated

    def mark_read(self, conversation_id: str, *, upto: datetime | None = None, agent: str | None = None) -> None:
        self._record(conversation_id, lambda doc: actions.read(doc, upto, agent), agent)

    def set_status(
        self,
        conversation_id: str,
        status: ConversationStatus,
        *,
        until: datetime | None = None,
        agent: str | None = None,
    ) -> None:
        actions.check_status(status, until)
        self._record(conversation_id, lambda doc: actions.status(doc, status, until, agent, self._clock.now()), agent)

    def set_priority(self, conversation_id: str, priority: Priority, *, agent: str | None = None) -> None:
        self._record(
            conversation_id, lambda doc: records.Prioritised(doc.id, priority, agent, self._clock.now()), agent
        )

    def set_labels(self, conversation_id: str, labels: Iterable[str], *, agent: str | None = None) -> None:
        tidy = rules.labels(labels)
        self._record(conversation_id, lambda doc: records.Labelled(doc.id, tidy, agent, self._clock.now()), agent)

    def add_note(self, conversation_id: str, text: str, *, agent: str | None = None) -> Message:
        actions.check_note(text)
        recorded = self._record(conversation_id, lambda doc: actions.note(doc, text, agent, self._clock.now()), agent)
        assert isinstance(recorded, Message)
        return recorded

    def assign(self, conversation_id: str, assignee: str | None, *, agent: str | None = None) -> None:
        self._record(
            conversation_id, lambda doc: records.Assignment(doc.id, assignee, agent, self._clock.now()), agent
        )

    def claim(self, conversation_id: str, agent: str) -> str | None:
        def work(tx: Transaction) -> str | None:
            doc = tx.known(conversation_id)
            record = actions.claim(doc, agent, self._clock.now())
            if record is None:
                assert doc.meta is not None  # known's
                return doc.meta.assignee
            tx.apply(record, agent)
            return agent

        return self._write(work)

    def put_document(self, conversation_id: str, document: dict[str, Any]) -> tuple[int, int]:
        """Import one conversation's document (desk/store/pg/importer.py): whole when the store has
        no such conversation, else the messages it lacks. Returns (messages, audit entries) added."""

        def work(tx: Transaction) -> tuple[int, int]:
            tx.lock([conversation_id], create=True)
            return tx.put_document(conversation_id, document)

        return self._write(work)

    def recover_sending(self) -> set[str]:
        """Our messages that a store instance now gone left SENDING become UNKNOWN (they may have
        left: never resent on its own); a live instance's are never touched. At open, and at
        every retry() (the event pump's few seconds): a replica that died is settled by the
        others without waiting for a restart. Returns the conversations changed."""
        if self._owner is None:
            return set()
        me = self._owner.id
        changed: set[str] = set()
        for owner in self._read(lambda c: owners.gone(c, me)):
            for cid, mid in self._read(partial(owners.left_sending, owner=owner)):
                record = records.OutboxUpdate(
                    cid, mid, MessageStatus.UNKNOWN, self._clock.now(), error_text=records.LEFT_SENDING
                )
                try:
                    self._record(cid, _given(record), None)
                except (KeyError, ValueError) as exc:
                    log.error("conversation %s: message %s left sending cannot be settled: %r", cid, mid, exc)
                changed.add(cid)
            self._read(partial(owners.forget, owner=owner))
        return changed

    def retry(self) -> set[str]:
        """Nothing waits here (every write is in place when it returns); settles the sends of
        instances that are gone (recover_sending). No fault to clear: always empty."""
        self.recover_sending()
        return set()

    # --- drafts, tabs, templates, quick replies, profiles --------------------------------------------

    def draft(self, conversation_id: str, *, agent: str | None = None) -> str:
        return self._read(lambda c: library.draft(c, conversation_id, agent))

    def save_draft(self, conversation_id: str, text: str, *, agent: str | None = None) -> None:
        self._read(lambda c: library.save_draft(c, conversation_id, text, agent))

    def tabs(self, agent: str) -> list[str]:
        return self._read(lambda c: library.tabs(c, agent))

    def save_tabs(self, agent: str, conversation_ids: Sequence[str]) -> None:
        self._read(lambda c: library.save_tabs(c, agent, conversation_ids))

    def templates(self, business_number_id: str) -> list[Template]:
        return self._read(lambda c: library.catalogue(c, business_number_id))[0]

    def templates_synced_at(self, business_number_id: str) -> datetime | None:
        return self._read(lambda c: library.catalogue(c, business_number_id))[1]

    def quick_replies(self) -> list[QuickReply]:
        return self._read(library.quick_replies)

    def save_quick_reply(self, shortcut: str, text: str, *, agent: str | None = None) -> QuickReply:
        reply = quick_reply(shortcut, text)
        self._read(lambda c: library.save_quick_reply(c, reply))
        return reply

    def delete_quick_reply(self, shortcut: str, *, agent: str | None = None) -> bool:
        return self._read(lambda c: library.delete_quick_reply(c, shortcut.lower()))

    def customer_profile(self, customer_id: str) -> CustomerProfile:
        return self._read(lambda c: library.profile(c, customer_id))

    def save_customer_profile(
        self, customer_id: str, profile: CustomerProfile, *, agent: str | None = None
    ) -> CustomerProfile:
        checked = customer_profile(profile.notes, profile.attributes)
        if not customer_id:
            raise ValueError("A profile belongs to a customer: the customer id is empty.")
        stamped = CustomerProfile(checked.notes, checked.attributes, self._clock.now(), agent)

        def save(conn: psycopg.Connection) -> CustomerProfile:
            with conn.transaction():
                return library.save_profile(conn, customer_id, stamped)

        return self._read(save)
