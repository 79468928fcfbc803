"""The transcript's message cursor, driven like an agent would (keys at 80x24): replying quoting a
message and reacting to one send WhatsApp's id of that message (the backend's send is spied on);
retry, download and copy take the message under the cursor, not only the latest; the cursor
follows new messages only while it is on the newest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from backends.base import Capability
from backends.errors import WhatsAppError
from desk.models import Direction, MessageReceived, MessageStatus
from desk.quoting import REACTIONS, whatsapp_id
from desk.window import window
from tests.conftest import NOW, find_conversation, ready
from tests.test_flows import SIZE, open_conversation, transcript_text
from tui.screens.conversation import ConversationScreen
from tui.screens.inbox import InboxScreen
from tui.screens.react import ReactionPicker
from tui.widgets.reply_quote import ReplyQuote
from tui.widgets.transcript import CURSOR, Transcript


def open_with_a_customer_text_before_the_newest(c) -> bool:
    return c.waiting_since is not None and window(c.last_inbound_at, NOW).open and c.message_count >= 4


def spy(monkeypatch, backend, name: str) -> list[tuple]:
    """Record each call of the backend's `name` (its arguments), and let it go through."""
    calls: list[tuple] = []
    real = getattr(backend, name)

    async def recorded(*args, **kwargs):
        calls.append(args + tuple(v for k, v in kwargs.items() if k != "key"))  # key: the outbox's id, new each send
        return await real(*args, **kwargs)

    monkeypatch.setattr(backend, name, recorded)
    return calls


async def focus_transcript(pilot, screen: ConversationScreen) -> Transcript:
    transcript = screen.transcript
    while not transcript.has_focus:
        await pilot.press("shift+tab")
    return transcript


async def cursor_to(pilot, transcript: Transcript, message_id: str) -> None:
    """Press k until the cursor is on `message_id` (the transcript has the focus)."""
    for _ in range(len(transcript.messages)):
        if transcript.cursor is not None and transcript.cursor.id == message_id:
            return
        await pilot.press("k")
    raise AssertionError(f"the cursor never reached {message_id}")


def older_customer_text(desk, target: str):
    """The customer's latest text message that is not the newest message."""
    messages = desk.store.messages(target)
    return next(m for m in reversed(messages[:-1]) if m.direction is Direction.INBOUND and m.type == "text")



def undeliverable(monkeypatch, backend, name: str) -> None:
    """The backend's `name` refuses every send as WhatsApp does an unreachable number (131026)."""

    async def refuse(*args, **kwargs):
        raise WhatsAppError(131026, "undeliverable")

    monkeypatch.setattr(backend, name, refuse)

async def test_the_cursor_starts_on_the_newest_moves_with_keys_and_is_marked(app, desk):
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        transcript = screen.transcript
        messages = desk.store.messages(target)
        assert transcript.cursor == messages[-1]
        assert CURSOR not in transcript.shown_text, "typing: nothing marked"
        await focus_transcript(pilot, screen)
        await pilot.press("k", "k", "j")
        assert transcript.cursor == messages[-2]
        body = transcript.shown_text
        assert body.count(CURSOR) == 1
        await pilot.press("home")
        assert transcript.cursor == messages[0]
        await pilot.press("end")
        assert transcript.cursor == messages[-1]
        # From the composer too: alt+up / alt+down.
        screen.composer.focus()
        await pilot.press("alt+up")
        assert transcript.cursor == messages[-2]


async def test_reply_sends_the_customer_messages_id_as_context(app, desk, monkeypatch):
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)
    calls = spy(monkeypatch, desk.backend, "send_text")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        quoted = older_customer_text(desk, target)
        transcript = await focus_transcript(pilot, screen)
        await cursor_to(pilot, transcript, quoted.id)
        await pilot.press("r")
        quote = screen.query_one(ReplyQuote)
        assert quote.message == quoted and quote.display
        assert "↪ replying to:" in str(quote.render())
        assert screen.composer.has_focus, "r puts the agent in the composer to write the reply"
        await pilot.press(*"on its way", "enter")
        await ready(pilot)
        assert calls and calls[-1][2:] == ("on its way", quoted.id)
        sent = desk.store.messages(target)[-1]
        assert sent.reply_to == quoted.id and sent.status is MessageStatus.SENT
        assert not quote.display, "the quote goes with the reply"
        assert "↪ replying to:" in transcript_text(screen).split("on its way")[0].rsplit("→", 1)[-1]


