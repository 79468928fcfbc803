"""claim: an agent takes a conversation only if nobody has it (or they have it already); whoever
has it afterwards is the answer. Announced and audited only when it changed; a claim survives a
kill. (That it is atomic across threads and instances: tests/test_pg_claim.py, and the embedded
store's write lock.)"""

from __future__ import annotations

import pytest

from desk.clock import FrozenClock
from desk.store.audit import ASSIGNED
from desk.store.contract import ChangeKind, Store
from tests.store_contract.builders import cid, inbound, summary
from tests.store_contract.changes import take
from tests.store_contract.harness import StoreHarness


@pytest.fixture
def alice(store: Store) -> Store:
    store.apply(inbound("wamid.in", 0))
    return store


async def test_a_claim_of_a_free_conversation_wins_and_is_announced_and_audited_once(alice: Store) -> None:
    start = alice.last_change()
    assert alice.claim(cid(), "ana") == "ana"
    assert summary(alice, cid()).assignee == "ana"
    [change] = await take(alice, start, 1)
    assert (change.kind, change.conversation_id, change.agent) == (ChangeKind.CONVERSATION, cid(), "ana")
    assert [(e.action, e.detail, e.agent) for e in alice.audit(cid())] == [(ASSIGNED, "ana", "ana")]


def test_a_claim_of_what_another_has_loses_and_changes_nothing(alice: Store) -> None:
    alice.assign(cid(), "ben", agent="ben")
    before, audit = alice.last_change(), alice.audit(cid())
    assert alice.claim(cid(), "ana") == "ben"
    assert summary(alice, cid()).assignee == "ben"
    assert (alice.last_change(), alice.audit(cid())) == (before, audit)


def test_a_claim_of_ones_own_conversation_wins_and_changes_nothing(alice: Store) -> None:
    assert alice.claim(cid(), "ana") == "ana"
    before, audit = alice.last_change(), alice.audit(cid())
    assert alice.claim(cid(), "ana") == "ana"
    assert (alice.last_change(), alice.audit(cid())) == (before, audit)


def test_a_conversation_given_back_to_nobody_can_be_claimed_again(alice: Store) -> None:
    alice.claim(cid(), "ben")
    alice.assign(cid(), None, agent="ben")
    assert alice.claim(cid(), "ana") == "ana"


def test_an_unknown_conversation_cannot_be_claimed(store: Store) -> None:
    with pytest.raises(KeyError):
        store.claim(cid(), "ana")


def _claimed_by_ben(store: Store, clock: FrozenClock) -> None:
    store.apply(inbound("wamid.in", 0))
    store.claim(cid(), "ben")


def test_a_claim_survives_a_kill(harness: StoreHarness) -> None:
    store = harness.kill_and_reopen(_claimed_by_ben)
    assert store.claim(cid(), "ana") == "ben"
