"""changes(): one numbered Change per write that changed something, in order, to every consumer,
resumable from any number it gave out, a RESYNC first when resumed from further back than the
store keeps (or from a number it never gave), and writes from the writer thread reach consumers
waiting on an event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from desk.models import ConversationStatus, Event, MessageStatus
from desk.store.contract import ChangeKind, Store
from tests.store_contract.builders import (
    BN,
    BOB,
    OTHER_BN,
    at,
    cid,
    conversation_status,
    inbound,
    outgoing,
    send,
    status,
    template,
    templates_changed,
)
from tests.store_contract.changes import TIMEOUT, announced, first, take, what
from tests.store_contract.harness import StoreHarness

CONVERSATION, TEMPLATES, RESYNC = ChangeKind.CONVERSATION, ChangeKind.TEMPLATES, ChangeKind.RESYNC


def messages_from_alice(store: Store, *minutes: int) -> None:
    for m in minutes:
        store.apply(inbound(f"wamid.{m}", m))



def increasing(numbers: list[int]) -> bool:
    """Change numbers only grow; a store may skip some (writes that change nothing visible)."""
    return all(a < b for a, b in zip(numbers, numbers[1:]))

async def test_each_changing_write_is_one_change_in_order_numbered_by_one(store: Store) -> None:
    start = store.last_change()
    store.apply(inbound("wamid.a1", 0))
    store.apply(inbound("wamid.b1", 1, customer=BOB))
    store.apply(templates_changed(template("welcome"), synced_at=at(2)))
    store.record_outgoing(outgoing("local-1", 3))
    store.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(3))
    store.update_outgoing(cid(), "local-1", MessageStatus.SENT, at=at(3), wamid="wamid.out")
    store.apply(status("wamid.out", MessageStatus.DELIVERED, 4))
    store.mark_read(cid(BOB))
    store.set_status(cid(), ConversationStatus.RESOLVED)
    store.apply(conversation_status(ConversationStatus.RESOLVED, 5, customer=BOB))
    store.apply(templates_changed(template("receipt", bn=OTHER_BN), bn=OTHER_BN))
    expected = [
        (CONVERSATION, cid()),
        (CONVERSATION, cid(BOB)),
        (TEMPLATES, BN),
        *[(CONVERSATION, cid())] * 4,
        (CONVERSATION, cid(BOB)),
        (CONVERSATION, cid()),
        (CONVERSATION, cid(BOB)),
        (TEMPLATES, OTHER_BN),
    ]
    changes = await take(store, start, len(expected))
    assert increasing([start, *(c.seq for c in changes)]) and store.last_change() == changes[-1].seq
    assert [what(c) for c in changes] == expected


async def test_a_write_that_changes_nothing_announces_nothing(store: Store) -> None:
    store.apply(inbound("wamid.a1", 0))
    send(store, "local-1", 1, "wamid.out")
    store.apply(status("wamid.out", MessageStatus.DELIVERED, 2))
    store.mark_read(cid())
    store.set_status(cid(), ConversationStatus.RESOLVED)
    store.apply(templates_changed(template("welcome"), template("receipt"), synced_at=at(3)))
    store.apply(templates_changed(template("receipt", body="Your receipt")))
    start = store.last_change()

    assert store.apply(inbound("wamid.a1", 0)) is None
    assert store.apply(status("wamid.out", MessageStatus.DELIVERED, 2)) is None
    assert store.apply(status("wamid.out", MessageStatus.SENT, 1)) is None
    store.update_outgoing(cid(), "local-1", MessageStatus.QUEUED, at=at(4))
    store.update_outgoing(cid(), "local-1", MessageStatus.SENT, at=at(1), wamid="wamid.out")
    store.mark_read(cid())
    store.set_status(cid(), ConversationStatus.RESOLVED)
    store.apply(templates_changed(template("receipt", body="Your receipt")))
    store.apply(templates_changed(template("welcome"), template("receipt", body="Your receipt"), synced_at=at(3)))
    assert store.last_change() == start

    store.apply(inbound("wamid.a2", 5))
    assert store.last_change() == start + 1
    (change,) = await take(store, start, 1)
    assert (change.seq, *what(change)) == (start + 1, CONVERSATION, cid())


async def test_a_status_waiting_for_its_wamid_is_announced_when_it_moves_our_message_not_before(store: Store) -> None:
    store.apply(inbound("wamid.a1", 0))
    store.record_outgoing(outgoing("local-1", 1))
    store.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(1))
    summary = store.conversation(cid())
    start = store.last_change()
    # Neither the summary nor the transcript changes, and apply says so: nothing to announce.
    assert store.apply(status("wamid.out", MessageStatus.DELIVERED, 2)) is None
    assert store.conversation(cid()) == summary
    assert store.last_change() == start, "a change announced for a status that changed nothing visible"
    store.update_outgoing(cid(), "local-1", MessageStatus.SENT, at=at(1), wamid="wamid.out")
    (change,) = await take(store, start, 1)
    assert what(change) == (CONVERSATION, cid()) and store.last_change() == change.seq


@pytest.mark.parametrize(
    "event",
    [
        inbound("wamid.a2", 2),
        status("wamid.out", MessageStatus.READ, 2),
        conversation_status(ConversationStatus.RESOLVED, 3),
        templates_changed(template("welcome"), synced_at=at(3)),
    ],
    ids=["message", "status", "resolution", "templates"],
)
async def test_what_whatsapp_and_customers_do_is_announced_with_no_agent(store: Store, event: Event) -> None:
    store.apply(inbound("wamid.a1", 0))
    send(store, "local-1", 1, "wamid.out")
    changes = await announced(store, lambda s: s.apply(event))
    assert len(changes) == 1
    assert changes[0].agent is None


async def test_resuming_from_a_middle_change_yields_exactly_the_rest(store: Store) -> None:
    start = store.last_change()
    messages_from_alice(store, 0, 1, 2, 3, 4)
    every = await take(store, start, 5)
    middle = every[1].seq
    assert await take(store, middle, 3) == every[2:]
    store.apply(inbound("wamid.b1", 5, customer=BOB))
    rest = await take(store, middle, 4)
    assert rest[:3] == every[2:]
    assert rest[3].seq > every[-1].seq and what(rest[3]) == (CONVERSATION, cid(BOB))


async def test_every_consumer_gets_every_change(store: Store) -> None:
    start = store.last_change()
    one, two = store.changes(start), store.changes(start)
    messages_from_alice(store, 0, 1)
    store.apply(inbound("wamid.b1", 2, customer=BOB))
    assert await first(one, 3) == await first(two, 3)
    store.apply(templates_changed(template("welcome"), synced_at=at(3)))
    assert await first(one, 1) == await first(two, 1)
    await one.aclose()  # type: ignore[attr-defined]
    await two.aclose()  # type: ignore[attr-defined]


async def test_resuming_from_a_number_never_given_yields_one_resync_first(store: Store) -> None:
    messages_from_alice(store, 0, 1)
    changes = store.changes(store.last_change() + 5)
    (resync,) = await first(changes, 1)
    assert resync.kind is RESYNC
    store.apply(inbound("wamid.b1", 2, customer=BOB))
    (after,) = await first(changes, 1)
    assert after.seq > resync.seq and what(after) == (CONVERSATION, cid(BOB))
    await changes.aclose()  # type: ignore[attr-defined]


async def test_resuming_from_before_a_restart_yields_the_rest_or_one_resync_first(harness: StoreHarness) -> None:
    store = harness.open()
    start = store.last_change()
    messages_from_alice(store, 0, 1, 2)
    before = await take(store, start, 3)
    store = harness.reopen()
    changes = store.changes(before[0].seq)
    (news,) = await first(changes, 1)
    store.apply(inbound("wamid.b1", 3, customer=BOB))
    if news.kind is RESYNC:
        (after,) = await first(changes, 1)
        assert after.seq > news.seq
    else:  # a store that keeps its changes across a restart gives the rest as they were
        assert [news, *await first(changes, 1)] == before[1:]
        (after,) = await first(changes, 1)
        assert after.seq > before[-1].seq
    assert what(after) == (CONVERSATION, cid(BOB))
    await changes.aclose()  # type: ignore[attr-defined]


async def test_a_consumer_waiting_on_the_loop_gets_each_change_as_it_is_made(store: Store) -> None:
    start = store.last_change()

    def write() -> None:
        messages_from_alice(store, 0)
        store.apply(inbound("wamid.b1", 1, customer=BOB))

    consumer = asyncio.create_task(take(store, start, 2))
    # Callbacks run in the order they are scheduled: the consumer's first step (it finds nothing
    # and waits) comes before the writes.
    asyncio.get_running_loop().call_soon(write)
    changes = await asyncio.wait_for(consumer, TIMEOUT)
    assert [what(c) for c in changes] == [(CONVERSATION, cid()), (CONVERSATION, cid(BOB))]


async def test_writes_from_the_writer_thread_reach_a_consumer_waiting_on_the_loop(store: Store) -> None:
    start = store.last_change()
    go = threading.Event()

    def writer() -> None:
        assert go.wait(TIMEOUT)
        messages_from_alice(store, 0)
        store.apply(inbound("wamid.b1", 1, customer=BOB))
        store.set_status(cid(), ConversationStatus.RESOLVED)

    consumer = asyncio.create_task(take(store, start, 3))
    # Callbacks run in the order they are scheduled: the consumer's first step (it finds nothing
    # and waits) comes before this one, which lets the writer thread go.
    asyncio.get_running_loop().call_soon(go.set)
    await asyncio.to_thread(writer)
    changes = await asyncio.wait_for(consumer, TIMEOUT)
    assert [what(c) for c in changes] == [(CONVERSATION, cid()), (CONVERSATION, cid(BOB)), (CONVERSATION, cid())]
    assert increasing([start, *(c.seq for c in changes)])


async def test_a_consumer_that_starts_now_never_resyncs_over_a_write_nobody_sees(store: Store) -> None:
    """A status for a message we do not know yet takes a number but is not announced: a consumer
    that began before it (here on a store with no change yet) gets the next change, not a RESYNC."""
    start = store.last_change()
    store.apply(status("wamid.unknown", MessageStatus.DELIVERED, 0))  # nothing visible
    store.apply(inbound("wamid.b1", 1, customer=BOB))
    (change,) = await take(store, start, 1)
    assert what(change) == (CONVERSATION, cid(BOB))
