"""Internal notes: in the transcript and the audit log, never in the outbox, never sent, no answer
to the customer, kept across a restart and a kill."""

from __future__ import annotations

import pytest

from desk.clock import FrozenClock
from desk.models import Direction, MessageStatus
from desk.store.audit import NOTE
from desk.store.contract import Store
from tests.store_contract.builders import NOW, cid, inbound, summary
from tests.store_contract.harness import StoreHarness


@pytest.fixture
def alice(store: Store) -> Store:
    store.apply(inbound("wamid.in", 0))
    return store


def test_a_note_is_in_the_transcript_and_never_in_the_outbox(alice: Store) -> None:
    note = alice.add_note(cid(), "she was promised a refund on the phone", agent="Ana")
    assert (note.type, note.status, note.direction, note.agent, note.timestamp) == (
        "note", MessageStatus.NOTE, Direction.OUTBOUND, "Ana", NOW
    )
    assert alice.messages(cid())[-1] == note
    assert alice.queued() == []


def test_a_note_answers_nothing(alice: Store) -> None:
    before = summary(alice, cid())
    alice.add_note(cid(), "looking into it")
    after = summary(alice, cid())
    assert (after.waiting_since, after.first_reply_at, after.unread) == (
        before.waiting_since, before.first_reply_at, before.unread
    )


def test_no_outbox_move_takes_a_note_anywhere(alice: Store) -> None:
    note = alice.add_note(cid(), "internal")
    for status in (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT):
        alice.update_outgoing(cid(), note.id, status, at=NOW)
    assert alice.messages(cid())[-1].status is MessageStatus.NOTE
    assert alice.queued() == []


def test_a_note_is_audited(alice: Store) -> None:
    note = alice.add_note(cid(), "internal", agent="Ana")
    last = alice.audit(cid())[-1]
    assert (last.action, last.detail, last.agent) == (NOTE, note.id, "Ana")


def test_an_empty_note_is_refused(alice: Store) -> None:
    with pytest.raises(ValueError):
        alice.add_note(cid(), "  \n")


def _noted(store: Store, clock: FrozenClock) -> None:
    store.apply(inbound("wamid.in", 0))
    store.add_note(cid(), "kept")


def test_a_note_survives_a_kill(harness: StoreHarness) -> None:
    store = harness.kill_and_reopen(_noted)
    assert [m.text for m in store.messages(cid()) if m.type == "note"] == ["kept"]
    assert store.queued() == []


def test_a_note_is_searchable(alice: Store) -> None:
    note = alice.add_note(cid(), "promised a refund by Friday", agent="Ana")
    assert [(h.conversation_id, h.message_id) for h in alice.search("refund")] == [(cid(), note.id)]
