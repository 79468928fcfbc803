"""The acceptance of the hub's runtime: two replicas as real processes on one real PostgreSQL,
webhooks over real HTTP, a replica SIGKILLed mid-stream and restarted: the database ends with
every message once, 0 lost, 0 duplicated, and every webhook that got a 200 applied."""

from __future__ import annotations

import asyncio
import random
import time

import httpx
import psycopg
import pytest

from desk.clock import SystemClock
from desk.models import Direction
from desk.store.pg.migrate import migrate
from hub.ingest import dedupe_key
from tests.hub_fixtures import SALES, SUPPORT, body_of, inbound, signed
from tests.hub_replicas import Replica, database_state

pytestmark = pytest.mark.skipif(not hasattr(__import__("desk.store.pg").store.pg, "PgStore"), reason="until the PostgreSQL store lands")

WEBHOOKS = 1000
COPIES = 3
AT_ONCE = 20
"""Posts in flight at once, as Meta delivers concurrently."""
SETTLE_SECONDS = 120.0


def wait_until(condition, what: str, limit: float = SETTLE_SECONDS, every: float = 0.2) -> None:
    """Poll another process's work (bounded): the replicas apply on their own time."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(every)


def unapplied(pg_url: str) -> int:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT count(*) FROM webhook_inbox WHERE applied_at IS NULL").fetchone()
    return int(row[0]) if row else -1


async def test_two_replicas_one_killed_mid_stream_lose_and_double_nothing(pg_url: str, tmp_path) -> None:
    migrate(pg_url)
    rng = random.Random(9)
    wamids = [f"wamid.ACCEPT{i:04d}" for i in range(WEBHOOKS)]
    bodies = {
        wamid: body_of([inbound(i % 150, wamid, bn=(SALES, SUPPORT)[i % 2])]) for i, wamid in enumerate(wamids)
    }
    deliveries = [wamid for wamid in wamids for _ in range(COPIES)]
    rng.shuffle(deliveries)
    a, b = Replica(tmp_path, "a", pg_url).start(), Replica(tmp_path, "b", pg_url).start()
    acknowledged: set[str] = set()
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:

            async def deliver(wamid: str, replica: Replica) -> None:
                body = bodies[wamid]
                try:
                    answer = await client.post(replica.url + "/webhook", content=body, headers=signed(body))
                except httpx.HTTPError:
                    return  # the replica died before it answered: Meta retries (below)
                if answer.status_code == 200:
                    acknowledged.add(wamid)

            for start in range(0, len(deliveries), AT_ONCE):
                if start == len(deliveries) // 3:
                    a.kill()  # with requests in flight to it and bodies claimed, unapplied
                if start == len(deliveries) // 2:
                    a.start()  # on the same port
                chunk = deliveries[start : start + AT_ONCE]
                await asyncio.gather(*(deliver(w, rng.choice((a, b))) for w in chunk))
            # Meta's retries: every webhook without a 200 yet is sent again until it gets one.
            while missing := [w for w in wamids if w not in acknowledged]:
                await asyncio.gather(*(deliver(w, rng.choice((a, b))) for w in missing[:AT_ONCE]))
        wait_until(lambda: unapplied(pg_url) == 0, "every inbox row applied")
    finally:
        codes = [a.stop(), b.stop()]
    assert codes == [0, 0]

    with psycopg.connect(pg_url) as conn:
        kept = {bytes(k) for (k,) in conn.execute("SELECT dedupe_key FROM webhook_inbox WHERE applied_at IS NOT NULL")}
    assert {dedupe_key(bodies[w]) for w in acknowledged} <= kept  # every 200 is applied
    state = database_state(pg_url, SystemClock())
    messages = [m.id for transcript in state.values() for m in transcript if m.direction is Direction.INBOUND]
    assert len(messages) == len(set(messages)) == WEBHOOKS  # 0 duplicated
    assert set(messages) == set(wamids)  # 0 lost
