"""The embedded store: TinyDB files laid out so that a write never costs more as history grows.

Layout (docs/storage.md has the why and the numbers):

    <data_dir>/
      wadesk.lock                 the owner's OS lock (desk.datadir)
      journal.jsonl               every mutation, appended and fsync'd first (desk.journal)
      index.json                  every conversation's summary; a cache of the shards, flushed on
                                  close and every INDEX_FLUSH_RECORDS journal records
      conversations/<xx>/<id>.json  one TinyDB file per conversation (desk.shard)
      drafts.json                 TinyDB: what agents typed and did not send
      templates.json              TinyDB: each business number's template catalogue

A mutation is decided against the conversation's shard in memory; if it changes nothing (a
duplicate message, a status that would move backwards) nothing is written and the call returns
None. Otherwise the journal record is appended and fsync'd (the acknowledgement point), then the
shard is replaced atomically and the in-memory index updated. On open the index is loaded and the
journal records it does not cover are replayed (each is idempotent), then the index is flushed and
the journal emptied.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB

from desk import faults
from desk.atomic_storage import AtomicOrjsonStorage, fsync_dir, read_json
from desk.clock import Clock, SystemClock
from desk.codec import (
    ROW_FIELDS,
    conversation_from_row,
    conversation_status,
    conversation_to_row,
    customer_from_doc,
    customer_to_doc,
    message_from_doc,
    message_status,
    message_to_doc,
    template_from_doc,
    template_to_doc,
    ts_from_doc,
    ts_to_doc,
)
from desk.datadir import DataDirLock
from desk.journal import Journal
from desk.models import (
    Conversation,
    ConversationStatus,
    ConversationStatusChanged,
    Direction,
    Event,
    Message,
    MessageReceived,
    MessageStatus,
    StatusChanged,
    Template,
    TemplatesChanged,
    merge_templates,
)
from desk.models import (
    conversation_id as make_conversation_id,
)
from desk.shard import Shard, count_shard_files, id_from_path, salvage, shard_files, shard_path
from desk.store import ConversationUnavailable, Store, StoreFault, StoreUnavailable
from desk.summary import ConversationMeta, failure_key, summarize

log = logging.getLogger(__name__)

INDEX_VERSION = 2
INDEX_CHUNK = 1000
"""Summary rows per index document: 100 documents at 100k conversations instead of 100k small ones
(a third of the objects to parse at start)."""

SETTLED = frozenset({MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED})
"""WhatsApp said the message arrived: the outbox can no longer change its status."""

IN_FLIGHT = frozenset({MessageStatus.QUEUED, MessageStatus.SENDING})

LEFT_SENDING = (
    "The desk stopped while this message was being sent; it may or may not have reached the customer."
)


class StoreClosed(RuntimeError):
    """The store is used before open() or after close()."""


_WAITING = ROW_FIELDS.index("waiting_since")

HOLDABLE = frozenset({"message", "status", "conv_status"})
"""Backend events: when their conversation's file cannot be read, they wait in the journal (they
need nothing from the file to be recorded). The agent's own actions need the file: they raise."""
DAMAGE = (ValueError, KeyError, TypeError, AttributeError)
"""What a shard that does not parse (truncated or garbled JSON, a wrong shape) raises on load."""


