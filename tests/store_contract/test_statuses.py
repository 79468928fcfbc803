"""WhatsApp's statuses move our messages only forward (sent, delivered, read; it sends them in no
particular order); a failure is final unless WhatsApp later says the message arrived; any word from
WhatsApp settles a message whose send had no answer; a status that comes before we know its wamid
waits for it."""

from __future__ import annotations

import pytest

from desk.models import MessageStatus
from desk.store.contract import Store
from tests.store_contract.builders import at, cid, inbound, message, outgoing, send, status

SETTLED = [MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED]


@pytest.fixture
def sent(store: Store) -> Store:
    """Alice wrote, and our reply "local-1" was accepted by WhatsApp as wamid.out."""
    store.apply(inbound("wamid.in", 0))
    send(store, "local-1", 1, "wamid.out")
    return store


def test_statuses_in_whatsapps_order_each_move_our_message(sent: Store) -> None:
    for minutes, st in [(2, MessageStatus.DELIVERED), (3, MessageStatus.READ), (4, MessageStatus.PLAYED)]:
        assert sent.apply(status("wamid.out", st, minutes)) == cid()
        ours = message(sent, "local-1")
        assert (ours.status, ours.status_at) == (st, at(minutes))


def test_read_then_delivered_stays_read(sent: Store) -> None:
    assert sent.apply(status("wamid.out", MessageStatus.READ, 3)) == cid()
    assert sent.apply(status("wamid.out", MessageStatus.DELIVERED, 2)) is None
    ours = message(sent, "local-1")
    assert (ours.status, ours.status_at) == (MessageStatus.READ, at(3))


@pytest.mark.parametrize(
    ("first", "late"),
    [
        (MessageStatus.DELIVERED, MessageStatus.SENT),
        (MessageStatus.READ, MessageStatus.SENT),
        (MessageStatus.PLAYED, MessageStatus.READ),
        (MessageStatus.PLAYED, MessageStatus.DELIVERED),
    ],
    ids=lambda s: s.value,
)
def test_a_late_status_never_moves_our_message_backwards(sent: Store, first: MessageStatus, late: MessageStatus) -> None:
    sent.apply(status("wamid.out", first, 3))
    assert sent.apply(status("wamid.out", late, 4)) is None
    assert message(sent, "local-1").status is first


def test_a_failure_keeps_whatsapps_error(sent: Store) -> None:
    assert sent.apply(status("wamid.out", MessageStatus.FAILED, 2, error_code=131026, error_text="Undeliverable.")) == cid()
    ours = message(sent, "local-1")
    assert (ours.status, ours.error_code, ours.error_text) == (MessageStatus.FAILED, 131026, "Undeliverable.")


def test_a_failure_is_final_when_whatsapp_says_only_sent(sent: Store) -> None:
    sent.apply(status("wamid.out", MessageStatus.FAILED, 2, error_code=131026, error_text="Undeliverable."))
    assert sent.apply(status("wamid.out", MessageStatus.SENT, 3)) is None
    ours = message(sent, "local-1")
    assert (ours.status, ours.error_code) == (MessageStatus.FAILED, 131026)


@pytest.mark.parametrize("arrived", SETTLED, ids=lambda s: s.value)
def test_a_failure_gives_way_when_whatsapp_says_the_message_arrived_and_its_error_goes(
    sent: Store, arrived: MessageStatus
) -> None:
    sent.apply(status("wamid.out", MessageStatus.FAILED, 2, error_code=131026, error_text="Undeliverable."))
    assert sent.apply(status("wamid.out", arrived, 3)) == cid()
    ours = message(sent, "local-1")
    assert (ours.status, ours.error_code, ours.error_text) == (arrived, None, None)


@pytest.mark.parametrize("arrived", SETTLED, ids=lambda s: s.value)
def test_a_failure_after_the_message_arrived_changes_nothing(sent: Store, arrived: MessageStatus) -> None:
    sent.apply(status("wamid.out", arrived, 2))
    assert sent.apply(status("wamid.out", MessageStatus.FAILED, 3, error_code=131026)) is None
    ours = message(sent, "local-1")
    assert (ours.status, ours.error_code) == (arrived, None)


@pytest.mark.parametrize(
    "word", [MessageStatus.SENT, *SETTLED, MessageStatus.FAILED], ids=lambda s: s.value
)
def test_any_whatsapp_status_settles_a_message_whose_send_had_no_answer(store: Store, word: MessageStatus) -> None:
    store.apply(inbound("wamid.in", 0))
    store.record_outgoing(outgoing("local-1", 1))
    store.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(1))
    store.update_outgoing(cid(), "local-1", MessageStatus.UNKNOWN, at=at(1), wamid="wamid.out", error_text="No answer.")
    assert message(store, "local-1").status is MessageStatus.UNKNOWN
    assert store.apply(status("wamid.out", word, 2)) == cid()
    assert message(store, "local-1").status is word


def test_a_status_before_the_wamid_is_known_is_applied_when_the_wamid_is_recorded(store: Store) -> None:
    store.apply(inbound("wamid.in", 0))
    store.record_outgoing(outgoing("local-1", 1))
    store.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(1))
    # WhatsApp's webhook overtakes the answer to our request.
    store.apply(status("wamid.out", MessageStatus.DELIVERED, 2))
    assert message(store, "local-1").status is MessageStatus.SENDING
    sent = store.update_outgoing(cid(), "local-1", MessageStatus.SENT, at=at(1), wamid="wamid.out")
    assert (sent.status, sent.status_at) == (MessageStatus.DELIVERED, at(2))
    assert message(store, "local-1") == sent


def test_statuses_waiting_for_their_wamid_are_applied_in_arrival_order(store: Store) -> None:
    store.apply(inbound("wamid.in", 0))
    store.record_outgoing(outgoing("local-1", 1))
    store.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(1))
    # Two failures, the later-stamped first: in arrival order the first one's error is the one kept
    # (a failure does not move a failed message); by timestamp it would be the second's.
    store.apply(status("wamid.out", MessageStatus.FAILED, 5, error_code=131026, error_text="first"))
    store.apply(status("wamid.out", MessageStatus.FAILED, 4, error_code=131049, error_text="second"))
    store.update_outgoing(cid(), "local-1", MessageStatus.SENT, at=at(1), wamid="wamid.out")
    ours = message(store, "local-1")
    assert (ours.status, ours.error_code, ours.error_text, ours.status_at) == (MessageStatus.FAILED, 131026, "first", at(5))


def test_statuses_waiting_for_their_wamid_move_only_forward(store: Store) -> None:
    store.apply(inbound("wamid.in", 0))
    store.record_outgoing(outgoing("local-1", 1))
    store.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(1))
    store.apply(status("wamid.out", MessageStatus.READ, 3))
    store.apply(status("wamid.out", MessageStatus.DELIVERED, 2))
    store.update_outgoing(cid(), "local-1", MessageStatus.SENT, at=at(1), wamid="wamid.out")
    ours = message(store, "local-1")
    assert (ours.status, ours.status_at) == (MessageStatus.READ, at(3))
