"""What the agent typed and did not send is kept, durably, per conversation; an empty text removes it."""

from __future__ import annotations

from desk.clock import FrozenClock
from desk.store.contract import Store
from tests.store_contract.builders import BOB, cid, inbound
from tests.store_contract.harness import StoreHarness


def test_a_draft_is_kept_and_read_back(store: Store) -> None:
    store.apply(inbound("wamid.1", 0))
    assert store.draft(cid()) == ""
    store.save_draft(cid(), "Let me check ✔ that\nfor you")
    assert store.draft(cid()) == "Let me check ✔ that\nfor you"
    store.save_draft(cid(), "Let me check")
    assert store.draft(cid()) == "Let me check"


def test_an_empty_draft_removes_it(store: Store) -> None:
    store.apply(inbound("wamid.1", 0))
    store.save_draft(cid(), "Let me check")
    store.save_draft(cid(), "")
    assert store.draft(cid()) == ""


def test_each_conversation_has_its_own_draft(store: Store) -> None:
    store.apply(inbound("wamid.1", 0))
    store.apply(inbound("wamid.2", 0, customer=BOB))
    store.save_draft(cid(), "for Alice")
    store.save_draft(cid(BOB), "for Bob")
    store.save_draft(cid(), "")
    assert (store.draft(cid()), store.draft(cid(BOB))) == ("", "for Bob")


def test_drafts_survive_a_reopen(harness: StoreHarness) -> None:
    store = harness.open()
    store.apply(inbound("wamid.1", 0))
    store.apply(inbound("wamid.2", 0, customer=BOB))
    store.save_draft(cid(), "for Alice")
    store.save_draft(cid(BOB), "for Bob")
    store.save_draft(cid(BOB), "")
    store = harness.reopen()
    assert (store.draft(cid()), store.draft(cid(BOB))) == ("for Alice", "")


def _drafts(store: Store, clock: FrozenClock) -> None:
    store.apply(inbound("wamid.1", 0))
    store.apply(inbound("wamid.2", 0, customer=BOB))
    store.save_draft(cid(), "for Alice")
    store.save_draft(cid(BOB), "for Bob")
    store.save_draft(cid(BOB), "")


def test_drafts_survive_a_kill(harness: StoreHarness) -> None:
    store = harness.kill_and_reopen(_drafts)
    assert (store.draft(cid()), store.draft(cid(BOB))) == ("for Alice", "")
