"""The outbox's side of our messages: recorded QUEUED before they are sent, moved by what the
send did, retried only from a failure or an unknown outcome, never out of what WhatsApp settled,
and after a crash never resent when the request may have left."""

from __future__ import annotations

import pytest

from desk.clock import FrozenClock
from desk.models import Direction, MessageStatus
from desk.store.contract import Store
from tests.store_contract.builders import BOB, CAROL, at, cid, inbound, message, outgoing, send, status
from tests.store_contract.harness import StoreHarness

OUTBOX_MOVES = [MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.UNKNOWN]


@pytest.fixture
def alice(store: Store) -> Store:
    """Alice wrote: her conversation exists."""
    store.apply(inbound("wamid.in", 0))
    return store


def reach(store: Store, st: MessageStatus) -> None:
    """Our message "local-1" in Alice's conversation, moved by the outbox to `st`."""
    store.record_outgoing(outgoing("local-1", 1))
    if st is MessageStatus.QUEUED:
        return
    store.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(1))
    if st is MessageStatus.SENT:
        store.update_outgoing(cid(), "local-1", st, at=at(2), wamid="wamid.out")
    elif st is MessageStatus.FAILED:
        store.update_outgoing(cid(), "local-1", st, at=at(2), error_code=131047, error_text="Re-engagement message.")
    elif st is MessageStatus.UNKNOWN:
        store.update_outgoing(cid(), "local-1", st, at=at(2), error_text="No answer.")
    assert message(store, "local-1").status is st


def test_an_outgoing_message_is_recorded_queued_in_its_conversation(alice: Store) -> None:
    recorded = alice.record_outgoing(outgoing("local-1", 1))
    assert (recorded.id, recorded.status, recorded.direction) == ("local-1", MessageStatus.QUEUED, Direction.OUTBOUND)
    assert message(alice, "local-1") == recorded
    assert [m.id for m in alice.queued()] == ["local-1"]


@pytest.mark.parametrize("st", [s for s in MessageStatus if s is not MessageStatus.QUEUED], ids=lambda s: s.value)
def test_only_a_queued_message_is_recorded(alice: Store, st: MessageStatus) -> None:
    with pytest.raises(ValueError):
        alice.record_outgoing(outgoing("local-1", 1, status=st))
    assert [m.id for m in alice.messages(cid())] == ["wamid.in"]


def test_only_our_own_messages_go_through_the_outbox(alice: Store) -> None:
    with pytest.raises(ValueError):
        alice.record_outgoing(outgoing("local-1", 1, direction=Direction.INBOUND))
    assert [m.id for m in alice.messages(cid())] == ["wamid.in"]


def test_an_outgoing_message_needs_an_existing_conversation(alice: Store) -> None:
    with pytest.raises(KeyError):
        alice.record_outgoing(outgoing("local-1", 1, customer=BOB))
    assert alice.conversation(cid(BOB)) is None
    assert alice.queued() == []


def test_queued_then_sending_then_sent_with_its_wamid(alice: Store) -> None:
    alice.record_outgoing(outgoing("local-1", 1))
    sending = alice.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(1))
    assert sending.status is MessageStatus.SENDING
    sent = alice.update_outgoing(cid(), "local-1", MessageStatus.SENT, at=at(2), wamid="wamid.out")
    assert (sent.status, sent.wamid, sent.status_at) == (MessageStatus.SENT, "wamid.out", at(2))
    assert message(alice, "local-1") == sent


@pytest.mark.parametrize(
    ("st", "may_retry"),
    [(MessageStatus.SENDING, False), (MessageStatus.SENT, False), (MessageStatus.FAILED, True), (MessageStatus.UNKNOWN, True)],
    ids=lambda v: v.value if isinstance(v, MessageStatus) else str(v),
)
def test_back_to_queued_only_from_failed_or_unknown(alice: Store, st: MessageStatus, may_retry: bool) -> None:
    reach(alice, st)
    returned = alice.update_outgoing(cid(), "local-1", MessageStatus.QUEUED, at=at(3))
    expected = MessageStatus.QUEUED if may_retry else st
    assert returned.status is expected
    assert message(alice, "local-1").status is expected
    assert [m.id for m in alice.queued()] == (["local-1"] if may_retry else [])


