"""The outbox across replicas (hub/sender.py) against the emulator (it counts Graph sends), on a
real PostgreSQL: one send per message whoever is woken and however often; a send whose claimer
died after marking it is unknown, never resent; one conversation's messages leave in order."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from backends.cloud.backend import CloudBackend
from desk.clock import FrozenClock
from desk.models import MessageStatus
from desk.store.pg.migrate import migrate
from desk.store.tiny import TinyStore
from emulator.server import Emulator
from engine.outbox import Outbox
from engine.writer import StoreWriter
from hub.sender import INTERRUPTED, Sender
from tests.conftest import NOW, quiet_config
from tests.hub_fixtures import outgoing, pool_on
from tests.test_cloud_e2e import SECRETS, WABA, cloud_config


@dataclasses.dataclass
class Desk:
    store: TinyStore
    outbox: Outbox
    emulator: Emulator
    cid: str


@pytest.fixture
async def desk(pg_url: str, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[Desk]:
    migrate(pg_url)
    emulator = Emulator(
        quiet_config().mock, clock, token=SECRETS.access_token, app_secret=SECRETS.app_secret, waba_id=WABA,
        receiver_url=None,
    )
    await emulator.start()
    store = TinyStore(tmp_path / "data", clock=clock)
    store.open()
    config = cloud_config(emulator)
    backend = CloudBackend(config, clock, tmp_path / "data", SECRETS)
    writer = StoreWriter(store, "ana")
    person = next(iter(emulator.people.values()))
    number = config.cloud.numbers[0].phone_number_id
    event = emulator.simulation.customer_writes(number, person.id, clock.now(), "text", "greeting")  # opens the window
    cid = store.apply(event)
    assert cid is not None
    try:
        yield Desk(store, Outbox(writer, backend, clock), emulator, cid)
    finally:
        writer.close()
        await backend.stop()
        store.close()
        await emulator.stop()


def status_of(desk: Desk, message_id: str) -> MessageStatus:
    return next(m.status for m in desk.store.messages(desk.cid) if m.id == message_id)


async def test_the_same_message_recorded_three_times_is_sent_once(desk: Desk, pg_url: str, clock: FrozenClock) -> None:
    async with pool_on(pg_url) as pool:
        sender = Sender(pool, desk.outbox, clock)
        for _ in range(3):  # the API's retry of one request: the same id (its idempotency key)
            desk.store.record_outgoing(outgoing(desk.cid, "local.key-1"))
            sender.wake()
            await sender.turn()
    assert len(desk.emulator.sent) == 1
    assert status_of(desk, "local.key-1") is MessageStatus.SENT


async def test_two_replicas_woken_at_once_send_a_queued_message_once(desk: Desk, pg_url: str, clock: FrozenClock) -> None:
    for n in range(5):
        desk.store.record_outgoing(outgoing(desk.cid, f"local.{n}"))
    async with pool_on(pg_url) as a, pool_on(pg_url) as b:
        sent = await asyncio.gather(*(Sender(pool, desk.outbox, clock).turn() for pool in (a, b, a, b)))
    assert sum(sent) == 5 and len(desk.emulator.sent) == 5
    assert all(status_of(desk, f"local.{n}") is MessageStatus.SENT for n in range(5))


async def test_a_send_whose_claimer_died_after_marking_it_is_unknown_and_not_resent(desk: Desk, pg_url: str, clock: FrozenClock) -> None:
    # What a replica killed mid-send leaves: the store says SENDING, the row is undone and unlocked.
    desk.store.record_outgoing(outgoing(desk.cid, "local.mid-send"))
    desk.store.update_outgoing(desk.cid, "local.mid-send", MessageStatus.SENDING, at=NOW)
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO hub_outbox (conversation_id, message_id, queued_at) VALUES (%s, 'local.mid-send', %s)",
                     (desk.cid, NOW))
    async with pool_on(pg_url) as pool:
        assert await Sender(pool, desk.outbox, clock).turn() == 1
        assert await Sender(pool, desk.outbox, clock).turn() == 0
    message = next(m for m in desk.store.messages(desk.cid) if m.id == "local.mid-send")
    assert message.status is MessageStatus.UNKNOWN and message.error_text == INTERRUPTED
    assert desk.emulator.sent == {}


async def test_a_row_a_live_replica_is_sending_is_left_alone_and_its_conversation_waits(desk: Desk, pg_url: str, clock: FrozenClock) -> None:
    desk.store.record_outgoing(outgoing(desk.cid, "local.first"))
    clock.advance(timedelta(seconds=1))
    desk.store.record_outgoing(dataclasses.replace(outgoing(desk.cid, "local.second"), timestamp=clock.now()))
    async with pool_on(pg_url) as pool:
        sender = Sender(pool, desk.outbox, clock)
        await sender.list_queued()
        async with pool.connection() as live, live.transaction():
            await live.execute("SELECT 1 FROM hub_outbox WHERE message_id = 'local.first' FOR UPDATE")
            assert await sender.turn() == 0  # the first is another's; the second waits for it
        assert await sender.turn() == 2
    assert status_of(desk, "local.first") is status_of(desk, "local.second") is MessageStatus.SENT
    first, second = list(desk.emulator.sent)
    assert [m.wamid for m in desk.store.messages(desk.cid) if m.id in ("local.first", "local.second")] == [first, second]