class TinyStore(Store):
    """The TinyDB store. Writes from one thread at a time; reads from any thread."""

    INDEX_FLUSH_RECORDS = 2000
    """Flush the index (and empty the journal) after this many journal records. Measured at 100k
    conversations: a flush costs 40-170 ms (under 0.1 ms a write amortised), and replaying a full
    journal after a crash costs ~0.25 ms a record (~0.5 s at 2000, 1.3 s at 5000): this keeps the
    start after a crash near half a second while flushing only every ~15 minutes of team traffic
    (2.3 messages/s)."""
    INDEX_FLUSH_BYTES = 32 * 1024 * 1024
    """...or when the journal grows past this (templates and long texts make big records)."""
    SHARD_CACHE = 256
    """Shards kept loaded (the writer's working set; readers see their transcripts)."""

    def __init__(self, data_dir: Path, *, clock: Clock | None = None, lock: DataDirLock | None = None) -> None:
        """`lock`: the data directory's lock when the caller holds it already (`wadesk check`)."""
        self.data_dir = Path(data_dir)
        self._clock: Clock = clock or SystemClock()
        self._conversations_dir = self.data_dir / "conversations"
        self._index_path = self.data_dir / "index.json"
        self._drafts_path = self.data_dir / "drafts.json"
        self._templates_path = self.data_dir / "templates.json"
        self._lock = lock or DataDirLock(self.data_dir)
        self._journal = Journal(self.data_dir / "journal.jsonl")
        self._write_lock = threading.RLock()
        self._index_lock = threading.Lock()
        self._index: dict[str, Conversation | list[Any]] = {}
        """Every conversation's summary: its index row as loaded, turned into a Conversation on
        first read and kept only in that form (both at once cost ~80 MB more at 100k)."""
        self._all_built = True
        """Whether every value of `_index` is a Conversation already."""
        self._in_flight: set[str] = set()
        """Conversations holding our messages QUEUED or SENDING."""
        self._shards: OrderedDict[str, Shard] = OrderedDict()
        self._transcripts: dict[str, tuple[Message, ...]] = {}
        self._known_dirs: set[str] = set()
        self._drafts: dict[str, str] = {}
        self._drafts_db: TinyDB | None = None
        self._templates: dict[str, tuple[tuple[Template, ...], datetime | None]] = {}
        self._templates_db: TinyDB | None = None
        self._index_dirty = False
        """The in-memory index differs from index.json."""
        self._is_open = False
        self._held: dict[str, list[dict[str, Any]]] = {}
        """Journal records (durable) that their conversation's file does not have yet: it could
        not be read or written. Re-applied when the shard is loaded, written by retry()."""
        self._suspect: set[str] = set()
        """Conversations a reader could not read: retry() loads them on the writer thread."""
        self._faults: dict[tuple[str, str | None], StoreFault] = {}
        self._faults_lock = threading.Lock()
        self._shard_files = 0
        """Shard files on disk, kept in the index: a different count at open means the index
        missed some (an old copy, a lost journal)."""

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
            self._journal.close()
            self._lock.release()
            raise

    def _open_locked(self) -> None:
        self._conversations_dir.mkdir(exist_ok=True)
        self._known_dirs = {p.name for p in self._conversations_dir.iterdir() if p.is_dir()}
        self._load_drafts()
        self._load_templates()
        index_seq, index_shards = self._load_index()
        journal = self._journal
        records, untidy = journal.read()
        last_seq = max([index_seq or 0, journal.base or 0] + [r["seq"] for r in records])
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
        replay = [r for r in records if r["seq"] > index_seq]
        for record in replay:
            self._replay(record)
        self._journal.open(last_seq, len(records))
        self._is_open = True
        if records or untidy or self._index_dirty:
            self._flush_index()
        self._recover_sending()

    def close(self) -> None:
        with self._write_lock:
            if not self._is_open:
                return
            try:
                if self._index_dirty or self._journal.count or not self._index_path.exists():
                    self._flush_index()
            except OSError:
                # Nothing is lost: the journal holds every change, replayed at the next open.
                log.error("the index %s could not be written at close", self._index_path, exc_info=True)
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

    def conversations(self) -> list[Conversation]:
        with self._index_lock:
            if not self._all_built:
                index = self._index
                enabled = gc.isenabled()
                gc.disable()  # 100k small objects: collections would double the time
                try:
                    for cid, value in index.items():
                        if isinstance(value, list):
                            index[cid] = conversation_from_row(value)
                finally:
                    if enabled:
                        gc.enable()
                self._all_built = True
            return list(self._index.values())

    def waiting_conversations(self) -> list[Conversation]:
        # From the raw index rows: ~10% of conversations wait, and building the other 90% is what
        # makes conversations() take ~0.45 s at 100k.
        with self._index_lock:
            ids = [
                cid
                for cid, value in self._index.items()
                if (value[_WAITING] if isinstance(value, list) else value.waiting_since) is not None
            ]
        return [c for c in map(self.conversation, ids) if c is not None]

    def conversation(self, conversation_id: str) -> Conversation | None:
        value = self._index.get(conversation_id)
        if value is None or isinstance(value, Conversation):
            return value
        with self._index_lock:
            value = self._index.get(conversation_id)
            if isinstance(value, list):
                value = self._index[conversation_id] = conversation_from_row(value)
            return value

    def messages(self, conversation_id: str) -> list[Message]:
        transcript = self._transcripts.get(conversation_id)
        if transcript is None:
            path = shard_path(self._conversations_dir, conversation_id)
            if not path.exists():
                return []
            try:
                transcript = Shard(path, conversation_id).transcript
            except (OSError, *DAMAGE) as exc:
                # Never a traceback on screen: the fault is told, and the writer's retry() moves a
                # damaged file aside and rebuilds the conversation.
                self._set_fault(faults.unreadable(conversation_id, self._name(conversation_id), path, exc), exc)
                self._suspect.add(conversation_id)
                return []
        return list(transcript)

    def queued(self) -> list[Message]:
        """Our messages recorded and never sent (QUEUED), oldest first: the outbox's work after a
        restart. (Left SENDING by a crash they became UNKNOWN at open and are not here.)"""
        with self._index_lock:
            ids = sorted(self._in_flight)
        found = [
            m
            for cid in ids
            for m in self.messages(cid)
            if m.direction is Direction.OUTBOUND and m.status is MessageStatus.QUEUED
        ]
        return sorted(found, key=lambda m: m.timestamp)

    # --- writing ---------------------------------------------------------------------------------------

    def apply(self, event: Event) -> str | None:
        if isinstance(event, MessageReceived):
            cid = make_conversation_id(event.business_number_id, event.customer.id)
            record = {
                "op": "message",
                "cid": cid,
                "bn": event.business_number_id,
                "customer": customer_to_doc(event.customer),
                "message": message_to_doc(event.message),
            }
            return self._mutate(record)[0]
        if isinstance(event, StatusChanged):
            cid = make_conversation_id(event.business_number_id, event.customer_id)
            record = {
                "op": "status",
                "cid": cid,
                "wamid": event.wamid,
                "status": event.status.value,
                "at": ts_to_doc(event.timestamp),
                "error_code": event.error_code,
                "error_text": event.error_text,
            }
            changed, applied = self._mutate(record)
            return changed if applied else None
        if isinstance(event, TemplatesChanged):
            record = {
                "op": "templates",
                "bn": event.business_number_id,
                "templates": [template_to_doc(t) for t in event.templates],
                "synced_at": ts_to_doc(event.synced_at),
            }
            self._mutate(record)
            return None
        if isinstance(event, ConversationStatusChanged):
            cid = make_conversation_id(event.business_number_id, event.customer_id)
            resolved = event.status is ConversationStatus.RESOLVED
            record = {
                "op": "conv_status",
                "cid": cid,
                "status": event.status.value,
                "resolved_at": ts_to_doc(event.at) if resolved else None,
            }
            return self._mutate(record)[0]
        raise TypeError(f"not a store event: {event!r}")

    def record_outgoing(self, message: Message) -> Message:
        if message.status is not MessageStatus.QUEUED:
            raise ValueError(f"an outgoing message is recorded QUEUED, not {message.status.value}")
        if message.direction is not Direction.OUTBOUND:
            raise ValueError("only our own (outbound) messages go through the outbox")
        with self._write_lock:
            self._check_open()
            if not self._shard(message.conversation_id).exists:
                raise KeyError(message.conversation_id)
            record = {
                "op": "outgoing",
                "cid": message.conversation_id,
                "message": message_to_doc(message),
            }
            _, result = self._mutate(record)
            return result

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
    ) -> Message:
        with self._write_lock:
            self._check_open()
            shard = self._shard(conversation_id)
            doc_id = shard.by_id.get(message_id)
            if doc_id is None:
                raise KeyError(f"{conversation_id}: no message {message_id}")
            if shard.by_doc[doc_id].direction is not Direction.OUTBOUND:
                raise ValueError(f"{message_id} is a customer's message, not one of ours")
            record = {
                "op": "update",
                "cid": conversation_id,
                "id": message_id,
                "status": status.value,
                "at": ts_to_doc(at),
                "wamid": wamid,
                "error_code": error_code,
                "error_text": error_text,
            }
            _, result = self._mutate(record)
            return result

    def mark_read(self, conversation_id: str) -> None:
        with self._write_lock:
            self._check_open()
            shard = self._shard(conversation_id)
            if shard.meta is None:
                raise KeyError(conversation_id)
            newest = max(
                (m.timestamp for m in shard.transcript if m.direction is Direction.INBOUND),
                default=None,
            )
            # The agent opened it: they have seen the customer's messages and our latest failure.
            failure = failure_key(shard.transcript)
            if newest is None and failure is None:
                return
            self._mutate(
                {"op": "read", "cid": conversation_id, "read_upto": ts_to_doc(newest), "failure_seen": failure}
            )

    def set_status(self, conversation_id: str, status: ConversationStatus) -> None:
        with self._write_lock:
            self._check_open()
            shard = self._shard(conversation_id)
            if shard.meta is None:
                raise KeyError(conversation_id)
            current = summarize(shard.meta, shard.transcript)
            if current.status is status:
                return
            resolved_at = None
            if status is ConversationStatus.RESOLVED:
                # Never before a message already there, whatever the clocks say: resolving must
                # not be undone at once by a customer message with a (skewed) later timestamp.
                resolved_at = max(
                    [self._clock.now()] + [m.timestamp for m in shard.transcript[-1:]]
                )
            self._mutate(
                {
                    "op": "conv_status",
                    "cid": conversation_id,
                    "status": status.value,
                    "resolved_at": ts_to_doc(resolved_at),
                }
            )

    # --- drafts and templates ------------------------------------------------------------------------

    def draft(self, conversation_id: str) -> str:
        return self._drafts.get(conversation_id, "")

    def save_draft(self, conversation_id: str, text: str) -> None:
        with self._write_lock:
            self._check_open()
            if self._drafts.get(conversation_id, "") == text:
                return
            assert self._drafts_db is not None
            table = self._drafts_db.table("drafts", cache_size=0)
            storage: AtomicOrjsonStorage = self._drafts_db.storage  # type: ignore[assignment]
            q = Query().conversation_id == conversation_id
            try:
                if text:
                    table.upsert({"conversation_id": conversation_id, "text": text}, q)
                else:
                    table.remove(q)
                storage.commit()
            except BaseException:
                storage.discard()
                raise
            if text:
                self._drafts[conversation_id] = text
            else:
                self._drafts.pop(conversation_id, None)

    def templates(self, business_number_id: str) -> list[Template]:
        entry = self._templates.get(business_number_id)
        return list(entry[0]) if entry else []

    def templates_synced_at(self, business_number_id: str) -> datetime | None:
        entry = self._templates.get(business_number_id)
        return entry[1] if entry else None

    # --- the write path ------------------------------------------------------------------------------

    def _mutate(self, record: dict[str, Any]) -> tuple[str | None, Any]:
        """Decide, journal, write. Returns (the conversation id if it changed, the op's result)."""
        with self._write_lock:
            self._check_open()
            if record["op"] == "templates":
                if not self._templates_differ(record):
                    return None, None
                self._append(record)
                self._apply_templates(record)
                self._maybe_flush()
                return None, None
            cid = record["cid"]
            try:
                shard = self._shard(cid)
            except ConversationUnavailable:
                if record["op"] not in HOLDABLE:
                    raise
                # The file cannot be read now: the event waits in the journal for retry().
                self._append(record)
                self._hold(cid, record, None)
                return None, None
            try:
                changed, result = self._apply_record(shard, record)
                if not changed:
                    return None, result
                self._append(record)
            except BaseException:
                # The shard in memory is ahead of its file and of the journal: forget it, the file
                # (plus what is held for it) is the truth.
                self._evict(cid)
                raise
            try:
                self._commit(shard)
            except OSError as exc:
                # Durable in the journal already: the shard stays loaded, ahead of its file, and
                # the record waits for retry(). Every other conversation goes on.
                self._hold(cid, record, exc)
            else:
                if cid in self._held:
                    self._release(cid)
            self._refresh(shard)
            self._maybe_flush()
            return (cid if shard.exists else None), result

    def _append(self, record: dict[str, Any]) -> None:
        """Journal the record (the acknowledgement point), or raise StoreUnavailable."""
        try:
            self._journal.append(record)
        except OSError as exc:
            fault = faults.journal_full(self._journal.path, exc)
            self._set_fault(fault, exc)
            raise StoreUnavailable(fault) from exc
        if self._faults:
            self._clear_fault("journal", None)

    def _replay(self, record: dict[str, Any]) -> None:
        """Re-apply one journal record at open: a no-op where the shard already has it."""
        try:
            if record["op"] == "templates":
                self._apply_templates(record)
                return
            shard = self._shard(record["cid"])
            changed, _ = self._apply_record(shard, record)
            if changed:
                try:
                    self._commit(shard)
                except OSError as exc:
                    self._hold(shard.id, record, exc)
            self._refresh(shard)
        except ConversationUnavailable:
            self._held.setdefault(record["cid"], []).append(record)  # journaled: retry() applies it
        except (KeyError, ValueError, TypeError) as exc:
            log.error("journal record %s could not be replayed: %r", record.get("seq"), exc)
            self._evict(record.get("cid", ""))

    def _apply_record(self, shard: Shard, r: dict[str, Any]) -> tuple[bool, Any]:
        """Apply one record to a loaded shard, in memory. Returns (changed, result). Pure with
        respect to the record: the live path and the replay run exactly this."""
        op = r["op"]
        if op == "message":
            return self._op_message(shard, r)
        if op == "outgoing":
            message = message_from_doc(r["message"], shard.id)
            existing = shard.find(message.id)
            if existing is not None:
                return False, shard.by_doc[existing]
            if shard.meta is None:
                raise KeyError(shard.id)
            doc_id = shard.insert(message)
            self._apply_pending(shard, doc_id)
            return True, shard.by_doc[doc_id]
        if op == "update":
            return self._op_update(shard, r)
        if op == "status":
            return self._op_status(shard, r)
        if op == "conv_status":
            meta = shard.meta
            if meta is None:
                return False, None
            status = conversation_status(r["status"])
            resolved_at = ts_from_doc(r["resolved_at"])
            if meta.status is status and meta.resolved_at == resolved_at:
                return False, None
            shard.set_meta(_replace_meta(meta, status=status, resolved_at=resolved_at))
            return True, None
        if op == "read":
            meta = shard.meta
            if meta is None:
                return False, None
            read_upto = ts_from_doc(r["read_upto"])
            if read_upto is None or (meta.read_upto is not None and meta.read_upto >= read_upto):
                read_upto = meta.read_upto
            failure_seen = r.get("failure_seen") or meta.failure_seen
            if read_upto == meta.read_upto and failure_seen == meta.failure_seen:
                return False, None
            shard.set_meta(_replace_meta(meta, read_upto=read_upto, failure_seen=failure_seen))
            return True, None
        raise ValueError(f"unknown journal op {op!r}")

    def _op_message(self, shard: Shard, r: dict[str, Any]) -> tuple[bool, Any]:
        message = message_from_doc(r["message"], shard.id)
        if shard.find(message.id) is not None:
            return False, None  # a duplicate: nothing at all changes
        customer = customer_from_doc(r["customer"])
        meta = shard.meta
        if meta is None:
            shard.set_meta(ConversationMeta(shard.id, r["bn"], customer))
        else:
            known = meta.customer
            updated = type(known)(
                id=known.id,
                # A stand-in name (WhatsApp sends no profile with system messages, so the parser
                # names the customer by number) never replaces a real one.
                name=known.name if customer.name in ("", customer.phone, customer.username, customer.id) else customer.name,
                phone=customer.phone or known.phone,
                username=customer.username or known.username,
                country=customer.country or known.country,
            )
            if updated != known:
                shard.set_meta(_replace_meta(meta, customer=updated))
        doc_id = shard.insert(message)
        if message.direction is Direction.OUTBOUND:
            self._apply_pending(shard, doc_id)
        return True, None

    def _op_update(self, shard: Shard, r: dict[str, Any]) -> tuple[bool, Any]:
        doc_id = shard.by_id.get(r["id"])
        if doc_id is None:
            raise KeyError(r["id"])
        old = shard.by_doc[doc_id]
        status = message_status(r["status"])
        if not _outbox_allows(old.status, status):
            return False, old
        wamid = r.get("wamid") or old.wamid
        if status in (MessageStatus.FAILED, MessageStatus.UNKNOWN):
            error_code, error_text = r.get("error_code"), r.get("error_text")
        else:
            error_code = error_text = None
        at = ts_from_doc(r["at"])
        if (
            status is old.status
            and wamid == old.wamid
            and error_code == old.error_code
            and error_text == old.error_text
        ):
            return False, old
        new = old.with_status(status, at, wamid=wamid, error_code=error_code, error_text=error_text)
        shard.replace(doc_id, new)
        self._apply_pending(shard, doc_id)
        return True, shard.by_doc[doc_id]

    def _op_status(self, shard: Shard, r: dict[str, Any]) -> tuple[bool, bool]:
        """Returns (changed, applied to a message)."""
        doc_id = shard.ours_by_wamid(r["wamid"])
        if doc_id is None:
            pending = {k: r.get(k) for k in ("wamid", "status", "at", "error_code", "error_text")}
            if any(p == pending for _, p in shard.pending()):
                return False, False
            shard.add_pending(pending)
            return True, False
        new = _status_move(shard.by_doc[doc_id], r)
        if new is None:
            return False, False
        shard.replace(doc_id, new)
        return True, True

    def _apply_pending(self, shard: Shard, doc_id: int) -> None:
        """Statuses that came before we knew the message's wamid, applied now in arrival order."""
        message = shard.by_doc[doc_id]
        if message.direction is not Direction.OUTBOUND:
            return
        keys = {message.id, message.wamid} - {None}
        matched = [(pid, p) for pid, p in shard.pending() if p.get("wamid") in keys]
        if not matched:
            return
        for _, p in sorted(matched, key=lambda item: item[0]):
            new = _status_move(message, p)
            if new is not None:
                message = new
        if message is not shard.by_doc[doc_id]:
            shard.replace(doc_id, message)
        shard.remove_pending([pid for pid, _ in matched])

    # --- shards ----------------------------------------------------------------------------------------

    def _shard(self, cid: str) -> Shard:
        """The conversation's shard, loaded (with what is held for it applied in memory). A file
        that does not parse is moved aside and rebuilt; one that cannot be read raises
        ConversationUnavailable."""
        shard = self._shards.get(cid)
        if shard is not None:
            self._shards.move_to_end(cid)
            return shard
        path = shard_path(self._conversations_dir, cid)
        try:
            shard = Shard(path, cid)
        except OSError as exc:
            fault = faults.unreadable(cid, self._name(cid), path, exc)
            self._set_fault(fault, exc)
            raise ConversationUnavailable(fault) from exc
        except DAMAGE as exc:
            shard = self._quarantine(cid, path, exc)
        for record in self._held.get(cid, ()):
            try:
                self._apply_record(shard, record)
            except (KeyError, ValueError, TypeError) as exc:
                log.error("journal record %s could not be applied to %s: %r", record.get("seq"), cid, exc)
        if self._faults:
            self._clear_fault("unreadable", cid)
        self._shards[cid] = shard
        if len(self._shards) > self.SHARD_CACHE:
            old, _ = self._shards.popitem(last=False)
            self._transcripts.pop(old, None)
        return shard

    def _evict(self, cid: str) -> None:
        self._shards.pop(cid, None)
        self._transcripts.pop(cid, None)

    def _commit(self, shard: Shard) -> None:
        directory = shard.path.parent
        if directory.name not in self._known_dirs:
            directory.mkdir(parents=True, exist_ok=True)
            fsync_dir(directory.parent)
            self._known_dirs.add(directory.name)
        new = not shard.on_disk
        shard.commit()
        if new and shard.on_disk:
            self._shard_files += 1

    # --- faults ----------------------------------------------------------------------------------------

    def faults(self) -> list[StoreFault]:
        with self._faults_lock:
            return list(self._faults.values())

    def _set_fault(self, fault: StoreFault, exc: BaseException | None) -> None:
        with self._faults_lock:
            new = (fault.kind, fault.conversation_id) not in self._faults
            self._faults[(fault.kind, fault.conversation_id)] = fault
        if new:  # the traceback once, for whoever reads the log
            log.error("%s", fault.sentence, exc_info=exc)

    def _clear_fault(self, kind: str, cid: str | None) -> None:
        with self._faults_lock:
            fault = self._faults.pop((kind, cid), None)
        if fault is not None:
            log.warning("resolved: %s", fault.sentence)

    def _name(self, cid: str) -> str | None:
        conversation = self.conversation(cid)
        return conversation.customer.name if conversation else None

    def _hold(self, cid: str, record: dict[str, Any], exc: OSError | None) -> None:
        held = self._held.setdefault(cid, [])
        held.append(record)
        if exc is not None:
            path = shard_path(self._conversations_dir, cid)
            self._set_fault(faults.unwritable(cid, self._name(cid), path, exc, len(held)), exc)

    def _release(self, cid: str) -> None:
        """The shard's file now has everything held for it."""
        count = len(self._held.pop(cid, ()))
        self._clear_fault("unwritable", cid)
        self._clear_fault("unreadable", cid)
        log.info("conversation %s: %d held event(s) written", cid, count)

    def retry(self) -> set[str]:
        with self._write_lock:
            self._check_open()
            changed: set[str] = set()
            for cid in sorted(self._suspect | set(self._held)):
                cached = self._shards.get(cid)
                if cid in self._suspect and cached is not None and cached.storage.has_data:
                    cached.storage.dirty = True  # a reader found the file bad; the writer's copy is whole
                try:
                    shard = self._shard(cid)
                    self._commit(shard)
                except ConversationUnavailable:
                    continue
                except OSError as exc:
                    path = shard_path(self._conversations_dir, cid)
                    held = len(self._held.get(cid, ()))
                    self._set_fault(faults.unwritable(cid, self._name(cid), path, exc, held), exc)
                    continue
                self._suspect.discard(cid)
                self._clear_fault("unreadable", cid)
                if cid in self._held:
                    self._release(cid)
                self._refresh(shard)
                changed.add(cid)
            if ("index", None) in self._faults:
                try:
                    self._flush_index()
                except OSError as exc:
                    self._set_fault(faults.index_unwritable(self._index_path, exc), exc)
                else:
                    self._clear_fault("index", None)
            return changed

    def _quarantine(self, cid: str, path: Path, exc: BaseException, seed: Any = None) -> Shard:
        """A shard that does not parse: moved aside (never deleted) and rebuilt from what it still
        holds whole (desk.shard.salvage), else its index summary (who, which number, open or
        resolved), and every journal record it still has."""
        meta, kept = salvage(path, cid)
        aside = faults.move_aside(path)
        self._shard_files -= 1
        shard = Shard(path, cid)
        seed = seed if seed is not None else self._index.get(cid)
        if isinstance(seed, list):
            seed = conversation_from_row(seed)
        if meta is None and seed is not None:
            meta = ConversationMeta(cid, seed.business_number_id, seed.customer, seed.status)
        if meta is not None:
            shard.set_meta(meta)
        for message in kept:
            if shard.find(message.id) is None:
                shard.insert(message)
        applied = []
        for record in self._journal.read()[0]:
            if record.get("cid") == cid:
                try:
                    if self._apply_record(shard, record)[0]:
                        applied.append(record)
                except (KeyError, ValueError, TypeError):
                    continue
        name = shard.meta.customer.name if shard.meta else None
        self._set_fault(faults.damaged(cid, name, path, aside, len(applied), len(kept)), exc)
        try:
            self._commit(shard)
        except OSError as write_exc:
            # Kept loaded and written by retry(); the journal keeps what it was rebuilt from.
            self._held.setdefault(cid, []).extend(applied)
            self._suspect.add(cid)
            self._set_fault(faults.unwritable(cid, name, path, write_exc, len(applied)), write_exc)
        return shard

    def _refresh(self, shard: Shard) -> None:
        """The conversation's summary from its shard, into the in-memory index."""
        if shard.meta is None:
            return
        cid = shard.id
        transcript = shard.transcript
        conv = summarize(shard.meta, transcript)
        in_flight = any(m.direction is Direction.OUTBOUND and m.status in IN_FLIGHT for m in transcript)
        with self._index_lock:
            self._index[cid] = conv
            if in_flight:
                self._in_flight.add(cid)
            else:
                self._in_flight.discard(cid)
            self._index_dirty = True
        if cid in self._shards:
            self._transcripts[cid] = transcript

    def _recover_sending(self) -> None:
        """Our messages left SENDING by a crash become UNKNOWN: the request may have left, so they
        are never resent on their own. QUEUED ones stay QUEUED: their request never left."""
        with self._index_lock:
            candidates = sorted(self._in_flight)
        now = self._clock.now()
        for cid in candidates:
            try:
                transcript = self._shard(cid).transcript
            except ConversationUnavailable:
                continue  # told as a fault; its messages are looked at when it can be read
            for message in transcript:
                if message.direction is Direction.OUTBOUND and message.status is MessageStatus.SENDING:
                    self.update_outgoing(
                        cid, message.id, MessageStatus.UNKNOWN, at=now, error_text=LEFT_SENDING
                    )

    # --- the index -------------------------------------------------------------------------------------

    def _load_index(self) -> tuple[int | None, int | None]:
        """Load index.json into memory; returns the journal seq it covers (None when there is no
        usable index) and the number of shard files it was written with (None: not recorded)."""
        enabled = gc.isenabled()
        gc.disable()  # 100k rows of small objects: the collector would double the time
        try:
            try:
                data = read_json(self._index_path)
            except Exception as exc:  # noqa: BLE001 - a cache: rebuild it from the shards
                log.error("index %s is unreadable (%r); rebuilding it from the shards", self._index_path, exc)
                return None, None
            if data is None:
                if any(self._conversations_dir.iterdir()):
                    log.warning("index %s is missing; rebuilding it from the shards", self._index_path)
                return None, None
            meta = data.get("meta", {}).get("1", {})
            if meta.get("version") != INDEX_VERSION:
                log.warning("index %s has version %r; rebuilding it", self._index_path, meta.get("version"))
                return None, None
            self._all_built = False
            self._index = {
                row[0]: row for doc in data.get("conversations", {}).values() for row in doc["rows"]
            }
            self._in_flight = set(data.get("outbox", {}).get("1", {}).get("conversations", []))
            shards = meta.get("shards")
            return int(meta.get("seq", 0)), (shards if isinstance(shards, int) else None)
        finally:
            if enabled:
                gc.enable()

    def _stale_index(self, index_seq: int | None) -> str | None:
        """Why the index loaded cannot be trusted for the summaries it holds (records it never saw
        may be in the shards), or None. Read after the journal."""
        journal = self._journal
        if index_seq is None:
            return None
        if journal.garbled:
            return f"the journal {journal.path} lost records in the middle"
        if journal.base is None and index_seq > 0 and not journal.path.exists():
            # (One without a start mark but there was written before marks existed: trusted.)
            return f"the journal {journal.path} is missing"
        if journal.base is not None and journal.base > index_seq:
            return (
                f"the index {self._index_path} is older than the journal "
                f"(it covers record {index_seq}, the journal starts after {journal.base})"
            )
        return None

    def _rebuild_index(self, files: list[Path]) -> None:
        """Every summary from the shards themselves (no usable index.json)."""
        seeds = self._index
        self._index, self._in_flight, self._all_built = {}, set(), True
        count = 0
        for path in sorted(files):
            if self._add_from_file(path, seeds):
                count += 1
        if count:
            log.warning("rebuilt the index from %d conversation files", count)
        self._index_dirty = True

    def _add_from_file(self, path: Path, seeds: dict[str, Any]) -> bool:
        """Put the conversation of one shard file into the index; True if it has one."""
        try:
            data = read_json(path)
            conversation = (data or {}).get("conversation", {}).get("1")
            if not conversation:
                return False  # only statuses waiting for a conversation that never came
            shard = Shard(path, conversation["id"])
        except OSError as exc:
            log.error("shard %s is unreadable: %r", path, exc)
            return False
        except DAMAGE as exc:
            cid = id_from_path(path) or next(
                (c for c in seeds if shard_path(self._conversations_dir, c) == path), None
            )
            if cid is None:
                log.error("shard %s does not parse and its name does not say whose it is: %r", path, exc)
                return False
            shard = self._quarantine(cid, path, exc, seeds.get(cid))
        self._refresh(shard)
        return shard.meta is not None

    def _reconcile(self, files: list[Path]) -> None:
        """The index was written with another number of shard files than there are: list every
        conversation that has a file, drop those that have none."""
        on_disk = set(files)
        known = {shard_path(self._conversations_dir, cid): cid for cid in self._index}
        added = [path for path in sorted(on_disk - known.keys()) if self._add_from_file(path, self._index)]
        gone = [cid for path, cid in known.items() if path not in on_disk]
        with self._index_lock:
            for cid in gone:
                self._index.pop(cid, None)
                self._in_flight.discard(cid)
        self._index_dirty = True
        if added or gone:
            log.warning(
                "the index %s did not match the %d conversation files: added %d conversation(s) from their files, "
                "removed %d that have no file",
                self._index_path, len(files), len(added), len(gone),
            )

    def _maybe_flush(self) -> None:
        journal = self._journal
        if journal.count >= self.INDEX_FLUSH_RECORDS or journal.size >= self.INDEX_FLUSH_BYTES:
            if self._held or ("index", None) in self._faults:
                return  # the journal keeps growing until retry() has written what waits
            try:
                self._flush_index()
            except OSError as exc:
                self._set_fault(faults.index_unwritable(self._index_path, exc), exc)

    def _flush_index(self) -> None:
        """Write the index atomically, then empty the journal it now covers. Records held for a
        shard are not covered: the index says so, and the journal is kept."""
        with self._index_lock:
            values = list(self._index.values())
            in_flight = sorted(self._in_flight)
        rows = [v if isinstance(v, list) else conversation_to_row(v) for v in values]
        chunks = {
            str(number): {"rows": rows[start : start + INDEX_CHUNK]}
            for number, start in enumerate(range(0, len(rows), INDEX_CHUNK), 1)
        }
        held = [r["seq"] for records in self._held.values() for r in records]
        covered = min(held) - 1 if held else self._journal.seq
        data = {
            "meta": {"1": {"version": INDEX_VERSION, "seq": covered, "shards": self._shard_files}},
            "conversations": chunks,
            "outbox": {"1": {"conversations": in_flight}},
        }
        del rows
        AtomicOrjsonStorage(self._index_path).write(data)
        self._index_dirty = False
        if not self._held:
            self._journal.reset()

    def flush(self) -> None:
        """Write the index now and empty the journal (close() does this too)."""
        with self._write_lock:
            self._check_open()
            self._flush_index()

    def rebuild_index(self) -> None:
        """Every summary again from the shard files, then written (`wadesk check --repair`)."""
        with self._write_lock:
            self._check_open()
            files = shard_files(self._conversations_dir)
            self._shards.clear()
            self._transcripts.clear()
            self._shard_files = len(files)
            self._rebuild_index(files)
            self._flush_index()

    # --- drafts and templates on disk --------------------------------------------------------------

    def _load_drafts(self) -> None:
        self._drafts_db = TinyDB(self._drafts_path, storage=AtomicOrjsonStorage, buffered=True)
        table = self._drafts_db.table("drafts", cache_size=0)
        self._drafts = {doc["conversation_id"]: doc["text"] for doc in table.all()}

    def _load_templates(self) -> None:
        self._templates_db = TinyDB(self._templates_path, storage=AtomicOrjsonStorage, buffered=True)
        table = self._templates_db.table("catalogues", cache_size=0)
        self._templates = {
            doc["business_number_id"]: (
                tuple(template_from_doc(t) for t in doc.get("templates", ())),
                ts_from_doc(doc.get("synced_at")),
            )
            for doc in table.all()
        }

    def _templates_differ(self, r: dict[str, Any]) -> bool:
        templates, synced_at = self._merged_templates(r)
        return self._templates.get(r["bn"]) != (templates, synced_at)

    def _merged_templates(self, r: dict[str, Any]) -> tuple[tuple[Template, ...], datetime | None]:
        """A record with synced_at replaces the catalogue (a full sync); one without (a webhook about
        a template or two) updates those templates and keeps the rest and the last sync time."""
        incoming = tuple(template_from_doc(t) for t in r["templates"])
        synced_at = ts_from_doc(r.get("synced_at"))
        if synced_at is not None:
            return incoming, synced_at
        current, current_synced = self._templates.get(r["bn"], ((), None))
        return merge_templates(current, incoming), current_synced

    def _apply_templates(self, r: dict[str, Any]) -> None:
        templates, synced_at = self._merged_templates(r)
        bn = r["bn"]
        assert self._templates_db is not None
        table = self._templates_db.table("catalogues", cache_size=0)
        storage: AtomicOrjsonStorage = self._templates_db.storage  # type: ignore[assignment]
        try:
            table.upsert(
                {
                    "business_number_id": bn,
                    "synced_at": ts_to_doc(synced_at),
                    "templates": [template_to_doc(t) for t in templates],
                },
                Query().business_number_id == bn,
            )
            storage.commit()
        except BaseException:
            storage.discard()
            raise
        self._templates[bn] = (templates, synced_at)


# --- rules ----------------------------------------------------------------------------------------


def _replace_meta(meta: ConversationMeta, **changes: Any) -> ConversationMeta:
    return replace(meta, **changes)


def _outbox_allows(old: MessageStatus, new: MessageStatus) -> bool:
    """The outbox's moves: anything except out of a state WhatsApp settled (delivered, read,
    played), and back to QUEUED only from FAILED or UNKNOWN (an agent's explicit retry)."""
    if new is old:
        return True
    if old in SETTLED or new is MessageStatus.RECEIVED:
        return False
    if new is MessageStatus.QUEUED:
        return old in (MessageStatus.FAILED, MessageStatus.UNKNOWN)
    return True


def _status_move(message: Message, r: dict[str, Any]) -> Message | None:
    """WhatsApp's status for our message, if it moves it forward (MessageStatus.can_become)."""
    status = message_status(r["status"])
    if not message.status.can_become(status):
        return None
    at = ts_from_doc(r.get("at"))
    if status is MessageStatus.FAILED:
        return message.with_status(status, at, error_code=r.get("error_code"), error_text=r.get("error_text"))
    return message.with_status(status, at, error_code=None, error_text=None)