async def test_reply_to_our_message_quotes_its_wamid_and_escape_lets_go_first(app, desk, monkeypatch):
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)
    calls = spy(monkeypatch, desk.backend, "send_text")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        await pilot.press(*"first", "enter")
        await ready(pilot)
        ours = desk.store.messages(target)[-1]
        assert ours.direction is Direction.OUTBOUND and ours.wamid and ours.wamid != ours.id
        # alt+r from the composer: the cursor is on the newest, our message.
        await pilot.press("alt+r")
        assert screen.query_one(ReplyQuote).message == ours
        await pilot.press("escape")
        assert screen.query_one(ReplyQuote).message is None and isinstance(pilot.app.screen, ConversationScreen)
        await pilot.press("alt+r", "alt+r")  # the same key again: no quote
        assert screen.query_one(ReplyQuote).message is None
        await pilot.press("alt+r", *"second", "enter")
        await ready(pilot)
        assert calls[-1][2:] == ("second", ours.wamid), "ours is quoted by the id WhatsApp gave it"
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, InboxScreen)


async def test_a_message_not_yet_accepted_cannot_be_quoted(app, desk, monkeypatch):
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)

    undeliverable(monkeypatch, desk.backend, "send_text")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        await pilot.press(*"lost", "enter")
        await ready(pilot)
        await pilot.press("alt+r")
        assert screen.query_one(ReplyQuote).message is None
        assert any("not reached WhatsApp" in n.message for n in pilot.app._notifications)


async def test_react_sends_the_message_id_and_the_emoji_then_removes_it(app, desk, monkeypatch):
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)
    calls = spy(monkeypatch, desk.backend, "send_reaction")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        liked = older_customer_text(desk, target)
        transcript = await focus_transcript(pilot, screen)
        await cursor_to(pilot, transcript, liked.id)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(pilot.app.screen, ReactionPicker)
        await pilot.press("2")
        await ready(pilot)
        conv = desk.store.conversation(target)
        assert calls == [(conv.business_number_id, conv.customer, liked.id, REACTIONS[1])]
        ours = desk.store.messages(target)[-1]
        assert (ours.type, ours.reaction_to, ours.text, ours.status) == ("reaction", liked.id, "❤️", MessageStatus.SENT)
        assert f"reacted ❤️ to: {liked.text[:20]}" in transcript_text(screen)
        # The cursor stayed on the message reacted to; the picker says which is ours, 0 removes it.
        assert transcript.cursor == liked
        await pilot.press("e")
        await pilot.pause()
        assert "(yours now)" in "\n".join(str(s.render()) for s in pilot.app.screen.query("Static"))
        await pilot.press("0")
        await ready(pilot)
        assert calls[-1] == (conv.business_number_id, conv.customer, liked.id, "")
        # Escape in the picker sends nothing.
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("escape")
        await ready(pilot)
        assert len(calls) == 2


async def test_a_reaction_to_our_message_or_with_the_window_closed_is_refused_in_a_sentence(app, desk, monkeypatch):
    calls = spy(monkeypatch, desk.backend, "send_reaction")
    open_one = find_conversation(desk, open_with_a_customer_text_before_the_newest)
    closed = find_conversation(desk, lambda c: c.last_inbound_at is not None and not window(c.last_inbound_at, NOW).open)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, open_one)
        await pilot.press(*"ours", "enter")
        await ready(pilot)
        await pilot.press("alt+e")  # the cursor is on our message
        await pilot.pause()
        assert not isinstance(pilot.app.screen, ReactionPicker)
        assert any("Only a customer's message" in n.message for n in pilot.app._notifications)
        await pilot.press("escape")
        screen = await open_conversation(pilot, closed)
        transcript = screen.transcript
        assert transcript.has_focus, "the window is closed: the composer is off"
        customer = next(m for m in reversed(transcript.messages) if m.direction is Direction.INBOUND and m.type == "text")
        await cursor_to(pilot, transcript, customer.id)
        await pilot.press("e")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, ReactionPicker)
        assert any("window is closed" in n.message for n in pilot.app._notifications)
    assert calls == []


async def test_a_failed_reaction_stays_failed_and_retry_sends_it_again(app, desk, monkeypatch):
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)

    undeliverable(monkeypatch, desk.backend, "send_reaction")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        liked = desk.store.messages(target)[-1]
        assert liked.direction is Direction.INBOUND
        await pilot.press("alt+e", "1")
        await ready(pilot)
        failed = desk.store.messages(target)[-1]
        assert (failed.type, failed.status, failed.reaction_to) == ("reaction", MessageStatus.FAILED, liked.id)
        monkeypatch.undo()
        calls = spy(monkeypatch, desk.backend, "send_reaction")
        await pilot.press("ctrl+r")
        await ready(pilot)
        assert calls and calls[-1][2:] == (liked.id, "👍")
        assert desk.store.messages(target)[-1].replaces == failed.id
        assert screen.transcript.cursor.id == desk.store.messages(target)[-1].id