@pytest.mark.parametrize("settled", [MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED], ids=lambda s: s.value)
def test_the_outbox_never_moves_a_message_whatsapp_settled(alice: Store, settled: MessageStatus) -> None:
    reach(alice, MessageStatus.SENT)
    alice.apply(status("wamid.out", settled, 3))
    for st in OUTBOX_MOVES:
        returned = alice.update_outgoing(cid(), "local-1", st, at=at(4), error_code=131000, error_text="Something went wrong.")
        assert returned.status is settled, st
    ours = message(alice, "local-1")
    assert (ours.status, ours.status_at, ours.error_code, ours.error_text) == (settled, at(3), None, None)


def test_the_error_is_kept_on_a_failure_and_on_an_unknown_outcome(alice: Store) -> None:
    reach(alice, MessageStatus.SENDING)
    failed = alice.update_outgoing(cid(), "local-1", MessageStatus.FAILED, at=at(2), error_code=131047, error_text="Re-engagement.")
    assert (failed.error_code, failed.error_text) == (131047, "Re-engagement.")
    alice.update_outgoing(cid(), "local-1", MessageStatus.QUEUED, at=at(3))
    alice.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(3))
    unknown = alice.update_outgoing(cid(), "local-1", MessageStatus.UNKNOWN, at=at(4), error_text="No answer.")
    assert (unknown.error_code, unknown.error_text) == (None, "No answer.")


@pytest.mark.parametrize("after", [MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT], ids=lambda s: s.value)
def test_the_error_is_cleared_by_any_other_move(alice: Store, after: MessageStatus) -> None:
    reach(alice, MessageStatus.FAILED)
    if after is not MessageStatus.QUEUED:
        alice.update_outgoing(cid(), "local-1", MessageStatus.QUEUED, at=at(3))
    if after is MessageStatus.SENT:
        alice.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(3))
    # A report that carries an error all the same: only a failure or an unknown outcome keeps one.
    moved = alice.update_outgoing(
        cid(), "local-1", after, at=at(4), wamid="wamid.out", error_code=131000, error_text="Something went wrong."
    )
    assert (moved.status, moved.error_code, moved.error_text) == (after, None, None)
    assert message(alice, "local-1") == moved


def test_a_wamid_once_known_is_kept(alice: Store) -> None:
    reach(alice, MessageStatus.SENT)
    failed = alice.update_outgoing(cid(), "local-1", MessageStatus.FAILED, at=at(3), error_code=131026)
    assert failed.wamid == "wamid.out"
    alice.update_outgoing(cid(), "local-1", MessageStatus.QUEUED, at=at(4))
    sending = alice.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(4))
    assert sending.wamid == "wamid.out"
    assert message(alice, "local-1").wamid == "wamid.out"


def test_queued_lists_the_queued_messages_oldest_first(alice: Store) -> None:
    alice.apply(inbound("wamid.bob", 0, customer=BOB))
    alice.apply(inbound("wamid.carol", 0, customer=CAROL))
    alice.record_outgoing(outgoing("late", 9, customer=BOB))
    alice.record_outgoing(outgoing("early", 3))
    alice.record_outgoing(outgoing("middle", 5, customer=CAROL))
    alice.record_outgoing(outgoing("being-sent", 1, customer=CAROL))
    alice.update_outgoing(cid(CAROL), "being-sent", MessageStatus.SENDING, at=at(10))
    send(alice, "sent", 2, "wamid.sent")
    assert [m.id for m in alice.queued()] == ["early", "middle", "late"]
    assert all(m.status is MessageStatus.QUEUED for m in alice.queued())


def _queued_and_sending(store: Store, clock: FrozenClock) -> None:
    store.apply(inbound("wamid.in", 0))
    store.apply(inbound("wamid.bob", 0, customer=BOB))
    store.record_outgoing(outgoing("never-left", 1))
    store.record_outgoing(outgoing("may-have-left", 2, customer=BOB))
    store.update_outgoing(cid(BOB), "may-have-left", MessageStatus.SENDING, at=at(2))


def test_after_a_kill_a_message_left_sending_is_unknown_and_never_resent(harness: StoreHarness) -> None:
    store = harness.kill_and_reopen(_queued_and_sending)
    assert message(store, "may-have-left", cid(BOB)).status is MessageStatus.UNKNOWN
    assert message(store, "never-left").status is MessageStatus.QUEUED
    assert [m.id for m in store.queued()] == ["never-left"]
    # The agent's explicit retry may send it again.
    store.update_outgoing(cid(BOB), "may-have-left", MessageStatus.QUEUED, at=at(3))
    assert [m.id for m in store.queued()] == ["never-left", "may-have-left"]
