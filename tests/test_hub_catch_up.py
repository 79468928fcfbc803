"""A desk away from the hub catches up with exactly what it missed: the desk's mirror (HubStore)
on a hub over PostgreSQL, the hub gone for five minutes (of the store's clock) while another
agent's changes commit, then back: every missed change arrives once, in order, and the mirror
shows the database's state; a desk away for longer than the hub keeps its log reads everything
again and says so."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import timedelta
from pathlib import Path

import pytest

from backends.hub.client import HubClient
from backends.hub.store import HubStore
from desk.clock import FrozenClock
from desk.models import Priority
from desk.store.contract import Change
from desk.store.pg import PgStore
from engine import Engine
from hub.access import Agent
from hub.api import api_app
from hub.local import local_services
from tests.hub_helpers import pg_engine, serving
from tests.hub_replicas import free_port

AWAY = timedelta(minutes=5)


@dataclasses.dataclass
class ByToken:
    def who(self, token: str | None) -> Agent:
        return Agent(token or "nobody")


async def until(condition, what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
def hub(pg_url: str, tmp_path: Path, clock: FrozenClock):
    with pg_engine(pg_url, clock, tmp_path) as engine:
        yield engine


def seen(store) -> dict[str, tuple]:
    return {c.id: (c.priority, c.labels) for c in store.conversations()}


class Recording(HubStore):
    """The desk's mirror, noting each hub change it handles (by the hub's number)."""

    handled: list[int]

    def _handle(self, item) -> None:
        if isinstance(item, Change):
            self.handled.append(item.seq)
        super()._handle(item)


def changes_after(store: PgStore, after: int) -> list[Change]:
    """The store's changes after `after`, up to its last, read through its own log."""

    async def collect() -> list[Change]:
        found, last = [], store.last_change()
        async for change in store.changes(after):
            found.append(change)
            if change.seq >= last:
                break
        return found

    return asyncio.run(collect())


async def test_a_desk_away_five_minutes_gets_exactly_the_changes_it_missed(hub: Engine, clock: FrozenClock) -> None:
    store: PgStore = hub.context.store
    services = dataclasses.replace(local_services(hub)[0], directory=ByToken())
    port = free_port()
    async with serving(api_app(services), port) as url:
        desk = Recording(HubClient(url.removesuffix("/api/v1"), "ana"), "ana", clock=clock)
        desk.handled = []
        await asyncio.to_thread(desk.open)
        await until(lambda: desk.link.link.value == "online", "the desk online")
    # The hub is gone: the desk's stream fails and it retries, while another agent works.
    cids = [c.id for c in store.conversations()][:12]
    before = store.last_change()
    for i, cid in enumerate(cids):
        clock.advance(AWAY / len(cids))
        store.set_priority(cid, Priority.URGENT if i % 2 else Priority.HIGH, agent="bob")
        store.set_labels(cid, [f"batch-{i}"], agent="bob")
    missed = [c.seq for c in await asyncio.to_thread(changes_after, store, before)]
    assert len(missed) == 2 * len(cids)
    try:
        async with serving(api_app(services), port):  # the hub back, as a new process would be
            await until(lambda: desk.handled == missed, "the desk handling every missed change")
            await until(lambda: seen(desk) == seen(store), "the desk showing what the database holds")
    finally:
        desk.close()
    assert desk.handled == missed  # each once, in order: no gap, no repeat


async def test_a_desk_away_longer_than_the_log_is_kept_reads_everything_again_and_says_so(
    hub: Engine, clock: FrozenClock
) -> None:
    from backends.base import Said

    store: PgStore = hub.context.store
    services = dataclasses.replace(local_services(hub)[0], directory=ByToken())
    port = free_port()
    told: list[str] = []
    async with serving(api_app(services), port) as url:
        desk = Recording(HubClient(url.removesuffix("/api/v1"), "ana"), "ana", clock=clock)
        desk.handled = []
        desk.watch(lambda news: told.append(news.sentence) if isinstance(news, Said) else None)
        await asyncio.to_thread(desk.open)
        await until(lambda: desk.link.link.value == "online", "the desk online")
    cid = store.conversations()[0].id
    for hours in range(3):  # changes while away, then the hub's retention takes them
        clock.advance(timedelta(hours=30))
        store.set_labels(cid, [f"day-{hours}"], agent="bob")
    clock.advance(timedelta(hours=hub.context.config.hub.keep_events_hours))
    assert store.trim_events(clock.now() - timedelta(hours=hub.context.config.hub.keep_events_hours)) >= 2
    try:
        async with serving(api_app(services), port):
            await until(lambda: any("everything was read again" in t for t in told), "the desk saying it read everything")
            await until(lambda: seen(desk) == seen(store), "the desk showing what the database holds")
    finally:
        desk.close()
