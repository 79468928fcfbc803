"""The store's append-only journal: one orjson line per mutation, fsync'd before it counts.

A record is acknowledged once `append` returns. Records carry an increasing `seq`. Reading stops
being strict at the end: a last line cut short by a kill mid-append is ignored, never fatal (it was
never acknowledged). `reset` replaces the journal atomically by one holding only a start mark,
`{"op": "base", "seq": S}` (after the index that covers records up to S has been written): an index
older than the journal it meets at open (S above the index's seq: an old copy put back) is then
seen, and rebuilt.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import orjson

from desk.atomic_storage import fsync_dir, write_file_atomic

log = logging.getLogger(__name__)

_fdatasync = getattr(os, "fdatasync", os.fsync)
_O_BINARY = getattr(os, "O_BINARY", 0)


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.seq = 0
        """The seq of the last record written (or covered by the index)."""
        self.count = 0
        """Records in the file now."""
        self.size = 0
        """Bytes in the file now."""
        self.base: int | None = None
        """The start mark read: every record up to this seq is in the shards. None: no mark (the
        journal was lost, or written before marks existed)."""
        self.garbled = False
        """Whether read() met an unreadable record before the last line (records were lost)."""

    # --- reading ------------------------------------------------------------------------------------

    def read(self) -> tuple[list[dict[str, Any]], bool]:
        """Every whole record in the file, in order, and whether anything had to be skipped."""
        self.base, self.garbled = None, False
        try:
            content = self.path.read_bytes()
        except FileNotFoundError:
            return [], False
        records: list[dict[str, Any]] = []
        skipped = False
        lines = content.split(b"\n")
        last = len(lines) - 1
        for number, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
                    raise ValueError("not a journal record")
            except (orjson.JSONDecodeError, ValueError):
                skipped = True
                if number == last:
                    log.warning("journal %s: ignoring a torn last record (killed mid-append)", self.path)
                else:
                    self.garbled = True
                    log.error("journal %s: skipping unreadable record on line %d", self.path, number + 1)
                continue
            if record.get("op") == "base":
                self.base = record["seq"]
                continue
            if number == last:
                # Whole JSON but no newline: the append was cut before its end. It may or may not
                # have been acknowledged; applying it is harmless (every record is idempotent).
                skipped = True
            records.append(record)
        return records, skipped

    # --- writing ------------------------------------------------------------------------------------

    def open(self, seq: int, count: int, size: int | None = None) -> None:
        """Open for appending; the next record gets seq + 1."""
        existed = self.path.exists()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _O_BINARY, 0o644)
        if not existed:
            fsync_dir(self.path.parent)
        self.seq = seq
        self.count = count
        self.size = os.fstat(self._fd).st_size if size is None else size

    def append(self, record: dict[str, Any]) -> int:
        """Write one record durably; returns its seq. `record` gets its "seq" key set."""
        return self.append_all([record])[-1]

    def append_all(self, records: list[dict[str, Any]]) -> list[int]:
        """Write records durably with one sync (a group commit); returns their seqs. Each record
        gets its "seq" key set. All or none: on a failure nothing of them counts."""
        if self._fd is None:
            raise RuntimeError("the journal is not open")
        seqs = list(range(self.seq + 1, self.seq + 1 + len(records)))
        for seq, record in zip(seqs, records):
            record["seq"] = seq
        lines = b"".join(orjson.dumps(record) + b"\n" for record in records)
        try:
            view = memoryview(lines)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            _fdatasync(self._fd)
        except BaseException:
            # A disk full or an I/O error: take the partial lines back so the next append does not
            # glue onto them. The records are not acknowledged.
            try:
                os.ftruncate(self._fd, self.size)
            except OSError:
                pass
            raise
        self.seq = seqs[-1] if seqs else self.seq
        self.count += len(records)
        self.size += len(lines)
        return seqs

    def reset(self) -> None:
        """Replace the journal by one holding only its start mark, atomically (seq keeps counting).
        If that fails (a full disk), the old journal stays open and whole."""
        mark = orjson.dumps({"op": "base", "seq": self.seq}) + b"\n"
        write_file_atomic(self.path, mark)
        self.close()
        self.open(self.seq, 0, len(mark))
        self.base = self.seq

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
