"""The queue on screen: status, snooze, priority and labels from the conversation (ctrl+s) and
from the inbox row (s); the inbox narrowed by them (v); a customer's message ending a snooze, said
in the transcript; internal notes (ctrl+b) kept and never sent, even with the window closed."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from desk.models import ConversationStatus, Direction, Message, MessageReceived, MessageStatus, Priority
from tests.conftest import find_conversation, make_context, quiet_config, ready
from tests.test_flows import open_conversation, transcript_text
from tests.test_header import screen_lines
from tests.test_ownership import inbox
from tui.app import WadeskApp


def customer_writes(app: WadeskApp, conversation_id: str, text: str, mid: str) -> MessageReceived:
    conv = app.ctx.store.conversation(conversation_id)
    assert conv is not None
    message = Message(
        mid, conversation_id, Direction.INBOUND, "text", app.ctx.clock.now(), MessageStatus.RECEIVED, text
    )
    return MessageReceived(conv.business_number_id, conv.customer, message)


async def test_snoozed_until_the_customer_writes_then_their_message_reopens_it_and_says_so(data_dir, clock):
    desk = make_context(data_dir, clock)
    target = find_conversation(desk, lambda c: c.status is ConversationStatus.OPEN and c.waiting_since is None)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_conversation(pilot, target)
        await pilot.press("ctrl+s", "s")
        await ready(pilot)
        assert desk.store.conversation(target).status is ConversationStatus.SNOOZED
        assert "snoozed until they write" in screen_lines(app)[0]
        assert "snoozed it until the customer writes" in transcript_text(screen)

        clock.advance(timedelta(minutes=5))
        await app.ingest(customer_writes(app, target, "hello again?", "wamid.again"))
        await ready(pilot)
        assert desk.store.conversation(target).status is ConversationStatus.OPEN
        text = transcript_text(screen)
        assert text.index("the customer wrote: open again") < text.index("hello again?")


async def test_pending_and_resolved_from_the_menu(data_dir, clock):
    desk = make_context(data_dir, clock)
    target = find_conversation(desk, lambda c: c.status is ConversationStatus.OPEN)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_conversation(pilot, target)
        await pilot.press("ctrl+s", "p")
        await ready(pilot)
        assert desk.store.conversation(target).status is ConversationStatus.PENDING
        assert "pending" in screen_lines(app)[0]
        await pilot.press("ctrl+s", "r")
        await ready(pilot)
        conv = desk.store.conversation(target)
        assert (conv.status, conv.resolved_at) == (ConversationStatus.RESOLVED, clock.now())


async def test_snoozed_for_an_hour_wakes_by_itself_in_the_inbox(data_dir, clock):
    desk = make_context(data_dir, clock)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        target = inbox(app).rows[0].conversation.id
        await pilot.press("home", "s", "1")
        await ready(pilot)
        assert desk.store.conversation(target).snoozed_until == clock.now() + timedelta(hours=1)
        await pilot.press("v")
        await pilot.pause()
        app.screen.query_one("SelectionList").select("status:snoozed")
        await pilot.press("enter")
        await ready(pilot)
        assert [r.conversation.id for r in inbox(app).rows] == [target]
        assert "snoozed" in screen_lines(app)[0]
        # An hour later the snooze has ended: the conversation is open, out of the snoozed view.
        model = inbox(app)
        clock.advance(timedelta(hours=1))
        model.refilter(clock.now())
        assert model.rows == []
        assert model.next_for_me(0, clock.now()) is not None


async def test_priority_and_labels_from_the_inbox_row_order_and_narrow_the_inbox(data_dir, clock):
    desk = make_context(data_dir, clock)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        waiting = [r.conversation.id for r in inbox(app).rows if r.conversation.waiting_since is not None]
        last = waiting[-1]
        index = inbox(app).index_of(last)
        await pilot.press("home", *(["j"] * index), "s", "u")
        await ready(pilot)
        assert desk.store.conversation(last).priority is Priority.URGENT
        # The agent's call outranks the clock: first of all waiting conversations now.
        assert inbox(app).rows[0].conversation.id == last
        assert "‼" in screen_lines(app)[1]
        await pilot.press("home", "s", "e")
        await pilot.pause()
        await pilot.press(*"VIP, refund", "enter")
        await ready(pilot)
        assert desk.store.conversation(last).labels == ("refund", "vip")
        assert "#refund #vip" in "\n".join(screen_lines(app))
        await pilot.press("v")
        await pilot.pause()
        app.screen.query_one("SelectionList").select("label:vip")
        await pilot.press("enter")
        await ready(pilot)
        assert [r.conversation.id for r in inbox(app).rows] == [last]
        assert "#vip" in screen_lines(app)[0]
        await pilot.press("escape")  # clears the facets too
        await ready(pilot)
        assert len(inbox(app).rows) == len(desk.store.conversations())


async def test_a_note_is_kept_shown_and_never_reaches_the_backend_even_with_the_window_closed(data_dir, clock):
    desk = make_context(data_dir, clock)
    target = find_conversation(desk, lambda c: c.last_inbound_at is not None and clock.now() - c.last_inbound_at > timedelta(days=1))
    sent: list[tuple] = []
    backend = desk.backend
    for name in ("send_text", "send_template", "send_file"):
        original = getattr(backend, name)

        async def spy(*args, _original=original, _name=name, **kwargs):  # the backend's send log
            sent.append((_name, args))
            return await _original(*args, **kwargs)

        setattr(backend, name, spy)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_conversation(pilot, target)
        assert screen.composer.disabled  # the window is closed: no reply
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert not screen.composer.disabled
        await pilot.press(*"promised a refund", "enter")
        await ready(pilot)
        [note] = [m for m in desk.store.messages(target) if m.type == "note"]
        assert (note.text, note.status) == ("promised a refund", MessageStatus.NOTE)
        assert "✎ note by" in transcript_text(screen) and "┃ promised a refund" in transcript_text(screen)
        assert screen.composer.text == ""
        await ready(pilot)
    assert sent == []
    assert desk.store.queued() == []


async def test_a_saved_view_from_the_config_is_one_key_away(data_dir, clock):
    from desk.config import ViewConfig

    config = dataclasses.replace(
        quiet_config(), views=(ViewConfig("Urgent VIPs", key="f5", priority=("urgent",), labels=("VIP",), state="waiting"),)
    )
    desk = make_context(data_dir, clock, config)
    target = find_conversation(desk, lambda c: c.waiting_since is not None)
    desk.store.set_priority(target, Priority.URGENT)
    desk.store.set_labels(target, ["vip"])
    other = find_conversation(desk, lambda c: c.waiting_since is not None and c.id != target)
    desk.store.set_priority(other, Priority.URGENT)  # urgent, but no VIP
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("f5")
        await ready(pilot)
        assert [r.conversation.id for r in inbox(app).rows] == [target]
        assert any("View: Urgent VIPs" in n.message for n in app._notifications)


def test_a_saved_view_with_a_word_the_desk_does_not_know_is_refused_naming_the_key(tmp_path):
    import pytest

    from desk.config import ConfigError, load

    path = tmp_path / "config.toml"
    path.write_text('[[views]]\nname = "x"\nstatus = ["closed"]\n')
    with pytest.raises(ConfigError, match=r"views\[0\]\.status has 'closed'"):
        load(path)
