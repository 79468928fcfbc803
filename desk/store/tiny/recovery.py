"""What the TinyDB store does when a file fails it: one conversation's file that cannot be read
or written, one that does not parse, an index that does not match the shards, a crash mid-send.

A fault in one conversation's file never stops the others. Its events are durable in the journal
already: they are held (re-applied whenever the shard is loaded) until retry() writes them. A file
that does not parse is moved aside, never deleted, and the conversation rebuilt from what it still
holds whole and from the journal. Each fault is told once, as a sentence (desk.faults).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desk import faults
from desk.codec import conversation_from_row
from desk.models import Direction, MessageStatus
from desk.store import interpreter, records
from desk.store.contract import ChangeKind, ConversationUnavailable, StoreFault, StoreUnavailable
from desk.store.records import LEFT_SENDING, ShardRecord
from desk.store.tiny.files import DAMAGE, id_from_path, read_slot, shard_files, shard_path, slot_path
from desk.store.tiny.salvage import salvage
from desk.store.tiny.shard import Shard, Snapshot
from desk.summary import ConversationMeta

if TYPE_CHECKING:

    from desk.clock import Clock
    from desk.models import Conversation
    from desk.store.changes import ChangeLog
    from desk.store.tiny.index import Index
    from desk.store.tiny.journal import Journal

log = logging.getLogger(__name__)

Held = list[tuple[int, ShardRecord]]
"""Journal records (seq, record) that their conversation's file does not have yet."""


