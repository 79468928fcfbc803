"""Presence crosses hub replicas (hub/presence_relay.py) through PostgreSQL's NOTIFY: a sighting
published on one replica is seen on the other, once, and not echoed back to its own."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from desk.clock import FrozenClock
from hub.events import Presence, Sighting
from hub.presence_relay import PresenceRelay

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


async def test_a_sighting_on_one_replica_is_seen_on_the_other_once(pg_url: str) -> None:
    a, b = Presence(FrozenClock(NOW)), Presence(FrozenClock(NOW))
    relays = [PresenceRelay(pg_url, a), PresenceRelay(pg_url, b)]
    seen_a: list[Sighting] = []
    seen_b: list[Sighting] = []
    a.listen(seen_a.append)
    b.listen(seen_b.append)
    for relay in relays:
        await relay.start()
    try:
        typing = Sighting("n1~7", "n1", "ana", "typing", NOW)
        a.publish(typing)
        async with asyncio.timeout(10):
            while not seen_b:
                await asyncio.sleep(0.01)
        b.publish(Sighting("n1~7", "n1", "bob", "viewing", NOW))
        async with asyncio.timeout(10):
            while len(seen_a) < 2:
                await asyncio.sleep(0.01)
        assert seen_b[0] == typing
        assert [s.agent for s in seen_a] == ["ana", "bob"]  # its own once (published), bob's relayed
        assert [s.agent for s in b.here("n1~7")] == ["ana", "bob"]
    finally:
        for relay in relays:
            await relay.stop()
