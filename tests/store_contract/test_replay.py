"""A kill loses nothing acknowledged: every write that returned before the owner died is there
when the data is opened again (the store replays what it had not put in place); a clean close and
open keeps everything too."""

from __future__ import annotations

from desk.clock import FrozenClock
from desk.models import ConversationStatus, MessageStatus, TemplateStatus
from desk.store.contract import Store
from tests.store_contract.builders import (
    BN,
    BOB,
    CAROL,
    OTHER_BN,
    at,
    cid,
    conversation_status,
    inbound,
    message,
    outgoing,
    send,
    status,
    summary,
    template,
    templates_changed,
    view,
)
from tests.store_contract.harness import StoreHarness


def _a_morning(store: Store, clock: FrozenClock) -> object:
    """Messages, statuses, every outbox state but SENDING, read, resolved, drafts and templates."""
    store.apply(inbound("wamid.a1", 0, "my order?"))
    store.apply(inbound("wamid.b1", 1, "hello", customer=BOB))
    store.apply(inbound("wamid.c1", 2, "refund", customer=CAROL))
    send(store, "local-a1", 3, "wamid.out-a1")
    store.apply(status("wamid.out-a1", MessageStatus.DELIVERED, 4))
    store.apply(status("wamid.out-a1", MessageStatus.READ, 5))
    store.record_outgoing(outgoing("local-b1", 6, customer=BOB))
    store.record_outgoing(outgoing("local-c1", 7, customer=CAROL))
    store.update_outgoing(cid(CAROL), "local-c1", MessageStatus.SENDING, at=at(7))
    store.update_outgoing(cid(CAROL), "local-c1", MessageStatus.FAILED, at=at(7), error_code=131047, error_text="Re-engagement.")
    store.record_outgoing(outgoing("local-c2", 8, customer=CAROL))
    store.update_outgoing(cid(CAROL), "local-c2", MessageStatus.SENDING, at=at(8))
    store.update_outgoing(cid(CAROL), "local-c2", MessageStatus.UNKNOWN, at=at(8), error_text="No answer.")
    store.apply(inbound("wamid.b2", 9, "are you there?", customer=BOB))
    store.mark_read(cid(BOB))
    store.apply(inbound("wamid.b3", 10, "hello?", customer=BOB))
    store.set_status(cid(), ConversationStatus.RESOLVED)
    store.apply(conversation_status(ConversationStatus.RESOLVED, 11, customer=CAROL))
    store.save_draft(cid(BOB), "Yes, one moment")
    store.apply(templates_changed(template("welcome"), template("receipt"), synced_at=at(12)))
    store.apply(templates_changed(template("receipt", st=TemplateStatus.PAUSED)))
    store.apply(templates_changed(template("welcome", bn=OTHER_BN), synced_at=at(13), bn=OTHER_BN))
    return view(store)


def test_every_write_acknowledged_before_a_kill_is_there_after_it(harness: StoreHarness) -> None:
    store = harness.kill_and_reopen(_a_morning)
    acknowledged = harness.acknowledged
    assert isinstance(acknowledged, dict)
    assert view(store) == acknowledged
    # The same, said as the promises it holds (a view equal to an empty one would prove nothing).
    assert message(store, "local-a1").status is MessageStatus.READ
    assert [m.id for m in store.queued()] == ["local-b1"]
    assert message(store, "local-c1", cid(CAROL)).error_code == 131047
    assert message(store, "local-c2", cid(CAROL)).status is MessageStatus.UNKNOWN
    assert summary(store, cid(BOB)).unread == 1
    assert summary(store, cid()).status is ConversationStatus.RESOLVED
    assert summary(store, cid(CAROL)).status is ConversationStatus.RESOLVED
    assert store.draft(cid(BOB)) == "Yes, one moment"
    assert {t.name: t.status for t in store.templates(BN)} == {
        "welcome": TemplateStatus.APPROVED,
        "receipt": TemplateStatus.PAUSED,
    }
    assert store.templates_synced_at(OTHER_BN) == at(13)


def test_everything_survives_a_reopen(harness: StoreHarness) -> None:
    store = harness.open()
    before = _a_morning(store, harness.clock)
    assert view(harness.reopen()) == before


def _a_status_before_its_wamid(store: Store, clock: FrozenClock) -> None:
    store.apply(inbound("wamid.a1", 0))
    store.record_outgoing(outgoing("local-a1", 1))
    store.update_outgoing(cid(), "local-a1", MessageStatus.SENDING, at=at(1))
    store.apply(status("wamid.out-a1", MessageStatus.DELIVERED, 2))


def test_a_status_waiting_for_its_wamid_survives_a_kill(harness: StoreHarness) -> None:
    store = harness.kill_and_reopen(_a_status_before_its_wamid)
    # The crash turned the send into an unknown outcome; WhatsApp's word, kept, settles it once
    # the wamid is recorded.
    assert message(store, "local-a1").status is MessageStatus.UNKNOWN
    settled = store.update_outgoing(cid(), "local-a1", MessageStatus.UNKNOWN, at=at(3), wamid="wamid.out-a1")
    assert (settled.status, settled.status_at) == (MessageStatus.DELIVERED, at(2))


def _one_message(store: Store, clock: FrozenClock) -> None:
    store.apply(inbound("wamid.a1", 0))


def test_a_store_opened_after_a_kill_takes_new_writes(harness: StoreHarness) -> None:
    store = harness.kill_and_reopen(_one_message)
    assert store.apply(inbound("wamid.a1", 0)) is None
    assert store.apply(inbound("wamid.a2", 1)) == cid()
    assert [m.id for m in store.messages(cid())] == ["wamid.a1", "wamid.a2"]
