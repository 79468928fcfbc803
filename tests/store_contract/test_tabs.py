"""Tabs: each agent's open conversations, in order, each once, kept across a restart and a kill,
never announced as a change."""

from __future__ import annotations

from desk.clock import FrozenClock
from desk.store.contract import Store
from tests.store_contract.builders import BOB, cid, inbound
from tests.store_contract.harness import StoreHarness


def test_tabs_are_kept_in_order_each_once_per_agent(harness: StoreHarness, store: Store) -> None:
    assert store.tabs("ana") == []
    store.save_tabs("ana", [cid(BOB), cid(), cid(BOB)])
    store.save_tabs("ben", [cid()])
    store = harness.reopen()
    assert (store.tabs("ana"), store.tabs("ben")) == ([cid(BOB), cid()], [cid()])


def test_saving_tabs_announces_nothing(store: Store) -> None:
    store.apply(inbound("wamid.in", 0))
    before = store.last_change()
    store.save_tabs("ana", [cid()])
    assert store.last_change() == before


def _two_tabs(store: Store, clock: FrozenClock) -> None:
    store.save_tabs("ana", [cid(), cid(BOB)])


def test_tabs_survive_a_kill(harness: StoreHarness) -> None:
    assert harness.kill_and_reopen(_two_tabs).tabs("ana") == [cid(), cid(BOB)]
