"""The TinyStore's write path: decide each record against its shard, journal what changed with
one sync per batch (the acknowledgement point), write each shard once, announce the changes; and
the index flush that empties the journal.

A shard's new content is fsync'd before it is renamed into place; the renames are made durable
(their directories fsync'd) once per flush, before the journal that could redo them is emptied.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from desk import faults
from desk.atomic_storage import fsync_dir
from desk.models import Event
from desk.store import rules
from desk.store.contract import ChangeKind, ConversationUnavailable, StoreUnavailable
from desk.store.tiny import records
from desk.store.tiny.records import Record
from desk.store.tiny.recovery import Recovery
from desk.store.tiny.shard import Shard
from desk.store.tiny.sidecars import Catalogues
from desk.summary import summarize


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

    # The store's state this half uses besides the recovery's (set by TinyStore.__init__).
    _known_dirs: set[str]
    _renamed_in: set[Path]
    _catalogues: Catalogues | None

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
                    shard = self._shard(record.cid)
                except ConversationUnavailable:
                    if not isinstance(record, records.HOLDABLE):
                        self._forget(touched)
                        raise
                    group.append((i, record, None))  # journaled, then held for retry()
                    continue
                try:
                    changed, result = records.apply(shard, record)
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
        failed: dict[str, OSError] = {}
        for shard in touched.values():
            try:
                self._commit(shard)
            except OSError as exc:
                # Durable in the journal already: the shard stays loaded, ahead of its file, and
                # its records wait for retry(). Every other conversation goes on.
                failed[shard.id] = exc
            else:
                if shard.id in self._held:
                    self._release(shard.id)
            self._refresh(shard)
        for seq, (i, record, loaded) in zip(seqs, group):
            if loaded is None or record.cid in failed:
                self._hold(record.cid, seq, record, failed.get(record.cid))
            if loaded is None or not loaded.exists or not records.visible(record, results[i][1]):
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
        return seqs

    # --- shards ----------------------------------------------------------------------------------------

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
        if shard.commit():
            self._renamed_in.add(directory)
        if new and shard.on_disk:
            self._shard_files += 1

    def _refresh(self, shard: Shard) -> None:
        """The conversation's summary from its shard, into the in-memory index."""
        if shard.meta is None:
            return
        transcript = shard.transcript
        self._index.put(summarize(shard.meta, transcript), rules.in_flight(transcript))
        if shard.id in self._shards:
            self._transcripts[shard.id] = transcript

    # --- the index -------------------------------------------------------------------------------------

    def _maybe_flush(self) -> None:
        journal = self._journal
        if journal.count >= self.INDEX_FLUSH_RECORDS or journal.size >= self.INDEX_FLUSH_BYTES:
            if self._held or ("index", None) in self._faults:
                return  # the journal keeps growing until retry() has written what waits
            try:
                self._flush_index()
            except OSError as exc:
                self._set_fault(faults.index_unwritable(self._index.path, exc), exc)

    def _flush_index(self) -> None:
        """Write the index atomically, then empty the journal it now covers. Records held for a
        shard are not covered: the index says so, and the journal is kept."""
        held = [seq for entries in self._held.values() for seq, _ in entries]
        for directory in sorted(self._renamed_in):
            fsync_dir(directory)
        self._renamed_in.clear()
        self._index.write(min(held) - 1 if held else self._journal.seq, self._shard_files)
        if not self._held:
            self._journal.reset()

