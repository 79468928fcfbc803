"""A PostgreSQL store's changes, read once for all its consumers (docs/storage.md, "Changes").

Per store instance and per event loop it is followed on (a hub uses one): ONE tail, that is one
connection listening on the doorbell (application_name `wadesk-changes`) and one task that, at each
ring (or every DOORBELL_TIMEOUT seconds), reads the new events by seq into a ChangeLog of the latest
KEEP. A consumer that is caught up follows that log and queries nothing; one resuming from further
back than the log holds reads pages from the database on the store's pool until the log holds what
comes next, then follows the log: both are read by seq, so the hand-over has no gap and no repeat.
(One connection and one query per ring a replica, where a connection and a query a consumer made
500 agents need more connections than PostgreSQL's default 100: ../shared/reference/team-scale.md.)
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import aclosing
from functools import partial
from typing import TypeVar

import psycopg

from desk.store.changes import KEEP, ChangeLog
from desk.store.contract import Change, ChangeKind
from desk.store.pg import events
from desk.store.pg.connect import CONNECT_TIMEOUT, unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
Read = Callable[[Callable[[psycopg.Connection], T]], T]
"""The store's read on a pooled connection (PgStore._read: StoreClosed, StoreUnavailable)."""

NAME = "wadesk-changes"
"""The listening connection's application_name (what pg_stat_activity shows)."""
BACKOFF = (0.1, 5.0)
"""Seconds before trying a lost listening connection again: the first, and at most (doubling)."""
STOP_TIMEOUT = 5.0
"""Seconds close() waits for a tail on another thread's loop to close its connection."""


