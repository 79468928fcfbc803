"""summary_after, the writer's shortcut for new customer messages, always agrees with summarize
(the one definition of a conversation's summary), and is taken for the common write."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from desk.models import ConversationStatus, Customer, Direction, Message, MessageStatus
from desk.summary import ConversationMeta, summarize, summary_after

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)
CID = "106540352242922~15551234567"
ALICE = Customer("15551234567", "Alice")


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@st.composite
def messages(draw: st.DrawFn, prefix: str, count: st.SearchStrategy[int]) -> list[Message]:
    out = []
    for i in range(draw(count)):
        direction = draw(st.sampled_from(Direction))
        kind = draw(st.sampled_from(["text", "reaction", "system", "note", "image"]))
        status = draw(st.sampled_from(MessageStatus))
        failed_at = at(draw(st.integers(0, 30))) if status is MessageStatus.FAILED else None
        out.append(Message(f"{prefix}{i}", CID, direction, kind, at(draw(st.integers(0, 30))), status,
                           draw(st.sampled_from(["hi", "", "a\nb"])), status_at=failed_at))
    return out


metas = st.builds(
    ConversationMeta,
    id=st.just(CID),
    business_number_id=st.just("106540352242922"),
    customer=st.just(ALICE),
    status=st.sampled_from(ConversationStatus),
    resolved_at=st.none() | st.integers(0, 30).map(at),
    read_upto=st.none() | st.integers(0, 30).map(at),
    failure_seen=st.none() | st.just("m0@x"),
)


def in_order(transcript: list[Message]) -> list[Message]:
    """As a shard orders them: timestamp, then arrival."""
    return [m for _, m in sorted(enumerate(transcript), key=lambda item: (item[1].timestamp, item[0]))]


@settings(max_examples=400, deadline=None)
@given(meta=metas, before=messages("m", st.integers(0, 6)), appended=messages("n", st.integers(0, 3)),
       renamed=st.booleans())
def test_summary_after_agrees_with_summarize_whenever_it_answers(meta, before, appended, renamed):
    previous = summarize(meta, in_order(before))
    now = replace(meta, customer=Customer(ALICE.id, "Alice B")) if renamed else meta
    fast = summary_after(previous, now, appended)
    if fast is not None:
        assert fast == summarize(now, in_order(before + appended))


def test_a_new_customer_message_takes_the_shortcut_and_a_reply_does_not():
    meta = ConversationMeta(CID, "106540352242922", ALICE)
    before = [
        Message("m1", CID, Direction.INBOUND, "text", at(1), MessageStatus.RECEIVED, "hello"),
        Message("m2", CID, Direction.OUTBOUND, "text", at(2), MessageStatus.DELIVERED, "hi!"),
    ]
    previous = summarize(meta, before)
    question = Message("m3", CID, Direction.INBOUND, "text", at(3), MessageStatus.RECEIVED, "and?")
    fast = summary_after(previous, meta, [question])
    assert fast is not None and fast == summarize(meta, [*before, question])
    assert fast.waiting_since == at(3) and fast.unread == 1 and fast.preview == "and?"
    reply = replace(question, id="m4", direction=Direction.OUTBOUND)
    assert summary_after(previous, meta, [reply]) is None
    late = replace(question, id="m5", timestamp=at(1))  # not newer than everything: reordering
    assert summary_after(previous, meta, [late]) is None


def test_the_shortcut_refuses_what_it_cannot_count_without_the_transcript():
    """A message the agent has read up to already, and one at the same second as our latest
    (the agent's reply counts as having read it): neither is unread; summarize knows, the
    shortcut leaves them to it."""
    read_ahead = ConversationMeta(CID, "106540352242922", ALICE, read_upto=at(20))
    before = [Message("m1", CID, Direction.INBOUND, "text", at(5), MessageStatus.RECEIVED, "hello")]
    new = Message("n1", CID, Direction.INBOUND, "text", at(10), MessageStatus.RECEIVED, "more")
    assert summary_after(summarize(read_ahead, before), read_ahead, [new]) is None
    assert summarize(read_ahead, [*before, new]).unread == 0

    meta = ConversationMeta(CID, "106540352242922", ALICE)
    ours = [Message("m1", CID, Direction.OUTBOUND, "text", at(10), MessageStatus.DELIVERED, "hi")]
    same_second = replace(new, timestamp=at(10))
    assert summary_after(summarize(meta, ours), meta, [same_second]) is None
    assert summarize(meta, [*ours, same_second]).unread == 0
