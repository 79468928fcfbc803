"""The agent has read a conversation: its unread count is 0, and the read marker never moves back
(a message delivered late, older than what was read, is not unread)."""

from __future__ import annotations

from desk.store.contract import Store
from tests.store_contract.builders import cid, inbound, summary


def test_mark_read_makes_unread_zero(store: Store) -> None:
    store.apply(inbound("wamid.1", 0))
    store.apply(inbound("wamid.2", 1))
    assert summary(store, cid()).unread == 2
    store.mark_read(cid())
    assert summary(store, cid()).unread == 0


def test_a_message_after_mark_read_is_unread(store: Store) -> None:
    store.apply(inbound("wamid.1", 0))
    store.mark_read(cid())
    store.apply(inbound("wamid.2", 1))
    assert summary(store, cid()).unread == 1


def test_the_read_marker_never_moves_back(store: Store) -> None:
    store.apply(inbound("wamid.1", 0))
    store.apply(inbound("wamid.3", 3))
    store.mark_read(cid())
    store.apply(inbound("wamid.2", 2, "delivered late"))
    assert summary(store, cid()).unread == 0
    store.mark_read(cid())
    store.apply(inbound("wamid.4", 4))
    assert summary(store, cid()).unread == 1