class Tail:
    """One store's listening connection and in-memory log on one event loop."""

    def __init__(self, conninfo: str, loop: asyncio.AbstractEventLoop, keep: int) -> None:
        self.log = ChangeLog(keep)
        self._conninfo = conninfo
        self._loop = loop
        self._starting = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection | None = None
        self._floor = 0
        """The database's floor as last read: the log lets go of what it rises over."""
        self._read_once = asyncio.Event()
        """Set at the end of each read of the database (then replaced): what consumers waiting for
        the tail to read further wait on."""

    async def start(self) -> None:
        """Listen and begin the log at the latest change, once; StoreUnavailable when the database
        cannot be reached (the next consumer tries again)."""
        async with self._starting:
            if self._task is not None and not self._task.done():
                return
            if self._task is None:
                try:
                    conn = await self._listen()
                    try:
                        begin = await events.bounds(conn)
                    except BaseException:
                        await conn.close()
                        raise
                except psycopg.Error as exc:
                    raise unavailable(self._conninfo, exc) from None
                self._conn, self._floor = conn, begin.floor
                self.log.start(begin.newest)
            # else its task ended (cancelled by its loop's owner): a new one reads on from the log's last
            self._task = self._loop.create_task(self._run(), name=NAME)

    async def _listen(self) -> psycopg.AsyncConnection:
        conn = await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, application_name=NAME, connect_timeout=CONNECT_TIMEOUT
        )
        try:
            # Listening before the first read: a commit after it rings, one before it is read.
            await conn.execute(f"LISTEN {events.CHANNEL}")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _run(self) -> None:
        delay = BACKOFF[0]
        try:
            while True:
                try:
                    if self._conn is None:
                        self._conn = await self._listen()
                        log.info("the event log's listening connection is back")
                    await self._read(self._conn)
                    delay = BACKOFF[0]
                    # One ring wakes it; the others that came meanwhile are drained: one read for
                    # a burst (psycopg keeps a ring that comes during a read for the next wait).
                    async for _ in self._conn.notifies(timeout=events.DOORBELL_TIMEOUT, stop_after=1):
                        pass
                    async for _ in self._conn.notifies(timeout=0):
                        pass
                except psycopg.Error as exc:
                    # Lost (a restart, a network cut, pg_terminate_backend): what committed while
                    # it was down is read by seq from where the log is, once it is back.
                    log.warning("the event log's listening connection failed (%s); again in %.1f s", exc, delay)
                    await self._drop()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, BACKOFF[1])
        finally:
            await self._drop()

    async def _read(self, conn: psycopg.AsyncConnection) -> None:
        """Every change after the log's last into the log, in order."""
        while True:
            after = self.log.last
            page = await events.page_async(conn, after)
            if page.floor > self._floor:  # a trim: the log forgets what the database forgot
                self._floor = page.floor
                self.log.let_go(page.floor)
            if after < page.floor:
                continue  # the rows read may follow a gap the trim made: read again from the floor
            for change in page.changes:
                self.log.add(change.seq, change.kind, change.conversation_id, change.business_number_id, change.agent)
            if len(page.changes) < events.PAGE:
                break
        done, self._read_once = self._read_once, asyncio.Event()
        done.set()

    async def read_further(self) -> None:
        """Wait for the tail's next read of the database."""
        await self._read_once.wait()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def stop(self) -> None:
        """Close the listening connection, from any thread: awaited when the tail's loop runs on
        another thread; when it runs this code, the task's cancellation closes it at its next turn;
        when it runs no more, the connection is closed at once."""
        task = self._task
        if task is None:
            return
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self._loop:
            task.cancel()
        elif self._loop.is_running():
            future = asyncio.run_coroutine_threadsafe(_cancelled(task), self._loop)
            try:
                future.result(STOP_TIMEOUT)
            except FutureTimeout:
                log.warning("the event log's listening connection did not close in %.0f s", STOP_TIMEOUT)
        else:
            if not self._loop.is_closed():
                task.cancel()  # should its loop run again, the task ends there
            self.abandon()

    def abandon(self) -> None:
        """Its loop runs no more: end the connection's session now (the task cannot run again)."""
        if self._conn is not None:
            self._conn.pgconn.finish()
            self._conn = None


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class Tails:
    """A store's tails: one per event loop it is followed on."""

    def __init__(self, conninfo: str, read: Read[events.Page], keep: int = KEEP) -> None:
        self._conninfo = conninfo
        self._read = read
        self._keep = keep
        self._lock = threading.Lock()
        self._tails: dict[asyncio.AbstractEventLoop, Tail] = {}

    def _tail(self) -> Tail:
        loop = asyncio.get_running_loop()
        with self._lock:
            for gone in [t for t in self._tails.values() if t.loop.is_closed()]:
                gone.abandon()
                del self._tails[gone.loop]
            tail = self._tails.get(loop)
            if tail is None:
                tail = self._tails[loop] = Tail(self._conninfo, loop, self._keep)
        return tail

    def close(self) -> None:
        """Stop every tail (PgStore.close); a later consumer starts a new one."""
        with self._lock:
            tails, self._tails = list(self._tails.values()), {}
        for tail in tails:
            tail.stop()

    async def follow(self, after: int) -> AsyncIterator[Change]:
        """Every change after `after`, in order, then each one as it commits, by any writer on the
        database; one RESYNC first when `after` is older than what is kept or newer than the last."""
        tail = self._tail()
        await tail.start()
        while True:
            # From the database: the first read (its bounds decide a RESYNC, as they always have)
            # and each one of what the log does not hold (a consumer resuming from far back).
            page = await asyncio.to_thread(self._read, partial(events.page, after=after))
            if page.resyncs(after):
                after = page.newest
                yield Change(after, ChangeKind.RESYNC)
                continue
            for change in page.changes:
                yield change
                after = change.seq
            if len(page.changes) == events.PAGE:
                continue
            if tail.log.since(after) is None:
                if after > tail.log.last:
                    await tail.read_further()  # the log is behind the database: its tail reads on the ring
                # else the log let go of what follows `after` while it read: read on from the database
                continue
            async with aclosing(tail.log.follow(after)) as held:
                async for change in held:
                    if change.kind is ChangeKind.RESYNC:
                        break  # the log let go of what follows `after`: read on from the database
                    yield change
                    after = change.seq
