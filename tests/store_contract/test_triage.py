"""Priority and labels: set by the agent, tidy, kept across a restart, each change announced and
audited once, never touched by the customer's messages."""

from __future__ import annotations

import pytest

from desk.models import Priority
from desk.store.audit import LABELS, PRIORITY
from desk.store.contract import Store
from tests.store_contract.builders import cid, inbound, summary
from tests.store_contract.changes import take
from tests.store_contract.harness import StoreHarness


@pytest.fixture
def alice(store: Store) -> Store:
    store.apply(inbound("wamid.in", 0))
    return store


def test_a_new_conversation_is_normal_and_unlabelled(alice: Store) -> None:
    conv = summary(alice, cid())
    assert (conv.priority, conv.labels) == (Priority.NORMAL, ())


def test_priority_is_set_kept_and_untouched_by_the_customer(harness: StoreHarness, alice: Store) -> None:
    alice.set_priority(cid(), Priority.URGENT, agent="Ana")
    alice.apply(inbound("wamid.more", 5, "please hurry"))
    assert summary(harness.reopen(), cid()).priority is Priority.URGENT


def test_labels_are_tidy_each_once_and_sorted(alice: Store) -> None:
    alice.set_labels(cid(), ["VIP", "vip", "  billing ", "", "line\nbreak\x1b[31m"])
    assert summary(alice, cid()).labels == ("billing", "line break␛[31m", "vip")


def test_labels_survive_a_restart(harness: StoreHarness, alice: Store) -> None:
    alice.set_labels(cid(), ["refund"])
    assert summary(harness.reopen(), cid()).labels == ("refund",)


async def test_each_change_is_announced_and_audited_once(alice: Store) -> None:
    start = alice.last_change()
    alice.set_priority(cid(), Priority.HIGH, agent="Ana")
    alice.set_priority(cid(), Priority.HIGH, agent="Ana")
    alice.set_labels(cid(), ["vip"], agent="Ana")
    alice.set_labels(cid(), ["VIP"], agent="Ana")
    alice.set_labels(cid(), ["refund"], agent="Ana")
    changes = await take(alice, start, 3)
    assert [c.agent for c in changes] == ["Ana"] * 3
    assert alice.last_change() == changes[-1].seq
    entries = [(e.action, e.detail, e.agent) for e in alice.audit(cid())]
    assert entries == [(PRIORITY, "high", "Ana"), (LABELS, "+vip", "Ana"), (LABELS, "+refund -vip", "Ana")]


@pytest.mark.parametrize("act", [lambda s: s.set_priority(cid(), Priority.LOW), lambda s: s.set_labels(cid(), ["x"])])
def test_an_unknown_conversation_raises(store: Store, act) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KeyError):
        act(store)
