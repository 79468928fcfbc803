"""The agent has read a conversation: its unread count is 0, and the read marker never moves back
(a message delivered late, older than what was read, is not unread)."""

from __future__ import annotations

from desk.store.contract import Store
from tests.store_contract.builders import at, cid, inbound, summary


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



def test_read_up_to_what_was_on_screen_leaves_a_later_message_unread(store: Store) -> None:
    """The agent read up to the newest message their screen showed; one that came meanwhile is
    still unread."""
    store.apply(inbound("wamid.1", 0))
    store.apply(inbound("wamid.2", 2, "arrived while the screen painted"))
    store.mark_read(cid(), upto=at(0))
    assert summary(store, cid()).unread == 1


def test_reading_an_older_screen_does_not_move_the_marker_back(store: Store) -> None:
    store.apply(inbound("wamid.1", 0))
    store.apply(inbound("wamid.2", 2))
    store.mark_read(cid(), upto=at(2))
    store.mark_read(cid(), upto=at(0))  # a second desk still showing the older transcript
    assert summary(store, cid()).unread == 0
