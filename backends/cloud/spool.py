"""Webhook bodies made durable before WhatsApp gets its 200.

Meta retries anything but a 200 for up to 7 days, and never again after one: so a body is written
and fsync'd here first, answered, and only then parsed and applied to the store. If the desk dies
in between, the next start replays what was not marked done (the store applies idempotently, so a
replay that repeats work is harmless).

Layout, in the data directory:
  webhooks.spool   records appended one after another, each a 20-byte header then the body:
                   MAGIC (4 bytes), seq (u64), body length (u32), CRC-32 of seq + length + body
                   (u32), big-endian. The records are self-delimiting and checksummed, so a
                   damaged record (a changed byte) is reported with its offset and skipped: the
                   reader resynchronises at the next MAGIC whose record checks out, and every
                   intact record after it is still read. Only a torn tail (a last record cut short
                   by a kill mid-write, so never answered 200) is dropped. MAGIC holds a NUL and a
                   0xFF byte, which no JSON body (UTF-8 text) contains, so a customer's text can
                   never pose as a record. A spool in the first format ("<seq> <length>\\n<body>\\n")
                   is converted at open.
  webhooks.done    "<seq>": the high watermark. Every record up to it has had every one of its
                   events made durable by the store (journal), which is the only thing that lets
                   a body be forgotten. Bodies are applied one at a time in seq order, so one
                   number says it all. Written atomically, lazily: a lost update only means some
                   replays.

Appends from concurrent requests are committed together: one write and one fsync for every body
that arrived while the previous fsync ran (group commit), which is what lets one receiver accept
about a thousand webhooks a second on a slow disk.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from desk.atomic_storage import write_file_atomic

log = logging.getLogger(__name__)

COMPACT_BYTES = 16 * 1024 * 1024
"""Once everything is applied and the spool is this big, it starts again empty."""
DONE_EVERY = 64
"""Records between writes of webhooks.done (and at close)."""

MAGIC = b"\x00\xffWR"
HEADER = struct.Struct(">4sQII")
HEADER_SIZE = HEADER.size


def encode(seq: int, body: bytes) -> bytes:
    """One spool record."""
    crc = zlib.crc32(body, zlib.crc32(struct.pack(">QI", seq, len(body))))
    return HEADER.pack(MAGIC, seq, len(body), crc) + body


@dataclass
class Scan:
    """What a spool file holds."""

    records: list[tuple[int, bytes]] = field(default_factory=list)
    damaged: list[tuple[int, int]] = field(default_factory=list)
    """(offset, bytes skipped) of every damaged stretch."""
    end: int = 0
    """Where the intact file ends: a torn tail starts here (or the file's size)."""
    old_format: bool = False


def scan(data: bytes) -> Scan:
    """Every intact record in `data`, resynchronising past damage."""
    if data[:1].isdigit() and MAGIC not in data:
        return _scan_old(data)
    result, position, size = Scan(), 0, len(data)
    while position < size:
        torn = False
        if data.startswith(MAGIC, position):
            if position + HEADER_SIZE > size:
                torn = True
            else:
                _, seq, length, crc = HEADER.unpack_from(data, position)
                end = position + HEADER_SIZE + length
                if end > size:
                    torn = True
                else:
                    body = data[position + HEADER_SIZE : end]
                    if zlib.crc32(body, zlib.crc32(data[position + 4 : position + 16])) == crc:
                        result.records.append((seq, body))
                        position = end
                        continue
        elif size - position < len(MAGIC) and MAGIC.startswith(data[position:]):
            torn = True
        following = data.find(MAGIC, position + 1)
        if following < 0:
            if torn:  # cut short by a kill mid-write: never acknowledged
                break
            following = size
        result.damaged.append((position, following - position))
        position = following
    result.end = position
    return result


def _scan_old(data: bytes) -> Scan:
    """The first format, "<seq> <length>\\n<body>\\n", which had no checksum: read up to the first
    record that does not parse (the old reader's rule)."""
    result, position = Scan(old_format=True), 0
    while position < len(data):
        newline = data.find(b"\n", position)
        if newline < 0:
            break
        try:
            seq_text, length_text = data[position:newline].split(b" ")
            seq, length = int(seq_text), int(length_text)
        except ValueError:
            break
        end = newline + 1 + length
        if end + 1 > len(data) or data[end : end + 1] != b"\n":
            break
        result.records.append((seq, data[newline + 1 : end]))
        position = end + 1
    if position < len(data):
        result.damaged.append((position, len(data) - position))
    result.end = len(data)
    return result


def read(path: Path) -> Scan:
    """Scan the spool file at `path`; an absent one is empty."""
    try:
        return scan(path.read_bytes())
    except FileNotFoundError:
        return Scan()


def read_done(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def report(path: Path, found: Scan) -> None:
    for offset, length in found.damaged:
        log.warning(
            "webhook spool %s: a damaged record at offset %d (%d bytes) was skipped; every intact record after it is read",
            path, offset, length,
        )


class Spool:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "webhooks.spool"
        self._done_path = data_dir / "webhooks.done"
        self._file: io.FileIO | None = None
        self._next_seq = 1
        self._done = 0
        self._done_written = 0
        self._pending: list[tuple[bytes, asyncio.Future[int]]] = []
        self._broken = False
        self._flushing = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-spool")

    def open(self) -> list[tuple[int, bytes]]:
        """Open for appending; returns the records not yet applied, oldest first, to replay."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._done = read_done(self._done_path)
        self._done_written = self._done
        found = read(self.path)
        report(self.path, found)
        if found.old_format:
            # Converted once, atomically: from now on every record is checksummed. What the old
            # reader could not read is kept beside it, never deleted.
            if found.damaged:
                os.replace(self.path, self.path.with_name(self.path.name + ".old-format"))
            write_file_atomic(self.path, b"".join(encode(seq, body) for seq, body in found.records))
            log.info("webhook spool %s: converted %d records to the checksummed format", self.path, len(found.records))
        elif self.path.exists() and found.end < self.path.stat().st_size:
            log.warning("webhook spool %s: dropping a torn last record at offset %d (killed mid-write)", self.path, found.end)
            with open(self.path, "ab") as f:  # so the next record starts clean
                f.truncate(found.end)
        self._file = open(self.path, "ab", buffering=0)
        records = found.records
        last = max((seq for seq, _ in records), default=self._done)
        self._next_seq = max(last, self._done) + 1
        return [(seq, body) for seq, body in records if seq > self._done]

    async def append(self, body: bytes) -> int:
        """Make `body` durable; returns its sequence number once it is on disk."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._pending.append((body, future))
        if not self._flushing:
            self._flushing = True
            loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    first = await loop.run_in_executor(self._executor, self._write, [b for b, _ in batch])
                except Exception as exc:  # noqa: BLE001 - the disk failed: no 200 for any of them, each told why
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for offset, (_, future) in enumerate(batch):
                    if not future.done():
                        future.set_result(first + offset)
        finally:
            self._flushing = False

    def _write(self, bodies: list[bytes]) -> int:
        if self._broken:
            raise OSError("the webhook spool could not be repaired after a failed write; restart wadesk")
        first = self._next_seq
        chunks = []
        for offset, body in enumerate(bodies):
            chunks.append(encode(first + offset, body))
        fd = self._file.fileno() if self._file is not None else -1
        good_end = os.lseek(fd, 0, os.SEEK_END)
        try:
            data = memoryview(b"".join(chunks))
            while data:
                data = data[os.write(fd, data) :]
            os.fdatasync(fd)
        except OSError:
            # Half a batch on disk would cut every later (acknowledged) body off at the next open:
            # take it back, or refuse everything from now on (500s, which Meta retries).
            try:
                os.ftruncate(fd, good_end)
                os.fsync(fd)
            except OSError:
                self._broken = True
            raise
        self._next_seq = first + len(bodies)
        return first

    def done(self, seq: int) -> None:
        """Every event of every record up to `seq` is durable in the store (its journal): the
        caller applies the bodies in seq order and calls this only then. A body whose events
        could not be made durable (a full disk) is never marked done: it waits here."""
        self._done = max(self._done, seq)
        if self._done - self._done_written >= DONE_EVERY:
            self._done_written = self._done
            # On the spool's own thread: it owns the file, and the event loop must not wait on disk.
            self._executor.submit(self._write_done, self._done)

    def _write_done(self, done: int) -> None:
        # Replaced, not synced: a lost update only means a few replays, which change nothing.
        write_file_atomic(self._done_path, str(done).encode(), sync=False)
        if done == self._next_seq - 1 and self._file is not None and self._file.tell() >= COMPACT_BYTES:
            self._file.close()
            write_file_atomic(self.path, b"")
            self._file = open(self.path, "ab", buffering=0)

    def close(self) -> None:
        if self._file is not None:
            self._executor.submit(self._write_done, self._done).result()
            self._file.close()
            self._file = None
        self._executor.shutdown(wait=True)
