"""No failure is silent: what WhatsApp reports later, what a screen's worker hits, what WhatsApp
says in detail, and a failed message can be sent again from its place or edited first."""

from __future__ import annotations

import errno
import logging
from datetime import timedelta

import pytest

from backends.errors import WhatsAppError, failure_text
from desk.models import MessageStatus, StatusChanged, awaiting_retry
from desk.window import window
from tests.conftest import NOW, find_conversation, make_context, quiet_config, ready
from tests.test_flows import SIZE, open_conversation, transcript_text
from tui.app import WadeskApp
from tui.widgets.composer import Composer


def messages_told(app) -> list[tuple[str, str]]:
    return [(n.title, n.message) for n in app._notifications]


def writable(desk):
    return find_conversation(desk, lambda c: c.waiting_since and window(c.last_inbound_at, NOW).open)


async def send(pilot, text: str) -> None:
    await pilot.press(*text, "enter")
    await ready(pilot)


async def test_a_failure_reported_later_tells_the_agent_at_once(app, desk):
    target = writable(desk)
    conv = desk.store.conversation(target)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, target)
        await send(pilot, "see you tomorrow")
        sent = desk.store.messages(target)[-1]
        assert sent.status is MessageStatus.SENT
        await pilot.press("escape")  # back in the inbox: the agent must still hear of it
        failed = StatusChanged(
            conv.business_number_id, conv.customer.id, sent.wamid, MessageStatus.FAILED, NOW, 131026,
            failure_text(131026, "Message Undeliverable, the recipient's phone is off."),
        )
        await app.ingest(failed)
        await app.ingest(failed)  # WhatsApp repeats itself: the agent is told once
        await ready(pilot)
        told = [t for t in messages_told(app) if t[0].startswith("Not delivered to")]
        assert told == [(f"Not delivered to {conv.customer.name}", failed.error_text)], told
        assert "the recipient's phone is off" in told[0][1]  # WhatsApp's own detail, beside ours


async def test_a_failing_worker_on_a_screen_reaches_the_agent_and_the_log(app, desk, monkeypatch, caplog):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(desk.data_dir / "drafts.json"))

    monkeypatch.setattr(desk.store, "save_draft", disk_full)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, writable(desk))
        with caplog.at_level(logging.ERROR):
            await pilot.press(*"typed")
            for _ in range(20):
                await pilot.pause()
        told = messages_told(app)
        assert ("Something went wrong", f"Saving the draft failed: No space left on device ({desk.data_dir / 'drafts.json'}). The details are in the log.") in told, told
        assert any(r.exc_info for r in caplog.records), "the traceback goes to the log"
        assert app.screen.query_one(Composer).text == "typed"  # nothing the agent typed is lost


async def test_whatsapps_detail_is_kept_beside_our_sentence(app, desk, monkeypatch):
    async def refuse(*args, **kwargs):
        raise WhatsAppError(131009, "Parameter value is not valid: (#100) body too long")

    monkeypatch.setattr(desk.backend, "send_text", refuse)
    target = writable(desk)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        await send(pilot, "hello")
        last = desk.store.messages(target)[-1]
        assert last.error_text == "A parameter value was not valid. WhatsApp: Parameter value is not valid: (#100) body too long"
        assert "WhatsApp: Parameter value is not valid" in transcript_text(screen)
        assert any("WhatsApp: Parameter value" in m for _, m in messages_told(app))


@pytest.fixture
def failing_desk(data_dir, clock):
    """A desk whose every send WhatsApp accepts and then fails (131026, by status)."""
    desk = make_context(data_dir, clock, quiet_config(failure_rate=1.0))
    yield desk
    desk.store.close()


async def send_and_fail(pilot, desk, clock, text: str):
    """Open a conversation, send `text`, let WhatsApp fail it; returns the screen and the message."""
    target = writable(desk)
    screen = await open_conversation(pilot, target)
    await send(pilot, text)
    clock.advance(timedelta(minutes=5))
    for event in desk.backend.simulation.due_events(clock.now()):
        await pilot.app.ingest(event)
    failed = desk.store.messages(target)[-1]
    assert failed.status is MessageStatus.FAILED
    return screen, failed


