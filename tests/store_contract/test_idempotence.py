"""Backend events can come twice (webhook retries, history and live overlapping): applying one
again changes nothing and says so."""

from __future__ import annotations

from desk.models import ConversationStatus, Event, MessageStatus
from desk.store.contract import Store
from tests.store_contract.builders import (
    BOB,
    at,
    cid,
    conversation_status,
    inbound,
    message,
    send,
    status,
    summary,
    template,
    templates_changed,
)


def test_the_same_message_twice_is_stored_once_and_the_second_changes_nothing(store: Store) -> None:
    assert store.apply(inbound("wamid.A", 0)) == cid()
    assert store.apply(inbound("wamid.A", 0)) is None
    assert store.apply(inbound("wamid.A", 5, "a retry with other content")) is None
    assert [(m.id, m.text) for m in store.messages(cid())] == [("wamid.A", "hi")]
    assert summary(store, cid()).message_count == 1


def test_the_same_status_twice_changes_nothing(store: Store) -> None:
    store.apply(inbound("wamid.in", 0))
    send(store, "local-1", 1, "wamid.out")
    assert store.apply(status("wamid.out", MessageStatus.DELIVERED, 2)) == cid()
    assert store.apply(status("wamid.out", MessageStatus.DELIVERED, 2)) is None
    ours = message(store, "local-1")
    assert (ours.status, ours.status_at) == (MessageStatus.DELIVERED, at(2))


def test_the_same_resolution_twice_changes_nothing(store: Store) -> None:
    store.apply(inbound("wamid.in", 0))
    assert store.apply(conversation_status(ConversationStatus.RESOLVED, 1)) == cid()
    assert store.apply(conversation_status(ConversationStatus.RESOLVED, 1)) is None
    assert summary(store, cid()).status is ConversationStatus.RESOLVED


def test_apply_many_returns_the_conversations_that_changed(store: Store) -> None:
    events: list[Event] = [
        inbound("wamid.a1", 0),
        inbound("wamid.b1", 1, customer=BOB),
        inbound("wamid.a1", 0),
        inbound("wamid.a2", 2),
        templates_changed(template("welcome"), synced_at=at(3)),
    ]
    assert store.apply_many(events) == {cid(), cid(BOB)}
    assert store.apply_many(events) == set()
    assert sum(c.message_count for c in store.conversations()) == 3
