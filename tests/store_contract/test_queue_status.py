"""Pending and snoozed, the queue's other statuses: set by the agent, kept across a restart, and
ended by the customer's next question, which the audit log then records; resolving keeps when it
was resolved, and reopening what was resolved begins a new episode."""

from __future__ import annotations

import pytest

from desk.clock import FrozenClock
from desk.models import ConversationStatus
from desk.store.audit import REOPENED
from desk.store.contract import Store
from tests.store_contract.builders import NOW, NOW_MINUTES, at, cid, inbound, send, summary
from tests.store_contract.harness import StoreHarness

OPEN, PENDING, SNOOZED, RESOLVED = (
    ConversationStatus.OPEN, ConversationStatus.PENDING, ConversationStatus.SNOOZED, ConversationStatus.RESOLVED
)


@pytest.fixture
def alice(store: Store) -> Store:
    store.apply(inbound("wamid.in", 0))
    return store


@pytest.mark.parametrize("status", [PENDING, SNOOZED])
def test_a_customer_question_ends_pending_and_snoozed_and_the_log_says_so(alice: Store, status: ConversationStatus) -> None:
    alice.set_status(cid(), status, agent="Ana")
    assert summary(alice, cid()).status is status
    alice.apply(inbound("wamid.again", NOW_MINUTES + 1, "any news?"))
    assert summary(alice, cid()).status is OPEN
    last = alice.audit(cid())[-1]
    assert (last.action, last.agent, last.at) == (REOPENED, None, at(NOW_MINUTES + 1))


def test_a_reaction_does_not_wake_a_snoozed_conversation(alice: Store) -> None:
    alice.set_status(cid(), SNOOZED)
    alice.apply(inbound("wamid.like", NOW_MINUTES + 1, "👍", type="reaction"))
    assert summary(alice, cid()).status is SNOOZED


def test_snoozed_until_a_time_keeps_the_time(alice: Store) -> None:
    until = at(NOW_MINUTES + 120)
    alice.set_status(cid(), SNOOZED, until=until)
    conv = summary(alice, cid())
    assert (conv.status, conv.snoozed_until) == (SNOOZED, until)
    alice.set_status(cid(), SNOOZED)  # now until the customer writes
    assert summary(alice, cid()).snoozed_until is None


def test_until_goes_only_with_snoozed(alice: Store) -> None:
    with pytest.raises(ValueError):
        alice.set_status(cid(), PENDING, until=at(NOW_MINUTES + 5))


def test_the_status_and_its_time_survive_a_restart(harness: StoreHarness, alice: Store) -> None:
    until = at(NOW_MINUTES + 60)
    alice.set_status(cid(), SNOOZED, until=until)
    conv = summary(harness.reopen(), cid())
    assert (conv.status, conv.snoozed_until) == (SNOOZED, until)


def _pending(store: Store, clock: FrozenClock) -> None:
    store.apply(inbound("wamid.in", 0))
    store.set_status(cid(), PENDING)


def test_the_status_survives_a_kill(harness: StoreHarness) -> None:
    assert summary(harness.kill_and_reopen(_pending), cid()).status is PENDING


def test_resolving_keeps_when_and_the_episode_it_closed(alice: Store) -> None:
    alice.set_status(cid(), RESOLVED)
    conv = summary(alice, cid())
    assert (conv.opened_at, conv.resolved_at) == (at(0), NOW)
    alice.apply(inbound("wamid.again", NOW_MINUTES + 30, "one more thing"))
    conv = summary(alice, cid())
    # A new episode from the new question; the last resolution is still on record.
    assert (conv.status, conv.opened_at, conv.resolved_at) == (OPEN, at(NOW_MINUTES + 30), NOW)


def test_pending_then_a_question_goes_on_with_the_same_episode(alice: Store) -> None:
    send(alice, "ours", 5, "wamid.ours")
    alice.set_status(cid(), PENDING)
    alice.apply(inbound("wamid.again", NOW_MINUTES + 30, "here it is"))
    assert summary(alice, cid()).opened_at == at(0)


def test_the_agent_reopening_a_resolved_conversation_begins_a_new_episode(alice: Store, clock: FrozenClock) -> None:
    alice.set_status(cid(), RESOLVED)
    clock.set(at(NOW_MINUTES + 10))
    alice.set_status(cid(), OPEN)
    assert summary(alice, cid()).opened_at == at(NOW_MINUTES + 10)
