"""The TinyStore's search index: SQLite FTS5 (the standard library's sqlite3), in `search.sqlite`
beside the store, updated on the store's write path, answering `Store.search`.

It is a cache of the shards, never the truth. It is written in the writer's batch, after the
journal took it, without a sync of its own (WAL, synchronous=NORMAL: a commit is a write into the
WAL; a power cut may roll back its last commits, never corrupt it), and records the journal seq
it covers. At open it catches up with the journal records after that seq; when it cannot (it is
missing, does not parse, is of another version, was left half built, or the journal moved past
it), it is made again empty and rebuilt from the store's conversations in a thread, while the
desk runs and searches find what is indexed so far; a fault says so, in a sentence, until it is
done. A failure to write it is a fault too, never the write's: the store's data is whole, and
searches read every conversation instead (the contract's scan) until the next start rebuilds it.
`wadesk reindex` rebuilds it on demand.

What is indexed: every record with a message (desk.search.message_text: text, caption, file
name ...; notes too) and every conversation's customer (name, number, username). Text is folded
by desk.search.fold before FTS5 sees it (its own folding misses Greek tonos and Arabic harakat);
its tokenizer is told that the combining marks fold keeps (Gujarati vowel signs ...) are part of
a word (unicode61 splits words at them). The tables and the queries: search_tables.py.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from desk.models import Conversation, Customer, Message
from desk.store import records
from desk.store.contract import SearchHit, StoreFault
from desk.store.tiny import search_tables as tables
from desk.text import flatten

log = logging.getLogger(__name__)

VERSION = 1
"""The layout of search_tables.schema(); an index of another one is rebuilt."""
CHUNK = 16
"""Conversations the rebuild indexes per transaction: the writer waits for at most one (~5 ms)."""
COMMIT_RECORDS = 64
"""Journal records the index takes in one transaction at most: a commit (and FTS5's new segment)
cost ~0.2 ms, more than the rest of a write's indexing. A search commits first (it finds every
write made before it), and so does the store before it empties its journal; a kill loses at
most these, which the journal gives back at the next open."""


class SearchIndex:
    """One store's index. Written on the store's writer thread (and by its rebuild thread),
    searched from any thread."""

    def __init__(
        self,
        path: Path,
        *,
        conversations: Callable[[], list[Conversation]],
        messages: Callable[[str], list[Message]],
        tell: Callable[[StoreFault, BaseException | None], None],
        clear: Callable[[], None],
    ) -> None:
        """`conversations` and `messages`: the store's readers, which a rebuild reads; `tell` and
        `clear`: the store's faults (kind "search")."""
        self.path = path
        self._conversations = conversations
        self._messages = messages
        self._tell = tell
        self._clear = clear
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        """Held while writing (the writer's batches, the rebuild's chunks) and reading."""
        self._state = "closed"
        """"ready", "building" (searches find what is indexed so far), "failed" (the store scans
        until the next open) or "closed"."""
        self._reader: sqlite3.Connection | None = None
        """The searches' own connection (WAL: they never wait for the writer's commits)."""
        self._read_lock = threading.Lock()
        self._pending = 0
        """Records taken in the open transaction."""
        self._builder: threading.Thread | None = None
        self._stop = threading.Event()
        self._built = threading.Event()
        self.indexed = 0
        """Conversations the running rebuild has indexed (for its progress)."""

    # --- lifecycle -----------------------------------------------------------------------------------

    def open(self, docs: Iterable[dict[str, Any]], base: int | None, last_seq: int, has_data: bool) -> None:
        """Open it and catch up with the journal records `docs` (the journal as read at the
        store's open, which starts after `base`); or, when it cannot be trusted, make it again and
        rebuild it in a thread. `last_seq`: the journal's last record; `has_data`: whether the
        store has conversations (a new store needs no rebuild)."""
        self._stop.clear()
        self._built.set()
        why = self._connect()
        if why is None:
            assert self._db is not None  # _connect() opened it
            complete, seq = self._meta("complete"), self._meta("seq")
            if not complete:
                why = "was left half built"
            elif base is not None and seq < base:
                why = f"covers the journal up to record {seq}, and the store has emptied it since (record {base})"
            else:
                self._state = "ready"
                self.note((int(d["seq"]), records.decode(d)) for d in docs if int(d["seq"]) > seq)
                return
        elif not has_data:
            why = None  # nothing to rebuild from: a new store
        if why is not None:
            log.warning("the search index %s %s: rebuilding it", self.path, why)
        self._create(last_seq, complete=why is None)
        if why is not None:
            self._start_rebuild(why)

    def _connect(self) -> str | None:
        """Open the file; why it cannot be used as it is, or None."""
        existed = self.path.exists()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            if not existed:
                return "was missing"
            version = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        except sqlite3.Error as exc:
            self._drop()
            return f"cannot be read ({flatten(str(exc), 120)})"
        if version is None or version[0] != VERSION:
            return "is of another version"
        self._pragmas()
        return None

    def _pragmas(self) -> None:
        assert self._db is not None  # called on an open connection
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")  # no sync per commit: a cache

    def _meta(self, key: str) -> int:
        assert self._db is not None  # called on an open connection
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _drop(self) -> None:
        """Close and delete the file (a cache: the store's data is elsewhere)."""
        self._close_reader()
        if self._db is not None:
            self._db.close()
            self._db = None
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _create(self, seq: int, *, complete: bool) -> None:
        """A new empty index covering the journal up to `seq`."""
        self._drop()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._pragmas()
            with self._db:
                self._db.execute("BEGIN")
                for statement in tables.schema().split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("version", VERSION), ("seq", seq), ("complete", int(complete))],
                )
        except sqlite3.Error as exc:
            self._fail("cannot be made", exc)
            return
        self._state = "ready" if complete else "building"

    def close(self) -> None:
        self._stop.set()
        if self._builder is not None:
            self._builder.join()
            self._builder = None
        self.commit()
        with self._lock:
            self._state = "closed"
            self._close_reader()
            if self._db is not None:
                self._db.close()
                self._db = None

    def _close_reader(self) -> None:
        with self._read_lock:
            self._close_reader_locked()

    def _close_reader_locked(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    @property
    def usable(self) -> bool:
        """Whether it can answer (complete or being rebuilt); else the store scans."""
        return self._state in ("ready", "building")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a rebuild under way; True when there is none (any more)."""
        return self._built.wait(timeout)

    def _fail(self, what: str, exc: BaseException) -> None:
        """It cannot be written or read: searches scan until the next start rebuilds it."""
        self._state = "failed"
        sentence = (
            f"The search index {flatten(str(self.path))} {what} ({flatten(str(exc), 120)}); no message is "
            "lost, searches read every conversation (slowly) until the next start rebuilds it "
            "(or `wadesk reindex`)."
        )
        self._tell(StoreFault("search", None, self.path, sentence), exc)

    # --- the write path ------------------------------------------------------------------------------

    def note(self, journaled: Iterable[tuple[int, records.Record]]) -> None:
        """Index what these journal records (seq, record) bring, in one transaction, and cover
        their seqs. Never raises: a failure is a fault."""
        with self._lock:
            db = self._db
            if db is None or not self.usable:
                return
            try:
                last = None
                for seq, record in journaled:
                    if not db.in_transaction:
                        db.execute("BEGIN")
                    self._pending += 1
                    last = seq
                    message = getattr(record, "message", None)  # messages in, ours, notes
                    if isinstance(message, Message):
                        customer = getattr(record, "customer", None)
                        known = customer if isinstance(customer, Customer) else None
                        conv = tables.put_conversation(db, message.conversation_id, known)
                        tables.put_message(db, conv, message)
                if last is not None:
                    db.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (last,))
                if self._pending >= COMMIT_RECORDS:
                    self._commit_locked()
            except sqlite3.Error as exc:
                tables.rollback(db)
                self._fail("cannot be written", exc)

    def commit(self) -> None:
        """Make what the index took durable in it (as far as a cache is: no sync). Never raises."""
        with self._lock:
            try:
                self._commit_locked()
            except sqlite3.Error as exc:
                if self._db is not None:
                    tables.rollback(self._db)
                self._fail("cannot be written", exc)

    def _commit_locked(self) -> None:
        if self._db is not None and self._db.in_transaction:
            self._db.execute("COMMIT")
        self._pending = 0

    # --- rebuilding ----------------------------------------------------------------------------------

    def _start_rebuild(self, why: str) -> None:
        self._built.clear()
        self.indexed = 0
        sentence = (
            f"The search index {flatten(str(self.path))} {why}: it is being rebuilt from the conversations; "
            "until it is done, searches may miss messages (no message is lost)."
        )
        self._tell(StoreFault("search", None, self.path, sentence), None)
        self._builder = threading.Thread(target=self._rebuild, name="search-index-rebuild", daemon=True)
        self._builder.start()

    def _rebuild(self) -> None:
        try:
            self.rebuild()
        except Exception as exc:  # noqa: BLE001 - told as a fault; the store scans instead
            log.exception("the search index rebuild failed")
            with self._lock:
                self._fail("could not be rebuilt", exc)
        finally:
            self._built.set()

    def rebuild(self) -> None:
        """Index every conversation the store has (what the writer indexed meanwhile is kept),
        then call it complete."""
        self.indexed = 0
        conversations = self._conversations()
        for start in range(0, len(conversations), CHUNK):
            if self._stop.is_set():
                return
            chunk = [(c, self._messages(c.id)) for c in conversations[start : start + CHUNK]]
            with self._lock:
                db = self._db
                if db is None:
                    return
                try:
                    if not db.in_transaction:  # (else the writer's records go with this chunk)
                        db.execute("BEGIN")
                    for conversation, messages in chunk:
                        conv = tables.put_conversation(db, conversation.id, conversation.customer, merge=False)
                        for message in messages:
                            tables.put_message(db, conv, message)
                    self._commit_locked()
                except BaseException:
                    tables.rollback(db)
                    raise
            self.indexed += len(chunk)
        with self._lock:
            if self._db is None or self._stop.is_set():
                return
            if self._state != "building":
                return  # it failed meanwhile: told already
            self._db.execute("UPDATE meta SET value = 1 WHERE key = 'complete'")  # (autocommit)
            self._state = "ready"
        log.warning("the search index %s was rebuilt: %d conversations", self.path, len(conversations))
        self._clear()

    def rebuild_now(self, last_seq: int) -> int:
        """Make it again and rebuild it here (`wadesk reindex`); returns the conversations indexed."""
        self.close()
        self._stop.clear()
        with self._lock:
            self._create(last_seq, complete=False)
        self.rebuild()
        return self.indexed

    # --- searching -----------------------------------------------------------------------------------

    def search(
        self, query_terms: Sequence[str], limit: int, last_at: Callable[[str], datetime | None]
    ) -> list[SearchHit] | None:
        """search_tables.find's answer; None when the index cannot answer (the store scans)."""
        self.commit()  # what the writer took is found
        with self._read_lock:
            if not self.usable:
                return None
            try:
                if self._reader is None:
                    self._reader = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                return tables.find(self._reader, query_terms, limit, last_at)
            except sqlite3.Error as exc:
                self._fail("cannot be read", exc)
                self._close_reader_locked()
                return None
