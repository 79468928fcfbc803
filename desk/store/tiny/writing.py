"""The TinyStore's write path: decide each record against its shard, journal what changed with
one sync per batch (the acknowledgement point), announce the changes; write the shards lazily;
and the index flush that empties the journal.

A record the journal took is held for its shard (recovery.py's `_held`: re-applied whenever the
shard is loaded again) until a shard flush writes the shard: every changed shard is written over
its other slot (files.py), all are made durable with one sync, and only then is each one's new
copy its current one. A shard flush runs when DIRTY_SHARDS shards wait, and before every index
flush, which only then may empty the journal. A kill or a power cut at any moment leaves each
shard's current copy whole (only the other was being written), and the journal holds everything
since the last index flush.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from desk import faults
from desk.atomic_storage import fsync_dir, sync_all
from desk.models import Event
from desk.store import interpreter, records, rules
from desk.store.contract import ChangeKind, ConversationUnavailable, StoreUnavailable
from desk.store.records import Record
from desk.store.tiny.recovery import Recovery
from desk.store.tiny.search_index import SearchIndex
from desk.store.tiny.shard import Shard
from desk.store.tiny.sidecars import Catalogues
from desk.summary import summarize, summary_after


class Writing(Recovery):
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

    DIRTY_SHARDS = 256
    """Write the shards when this many wait (and at every index flush): one sync for them all,
    and the memory their held records take stays bounded."""

    # The store's state this half uses besides the recovery's (set by TinyStore.__init__).
    _known_dirs: set[str]
    _catalogues: Catalogues | None
    _search: SearchIndex

    def apply_each(self, events: Sequence[Event], *, agent: str | None = None) -> list[str | None]:
        return [cid for cid, _ in self._mutate_all([records.from_event(e, agent) for e in events], agent)]

    def _mutate(self, record: Record, agent: str | None) -> tuple[str | None, object]:
        return self._mutate_all([record], agent)[0]

    def _mutate_all(self, batch: Sequence[Record], agent: str | None) -> list[tuple[str | None, object]]:
        """Decide each record against its shard, journal what changed with one sync (the
        acknowledgement point of them all), write each shard once, announce. Returns, per record,
        (the conversation id if it changed visibly, the op's result). On a failure before the
        journal took them, nothing of the batch counts and the exception says why."""
        with self._write_lock:
            self._check_open()
            results: list[tuple[str | None, object]] = [(None, None)] * len(batch)
            group: list[tuple[int, records.ShardRecord, Shard | None]] = []
            touched: dict[str, Shard] = {}
            for i, record in enumerate(batch):
                if isinstance(record, records.Templates):  # the catalogue, not a shard: in order
                    self._commit_group(group, touched, results, agent)
                    group, touched = [], {}
                    self._mutate_templates(record, agent)
                    continue
                try:
                    # A shard this batch changed is used again as it is now, never reloaded: the
                    # cache may have let it go (its records are not held until journaled).
                    shard = touched.get(record.cid) or self._shard(record.cid)
                except ConversationUnavailable:
                    if not isinstance(record, records.HOLDABLE):
                        self._forget(touched)
                        raise
                    group.append((i, record, None))  # journaled, then held for retry()
                    continue
                try:
                    changed, result = interpreter.apply(shard, record)
                except BaseException:
                    touched[shard.id] = shard
                    self._forget(touched)
                    raise
                results[i] = (None, result)
                if changed:
                    touched[shard.id] = shard
                    group.append((i, record, shard))
            self._commit_group(group, touched, results, agent)
            return results

    def _commit_group(
        self,
        group: list[tuple[int, records.ShardRecord, Shard | None]],
        touched: dict[str, Shard],
        results: list[tuple[str | None, object]],
        agent: str | None,
    ) -> None:
        if not group:
            return
        try:
            seqs = self._append_all([record for _, record, _ in group])
        except BaseException:
            self._forget(touched)
            raise
        for shard in touched.values():
            self._shards[shard.id] = shard  # the one copy with every change of the batch
            self._refresh(shard, live=True)
        for seq, (i, record, loaded) in zip(seqs, group):
            self._hold(record.cid, seq, record)  # until its shard is written
            if loaded is None or not loaded.exists or not interpreter.visible(record, results[i][1]):
                continue
            results[i] = (record.cid, results[i][1])
            self._changes.add(seq, ChangeKind.CONVERSATION, record.cid, agent=agent)
        self._maybe_flush()

    def _forget(self, touched: dict[str, Shard]) -> None:
        """Shards in memory ahead of their files and of the journal: the file (plus what is held
        for it) is the truth."""
        for cid in touched:
            self._evict(cid)

    def _mutate_templates(self, record: records.Templates, agent: str | None) -> None:
        assert self._catalogues is not None
        bn = record.business_number_id
        if self._catalogues.get(bn) == rules.catalogue_after(self._catalogues.get(bn), record.templates, record.synced_at):
            return
        seq = self._append(record)
        self._apply_templates(record)
        self._maybe_flush()
        self._changes.add(seq, ChangeKind.TEMPLATES, business_number_id=bn, agent=agent)

    def _apply_templates(self, record: records.Templates) -> None:
        assert self._catalogues is not None
        bn = record.business_number_id
        self._catalogues.put(bn, rules.catalogue_after(self._catalogues.get(bn), record.templates, record.synced_at))

    def _append(self, record: Record) -> int:
        return self._append_all([record])[0]

    def _append_all(self, batch: Sequence[Record]) -> list[int]:
        """Journal the records with one sync (the acknowledgement point) and return their seqs, or
        raise StoreUnavailable."""
        try:
            seqs = self._journal.append_all([record.to_doc() for record in batch])
        except OSError as exc:
            fault = faults.journal_full(self._journal.path, exc)
            self._set_fault(fault, exc)
            raise StoreUnavailable(fault) from exc
        if self._faults:
            self._clear_fault("journal", None)
        self._search.note(zip(seqs, batch))  # a cache: it lags at worst, never fails the write
        return seqs

    # --- shards ----------------------------------------------------------------------------------------

    def _evict(self, cid: str) -> None:
        self._shards.pop(cid, None)
        self._transcripts.pop(cid, None)

    def _commit(self, shard: Shard) -> None:
        """Write one shard now, durably (a rebuilt one)."""
        self._make_dir(shard.path.parent)
        target = shard.commit(self._journal.seq)
        if target is not None:
            self._current(shard, target)

    def _current(self, shard: Shard, target: Path) -> None:
        """The copy of `shard` at `target` is durable and now its current one: the index says so."""
        self._index.set_slot(shard.id, shard.slot)
        if shard.created and target == shard.path:  # a new slot 0: one file more to count at open
            self._shard_files += 1

    def _make_dir(self, directory: Path) -> None:
        if directory.name not in self._known_dirs:
            directory.mkdir(parents=True, exist_ok=True)
            fsync_dir(directory.parent)
            self._known_dirs.add(directory.name)

    def _write_shards(self) -> set[str]:
        """The shard flush: every shard with held records that can be loaded, written over its
        other slot (files.py), all made durable with one sync, the directories of new files
        fsync'd; what was held for them released. Returns the conversations written. A shard that
        cannot be written keeps its records held and is told as a fault; the others go on."""
        staged: list[tuple[Shard, Path]] = []
        seq = self._journal.seq
        for cid in sorted(self._held):
            try:
                shard = self._shard(cid)
            except ConversationUnavailable:
                continue  # told as a fault; retry() loads it when it can be read
            try:
                self._make_dir(shard.path.parent)
                shard.storage.dirty = True  # whatever it holds is what the file must get
                target = shard.stage(seq)
                if target is None:
                    self._release(cid)  # nothing at all to keep
                    continue
            except OSError as exc:
                shard.storage.dirty = True
                self._set_fault(faults.unwritable(cid, self._name(cid), shard.path, exc, len(self._held[cid])), exc)
                continue
            staged.append((shard, target))
        if not staged:
            return set()
        try:
            sync_all([target for _, target in staged])
            for directory in sorted({target.parent for shard, target in staged if shard.created}):
                fsync_dir(directory)
        except OSError:
            for shard, _ in staged:
                shard.storage.dirty = True
            raise
        written: set[str] = set()
        for shard, target in staged:
            shard.promote()
            self._current(shard, target)
            written.add(shard.id)
        for cid in written:
            self._release(cid)
        return written

    def _refresh(self, shard: Shard, *, live: bool = False) -> None:
        """The conversation's summary from its shard, into the in-memory index. `live`: a change
        of the write path, where the index's summary is the shard's before it (not so while the
        journal is replayed or a file rebuilt), so that new customer messages need not the
        transcript (summary_after)."""
        if shard.meta is None:
            return
        previous = self._index.get(shard.id) if live and not shard.reshaped else None
        summary = summary_after(previous, shard.meta, shard.appended) if previous is not None else None
        if summary is not None:
            self._index.put(summary, shard.id in self._index.in_flight)  # customer messages only
        else:
            transcript = shard.transcript
            self._index.put(summarize(shard.meta, transcript), rules.in_flight(transcript))
        shard.summarised()
        if shard.id in self._shards:
            self._transcripts[shard.id] = shard.snapshot()

    # --- the index -------------------------------------------------------------------------------------

    def _maybe_flush(self) -> None:
        journal = self._journal
        try:
            if journal.count >= self.INDEX_FLUSH_RECORDS or journal.size >= self.INDEX_FLUSH_BYTES:
                if ("index", None) in self._faults or any(f.conversation_id for f in self._faults.values()):
                    # The journal keeps growing until retry() has written what waits.
                    self._write_shards()
                    return
                self._flush_index()
            elif len(self._held) >= self.DIRTY_SHARDS:
                self._write_shards()
        except OSError as exc:
            self._set_fault(faults.index_unwritable(self._index.path, exc), exc)

    def _flush_index(self) -> None:
        """Write the shards, then the index atomically, then empty the journal it now covers.
        Records still held for a shard are not covered: the index says so, and the journal is
        kept."""
        self._write_shards()
        held = [seq for entries in self._held.values() for seq, _ in entries]
        self._index.write(min(held) - 1 if held else self._journal.seq, self._shard_files)
        if not self._held:
            self._search.commit()  # before the journal that could redo it is gone
            self._journal.reset()