class Recovery:
    """The TinyStore's half that deals with faults; it works on the store's own state."""

    # The store's state and methods this half uses: TinyStore sets and defines each (declared
    # here for the type checker only, so that nothing changes at run time).
    SHARD_CACHE: int
    _shards: OrderedDict[str, Shard]
    _transcripts: dict[str, Snapshot]
    _conversations_dir: Path
    _shard_files: int
    _index: Index
    _journal: Journal
    _write_lock: threading.RLock
    _clock: Clock
    _changes: ChangeLog

    if TYPE_CHECKING:

        def conversation(self, conversation_id: str) -> Conversation | None: ...

        def _mutate(self, record: records.Record, agent: str | None) -> tuple[str | None, object]: ...

        def _check_open(self) -> None: ...

        def _commit(self, shard: Shard) -> None: ...

        def _refresh(self, shard: Shard) -> None: ...

        def _evict(self, cid: str) -> None: ...

        def _apply_templates(self, record: records.Templates) -> None: ...

        def _flush_index(self) -> None: ...

        def _write_shards(self) -> set[str]: ...

        def _append(self, record: records.Record) -> int: ...

    def __init__(self) -> None:
        self._held: dict[str, Held] = {}
        """Durable in the journal, not in their conversation's file yet: waiting for the shard
        flush, or for a file that could not be read or written. Re-applied when the shard is
        loaded; a shard with records here stays in the cache."""
        self._suspect: set[str] = set()
        """Conversations a reader could not read: retry() loads them on the writer thread."""
        self._faults: dict[tuple[str, str | None], StoreFault] = {}
        self._faults_lock = threading.Lock()

    # --- telling ---------------------------------------------------------------------------------------

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

    # --- loading a shard -------------------------------------------------------------------------------

    def _shard(self, cid: str) -> Shard:
        """The conversation's shard, loaded (with what is held for it applied in memory). A file
        that does not parse is moved aside and rebuilt; one that cannot be read raises
        ConversationUnavailable."""
        shard = self._shards.get(cid)
        if shard is not None:
            self._shards.move_to_end(cid)
            return shard
        path = shard_path(self._conversations_dir, cid)
        slot = self._index.slot(cid)
        try:
            shard = Shard(path, cid, slot, self._journal.base or 0)
        except OSError as exc:
            fault = faults.unreadable(cid, self._name(cid), path, exc)
            self._set_fault(fault, exc)
            raise ConversationUnavailable(fault) from exc
        except DAMAGE as exc:
            shard = self._quarantine(cid, path, slot, exc)
        if shard.fell_back:
            self._redo(shard)
        held = self._held.get(cid, ())
        if held:
            shard.reshaped = True  # the index's summary may or may not have what is held: afresh
        for seq, record in held:
            try:
                interpreter.apply(shard, record)
            except (KeyError, ValueError, TypeError) as exc:
                log.error("journal record %s could not be applied to %s: %r", seq, cid, exc)
        if shard.slot != slot:
            self._index.set_slot(cid, shard.slot)
        if self._faults:
            self._clear_fault("unreadable", cid)
        self._shards[cid] = shard
        if len(self._shards) > self.SHARD_CACHE:
            # The oldest whose file has all it holds: one waiting for the shard flush stays, so
            # that readers see its transcript (there are at most DIRTY_SHARDS of those).
            old = next((c for c in self._shards if c not in self._held), None)
            if old is not None:
                del self._shards[old]
                self._transcripts.pop(old, None)
        return shard

    def _redo(self, shard: Shard) -> None:
        """The current copy did not parse (a write cut short by a crash, most likely) and the other,
        recent enough, was read: the journal's records for it since then are applied, and the shard
        is written again at the next flush, over the copy that did not parse."""
        redone = self._journal_records(shard.id)
        for _, record in redone:
            interpreter.apply(shard, record)
        log.warning(
            "conversation %s: its file %s did not parse; read its other copy and %d journal record(s) after it",
            shard.id, slot_path(shard.path, 1 - shard.slot), len(redone),
        )
        shard.storage.dirty = True
        shard.reshaped = True
        self._held.setdefault(shard.id, [])

    def _journal_records(self, cid: str) -> Held:
        """Every record of one conversation the journal holds (a rare path: it reads the file)."""
        found: Held = []
        for doc in self._journal.read()[0]:
            if doc.get("cid") == cid:
                try:
                    record = records.decode(doc)
                except (KeyError, ValueError, TypeError):
                    continue
                if not isinstance(record, records.Templates):  # never: a catalogue names no conversation
                    found.append((int(doc["seq"]), record))
        return found

    def _quarantine(self, cid: str, path: Path, slot: int, exc: BaseException, seed: Any = None) -> Shard:
        """A shard copy that does not parse (and no other to fall back on): moved aside (never
        deleted) and the conversation rebuilt from what it still holds whole (salvage.py), its
        other copy if that parses (older: the journal redoes the rest), else its index summary (who,
        which number, open or resolved), and every journal record it still has."""
        meta, kept = salvage(slot_path(path, slot), cid)
        aside = self._move_aside(slot_path(path, slot))
        try:
            shard = Shard(path, cid)
        except DAMAGE:  # the other copy too
            other_meta, other_kept = salvage(slot_path(path, 1 - slot), cid)
            meta, kept = meta or other_meta, kept + other_kept
            self._move_aside(slot_path(path, 1 - slot))
            shard = Shard(path, cid)
        seed = seed if seed is not None else self._index.rows.get(cid)
        if isinstance(seed, list):
            seed = conversation_from_row(seed)
        if shard.meta is None and meta is None and seed is not None:
            meta = ConversationMeta(cid, seed.business_number_id, seed.customer, seed.status)
        if shard.meta is None and meta is not None:
            shard.set_meta(meta)
        for message in kept:
            if shard.find(message.id) is None:
                shard.insert(message)
        applied = [(seq, record) for seq, record in self._journal_records(cid) if interpreter.apply(shard, record)[0]]
        name = shard.meta.customer.name if shard.meta else None
        damaged = slot_path(path, slot)
        self._set_fault(faults.damaged(cid, name, damaged, aside or damaged, len(applied), len(kept)), exc)
        shard.storage.dirty = True  # whatever it was rebuilt from, it is written whole
        shard.reshaped = True
        try:
            self._commit(shard)
        except OSError as write_exc:
            # Kept loaded and written by retry(); the journal keeps what it was rebuilt from.
            self._held.setdefault(cid, []).extend(applied)
            self._suspect.add(cid)
            self._set_fault(faults.unwritable(cid, name, path, write_exc, len(applied)), write_exc)
        return shard

    def _move_aside(self, path: Path) -> Path | None:
        if not path.exists():
            return None
        aside = faults.move_aside(path)
        if path.name.endswith(".json"):  # slot 0: the file the index counts
            self._shard_files -= 1
        return aside

    def _replay(self, doc: dict[str, Any]) -> None:
        """Re-apply one journal record at open: a no-op where the shard already has it."""
        try:
            record = records.decode(doc)
            if isinstance(record, records.Templates):
                self._apply_templates(record)
                return
            shard = self._shard(record.cid)
            changed, _ = interpreter.apply(shard, record)
            if changed:
                self._hold(shard.id, int(doc["seq"]), record)  # until the flush at the end of open()
            self._refresh(shard)
        except ConversationUnavailable:
            assert not isinstance(record, records.Templates)  # raised by _shard: a catalogue's returned above
            self._held.setdefault(record.cid, []).append((int(doc["seq"]), record))
        except (KeyError, ValueError, TypeError) as exc:
            log.error("journal record %s could not be replayed: %r", doc.get("seq"), exc)
            self._evict(str(doc.get("cid", "")))

    # --- holding and retrying --------------------------------------------------------------------------

    def _hold(self, cid: str, seq: int, record: ShardRecord) -> None:
        """A journaled record its shard's file does not have yet: re-applied whenever the shard
        is loaded, until the shard flush writes it (or retry(), after a fault)."""
        self._held.setdefault(cid, []).append((seq, record))

    def _release(self, cid: str) -> None:
        """The shard's file now has everything held for it."""
        count = len(self._held.pop(cid, ()))
        if self._faults and any(f.conversation_id == cid for f in self.faults()):
            self._clear_fault("unwritable", cid)
            self._clear_fault("unreadable", cid)
            log.info("conversation %s: %d held event(s) written", cid, count)

    def retry(self) -> set[str]:
        with self._write_lock:
            self._check_open()
            troubled = self._suspect | {f.conversation_id for f in self.faults() if f.conversation_id}
            for cid in sorted(self._suspect):
                cached = self._shards.get(cid)
                if cached is not None and cached.storage.has_data:
                    cached.storage.dirty = True  # a reader found the file bad; the writer's copy is whole
                self._held.setdefault(cid, [])  # to be loaded (and rebuilt if damaged) and written
            try:
                written = self._write_shards()
            except OSError as exc:
                self._set_fault(faults.index_unwritable(self._index.path, exc), exc)
                return set()
            changed = written & troubled
            for cid in sorted(changed):
                self._suspect.discard(cid)
                shard = self._shards.get(cid)
                if shard is not None:
                    self._refresh(shard)
                self._announce_written(cid)
            if ("index", None) in self._faults:
                try:
                    self._flush_index()
                except OSError as exc:
                    self._set_fault(faults.index_unwritable(self._index.path, exc), exc)
                else:
                    self._clear_fault("index", None)
            return changed

    def rewrite(self, conversation_id: str) -> None:
        """Write the conversation's shard whole over its copy not read, now (`wadesk check
        --repair`): a copy that does not parse is replaced by one that does."""
        with self._write_lock:
            self._check_open()
            self._suspect.add(conversation_id)
        self.retry()

    def _announce_written(self, cid: str) -> None:
        try:
            seq = self._append(records.Written(cid))
        except StoreUnavailable:
            return  # told as the journal's fault; the conversation shows its messages all the same
        self._changes.add(seq, ChangeKind.CONVERSATION, cid)

    def _recover_sending(self) -> None:
        """Our messages left SENDING by a crash become UNKNOWN: the request may have left, so they
        are never resent on their own. QUEUED ones stay QUEUED: their request never left."""
        now = self._clock.now()
        for cid in self._index.in_flight_ids():
            try:
                transcript = self._shard(cid).transcript
            except ConversationUnavailable:
                continue  # told as a fault; its messages are looked at when it can be read
            for message in transcript:
                if message.direction is Direction.OUTBOUND and message.status is MessageStatus.SENDING:
                    record = records.OutboxUpdate(cid, message.id, MessageStatus.UNKNOWN, now, error_text=LEFT_SENDING)
                    self._mutate(record, None)

    # --- the index against the shards ------------------------------------------------------------------

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
                f"the index {self._index.path} is older than the journal "
                f"(it covers record {index_seq}, the journal starts after {journal.base})"
            )
        return None

    def _rebuild_index(self, files: list[Path]) -> None:
        """Every summary from the shards themselves (no usable index.json)."""
        seeds = self._index.clear()
        count = sum(1 for path in sorted(files) if self._add_from_file(path, seeds))
        if count:
            log.warning("rebuilt the index from %d conversation files", count)

    def _add_from_file(self, path: Path, seeds: dict[str, Any]) -> bool:
        """Put the conversation of one shard (`path`: its slot 0) into the index, from its newest
        copy; True if it has one."""
        cid = id_from_path(path)
        try:
            if cid is None:  # a shortened name: only the content says whose it is
                _, data, _ = read_slot(path, None, 0)
                conversation = (data or {}).get("conversation", {}).get("1")
                if not conversation:
                    return False  # only statuses waiting for a conversation that never came
                cid = str(conversation["id"])
            shard = Shard(path, cid)
        except OSError as exc:
            log.error("shard %s is unreadable: %r", path, exc)
            return False
        except DAMAGE as exc:
            cid = cid or next((c for c in seeds if shard_path(self._conversations_dir, c) == path), None)
            if cid is None:
                log.error("shard %s does not parse and its name does not say whose it is: %r", path, exc)
                return False
            shard = self._quarantine(cid, path, 0, exc, seeds.get(cid))
        self._index.set_slot(shard.id, shard.slot)
        self._refresh(shard)
        return shard.meta is not None

    def _reconcile(self, files: list[Path]) -> None:
        """The index was written with another number of shard files than there are: list every
        conversation that has a file, drop those that have none."""
        on_disk = set(files)
        known = {shard_path(self._conversations_dir, cid): cid for cid in self._index.ids()}
        added = [path for path in sorted(on_disk - known.keys()) if self._add_from_file(path, self._index.rows)]
        gone = [cid for path, cid in known.items() if path not in on_disk]
        self._index.drop(gone)
        if added or gone:
            log.warning(
                "the index %s did not match the %d conversation files: added %d conversation(s) from their files, "
                "removed %d that have no file",
                self._index.path, len(files), len(added), len(gone),
            )

    def rebuild_index(self) -> None:
        """Every summary again from the shard files, then written (`wadesk check --repair`)."""
        with self._write_lock:
            self._check_open()
            self._write_shards()
            files = shard_files(self._conversations_dir)
            self._shards.clear()
            self._transcripts.clear()
            self._shard_files = len(files)
            self._rebuild_index(files)
            self._flush_index()
