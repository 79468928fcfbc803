"""A PostgreSQL store's consumers share one tail (desk/store/pg/tail.py): one listening connection
however many follow; one resuming from further back than the in-memory log reads the database and
hands over to the log with no gap and no repeat while writes go on; the listening connection
killed, nothing is missed; close() ends it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

pytest.importorskip("psycopg")

import psycopg  # noqa: E402
from psycopg_pool import ConnectionPool  # noqa: E402

from desk.clock import FrozenClock  # noqa: E402
from desk.models import Customer  # noqa: E402
from desk.store.contract import ChangeKind  # noqa: E402
from desk.store.pg import PgStore, events, tail  # noqa: E402
from desk.store.pg.migrate import migrate  # noqa: E402
from tests.store_contract.builders import NOW, inbound  # noqa: E402
from tests.store_contract.changes import TIMEOUT, first  # noqa: E402

CONSUMERS = 50
GONE_TIMEOUT = 10.0
"""Seconds the server may take to end a session that was closed or killed (a guard, not a wait)."""


@pytest.fixture
def url(pg_url: str) -> str:
    migrate(pg_url)
    return pg_url


@pytest.fixture
def store(url: str) -> Iterator[PgStore]:
    with PgStore(url, clock=FrozenClock(NOW)) as opened:
        yield opened


def customer(n: int) -> Customer:
    return Customer(f"3161{n:08d}", f"Customer {n}")


def write(store: PgStore, first_n: int, count: int, batch: int = 1) -> None:
    """`count` inbound messages from customers numbered from `first_n`, `batch` to a transaction
    (each message a conversation of its own: one change each)."""
    for start in range(first_n, first_n + count, batch):
        store.apply_each([inbound(f"wamid.{n}", 0, customer=customer(n)) for n in range(start, min(start + batch, first_n + count))])


def committed(url: str, after: int) -> list[int]:
    with psycopg.connect(url) as conn:
        return [int(seq) for (seq,) in conn.execute("SELECT seq FROM events WHERE seq > %s ORDER BY seq", (after,))]


def listening(url: str) -> list[int]:
    """The backends of this database that listen for changes (their pids)."""
    dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s", (dbname, tail.NAME)
        ).fetchall()
    return [int(pid) for (pid,) in rows]


async def until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GONE_TIMEOUT
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.01)


async def test_fifty_consumers_share_one_listening_connection_and_each_gets_every_change_in_order(
    store: PgStore, url: str
) -> None:
    start = store.last_change()
    write(store, 0, 5)
    consumers = [store.changes(start) for _ in range(CONSUMERS)]
    following = [asyncio.create_task(first(changes, 5 + 40)) for changes in consumers]
    # While they catch up and follow, another thread writes: 40 more, in transactions of 1 to 3.
    await asyncio.to_thread(write, store, 5, 10)
    await asyncio.to_thread(write, store, 15, 30, 3)
    got = await asyncio.wait_for(asyncio.gather(*following), TIMEOUT * 2)
    assert len(listening(url)) == 1, "one listening connection for the store, whatever its consumers"
    expected = committed(url, start)
    assert len(expected) == 45
    for changes in got:
        assert [c.seq for c in changes] == expected
        assert {c.kind for c in changes} == {ChangeKind.CONVERSATION}
    for iterator in consumers:
        await iterator.aclose()  # type: ignore[attr-defined]
    await asyncio.to_thread(store.close)  # from another thread, as the hub closes it: waits for the tail
    await until(lambda: not listening(url), "the listening connection ended with the store")


@pytest.fixture
def pool(url: str) -> Iterator[ConnectionPool]:
    with ConnectionPool(url, min_size=1, max_size=2, kwargs={"autocommit": True}) as opened:
        yield opened


class CountedReads:
    """A Tails' read on a pool, counting the consumers' reads of the database."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.count = 0

    def __call__(self, query: Callable[[psycopg.Connection], events.Page]) -> events.Page:
        self.count += 1
        with self.pool.connection() as conn:
            return query(conn)


