"""The audit log: every agent action with who and when, in order, kept across a restart and a
kill, and nothing logged for an action that changed nothing."""

from __future__ import annotations

from desk.clock import FrozenClock
from desk.models import ConversationStatus, Priority
from desk.store import audit
from desk.store.contract import Store
from tests.store_contract.builders import NOW, NOW_MINUTES, at, cid, inbound, send
from tests.store_contract.harness import StoreHarness


def _a_day_of_work(store: Store, clock: FrozenClock) -> None:
    store.apply(inbound("wamid.in", 0))
    store.assign(cid(), "ana", agent="Ana")
    store.assign(cid(), "ana", agent="Ana")  # no change: not logged
    send(store, "ours", NOW_MINUTES, "wamid.ours")
    store.set_priority(cid(), Priority.HIGH, agent="Ana")
    store.set_status(cid(), ConversationStatus.SNOOZED, until=at(NOW_MINUTES + 60), agent="Ana")
    store.set_status(cid(), ConversationStatus.RESOLVED, agent="Ana")


EXPECTED = [
    (audit.ASSIGNED, "ana", "Ana"),
    (audit.SENT, "ours", None),
    (audit.PRIORITY, "high", "Ana"),
    (audit.STATUS, f"snoozed {int(at(NOW_MINUTES + 60).timestamp())}", "Ana"),
    (audit.STATUS, "resolved", "Ana"),
]


def test_every_action_is_logged_with_who_and_when(harness: StoreHarness, store: Store) -> None:
    _a_day_of_work(store, harness.clock)
    entries = store.audit(cid())
    assert [(e.action, e.detail, e.agent) for e in entries] == EXPECTED
    assert all(e.at == NOW for e in entries)


def test_the_log_survives_a_restart_and_a_kill(harness: StoreHarness) -> None:
    store = harness.kill_and_reopen(_a_day_of_work)
    assert [(e.action, e.detail, e.agent) for e in store.audit(cid())] == EXPECTED
    store = harness.reopen()
    assert [(e.action, e.detail, e.agent) for e in store.audit(cid())] == EXPECTED