async def test_retry_takes_the_older_failed_message_under_the_cursor(app, desk, monkeypatch):
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)

    undeliverable(monkeypatch, desk.backend, "send_text")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        await pilot.press(*"older", "enter")
        await ready(pilot)
        await pilot.press(*"newer", "enter")
        await ready(pilot)
        older, newer = desk.store.messages(target)[-2:]
        assert (older.text, newer.text) == ("older", "newer") and older.status is newer.status is MessageStatus.FAILED
        monkeypatch.undo()
        calls = spy(monkeypatch, desk.backend, "send_text")
        transcript = await focus_transcript(pilot, screen)
        await cursor_to(pilot, transcript, older.id)
        await pilot.press("ctrl+r")
        await ready(pilot)
        assert [c[2] for c in calls] == ["older"]
        assert desk.store.messages(target)[-1].replaces == older.id
        # With the cursor on a message that offers no retry, the latest one that does goes.
        await pilot.press("end", "ctrl+r")
        await ready(pilot)
        assert [c[2] for c in calls] == ["older", "newer"]


async def test_download_takes_the_older_file_under_the_cursor(app, desk, monkeypatch, tmp_path: Path):
    monkeypatch.setattr(type(desk.backend), "capabilities", desk.backend.capabilities | Capability.MEDIA_DOWNLOAD)
    fetched: list[str] = []
    file = tmp_path / "got.pdf"
    file.write_bytes(b"%PDF")

    async def download(media_id: str) -> Path:
        fetched.append(media_id)
        return file

    monkeypatch.setattr(desk.backend, "download_media", download, raising=False)
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)
    conv = desk.store.conversation(target)
    sim = desk.backend.simulation
    async with app.run_test(size=SIZE) as pilot:
        events = [
            sim.customer_writes(conv.business_number_id, conv.customer.id, NOW - timedelta(minutes=2), kind="document"),
            sim.customer_writes(conv.business_number_id, conv.customer.id, NOW - timedelta(minutes=1), kind="image"),
        ]
        for event in events:
            await pilot.app.ingest(event)
        screen = await open_conversation(pilot, target)
        document, image = (e.message for e in events)
        assert isinstance(events[0], MessageReceived) and document.media and image.media
        await pilot.press("ctrl+f")  # from the composer, the cursor untouched: the latest file
        await ready(pilot)
        assert fetched == [image.media.media_id]
        await pilot.press("escape")
        transcript = await focus_transcript(pilot, screen)
        await cursor_to(pilot, transcript, document.id)
        await pilot.press("d")
        await ready(pilot)
        assert fetched == [image.media.media_id, document.media.media_id]


async def test_copy_puts_the_message_text_on_the_clipboard(app, desk):
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        quoted = older_customer_text(desk, target)
        transcript = await focus_transcript(pilot, screen)
        await cursor_to(pilot, transcript, quoted.id)
        await pilot.press("y")
        assert pilot.app.clipboard == quoted.text
        assert any(n.message.startswith("Copied") for n in pilot.app._notifications)


async def test_the_cursor_follows_new_messages_only_from_the_newest(app, desk, clock):
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)
    conv = desk.store.conversation(target)
    sim = desk.backend.simulation

    async def arrives(minutes: int):
        event = sim.customer_writes(conv.business_number_id, conv.customer.id, NOW + timedelta(minutes=minutes))
        await pilot.app.ingest(event)
        await ready(pilot)
        return event.message

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        transcript = await focus_transcript(pilot, screen)
        clock.advance(timedelta(minutes=5))
        first = await arrives(1)
        assert transcript.cursor == first, "on the newest, it follows"
        await pilot.press("k")
        before = transcript.cursor
        await arrives(2)
        assert transcript.cursor == before, "elsewhere, it stays"


async def test_select_puts_the_cursor_on_a_message_by_id_or_wamid(app, desk):
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        messages = desk.store.messages(target)
        transcript = screen.transcript
        assert transcript.select(messages[0].id) and transcript.cursor == messages[0]
        assert CURSOR in transcript.shown_text, "selected: marked while typing too"
        await pilot.pause()
        assert transcript.scroll_y == 0, "scrolled to it"
        ours = next(m for m in messages if m.direction is Direction.OUTBOUND and m.wamid)
        assert transcript.select(ours.wamid) and transcript.cursor == ours
        assert not transcript.select("wamid.nothing") and transcript.cursor == ours


@pytest.mark.parametrize("key", ["alt+e", "alt+r", "alt+y"])
async def test_the_keys_work_while_typing_and_keep_the_text(app, desk, key):
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        await pilot.press(*"draft", key)
        await pilot.pause()
        if isinstance(pilot.app.screen, ReactionPicker):
            await pilot.press("escape")
        assert screen.composer.text == "draft"
        assert whatsapp_id(screen.transcript.cursor) == desk.store.messages(target)[-1].id
