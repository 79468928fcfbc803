"""The changes a store has made, numbered, kept for a while and followed by any number of
consumers on event loops (the desk's screens, `wadesk serve`'s log, later a hub's agents).

A store in one process announces each change here as it makes it, from its writer thread; a
shared store would feed it from its database's notifications instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncGenerator

from desk.store.contract import Change, ChangeKind

KEEP = 10_000
"""Changes kept for consumers that fall behind (a few minutes of a busy team's traffic); one
further back than this reads everything again (a RESYNC change)."""


class _Waiter:
    """A consumer waiting on its loop. `armed`: it wants to hear of the next change; cleared by
    the first change that tells it, so that a burst wakes it once, not once a change."""

    __slots__ = ("armed", "event", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.event = asyncio.Event()
        self.armed = False


class ChangeLog:
    def __init__(self, keep: int = KEEP) -> None:
        self._lock = threading.Lock()
        self._kept: deque[Change] = deque(maxlen=keep)
        self._seq = 0
        self._floor = 0
        """Changes up to this number are not all kept (before this log started, from a
        previous run, or let go of): a consumer resuming from further back resyncs."""
        self._waiting: set[_Waiter] = set()

    def start(self, seq: int) -> None:
        """Begin after `seq` (the store's journal position at open)."""
        with self._lock:
            self._kept.clear()
            self._seq = self._floor = seq

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
            if len(self._kept) == self._kept.maxlen:
                self._floor = self._kept[0].seq  # let go of by the append below
            self._seq = seq
            change = Change(seq, kind, conversation_id, business_number_id, agent)
            self._kept.append(change)
        self._wake()
        return change

    def _wake(self) -> None:
        """Tell each consumer that wants to hear (it armed before it read: none misses one)."""
        with self._lock:
            waking = [w for w in self._waiting if w.armed]
            for waiter in waking:
                waiter.armed = False
        for waiter in waking:
            try:
                waiter.loop.call_soon_threadsafe(waiter.event.set)
            except RuntimeError:  # its loop has closed; the consumer is gone
                with self._lock:
                    self._waiting.discard(waiter)

    def since(self, after: int) -> list[Change] | None:
        """The kept changes after `after`, or None when they are not all kept. From the newest
        back: a consumer that keeps up reads only what is new."""
        with self._lock:
            if after > self._seq or after < self._floor:
                return None
            found = []
            for change in reversed(self._kept):
                if change.seq <= after:
                    break
                found.append(change)
        found.reverse()
        return found

    async def follow(self, after: int) -> AsyncGenerator[Change, None]:
        waiter = _Waiter(asyncio.get_running_loop())
        with self._lock:
            self._waiting.add(waiter)
        try:
            while True:
                waiter.event.clear()
                waiter.armed = True  # before reading: a change after this point wakes it
                batch = self.since(after)
                if batch is None:
                    after = self.last
                    yield Change(after, ChangeKind.RESYNC)
                    continue
                for change in batch:
                    yield change
                    after = change.seq
                if not batch:
                    await waiter.event.wait()
        finally:
            with self._lock:
                self._waiting.discard(waiter)

    def let_go(self, upto: int) -> None:
        """Forget the kept changes numbered up to `upto`, which their source no longer holds (a
        shared store's trimmed log), and go on after it; wakes every consumer waiting, so that
        one from before `upto` resyncs as it would have from the source."""
        with self._lock:
            while self._kept and self._kept[0].seq <= upto:
                self._kept.popleft()
            self._floor = max(self._floor, upto)
            self._seq = max(self._seq, upto)
        self._wake()
