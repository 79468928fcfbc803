"""The changes a store has made, numbered, kept for a while and followed by any number of
consumers on event loops (the desk's screens, `wadesk serve`'s log, later a hub's agents).

A store in one process announces each change here as it makes it, from its writer thread; a
shared store would feed it from its database's notifications instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator

from desk.store.contract import Change, ChangeKind

KEEP = 10_000
"""Changes kept for consumers that fall behind (a few minutes of a busy team's traffic); one
further back than this reads everything again (a RESYNC change)."""


class ChangeLog:
    def __init__(self, keep: int = KEEP) -> None:
        self._lock = threading.Lock()
        self._kept: deque[Change] = deque(maxlen=keep)
        self._seq = 0
        self._start = 0
        """The number this log started from: a consumer resuming from before it (or from a
        number a previous run gave out, beyond it) resyncs."""
        self._waiting: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def start(self, seq: int) -> None:
        """Begin after `seq` (the store's journal position at open)."""
        with self._lock:
            self._kept.clear()
            self._seq = self._start = seq

    @property
    def last(self) -> int:
        return self._seq

    def add(
        self,
        seq: int,
        kind: ChangeKind,
        conversation_id: str | None = None,
        business_number_id: str | None = None,
        agent: str | None = None,
    ) -> Change:
        """Announce a change numbered `seq` (above every number before it)."""
        with self._lock:
            if seq <= self._seq:
                raise ValueError(f"change {seq} is not after change {self._seq}")
            self._seq = seq
            change = Change(seq, kind, conversation_id, business_number_id, agent)
            self._kept.append(change)
            waiting = list(self._waiting)
        for loop, event in waiting:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # its loop has closed; the consumer is gone
                with self._lock:
                    self._waiting.discard((loop, event))
        return change

    def since(self, after: int) -> list[Change] | None:
        """The kept changes after `after`, or None when they are not all kept."""
        with self._lock:
            if after == self._seq:
                return []
            first = self._kept[0].seq if self._kept else self._seq + 1
            if after > self._seq or after < self._start or after < first - 1:
                return None
            return [c for c in self._kept if c.seq > after]

    async def follow(self, after: int) -> AsyncIterator[Change]:
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        with self._lock:
            self._waiting.add(entry)
        try:
            while True:
                event.clear()
                batch = self.since(after)
                if batch is None:
                    after = self.last
                    yield Change(after, ChangeKind.RESYNC)
                    continue
                for change in batch:
                    yield change
                    after = change.seq
                if not batch:
                    await event.wait()
        finally:
            with self._lock:
                self._waiting.discard(entry)
