"""The hub's webhook endpoint (hub/ingest.py) and its applier (hub/applier.py), on a real
PostgreSQL over real HTTP on loopback: a body is a row before its 200, once whoever got it."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from desk.clock import FrozenClock
from desk.models import Direction, MessageStatus, StatusChanged, conversation_id
from desk.store.pg.migrate import migrate
from desk.store.tiny import TinyStore
from emulator.encode import webhook_bytes
from engine.pump import Ingest
from engine.writer import StoreWriter
from hub.applier import Applier
from tests.conftest import NOW
from tests.hub_fixtures import (
    SALES,
    SUPPORT,
    body_of,
    customer,
    inbound,
    inbox_rows,
    outgoing,
    pool_on,
    post,
    signed,
    webhook_server,
)


@pytest.fixture
def db(pg_url: str) -> str:
    migrate(pg_url)
    return pg_url


async def test_a_signed_body_is_one_row_before_its_200(db: str, clock: FrozenClock) -> None:
    body = body_of([inbound(1, "wamid.one")])
    async with webhook_server(db, clock) as url, httpx.AsyncClient() as client:
        assert await post(client, url, body) == 200
    assert [raw for _, raw, _ in inbox_rows(db)] == [body]


@pytest.mark.parametrize("headers", [
    pytest.param({"X-Hub-Signature-256": "sha256=" + "0" * 64}, id="wrong"),
    pytest.param({}, id="missing"),
    pytest.param("another secret", id="another-secret"),
])
async def test_a_bad_signature_is_401_and_nothing_is_stored(db: str, clock: FrozenClock, headers) -> None:
    body = body_of([inbound(1, "wamid.one")])
    if isinstance(headers, str):
        headers = signed(body, headers)
    async with webhook_server(db, clock) as url, httpx.AsyncClient() as client:
        assert await post(client, url, body, headers) == 401
    assert inbox_rows(db) == []


async def test_the_same_body_three_times_in_turn_and_at_once_is_one_row(db: str, clock: FrozenClock) -> None:
    first, second = body_of([inbound(1, "wamid.a")]), body_of([inbound(2, "wamid.b")])
    async with webhook_server(db, clock) as url, httpx.AsyncClient() as client:
        assert [await post(client, url, first) for _ in range(3)] == [200] * 3
        assert await asyncio.gather(*(post(client, url, second) for _ in range(3))) == [200] * 3
    assert [raw for _, raw, _ in inbox_rows(db)] == [first, second]


async def test_the_same_body_to_two_replicas_at_once_is_one_row(db: str, clock: FrozenClock) -> None:
    bodies = [body_of([inbound(n, f"wamid.{n}")]) for n in range(20)]
    async with webhook_server(db, clock) as a, webhook_server(db, clock) as b, httpx.AsyncClient() as client:
        answers = await asyncio.gather(*(post(client, url, body) for body in bodies for url in (a, b, a, b)))
    assert answers == [200] * 80
    assert sorted(raw for _, raw, _ in inbox_rows(db)) == sorted(bodies)


async def test_a_three_megabyte_body_is_accepted(db: str, clock: FrozenClock) -> None:
    event = inbound(1, "wamid.big", text="x")
    payload = json.loads(body_of([event]))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    padding = 3 * 1024 * 1024 - len(body_of([event])) - 100
    message["text"]["body"] = "x" * padding
    body = webhook_bytes(payload)
    assert 3 * 1024 * 1024 - 200 < len(body) <= 3 * 1024 * 1024
    async with webhook_server(db, clock) as url, httpx.AsyncClient(timeout=30) as client:
        assert await post(client, url, body) == 200
    assert [raw for _, raw, _ in inbox_rows(db)] == [body]


# --- the applier ------------------------------------------------------------------------------------


async def test_a_batch_of_two_entries_of_two_changes_each_is_applied_whole(db: str, clock: FrozenClock, tmp_path: Path) -> None:
    store = TinyStore(tmp_path / "data", clock=clock)
    store.open()
    writer = StoreWriter(store, "agent")
    try:
        # Our earlier messages, sent, whose statuses the webhook brings: two per (entry, number).
        ours: list[tuple[str, str]] = []
        for entry in range(2):
            for bn in (SALES, SUPPORT):
                for k in range(2):
                    n = 100 + entry * 10 + k
                    store.apply(inbound(n, f"wamid.first.{bn}.{n}", bn=bn, at=NOW - timedelta(hours=1)))
                    cid = conversation_id(bn, customer(n).id)
                    store.record_outgoing(outgoing(cid, f"local.{bn}.{n}"))
                    wamid = f"wamid.ours.{bn}.{n}"
                    store.update_outgoing(cid, f"local.{bn}.{n}", MessageStatus.SENT, at=NOW, wamid=wamid)
                    ours.append((cid, wamid))
        # One body: 2 entries x 2 changes (a number each) x (3 messages + 2 statuses).
        entries = []
        for entry in range(2):
            events = []
            for bn in (SALES, SUPPORT):
                events += [inbound(entry * 10 + m, f"wamid.new.{entry}.{bn}.{m}", bn=bn) for m in range(3)]
                events += [
                    StatusChanged(bn, customer(100 + entry * 10 + k).id, f"wamid.ours.{bn}.{100 + entry * 10 + k}",
                                  MessageStatus.DELIVERED, NOW)
                    for k in range(2)
                ]
            entries += json.loads(body_of(events))["entry"]
        body = webhook_bytes({"object": "whatsapp_business_account", "entry": entries})
        assert [len(e["changes"]) for e in entries] == [2, 2]
        async with webhook_server(db, clock) as url, httpx.AsyncClient() as client:
            assert await post(client, url, body) == 200
        async with pool_on(db) as pool:
            applier = Applier(pool, db, Ingest(writer, lambda s: None).apply_each, lambda: {}, clock)
            assert await applier.apply_batch() == 1
            assert await applier.apply_batch() == 0
        assert [applied for _, _, applied in inbox_rows(db)] == [True]
        new = [m for c in store.conversations() for m in store.messages(c.id) if m.id.startswith("wamid.new.")]
        assert len(new) == 12 and all(m.direction is Direction.INBOUND for m in new)
        statuses = {m.wamid: m.status for cid, _ in ours for m in store.messages(cid) if m.wamid}
        assert statuses == {wamid: MessageStatus.DELIVERED for _, wamid in ours}
    finally:
        writer.close()
        store.close()


async def test_rows_another_replica_holds_are_skipped_and_a_crash_leaves_them_to_apply(db: str, clock: FrozenClock, tmp_path: Path) -> None:
    store = TinyStore(tmp_path / "data", clock=clock)
    store.open()
    writer = StoreWriter(store, "agent")
    bodies = [body_of([inbound(n, f"wamid.{n}")]) for n in range(5)]
    try:
        async with webhook_server(db, clock) as url, httpx.AsyncClient() as client:
            for body in bodies:
                assert await post(client, url, body) == 200

        async def dies(events):
            raise RuntimeError("killed mid-apply")

        async with pool_on(db) as pool:
            with pytest.raises(RuntimeError):
                await Applier(pool, db, dies, lambda: {}, clock, batch=2).apply_batch()
            assert not any(applied for _, _, applied in inbox_rows(db))  # rolled back: still to apply
            applier = Applier(pool, db, Ingest(writer, lambda s: None).apply_each, lambda: {}, clock, batch=2)
            async with pool.connection() as holder, holder.transaction():
                # Another replica holds the first row: this one skips it and goes on.
                await holder.execute("SELECT id FROM webhook_inbox ORDER BY id LIMIT 1 FOR UPDATE")
                assert await applier.apply_batch() == 2
                assert await applier.apply_batch() == 2
                assert await applier.apply_batch() == 0
            assert await applier.apply_batch() == 1
        assert all(applied for _, _, applied in inbox_rows(db))
        assert sorted(c.id for c in store.conversations()) == sorted(conversation_id(SALES, customer(n).id) for n in range(5))
    finally:
        writer.close()
        store.close()


def _transactions(pg_url: str) -> int:
    """How many transactions wrote the inbox's rows (xmin: the inserting transaction's id)."""
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT count(DISTINCT xmin::text) FROM webhook_inbox").fetchone()
    return int(row[0]) if row else 0


async def test_bodies_that_arrive_together_are_committed_together(db: str, clock: FrozenClock) -> None:
    """Group commit: 100 bodies at once are a few transactions, not 100; each still has its row."""
    bodies = [body_of([inbound(n, f"wamid.{n}")]) for n in range(100)]
    async with webhook_server(db, clock) as url, httpx.AsyncClient() as client:
        answers = await asyncio.gather(*(post(client, url, body) for body in bodies))
        assert answers == [200] * 100
        assert sorted(raw for _, raw, _ in inbox_rows(db)) == sorted(bodies)
        assert _transactions(db) < 50
        again = await asyncio.gather(*(post(client, url, body) for body in [bodies[0], bodies[0], bodies[1]]))
    assert again == [200] * 3 and len(inbox_rows(db)) == 100


async def test_a_group_the_database_refuses_is_500_for_each_body_and_kept_by_none(db: str, clock: FrozenClock) -> None:
    bodies = [body_of([inbound(n, f"wamid.{n}")]) for n in range(10)]
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("ALTER TABLE webhook_inbox RENAME TO webhook_inbox_away")
    async with webhook_server(db, clock) as url, httpx.AsyncClient() as client:
        assert await asyncio.gather(*(post(client, url, body) for body in bodies)) == [500] * 10
        with psycopg.connect(db, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM webhook_inbox_away").fetchone() == (0,)
            conn.execute("ALTER TABLE webhook_inbox_away RENAME TO webhook_inbox")
        assert await asyncio.gather(*(post(client, url, body) for body in bodies)) == [200] * 10  # Meta's retries
    assert sorted(raw for _, raw, _ in inbox_rows(db)) == sorted(bodies)
