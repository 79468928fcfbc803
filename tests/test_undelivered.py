"""A message of ours that failed, after WhatsApp accepted it or outright, marks its conversation's
inbox row (`✖ not delivered`) until the agent opens the conversation; the mark survives a
restart and a failure seen once does not hide the next one."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import timedelta

from desk.codec import ROW_FIELDS, conversation_from_row, conversation_to_row
from desk.models import Conversation, Direction, Message, MessageReceived, MessageStatus, StatusChanged
from desk.store.tiny import TinyStore
from desk.summary import ConversationMeta, failure_key, summarize
from desk.window import window
from tests.conftest import NOW, find_conversation, make_context, ready
from tui.app import WadeskApp
from tui.screens.conversation import ConversationScreen
from tui.screens.inbox import InboxScreen
from tui.widgets.inbox_list import UNDELIVERED

SIZE = (80, 24)


def _open(desk):
    return find_conversation(desk, lambda c: c.waiting_since and window(c.last_inbound_at, NOW).open)


def _closed(desk):
    return find_conversation(desk, lambda c: c.last_inbound_at is not None and not window(c.last_inbound_at, NOW).open)


async def _row_text(pilot, conversation_id: str) -> str:
    """The conversation's row as drawn (both lines at 80 columns), the cursor moved onto it."""
    inbox = pilot.app.screen
    assert isinstance(inbox, InboxScreen)
    index = inbox.model.index_of(conversation_id)
    await pilot.press("home", *(["j"] * index))
    await pilot.pause()
    listing = inbox.list
    top = index * listing.row_height - round(listing.scroll_y)
    return "\n".join(listing.render_line(top + part).text for part in range(listing.row_height))


async def _open_and_leave(pilot, conversation_id: str) -> None:
    await _row_text(pilot, conversation_id)
    await pilot.press("enter")
    await ready(pilot)
    assert isinstance(pilot.app.screen, ConversationScreen)
    await pilot.press("escape")
    await ready(pilot)


async def test_a_failed_status_marks_the_row_until_the_conversation_is_opened(app, desk):
    target = _open(desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        conv = desk.store.conversation(target)
        await pilot.app.send_text(conv, "see you tomorrow")
        await ready(pilot)
        sent = desk.store.messages(target)[-1]
        assert sent.status is MessageStatus.SENT and sent.wamid
        assert UNDELIVERED not in await _row_text(pilot, target)
        # WhatsApp accepted it, then reports it undeliverable.
        failed = StatusChanged(
            conv.business_number_id, conv.customer.id, sent.wamid, MessageStatus.FAILED,
            NOW + timedelta(seconds=3), 131026, "Message undeliverable",
        )
        await pilot.app.ingest(failed)
        await pilot.pause()
        row = await _row_text(pilot, target)
        assert UNDELIVERED in row, row
        await _open_and_leave(pilot, target)
        assert UNDELIVERED not in await _row_text(pilot, target)
        assert not desk.store.conversation(target).undelivered


async def test_a_send_refused_outright_marks_the_row_too(app, desk):
    target = _closed(desk)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.app.send_text(desk.store.conversation(target), "past the window")  # 131047
        await ready(pilot)
        assert desk.store.messages(target)[-1].status is MessageStatus.FAILED
        row = await _row_text(pilot, target)
        assert f"{UNDELIVERED}: p" in row and "you:" not in row, row  # the text, cut to its column
        await _open_and_leave(pilot, target)
        assert UNDELIVERED not in await _row_text(pilot, target)


async def test_the_mark_and_its_clearing_survive_a_restart(data_dir, clock):
    desk = make_context(data_dir, clock)
    closed = sorted(c.id for c in desk.store.conversations() if c.last_inbound_at and not window(c.last_inbound_at, NOW).open)
    seen, unseen = closed[:2]
    try:
        async with WadeskApp(desk, pump_events=False).run_test(size=SIZE) as pilot:
            await ready(pilot)
            for target in (seen, unseen):
                await pilot.app.send_text(desk.store.conversation(target), "refused")
                await ready(pilot)
            await _open_and_leave(pilot, seen)
    finally:
        desk.store.close()
    store = TinyStore(data_dir, clock=clock)
    store.open()
    try:
        assert [c.id for c in store.conversations() if c.undelivered] == [unseen]
        # The shard keeps what was seen: a summary made again from it (the customer writes) agrees.
        conv = store.conversation(seen)
        hello = Message("wamid.again", seen, Direction.INBOUND, "text", NOW + timedelta(minutes=1), MessageStatus.RECEIVED, text="hello?")
        store.apply(MessageReceived(conv.business_number_id, conv.customer, hello))
        assert store.conversation(seen).unread == 1 and not store.conversation(seen).undelivered
    finally:
        store.close()


def _ours(mid: str, at, status: MessageStatus, status_at=None) -> Message:
    return Message(mid, "n~c", Direction.OUTBOUND, "text", at, status, text="hi", status_at=status_at)


def test_a_failure_seen_once_does_not_hide_the_next_one():
    meta = ConversationMeta("n~c", "n", None)  # type: ignore[arg-type]
    first = [_ours("m1", NOW, MessageStatus.FAILED, NOW + timedelta(seconds=2))]
    assert summarize(meta, first).undelivered
    seen = replace(meta, failure_seen=failure_key(first))
    assert not summarize(seen, first).undelivered
    # Retried, same message, failed again later: a new failure to show.
    again = [replace(first[0], status_at=NOW + timedelta(minutes=5))]
    assert summarize(seen, again).undelivered
    # A later message of ours that went through: nothing to flag.
    assert not summarize(meta, [*first, _ours("m2", NOW + timedelta(minutes=1), MessageStatus.SENT)]).undelivered
    # A note to colleagues is not a message the customer was meant to get.
    note = replace(_ours("n1", NOW + timedelta(minutes=1), MessageStatus.SENT), type="note")
    assert summarize(meta, [*first, note]).undelivered


def test_the_index_row_keeps_the_mark_and_reads_older_rows(desk):
    conv = replace(desk.store.conversations()[0], undelivered=True)
    row = conversation_to_row(conv)
    assert len(row) == len(ROW_FIELDS) and conversation_from_row(row) == conv
    older = row[: ROW_FIELDS.index("undelivered")]
    later = ROW_FIELDS[ROW_FIELDS.index("undelivered"):]
    defaults = {f.name: f.default for f in fields(Conversation) if f.name in later}
    assert conversation_from_row(older) == replace(conv, **defaults)
