"""Ownership: a conversation is given to an agent (their id) or to nobody; who owns it survives a
restart and a kill, is announced once per change, and never moves with the customer's messages."""

from __future__ import annotations

import pytest

from desk.clock import FrozenClock
from desk.store.contract import ChangeKind, Store
from tests.store_contract.builders import cid, inbound, summary
from tests.store_contract.changes import take
from tests.store_contract.harness import StoreHarness


@pytest.fixture
def alice(store: Store) -> Store:
    store.apply(inbound("wamid.in", 0))
    return store


def test_a_new_conversation_belongs_to_nobody(alice: Store) -> None:
    assert summary(alice, cid()).assignee is None


def test_assign_gives_it_to_an_agent_and_to_nobody_again(alice: Store) -> None:
    alice.assign(cid(), "ana", agent="Ana")
    assert summary(alice, cid()).assignee == "ana"
    alice.assign(cid(), "ben", agent="Ben")
    assert summary(alice, cid()).assignee == "ben"
    alice.assign(cid(), None, agent="Ben")
    assert summary(alice, cid()).assignee is None


def test_a_customer_message_keeps_the_owner(alice: Store) -> None:
    alice.assign(cid(), "ana")
    alice.apply(inbound("wamid.more", 5, "still there?"))
    assert summary(alice, cid()).assignee == "ana"


async def test_each_change_of_owner_is_announced_once_with_who_made_it(alice: Store) -> None:
    start = alice.last_change()
    alice.assign(cid(), "ana", agent="Ana")
    alice.assign(cid(), "ana", agent="Ana")  # theirs already: nothing changes
    [change] = await take(alice, start, 1)
    assert (change.kind, change.conversation_id, change.agent) == (ChangeKind.CONVERSATION, cid(), "Ana")
    assert alice.last_change() == change.seq  # the second assign announced nothing


def test_an_unknown_conversation_cannot_be_assigned(store: Store) -> None:
    with pytest.raises(KeyError):
        store.assign(cid(), "ana")


def test_the_owner_survives_a_restart(harness: StoreHarness, alice: Store) -> None:
    alice.assign(cid(), "ana")
    assert summary(harness.reopen(), cid()).assignee == "ana"


def _taken_by_ben(store: Store, clock: FrozenClock) -> None:
    store.apply(inbound("wamid.in", 0))
    store.assign(cid(), "ben")


def test_the_owner_survives_a_kill(harness: StoreHarness) -> None:
    assert summary(harness.kill_and_reopen(_taken_by_ben), cid()).assignee == "ben"
