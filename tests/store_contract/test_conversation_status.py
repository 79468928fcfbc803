"""Open and resolved: set by the agent or by an event; resolving is stamped no earlier than the last
message whatever the clocks say, and a customer's question after it reopens the conversation
(desk.summary: a reaction or a system message asks nothing, an older message is not after it)."""

from __future__ import annotations

import pytest

from desk.clock import FrozenClock
from desk.models import ConversationStatus
from desk.store.contract import Store
from tests.store_contract.builders import NOW_MINUTES, at, cid, conversation_status, inbound, summary

OPEN, RESOLVED = ConversationStatus.OPEN, ConversationStatus.RESOLVED


@pytest.fixture
def alice(store: Store) -> Store:
    store.apply(inbound("wamid.in", 0))
    return store


def test_set_status_resolves_and_reopens(alice: Store) -> None:
    alice.set_status(cid(), RESOLVED)
    assert summary(alice, cid()).status is RESOLVED
    alice.set_status(cid(), OPEN)
    assert summary(alice, cid()).status is OPEN


def test_resolving_is_never_stamped_before_the_last_message_even_when_the_clock_is_behind(alice: Store, clock: FrozenClock) -> None:
    alice.apply(inbound("wamid.skewed", 30, "a phone whose clock runs ahead"))
    clock.set(at(10))
    alice.set_status(cid(), RESOLVED)
    assert summary(alice, cid()).status is RESOLVED


def test_a_customer_question_after_resolving_reopens(alice: Store) -> None:
    alice.set_status(cid(), RESOLVED)
    alice.apply(inbound("wamid.again", NOW_MINUTES + 1, "one more thing"))
    assert summary(alice, cid()).status is OPEN


@pytest.mark.parametrize("kind", ["reaction", "system"])
def test_a_reaction_or_a_system_message_after_resolving_does_not_reopen(alice: Store, kind: str) -> None:
    alice.set_status(cid(), RESOLVED)
    alice.apply(inbound("wamid.after", NOW_MINUTES + 1, "👍", type=kind))
    assert summary(alice, cid()).status is RESOLVED


def test_a_customer_message_older_than_the_resolution_does_not_reopen(alice: Store) -> None:
    alice.set_status(cid(), RESOLVED)
    alice.apply(inbound("wamid.late", 5, "delivered late, written before the resolution"))
    assert summary(alice, cid()).status is RESOLVED


def test_a_resolution_event_resolves_and_a_reopening_event_reopens(alice: Store) -> None:
    assert alice.apply(conversation_status(RESOLVED, 10)) == cid()
    assert summary(alice, cid()).status is RESOLVED
    assert alice.apply(conversation_status(OPEN, 20)) == cid()
    assert summary(alice, cid()).status is OPEN


def test_a_customer_question_after_a_resolution_event_reopens(alice: Store) -> None:
    alice.apply(conversation_status(RESOLVED, 10))
    alice.apply(inbound("wamid.again", 11, "one more thing"))
    assert summary(alice, cid()).status is OPEN