async def test_a_retry_goes_to_the_end_with_the_new_time_and_the_old_one_offers_none(failing_desk, clock):
    desk = failing_desk
    target = writable(desk)
    async with WadeskApp(desk, pump_events=False).run_test(size=SIZE) as pilot:
        screen, failed = await send_and_fail(pilot, desk, clock, "first try")
        clock.advance(timedelta(minutes=3))  # the retry is sent later: it carries that time
        await pilot.press("ctrl+r")
        await ready(pilot)
        copy = desk.store.messages(target)[-1]
        assert copy.replaces == failed.id and copy.timestamp == clock.now() and copy.text == "first try"
        assert awaiting_retry(desk.store.messages(target)) == []  # the copy is sent; the old one is replaced
        text = transcript_text(screen)
        assert "(sent again below)" in text
        assert text.index("(sent again below)") < text.rindex("first try")


async def test_a_failed_text_comes_back_into_the_composer_to_edit(failing_desk, clock):
    desk = failing_desk
    target = writable(desk)
    async with WadeskApp(desk, pump_events=False).run_test(size=SIZE) as pilot:
        screen, failed = await send_and_fail(pilot, desk, clock, "teh parcel")
        await pilot.press("ctrl+g")
        await pilot.pause()
        composer = screen.query_one(Composer)
        assert composer.text == "teh parcel"
        await pilot.press("home", "delete", "delete", "delete", *"the", "enter")
        await ready(pilot)
        edited = desk.store.messages(target)[-1]
        assert edited.text == "the parcel" and edited.replaces == failed.id
        assert failed.id not in {m.id for m in awaiting_retry(desk.store.messages(target))}
        await pilot.press("ctrl+g")  # nothing left to edit: the old one was replaced
        await pilot.pause()
        assert composer.text == ""


async def test_a_full_disk_on_send_is_a_sentence_and_the_text_stays(app, desk, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(desk.data_dir / "journal.jsonl"))

    target = writable(desk)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        before = len(desk.store.messages(target))
        monkeypatch.setattr(desk.store, "record_outgoing", disk_full)
        monkeypatch.setattr(desk.store, "set_status", disk_full)
        await send(pilot, "keep me")
        await pilot.press("ctrl+o")  # resolving writes too
        await pilot.pause()
        assert app.is_running and app.screen is screen
        assert screen.query_one(Composer).text == "keep me"
        assert len(desk.store.messages(target)) == before
        told = [m for _, m in messages_told(app)]
        assert f"Sending failed: No space left on device ({desk.data_dir / 'journal.jsonl'}). The details are in the log." in told, told
        assert any(m.startswith("Resolving failed: No space left on device") for m in told), told


def test_every_whatsapp_error_is_told_with_its_detail():
    from backends.cloud.graph import Unreachable
    from backends.errors import error_sentence

    assert error_sentence(WhatsAppError(100, "(#100) Invalid media id m2")) == (
        "WhatsApp rejected a parameter of the request. WhatsApp: (#100) Invalid media id m2"
    )
    assert error_sentence(Unreachable("Could not reach WhatsApp.")) == "Could not reach WhatsApp."
    assert error_sentence(OSError(errno.ENOSPC, "No space left on device", "/data/x")) == "No space left on device (/data/x)."


async def test_a_damaged_conversation_says_so_instead_of_reading_as_empty(data_dir, clock):
    from desk.store.tiny import TinyStore
    from desk.store.tiny.files import shard_path
    from engine.context import DeskContext
    from tui.screens.conversation import ConversationScreen
    from tui.widgets.transcript import Transcript

    desk = make_context(data_dir, clock)
    target = writable(desk)
    desk.store.close()
    path = shard_path(data_dir / "conversations", target)
    path.write_bytes(path.read_bytes()[:200])  # truncated: the conversation's record survives
    store = TinyStore(data_dir, clock=clock)
    store.open()
    desk = DeskContext(desk.config, store, desk.backend, clock, data_dir)
    try:
        app = WadeskApp(desk, pump_events=False)
        async with app.run_test(size=SIZE) as pilot:
            await app.push_screen(ConversationScreen(target))
            await ready(pilot)
            shown = app.screen.query_one(Transcript).shown_text
            assert f"The file of the conversation with {desk.store.conversation(target).customer.name}" in shown
            assert str(path) in shown and "No messages yet." not in shown.split("\n")[0]
    finally:
        store.close()