async def test_a_consumer_from_further_back_than_the_log_reads_the_database_then_follows_the_log_with_no_gap_and_no_repeat(
    store: PgStore, url: str, pool: ConnectionPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "PAGE", 20)  # pages of 20, a log of 5: each crossed with a few writes
    reads = CountedReads(pool)
    tails = tail.Tails(url, reads, keep=5)
    live = tails.follow(store.last_change())
    started = asyncio.create_task(first(live, 1))
    await asyncio.to_thread(write, store, 0, 1)
    await started  # the tail listens; its log keeps the latest 5
    write(store, 1, 70, batch=10)  # more than three pages, before it starts
    behind = tails.follow(0)
    writer = asyncio.create_task(asyncio.to_thread(write, store, 71, 50))  # and while it reads
    got = await first(behind, 71)
    await writer
    got += await first(behind, 50)
    assert [c.seq for c in got] == committed(url, 0), "every change once, in order"
    assert reads.count >= 3, "the pages before the log came from the database"

    # Caught up: what comes now comes from the log, with no read of its own.
    caught_up = reads.count
    await asyncio.to_thread(write, store, 5000, 3)
    assert [c.seq for c in await first(behind, 3)] == committed(url, got[-1].seq)
    assert reads.count == caught_up

    # Fallen further behind than the log keeps while following it: back to the database, then
    # the log (a consumer that keeps up tells when the tail has read all 20).
    last = store.last_change()
    watcher = tails.follow(last)
    watched = asyncio.create_task(first(watcher, 20))
    await asyncio.to_thread(write, store, 6000, 20)
    await watched
    before = reads.count
    again = await first(behind, 20)
    assert [c.seq for c in again] == committed(url, last) and ChangeKind.RESYNC not in {c.kind for c in again}
    assert reads.count > before
    await asyncio.to_thread(write, store, 7000, 1)
    assert [c.seq for c in await first(behind, 1)] == committed(url, again[-1].seq)
    for changes in (live, behind, watcher):
        await changes.aclose()  # type: ignore[attr-defined]
    tails.close()


async def test_the_listening_connection_killed_consumers_miss_nothing(
    store: PgStore, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Down for half a second: the writes below commit while nobody listens (their rings are lost).
    monkeypatch.setattr(tail, "BACKOFF", (0.5, 0.5))
    start = store.last_change()
    consumers = [store.changes(start) for _ in range(3)]
    write(store, 0, 2)
    for changes in consumers:
        assert [c.seq for c in await first(changes, 2)] == committed(url, start)
    (killed,) = listening(url)
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (killed,)).fetchone() == (True,)
    await until(lambda: killed not in listening(url), "the killed session gone")
    seen = store.last_change()
    await asyncio.to_thread(write, store, 2, 5)
    # Nothing rings again: the tail, back, reads what it missed by seq.
    for changes in consumers:
        assert [c.seq for c in await first(changes, 5)] == committed(url, seen)
    (back,) = listening(url)
    assert back != killed
    for changes in consumers:
        await changes.aclose()  # type: ignore[attr-defined]


async def test_a_trim_resyncs_consumers_from_before_it_though_the_log_still_held_those_changes(
    store: PgStore, url: str
) -> None:
    start = store.last_change()
    lagging = store.changes(start)
    started = asyncio.create_task(first(lagging, 1))
    await asyncio.to_thread(write, store, 0, 1)
    await started
    await asyncio.to_thread(write, store, 1, 4)  # in the tail's log; `lagging` reads none of them yet
    newest = store.last_change()
    watcher = store.changes(newest)
    assert store.trim_events(NOW + timedelta(days=1)) == 4  # the newest stays
    await asyncio.to_thread(write, store, 5, 1)
    (latest,) = committed(url, newest)
    assert [c.seq for c in await first(watcher, 1)] == [latest]  # the tail has read past the trim
    resumed = store.changes(start)
    for behind in (resumed, lagging):
        (resync,) = await first(behind, 1)
        assert (resync.kind, resync.seq) == (ChangeKind.RESYNC, latest)
    await asyncio.to_thread(write, store, 6, 1)
    (after,) = committed(url, latest)
    for changes in (resumed, lagging, watcher):
        assert [c.seq for c in await first(changes, 1)] == [after]
        await changes.aclose()  # type: ignore[attr-defined]
