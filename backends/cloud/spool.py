"""Webhook bodies made durable before WhatsApp gets its 200.

Meta retries anything but a 200 for up to 7 days, and never again after one: so a body is written
and fsync'd here first, answered, and only then parsed and applied to the store. If the desk dies
in between, the next start replays what was not marked done (the store applies idempotently, so a
replay that repeats work is harmless).

Layout, in the data directory:
  webhooks.spool   records "<seq> <length>\\n<body>\\n", appended; a torn last record (killed
                   mid-write, so never answered 200) is ignored
  webhooks.done    "<seq>": every record up to it is applied (written atomically, lazily: a lost
                   update only means some replays)

Appends from concurrent requests are committed together: one write and one fsync for every body
that arrived while the previous fsync ran (group commit), which is what lets one receiver accept
about a thousand webhooks a second on a slow disk.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from desk.atomic_storage import write_file_atomic

COMPACT_BYTES = 16 * 1024 * 1024
"""Once everything is applied and the spool is this big, it starts again empty."""
DONE_EVERY = 64
"""Records between writes of webhooks.done (and at close)."""


class Spool:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "webhooks.spool"
        self._done_path = data_dir / "webhooks.done"
        self._file = None
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
        try:
            self._done = int(self._done_path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            self._done = 0
        self._done_written = self._done
        records, good_end = _read(self.path)
        with open(self.path, "ab") as f:  # drop a torn tail so the next record starts clean
            f.truncate(good_end)
        self._file = open(self.path, "ab", buffering=0)
        last = records[-1][0] if records else self._done
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
                except Exception as exc:  # the disk failed: no 200 for any of them
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
            chunks.append(b"%d %d\n" % (first + offset, len(body)))
            chunks.append(body)
            chunks.append(b"\n")
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
        """Every record up to `seq` is applied (the caller applies them in order)."""
        self._done = max(self._done, seq)
        if self._done - self._done_written >= DONE_EVERY:
            self._done_written = self._done
            # On the spool's own thread: it owns the file, and the event loop must not wait on disk.
            self._executor.submit(self._write_done, self._done)

    def _write_done(self, done: int) -> None:
        # Replaced, not synced: a lost update only means a few replays, which change nothing.
        tmp = self._done_path.with_name(self._done_path.name + ".tmp")
        tmp.write_text(str(done))
        os.replace(tmp, self._done_path)
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


def _read(path: Path) -> tuple[list[tuple[int, bytes]], int]:
    """The complete records in the spool file, and the offset where the last complete one ends."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    records, position = [], 0
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
        records.append((seq, data[newline + 1 : end]))
        position = end + 1
    return records, position
