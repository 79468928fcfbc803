"""The event pump under store faults (engine.pump): a full journal holds the webhook, unacknowledged,
and retries with backoff; a shard that cannot be written is retried until the backlog applies; each
fault is told once; the desk notifies it, markup off. Real files, injected ENOSPC, no sleeping."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import os
from pathlib import Path

import pytest

import desk.store.tiny.journal as journal_module
import desk.store.tiny.shard as shard_module
from backends.cloud.backend import CloudBackend, Secrets
from backends.cloud.spool import Spool, read_done
from desk.config import CloudConfig, CloudNumberConfig, WebhookConfig
from desk.models import Customer, conversation_id
from desk.store import StoreUnavailable
from desk.store.tiny import TinyStore
from desk.store.tiny.files import shard_path, slot_path
from emulator.encode import webhook_bytes, webhook_for
from engine.context import DeskContext
from engine.pump import IDLE_SECONDS, Ingest
from engine.writer import StoreWriter
from tests.conftest import make_context, quiet_config
from tests.test_store_faults import ALICE, BOB, A, B, inbound, opened
from tui.app import WadeskApp


class Direct(StoreWriter):
    """The store's writer, but on the test's own thread: every step happens in the await."""

    async def _run(self, fn, /, *args, **kwargs):
        return fn(*args, **kwargs)


class Sleeps:
    """A sleep that only records, and runs `then[i]` at the i-th call (0-based)."""

    def __init__(self, **then) -> None:
        self.delays: list[float] = []
        self.then = {int(k[1:]): v for k, v in then.items()}

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        action = self.then.get(len(self.delays) - 1)
        if action:
            action()


def full_disk(monkeypatch, times: int | None = None):
    calls = {"n": 0}
    real = journal_module._fdatasync

    def fdatasync(fd):
        calls["n"] += 1
        if times is None or calls["n"] <= times:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    monkeypatch.setattr(journal_module, "_fdatasync", fdatasync)


async def test_a_full_journal_holds_the_event_and_retries_with_backoff(tmp_path: Path, monkeypatch):
    store = opened(tmp_path / "data")
    told: list[str] = []
    sleeps = Sleeps()
    ingest = Ingest(Direct(store, "agent"), told.append, sleep=sleeps)
    full_disk(monkeypatch, times=3)
    assert await ingest.apply(inbound(ALICE, "a1")) == A
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert len(told) == 1 and "journal" in told[0] and "the disk is full" in told[0]
    assert [m.id for m in store.messages(A)] == ["a1"]
    store.close()


async def test_a_shard_backlog_applies_once_space_is_back_without_a_restart(tmp_path: Path, monkeypatch):
    store = opened(tmp_path / "data")
    store.apply(inbound(ALICE, "a1"))
    path = shard_path(store.data_dir / "conversations", A)
    real = shard_module.overwrite

    def write(target, content):
        if Path(target) in (path, slot_path(path, 1)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(target, content)

    monkeypatch.setattr(shard_module, "overwrite", write)
    told: list[str] = []
    changed: list[set[str]] = []

    def stop():
        raise asyncio.CancelledError

    def told_once() -> None:
        assert len(told) == 1 and str(path) in told[0]

    # The shards are written lazily, by the first turn of the loop: then A's fails, and is told.
    # Two retries with backoff later, space is back.
    sleeps = Sleeps(s1=told_once, s2=monkeypatch.undo, s4=stop)
    ingest = Ingest(Direct(store, "agent"), told.append, sleep=sleeps)
    for i in range(3):
        await ingest.apply(inbound(ALICE, f"a{i + 2}", i + 1))
    await ingest.apply(inbound(BOB, "b1"))
    assert told == []  # durable in the journal; the files come later
    with pytest.raises(asyncio.CancelledError):
        await ingest.retry_forever(changed.append)
    assert changed == [{A}]
    assert sleeps.delays[:3] == [IDLE_SECONDS, 1.0, 2.0]
    assert store.faults() == [] and len(told) == 1
    store.close()
    store = opened(tmp_path / "data")
    assert [m.id for m in store.messages(A)] == ["a1", "a2", "a3", "a4"]
    assert [m.id for m in store.messages(B)] == ["b1"]
    store.close()


MOCK = quiet_config().mock


def cloud_backend(data_dir: Path, clock) -> CloudBackend:
    """The cloud backend on `data_dir`, its receiver on a free port, Graph unreachable."""
    config = dataclasses.replace(
        quiet_config(),
        backend="cloud",
        cloud=CloudConfig(
            graph_url="http://127.0.0.1:9", waba_id="w",
            numbers=tuple(CloudNumberConfig(n.id, n.department, n.display) for n in MOCK.numbers),
        ),
        webhook=WebhookConfig(host="127.0.0.1", port=0, path="/webhook"),
    )
    return CloudBackend(config, clock, data_dir, Secrets("t", "s", "v"))


async def spooled(data_dir: Path, messages) -> None:
    """One webhook body per (customer, message id), received before the start: in the spool."""
    display = {n.id: n.display for n in MOCK.numbers}
    spool = Spool(data_dir)
    spool.open()
    for customer, mid in messages:
        event = inbound(customer, mid, bn=MOCK.numbers[0].id)
        await spool.append(webhook_bytes(webhook_for([event], waba_id="w", display_numbers=display)))
    spool.close()


async def test_a_body_is_not_done_while_its_events_cannot_be_stored(tmp_path: Path, clock, monkeypatch):
    """The ack rule: the spool marks a body done only once every event of it is durable."""
    data_dir = tmp_path / "data"
    await spooled(data_dir, [(ALICE, "a1"), (BOB, "b1")])
    store = TinyStore(data_dir, clock=clock)
    store.open()

    async def run(sleep) -> None:
        backend = cloud_backend(data_dir, clock)
        await backend.start()
        ingest = Ingest(Direct(store, "agent"), told.append, sleep=sleep)

        async def consume() -> None:
            async for event in backend.events():
                await ingest.apply(event)

        consumer = asyncio.create_task(consume())
        try:
            drained = asyncio.create_task(backend.drain(10))
            await asyncio.wait([consumer, drained], return_when=asyncio.FIRST_COMPLETED)
            if consumer.done():
                drained.cancel()
                await consumer  # raises what stopped it
            assert await drained
        finally:
            consumer.cancel()
            await backend.stop()

    told: list[str] = []

    def stop():  # the desk is stopped while the disk is still full
        raise asyncio.CancelledError

    full_disk(monkeypatch)
    with pytest.raises(asyncio.CancelledError):
        await run(Sleeps(s2=stop))
    assert read_done(data_dir / "webhooks.done") == 0  # nothing was durable: nothing is done
    assert len(told) == 1 and store.conversations() == []

    monkeypatch.undo()  # space is back: the next start applies both
    await run(Sleeps())
    assert len(store.conversations()) == 2
    assert read_done(data_dir / "webhooks.done") == 2
    store.close()


async def test_the_desk_tells_a_store_fault_once_in_a_sentence(data_dir: Path, clock, monkeypatch):
    context = make_context(data_dir, clock)
    context.store.close()
    victim = sorted(context.store.conversations(), key=lambda c: c.id)[0]
    path = shard_path(data_dir / "conversations", victim.id)
    path.write_bytes(path.read_bytes()[:25])  # truncated
    store = TinyStore(data_dir, clock=clock)
    store.open()
    desk = DeskContext(context.config, store, context.backend, clock, data_dir)
    app = WadeskApp(desk, pump_events=False)
    notes: list[tuple[str, dict]] = []
    async with app.run_test() as pilot:
        monkeypatch.setattr(app, "notify", lambda message, **kw: notes.append((message, kw)))
        customer = victim.customer
        for i in range(2):
            await pilot.app.ingest(inbound(customer, f"new-{i}", i, bn=victim.business_number_id))
        other = sorted(store.conversations(), key=lambda c: c.id)[1]
        await pilot.app.ingest(inbound(other.customer, "x-1", bn=other.business_number_id))
    store.close()
    notes = [n for n in notes if n[1]["title"] == "Store problem"]  # (not the alerts these messages cross)
    assert len(notes) == 1
    message, kw = notes[0]
    assert kw == {"title": "Store problem", "severity": "error", "timeout": 60, "markup": False}
    assert victim.id in message and str(path) in message


async def test_an_event_the_store_refuses_is_told_once_and_the_next_ones_flow(tmp_path: Path):
    store = opened(tmp_path / "data")
    told: list[str] = []
    ingest = Ingest(Direct(store, "agent"), told.append, sleep=Sleeps())
    for _ in range(3):
        assert await ingest.apply("not an event") is None  # type: ignore[arg-type]
    assert await ingest.apply(inbound(BOB, "b1")) == B
    assert len(told) == 1 and "could not be stored" in told[0]
    store.close()


async def test_a_burst_is_made_durable_with_one_sync_and_its_bodies_done_only_after(tmp_path: Path, clock, monkeypatch):
    """Bodies waiting together reach the store as one batch, journaled with one sync; the spool
    marks them done only when the consumer asks for the next batch (the acknowledgement rule)."""
    data_dir = tmp_path / "data"
    await spooled(data_dir, [(ALICE, f"a{i}") for i in range(5)])
    store = opened(data_dir)
    backend = cloud_backend(data_dir, clock)
    await backend.start()
    syncs = {"n": 0}
    real = journal_module._fdatasync

    def counted(fd):
        syncs["n"] += 1
        return real(fd)

    monkeypatch.setattr(journal_module, "_fdatasync", counted)
    done: list[int] = []
    real_done = backend._inlet.done
    monkeypatch.setattr(backend._inlet, "done", lambda seq: (done.append(seq), real_done(seq)))
    try:
        # The receiver (a process of its own) hands the spool's backlog over one body at a time:
        # wait until all five wait together, which is what a burst is.
        while backend._queue.qsize() < 5:
            await asyncio.sleep(0.01)
        batches = backend.batches()
        batch = await anext(batches)
        assert [e.message.id for e in batch] == [f"a{i}" for i in range(5)]
        cid = conversation_id(MOCK.numbers[0].id, ALICE.id)
        assert store.apply_each(batch) == [cid] * 5 and syncs["n"] == 1
        assert done == []  # durable, but not asked past yet
        following = asyncio.create_task(anext(batches))
        assert await backend.drain(10)  # returns once the backend counted them all done
        assert max(done) == 5
        following.cancel()
    finally:
        await backend.stop()
    assert read_done(data_dir / "webhooks.done") == 5
    assert [m.id for m in store.messages(cid)] == [f"a{i}" for i in range(5)]
    store.close()


def test_a_batch_the_journal_cannot_take_counts_for_nothing_and_can_be_applied_again(tmp_path: Path, monkeypatch):
    store = opened(tmp_path / "data")
    events = [inbound(ALICE, "a1"), inbound(BOB, "b1"), inbound(ALICE, "a2")]
    full_disk(monkeypatch, times=1)
    with pytest.raises(StoreUnavailable):
        store.apply_each(events)
    assert store.conversations() == [] and store.last_change() == 0
    assert store.apply_each(events) == [A, B, A]
    store.close()
    store = opened(tmp_path / "data")
    assert [m.id for m in store.messages(A)] == ["a1", "a2"] and [m.id for m in store.messages(B)] == ["b1"]
    store.close()


def test_a_batch_that_outgrows_the_shard_cache_keeps_every_change(tmp_path: Path):
    """A conversation changed early in a batch and again later, with more conversations than the
    shard cache holds in between: both changes are in its file after the flush."""
    store = opened(tmp_path / "data")
    store.SHARD_CACHE = 2
    carol, dave = Customer("15550000003", "Carol"), Customer("15550000004", "Dave")
    events = [inbound(ALICE, "a2", 2), inbound(BOB, "b2", 3), inbound(carol, "c1", 4), inbound(dave, "d1", 5),
              inbound(ALICE, "a3", 6)]
    store.apply_each(events)
    store.flush()
    store.close()
    store = opened(tmp_path / "data")
    assert [m.id for m in store.messages(A)][-2:] == ["a2", "a3"]
    store.close()
