"""Template sync across replicas (hub/templates.py) on a real PostgreSQL: within a period one
replica fetches, however many timers fire; one holding the lock makes the others go on without
it; a template the store lacks (a status webhook named it) forces a fetch."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from desk.clock import FrozenClock
from desk.models import Template, TemplatesChanged, TemplateStatus
from desk.store.pg.migrate import migrate
from desk.store.tiny import TinyStore
from hub.templates import TEMPLATE_LOCK, TemplateSync
from tests.hub_fixtures import SALES, SUPPORT, pool_on


class Catalogue:
    """What Graph would answer, and how many times it was asked."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.fetches = 0

    async def __call__(self) -> list[TemplatesChanged]:
        self.fetches += 1
        await asyncio.sleep(0)  # another replica's turn, mid-fetch
        return [
            TemplatesChanged(n, (Template("order_update", "en_US", "UTILITY", TemplateStatus.APPROVED, n, "Hi {{1}}"),),
                             synced_at=self.clock.now())
            for n in (SALES, SUPPORT)
        ]


@pytest.fixture
def store(tmp_path: Path, clock: FrozenClock):
    store = TinyStore(tmp_path / "data", clock=clock)
    store.open()
    yield store
    store.close()


async def apply_into(store: TinyStore, events: list[TemplatesChanged]) -> list[str | None]:
    return store.apply_each(events)


async def test_one_fetch_a_period_whichever_replicas_look(pg_url: str, store: TinyStore, clock: FrozenClock) -> None:
    migrate(pg_url)
    fetch = Catalogue(clock)
    async with pool_on(pg_url) as a, pool_on(pg_url) as b:
        replicas = [TemplateSync(pool, fetch, lambda e: apply_into(store, e), store, [SALES, SUPPORT], clock, 15)
                    for pool in (a, b, a, b)]
        assert sum(await asyncio.gather(*(r.sync_if_due() for r in replicas))) == 1
        assert [t.name for t in store.templates(SALES)] == ["order_update"] and store.templates_synced_at(SUPPORT) == clock.now()
        clock.advance(timedelta(minutes=14))
        assert [await r.sync_if_due() for r in replicas] == [False] * 4
        clock.advance(timedelta(minutes=1))
        assert [await r.sync_if_due() for r in replicas] == [True, False, False, False]
        assert await replicas[1].sync_if_due(force=True)  # a template the store lacks
    assert fetch.fetches == 3


async def test_a_replica_holding_the_lock_makes_the_others_go_on(pg_url: str, store: TinyStore, clock: FrozenClock) -> None:
    migrate(pg_url)
    fetch = Catalogue(clock)
    async with pool_on(pg_url) as pool:
        sync = TemplateSync(pool, fetch, lambda e: apply_into(store, e), store, [SALES, SUPPORT], clock, 15)
        async with pool.connection() as other, other.transaction():
            await other.execute("SELECT pg_advisory_xact_lock(%s)", (TEMPLATE_LOCK,))
            assert not await sync.sync_if_due(force=True)
        assert await sync.sync_if_due()
    assert fetch.fetches == 1
