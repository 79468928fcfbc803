"""The embedded store: TinyDB files laid out so that a write never costs more as history grows.

Layout (docs/storage.md has the why and the numbers):

    <data_dir>/
      wadesk.lock                 the owner's OS lock (datadir)
      journal.jsonl               every mutation, appended and fsync'd first (journal)
      index.json                  every conversation's summary; a cache of the shards, flushed on
                                  close and every INDEX_FLUSH_RECORDS journal records (index)
      conversations/<xx>/<id>.json  one TinyDB file per conversation (shard)
      drafts.json                 TinyDB: what agents typed and did not send (sidecars)
      templates.json              TinyDB: each business number's template catalogue (sidecars)
      quick_replies.json          TinyDB: the quick replies saved from the desk (sidecars)
      customers.json              TinyDB: the agents' notes and attributes about customers (sidecars)
      tabs.json                   TinyDB: the conversations each agent keeps open (sidecars)
      search.sqlite               SQLite FTS5: the search index, a cache of the shards (search_index)

A mutation is a journal record (records): decided against the conversation's shard in memory; if
it changes nothing (a duplicate message, a status that would move backwards) nothing is written
and the call returns None. Otherwise the record is appended and fsync'd (the acknowledgement
point), the in-memory index updated and the change announced; the shard file follows at the
next shard flush (writing.py). On open the index is loaded and the journal records it does not cover are replayed
(each is idempotent), then the index is flushed and the journal emptied. The write path is
writing.py's; what goes wrong with one conversation's file, recovery.py's; the agent's queue
actions (status, owner, priority, labels, notes, the audit log), queue_actions.py's.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from desk import faults
from desk import search as find
from desk.clock import Clock, SystemClock
from desk.customer import CustomerProfile, customer_profile
from desk.models import (
    Conversation,
    Direction,
    Event,
    Message,
    MessageStatus,
    Template,
)
from desk.quick_replies import QuickReply, quick_reply
from desk.store import actions, records
from desk.store.changes import ChangeLog
from desk.store.contract import SEARCH_LIMIT, Change, SearchHit, Store, StoreFault
from desk.store.tiny.datadir import DataDirLock
from desk.store.tiny.files import DAMAGE, count_shard_files, shard_files, shard_path
from desk.store.tiny.index import INDEX_VERSION, Index
from desk.store.tiny.journal import Journal
from desk.store.tiny.queue_actions import QueueActions
from desk.store.tiny.search_index import SearchIndex
from desk.store.tiny.shard import Shard, Snapshot
from desk.store.tiny.sidecars import Catalogues, CustomerProfiles, Drafts, QuickReplies, Tabs

__all__ = ["INDEX_VERSION", "StoreClosed", "TinyStore"]

log = logging.getLogger(__name__)


class StoreClosed(RuntimeError):
    """The store is used before open() or after close()."""


class TinyStore(QueueActions, Store):
    """The TinyDB store. Writes from one thread at a time; reads from any thread."""

    def __init__(self, data_dir: Path, *, clock: Clock | None = None, lock: DataDirLock | None = None) -> None:
        """`lock`: the data directory's lock when the caller holds it already (`wadesk check`)."""
        super().__init__()
        self.data_dir = Path(data_dir)
        self._clock: Clock = clock or SystemClock()
        self._conversations_dir = self.data_dir / "conversations"
        self._lock = lock or DataDirLock(self.data_dir)
        self._journal = Journal(self.data_dir / "journal.jsonl")
        self._write_lock = threading.RLock()
        self._index = Index(self.data_dir / "index.json")
        self._changes = ChangeLog()
        self._shards: OrderedDict[str, Shard] = OrderedDict()
        self._transcripts: dict[str, Snapshot] = {}
        """The messages of every loaded shard, for readers."""
        self._known_dirs: set[str] = set()
        self._drafts: Drafts | None = None
        self._tabs: Tabs | None = None
        self._catalogues: Catalogues | None = None
        self._quick_replies: QuickReplies | None = None
        self._customers: CustomerProfiles | None = None
        self._is_open = False
        self._shard_files = 0
        """Shard files on disk, kept in the index: a different count at open means the index
        missed some (an old copy, a lost journal)."""
        self._search = SearchIndex(
            self.data_dir / "search.sqlite", conversations=self.conversations, messages=self.messages,
            tell=self._set_fault, clear=lambda: self._clear_fault("search", None),
        )

    # --- lifecycle -----------------------------------------------------------------------------------

    def open(self) -> None:
        if self._is_open:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            self._open_locked()
        except BaseException:
            self._is_open = False
            self._search.close()
            self._journal.close()
            self._lock.release()
            raise

    def _open_locked(self) -> None:
        self._conversations_dir.mkdir(exist_ok=True)
        self._known_dirs = {p.name for p in self._conversations_dir.iterdir() if p.is_dir()}
        self._drafts = Drafts(self.data_dir / "drafts.json", self._tell_sidecar)
        self._tabs = Tabs(self.data_dir / "tabs.json", self._tell_sidecar)
        self._catalogues = Catalogues(self.data_dir / "templates.json", self._tell_sidecar)
        self._quick_replies = QuickReplies(self.data_dir / "quick_replies.json", self._tell_sidecar)
        self._customers = CustomerProfiles(self.data_dir / "customers.json", self._tell_sidecar)
        index_seq, index_shards = self._index.load()
        if index_seq is None and not self._index.path.exists() and any(self._conversations_dir.iterdir()):
            log.warning("index %s is missing; rebuilding it from the shards", self._index.path)
        journal = self._journal
        docs, untidy = journal.read()
        last_seq = max([index_seq or 0, journal.base or 0] + [r["seq"] for r in docs])
        self._shard_files = count_shard_files(self._conversations_dir)
        stale = self._stale_index(index_seq)
        if index_seq is None or stale:
            if stale:
                log.warning("%s: rebuilding the index from the %d conversation files", stale, self._shard_files)
            self._rebuild_index(shard_files(self._conversations_dir))
            index_seq = 0
        elif index_shards != self._shard_files:
            self._reconcile(shard_files(self._conversations_dir))
        self._journal.seq = last_seq
        for doc in docs:
            if doc["seq"] > index_seq:
                self._replay(doc)
        self._journal.open(last_seq, len(docs))
        self._changes.start(last_seq)
        self._is_open = True
        self._search.open(docs, self._journal.base, last_seq, bool(self._index.rows))
        if docs or untidy or self._index.dirty:
            self._flush_index()
        self._recover_sending()

    def _tell_sidecar(self, fault: StoreFault) -> None:
        self._set_fault(fault, None)

    def close(self) -> None:
        self._search.close()  # first: its rebuild thread reads the store
        with self._write_lock:
            if not self._is_open:
                return
            try:
                if self._index.dirty or self._journal.count or not self._index.path.exists():
                    self._flush_index()
            except OSError:
                # Nothing is lost: the journal holds every change, replayed at the next open.
                log.error("the index %s could not be written at close", self._index.path, exc_info=True)
            finally:
                self._is_open = False
                self._journal.close()
                self._shards.clear()
                self._transcripts.clear()
                self._lock.release()

    def __enter__(self) -> TinyStore:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if not self._is_open:
            raise StoreClosed("the store is not open")

    # --- reading ---------------------------------------------------------------------------------------

    def conversations(self, *, after: str | None = None, limit: int | None = None) -> list[Conversation]:
        if limit is None and after is None:
            return self._index.all()
        ids = sorted(cid for cid in self._index.ids() if after is None or cid > after)
        found = (self._index.get(cid) for cid in ids[:limit])
        return [c for c in found if c is not None]

    def is_empty(self) -> bool:
        return not self._index.rows

    def waiting_conversations(self) -> list[Conversation]:
        return [c for c in map(self._index.get, self._index.waiting_ids()) if c is not None]

    def conversation(self, conversation_id: str) -> Conversation | None:
        return self._index.get(conversation_id)

    def messages(self, conversation_id: str) -> list[Message]:
        snapshot = self._transcripts.get(conversation_id)
        transcript = snapshot.transcript if snapshot is not None else None
        if transcript is None:
            path = shard_path(self._conversations_dir, conversation_id)
            if not path.exists():
                return []
            try:
                try:
                    transcript = self._read_transcript(path, conversation_id)
                except DAMAGE:
                    # The writer may have begun overwriting the copy this read began on (it had
                    # just made the other one current): read again with no write under way.
                    with self._write_lock:
                        transcript = self._read_transcript(path, conversation_id)
            except (OSError, *DAMAGE) as exc:
                # Never a traceback on screen: the fault is told, and the writer's retry() moves a
                # damaged file aside and rebuilds the conversation.
                self._set_fault(faults.unreadable(conversation_id, self._name(conversation_id), path, exc), exc)
                self._suspect.add(conversation_id)
                return []
        return list(transcript)

    def _read_transcript(self, path: Path, conversation_id: str) -> tuple[Message, ...]:
        """A reader's load of a shard not in the cache (the writer's own loads are `_shard`)."""
        return Shard(path, conversation_id, self._index.slot(conversation_id), self._journal.base or 0).transcript

    def queued(self) -> list[Message]:
        found = [
            m
            for cid in self._index.in_flight_ids()
            for m in self.messages(cid)
            if m.direction is Direction.OUTBOUND and m.status is MessageStatus.QUEUED
        ]
        return sorted(found, key=lambda m: m.timestamp)

    def last_change(self) -> int:
        return self._changes.last

    def changes(self, after: int) -> AsyncIterator[Change]:
        return self._changes.follow(after)

    # --- writing ---------------------------------------------------------------------------------------

    def apply(self, event: Event, *, agent: str | None = None) -> str | None:
        return self._mutate(records.from_event(event, agent), agent)[0]

    def record_outgoing(self, message: Message, *, agent: str | None = None) -> Message:
        actions.check_outgoing(message)
        with self._write_lock:
            self._check_open()
            if not self._shard(message.conversation_id).exists:
                raise KeyError(message.conversation_id)
            recorded = self._mutate(records.Outgoing(message.conversation_id, message, agent), agent)[1]
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
        with self._write_lock:
            self._check_open()
            actions.check_update(self._shard(conversation_id), message_id)
            record = records.OutboxUpdate(conversation_id, message_id, status, at, wamid, error_code, error_text, agent)
            updated = self._mutate(record, agent)[1]
            assert isinstance(updated, Message)  # the outbox's records result in the message
            return updated

    def mark_read(self, conversation_id: str, *, upto: datetime | None = None, agent: str | None = None) -> None:
        with self._write_lock:
            self._check_open()
            shard = self._shard(conversation_id)
            if shard.meta is None:
                raise KeyError(conversation_id)
            record = actions.read(shard, upto, agent)
            if record is not None:
                self._mutate(record, agent)

    # --- drafts and templates ------------------------------------------------------------------------

    def draft(self, conversation_id: str, *, agent: str | None = None) -> str:
        return self._drafts.get(conversation_id) if self._drafts else ""

    def save_draft(self, conversation_id: str, text: str, *, agent: str | None = None) -> None:
        with self._write_lock:
            self._check_open()
            assert self._drafts is not None
            self._drafts.save(conversation_id, text)

    def tabs(self, agent: str) -> list[str]:
        return list(self._tabs.get(agent)) if self._tabs else []

    def save_tabs(self, agent: str, conversation_ids: Sequence[str]) -> None:
        with self._write_lock:
            self._check_open()
            assert self._tabs is not None
            self._tabs.save(agent, tuple(dict.fromkeys(conversation_ids)))

    def templates(self, business_number_id: str) -> list[Template]:
        return list(self._catalogues.get(business_number_id)[0]) if self._catalogues else []

    def templates_synced_at(self, business_number_id: str) -> datetime | None:
        return self._catalogues.get(business_number_id)[1] if self._catalogues else None

    # --- quick replies ---------------------------------------------------------------------------------

    def quick_replies(self) -> list[QuickReply]:
        return self._quick_replies.all() if self._quick_replies else []

    def save_quick_reply(self, shortcut: str, text: str, *, agent: str | None = None) -> QuickReply:
        reply = quick_reply(shortcut, text)
        with self._write_lock:
            self._check_open()
            assert self._quick_replies is not None
            self._quick_replies.save(reply)
        return reply

    def delete_quick_reply(self, shortcut: str, *, agent: str | None = None) -> bool:
        with self._write_lock:
            self._check_open()
            assert self._quick_replies is not None
            return self._quick_replies.delete(shortcut.lower())

    # --- what agents know of a customer ------------------------------------------------------------------

    def customer_profile(self, customer_id: str) -> CustomerProfile:
        return self._customers.get(customer_id) if self._customers else CustomerProfile()

    def save_customer_profile(
        self, customer_id: str, profile: CustomerProfile, *, agent: str | None = None
    ) -> CustomerProfile:
        checked = customer_profile(profile.notes, profile.attributes)
        if not customer_id:
            raise ValueError("A profile belongs to a customer: the customer id is empty.")
        with self._write_lock:
            self._check_open()
            assert self._customers is not None
            stamped = CustomerProfile(checked.notes, checked.attributes, self._clock.now(), agent)
            return self._customers.save(customer_id, stamped)

    # --- exporting (desk/store/pg/importer.py reads a single agent's store whole) --------------------

    def document(self, conversation_id: str) -> dict[str, Any] | None:
        """The conversation's document (desk/store/document.py), None when it has none."""
        with self._write_lock:
            self._check_open()
            shard = self._shard(conversation_id)
            return shard.document() if shard.exists else None

    def catalogue_numbers(self) -> list[str]:
        """The business numbers whose templates the store keeps."""
        return self._catalogues.numbers() if self._catalogues else []

    def tab_agents(self) -> list[str]:
        """The agents whose tabs the store keeps."""
        return self._tabs.agents() if self._tabs else []

    def profiled_customers(self) -> list[str]:
        """The customers an agent wrote a profile about."""
        return self._customers.ids() if self._customers else []

    def flush(self) -> None:
        """Write the index now and empty the journal (close() does this too)."""
        with self._write_lock:
            self._check_open()
            self._flush_index()

    # --- searching -------------------------------------------------------------------------------------

    def search(self, query: str, *, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
        """From the search index (search_index.py); while it cannot answer, by the contract's scan."""
        query_terms = find.terms(query)
        if not query_terms or limit <= 0:
            return []
        hits = self._search.search(query_terms, limit, self._last_message_at)
        return hits if hits is not None else super().search(query, limit=limit)

    def _last_message_at(self, conversation_id: str) -> datetime | None:
        conversation = self._index.get(conversation_id)
        return conversation.last_message_at if conversation is not None else None

    def reindex(self) -> int:
        """Rebuild the search index from the conversations, now (`wadesk reindex`); returns how
        many it indexed. Writes wait meanwhile."""
        with self._write_lock:
            self._check_open()
            return self._search.rebuild_now(self._journal.seq)

    def wait_search(self, timeout: float | None = None) -> bool:
        """Wait for the search index's rebuild under way, if any; False on a timeout."""
        return self._search.wait(timeout)
