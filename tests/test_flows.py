"""Every flow of the desk, driven like an agent would: keys at 80x24, no mouse."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backends.errors import OutcomeUnknown
from desk.models import (
    ConversationStatus,
    Direction,
    Message,
    MessageReceived,
    MessageStatus,
    TemplateStatus,
)
from desk.sla import SlaKind
from desk.window import window
from tests.conftest import NOW, find_conversation, make_context, ready
from tui.app import WadeskApp
from tui.screens.conversation import ConversationScreen
from tui.screens.inbox import InboxScreen
from tui.screens.template_picker import TemplatePicker
from tui.widgets.inbox_list import InboxList

SIZE = (80, 24)


def open_window(desk):
    return lambda c: window(c.last_inbound_at, NOW).open and c.status is ConversationStatus.OPEN


def closed_window(desk):
    return lambda c: c.last_inbound_at is not None and not window(c.last_inbound_at, NOW).open


async def open_conversation(pilot, conversation_id: str) -> ConversationScreen:
    """Move the inbox cursor to the conversation with keys, then press enter."""
    app = pilot.app
    await ready(pilot)
    inbox = app.screen
    assert isinstance(inbox, InboxScreen)
    target = inbox.model.index_of(conversation_id)
    assert target is not None
    await pilot.press("home", *(["j"] * target), "enter")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ConversationScreen) and screen.conversation_id == conversation_id
    return screen


def transcript_text(screen: ConversationScreen) -> str:
    from tui.widgets.transcript import Transcript

    transcript = screen.query_one(Transcript)
    conv = screen.conversation
    ctx = screen.app.ctx
    messages, log = ctx.store.messages(conv.id), ctx.store.audit(conv.id)
    return transcript.render_messages(messages, conv.customer.name, ctx.zone, ctx.clock.now(), log).plain


# --- inbox -----------------------------------------------------------------------------------------


async def test_inbox_shows_most_urgent_first(app, desk):
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        rows = pilot.app.screen.query_one(InboxList).rows
        assert len(rows) == len(desk.store.conversations()) > 20
        first = rows[0]
        assert first.sla(NOW).kind is SlaKind.BREACHED
        # Waiting conversations come before the rest.
        waiting = [r.conversation.waiting_since is not None for r in rows]
        assert waiting == sorted(waiting, reverse=True)


async def test_filters_and_department(app, desk):
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        inbox = pilot.app.screen
        await pilot.press("3")
        assert inbox.list.rows and all(r.sla(NOW).kind is SlaKind.BREACHED for r in inbox.list.rows)
        await pilot.press("5")
        assert inbox.list.rows and all(not r.window(NOW).open for r in inbox.list.rows)
        await pilot.press("4")
        assert all(r.window(NOW).closing_soon for r in inbox.list.rows)
        await pilot.press("1", "d")
        sales = desk.numbers()[0].id
        assert inbox.list.rows and all(r.conversation.business_number_id == sales for r in inbox.list.rows)
        await pilot.press("escape")
        assert len(inbox.list.rows) == len(desk.store.conversations())


async def test_search_by_name_number_and_message_text(app, desk):
    async with app.run_test(size=SIZE) as pilot:
        inbox = pilot.app.screen
        target = find_conversation(desk, lambda c: c.customer.phone and c.customer.name.startswith("Γ"))
        conv = desk.store.conversation(target)
        await ready(pilot)
        await pilot.press("slash", *"γιωργ")
        await ready(pilot)
        assert target in [r.conversation.id for r in inbox.list.rows]
        assert all("Γ" in r.conversation.customer.name for r in inbox.list.rows)
        await pilot.press("escape", "slash", *conv.customer.phone[1:6])
        await ready(pilot)
        assert target in [r.conversation.id for r in inbox.list.rows]
        # A word from deep in a transcript (not the preview) is found by the message scan.
        text_message = next(m for m in desk.store.messages(target) if m.type == "text" and m.text not in conv.preview)
        word = max(text_message.text.split(), key=len)
        await pilot.press("escape", "slash", *word)
        await ready(pilot)
        await pilot.pause()
        assert target in [r.conversation.id for r in inbox.list.rows]


async def test_live_update_keeps_the_cursor(app, desk, clock):
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        inbox = pilot.app.screen
        await pilot.press("j", "j", "j")
        chosen = inbox.list.current.conversation.id
        # A customer lower down writes: their row moves, the cursor stays on the same conversation.
        other = inbox.list.rows[-1].conversation
        event = MessageReceived(
            other.business_number_id,
            other.customer,
            Message("wamid.live1", other.id, Direction.INBOUND, "text", NOW, MessageStatus.RECEIVED, text="hello again"),
        )
        await pilot.app.ingest(event)
        await pilot.pause()
        assert inbox.list.current.conversation.id == chosen
        assert desk.store.conversation(other.id).preview == "hello again"
        assert any(r.conversation.id == other.id and r.conversation.unread for r in inbox.list.rows)


async def test_help_and_palette_list_the_screen_keys(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        text = "".join(str(s.render()) for s in pilot.app.screen.query("Static"))
        assert "Search names, numbers and message text" in text and "Open the conversation" in text
        await pilot.press("escape")
        commands = [c.title for c in pilot.app.get_system_commands(pilot.app.screen)]
        assert "Inbox: show SLA breached" in commands and "Quit" in commands


async def test_q_quits_from_the_inbox(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not pilot.app.is_running


# --- conversation ----------------------------------------------------------------------------------


async def test_reply_is_sent_and_shown_with_its_status(app, desk):
    target = find_conversation(desk, lambda c: c.waiting_since and window(c.last_inbound_at, NOW).open)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        assert screen.composer.has_focus
        await pilot.press(*"On it", "ctrl+j", *"second line", "enter")
        await ready(pilot)
        await pilot.pause()
        ours = [m for m in desk.store.messages(target) if m.direction is Direction.OUTBOUND]
        assert ours[-1].text == "On it\nsecond line"
        assert ours[-1].status is MessageStatus.SENT and ours[-1].wamid
        assert screen.composer.text == "" and desk.store.draft(target) == ""
        assert "✓ sent" in transcript_text(screen)
        # The reply stopped the SLA clock.
        assert desk.store.conversation(target).waiting_since is None


async def test_closed_window_disables_the_composer_and_enter_sends_nothing(app, desk):
    target = find_conversation(desk, closed_window(desk))
    before = desk.store.messages(target)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        assert screen.composer.disabled
        banner = screen.query_one("#window-banner")
        assert banner.display and "free text cannot be sent" in str(banner.render())
        await pilot.press(*"hello", "enter")
        await ready(pilot)
        assert desk.store.messages(target) == before
        # Even with text forced into the composer, Enter is refused and the text kept.
        screen.composer.disabled = False
        screen.composer.load_text("forced")
        screen.composer.focus()
        await pilot.press("enter")
        await ready(pilot)
        assert desk.store.messages(target) == before
        assert screen.composer.text == "forced" and screen.composer.disabled


async def test_window_closing_while_typing_keeps_the_draft(app, desk, clock):
    target = find_conversation(desk, lambda c: window(c.last_inbound_at, NOW).closing_soon)
    closes_at = window(desk.store.conversation(target).last_inbound_at, NOW).closes_at
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        await pilot.press(*"almost done")
        await pilot.pause()
        clock.set(closes_at)
        screen._tick()
        await pilot.press("enter")
        await ready(pilot)
        assert screen.composer.disabled and screen.composer.text == "almost done"
        assert not [m for m in desk.store.messages(target) if m.text == "almost done"]
        assert desk.store.draft(target) == "almost done"
        assert screen.query_one("#window-banner").display


async def test_mock_refuses_free_text_outside_the_window_when_the_guard_is_bypassed(app, desk):
    target = find_conversation(desk, closed_window(desk))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.app.send_text(desk.store.conversation(target), "sneaking past the guard")
        await ready(pilot)
        sent = desk.store.messages(target)[-1]
        assert sent.text == "sneaking past the guard"
        assert sent.status is MessageStatus.FAILED and sent.error_code == 131047
        assert "24 hours" in sent.error_text


async def test_draft_survives_leaving_and_restarting(data_dir, clock):
    desk = make_context(data_dir, clock)
    target = find_conversation(desk, open_window(desk))
    async with WadeskApp(desk, pump_events=False).run_test(size=SIZE) as pilot:
        await open_conversation(pilot, target)
        await pilot.press(*"half a thought")
        await ready(pilot)
        await pilot.press("escape")
        screen = await open_conversation(pilot, target)
        assert screen.composer.text == "half a thought"
    desk.store.close()
    again = make_context(data_dir, clock, history=False)
    try:
        async with WadeskApp(again, pump_events=False).run_test(size=SIZE) as pilot:
            screen = await open_conversation(pilot, target)
            assert screen.composer.text == "half a thought"
    finally:
        again.store.close()


async def test_unknown_outcome_is_shown_and_resent_only_when_asked(app, desk, monkeypatch):
    target = find_conversation(desk, lambda c: c.waiting_since and window(c.last_inbound_at, NOW).open)
    calls = []

    async def no_answer(*args, **kwargs):
        calls.append(args)
        raise OutcomeUnknown("timed out after the request left")

    monkeypatch.setattr(desk.backend, "send_text", no_answer)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        await pilot.press(*"are you there", "enter")
        await ready(pilot)
        last = desk.store.messages(target)[-1]
        assert last.status is MessageStatus.UNKNOWN and len(calls) == 1
        assert "? unknown" in transcript_text(screen) and "✓ sent" not in transcript_text(screen).split("are you there")[0][-40:]
        # Retrying asks first; "n" sends nothing.
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press("n")
        await ready(pilot)
        assert len(calls) == 1
        monkeypatch.undo()
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press("y")
        await ready(pilot)
        await pilot.pause()
        # The copy takes its place at the end, with the time of the new send; the old one stays
        # unknown (it may have arrived) and offers no retry of its own.
        retried = desk.store.messages(target)[-1]
        assert retried.replaces == last.id and retried.status is MessageStatus.SENT
        assert retried.timestamp == desk.clock.now()
        assert desk.store.messages(target)[-2].status is MessageStatus.UNKNOWN
        assert "(sent again below)" in transcript_text(screen)


async def test_failed_send_stays_with_its_reason(data_dir, clock):
    from tests.conftest import quiet_config

    desk = make_context(data_dir, clock, quiet_config(failure_rate=1.0))
    target = find_conversation(desk, lambda c: c.waiting_since and window(c.last_inbound_at, NOW).open)
    try:
        async with WadeskApp(desk, pump_events=False).run_test(size=SIZE) as pilot:
            screen = await open_conversation(pilot, target)
            await pilot.press(*"will not arrive", "enter")
            await ready(pilot)
            # The failure arrives later, as a status from WhatsApp.
            clock.advance(timedelta(minutes=5))
            for event in desk.backend.simulation.due_events(clock.now()):
                await pilot.app.ingest(event)
            await pilot.pause()
            last = desk.store.messages(target)[-1]
            assert last.status is MessageStatus.FAILED and last.error_code == 131026
            text = transcript_text(screen)
            assert "✖ failed (131026): Undeliverable" in text and "ctrl+r retries" in text
    finally:
        desk.store.close()


# --- template picker -------------------------------------------------------------------------------


async def open_picker(pilot, desk, target) -> TemplatePicker:
    await open_conversation(pilot, target)
    await pilot.press("ctrl+t")
    await pilot.pause()
    picker = pilot.app.screen
    assert isinstance(picker, TemplatePicker)
    return picker


async def test_picker_refuses_a_template_that_is_not_approved(app, desk):
    target = find_conversation(desk, closed_window(desk))
    async with app.run_test(size=SIZE) as pilot:
        picker = await open_picker(pilot, desk, target)
        pending = next(t for t in picker.templates if t.status is TemplateStatus.PENDING)
        await pilot.press(*pending.name)
        assert picker.highlighted.name == pending.name
        await pilot.press("enter")
        await pilot.pause()
        assert picker.chosen is None and pilot.app.screen is picker
        await pilot.press("ctrl+s")
        assert pilot.app.screen is picker


async def test_picker_refuses_an_empty_parameter_then_sends(app, desk):
    target = find_conversation(desk, closed_window(desk))
    async with app.run_test(size=SIZE) as pilot:
        picker = await open_picker(pilot, desk, target)
        template = next(t for t in picker.templates if t.sendable and len(t.parameters()) >= 2)
        await pilot.press(*template.name)
        await pilot.press("enter")
        await pilot.pause()
        assert picker.chosen == template
        await pilot.press(*"Maria", "ctrl+s")
        await pilot.pause()
        assert pilot.app.screen is picker  # the second parameter is empty, and now has the focus
        assert pilot.app.focused.name == template.parameters()[1]
        assert "Maria" in str(picker.query_one("#picker-preview").render())
        for _ in template.parameters()[1:]:
            await pilot.press(*"X-1", "enter")  # enter moves to the next field, and sends on the last
        await ready(pilot)
        await pilot.pause()
        assert isinstance(pilot.app.screen, ConversationScreen)
        last = desk.store.messages(target)[-1]
        assert last.type == "template" and last.template == f"{template.name} ({template.language})"
        assert "Maria" in last.text and last.status is MessageStatus.SENT


async def test_mock_refuses_a_wrong_parameter_count(app, desk):
    from desk.models import TemplateChoice

    target = find_conversation(desk, closed_window(desk))
    conv = desk.store.conversation(target)
    template = next(t for t in desk.store.templates(conv.business_number_id) if t.sendable and t.parameters())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.app.send_template(conv, TemplateChoice(template, {}))
        await ready(pilot)
        last = desk.store.messages(target)[-1]
        assert last.status is MessageStatus.FAILED and last.error_code == 132000


# --- hostile text ----------------------------------------------------------------------------------


async def test_hostile_text_is_shown_literally(app, desk):
    target = find_conversation(desk, lambda c: "[bold red]" in c.customer.name)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        inbox = pilot.app.screen
        await pilot.press("slash", *"mallory", "enter")
        await ready(pilot)
        assert any("[bold red]Mallory[/]" in r.conversation.customer.name for r in inbox.list.rows)
        screen = await open_conversation(pilot, target)
        text = transcript_text(screen)
        assert "[@click=app.quit]" in text and "␛[31m" in text and "<U+202E>" in text
        assert "\x1b" not in text and "\u202e" not in text
        assert pilot.app.is_running  # the [@click=app.quit] did nothing


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_every_screen_works_without_a_mouse(app, desk, size):
    target = find_conversation(desk, closed_window(desk))
    async with app.run_test(size=size) as pilot:
        await open_conversation(pilot, target)
        await pilot.press("t")
        assert isinstance(pilot.app.screen, TemplatePicker)
        await pilot.press("escape", "f1")
        await pilot.press("escape", "escape")
        assert isinstance(pilot.app.screen, InboxScreen)
        await pilot.press("ctrl+q")
        assert not pilot.app.is_running


async def test_a_send_queued_before_a_crash_is_sent_on_the_next_start(data_dir, clock):
    from engine.outbox import Outbox
    from engine.writer import StoreWriter
    from tests.conftest import quiet_config

    desk = make_context(data_dir, clock)
    target = find_conversation(desk, lambda c: c.waiting_since and window(c.last_inbound_at, NOW).open)

    # The crash: recorded in the outbox, never handed to WhatsApp.
    writer = StoreWriter(desk.store, "agent")
    outbox = Outbox(writer, desk.backend, clock)
    queued = await outbox.queue_text(desk.store.conversation(target), "sent after the crash")
    writer.close()
    desk.store.close()

    again = make_context(data_dir, clock, quiet_config(), history=False)
    try:
        async with WadeskApp(again, pump_events=False).run_test(size=SIZE) as pilot:
            await ready(pilot)
            message = next(m for m in again.store.messages(target) if m.id == queued.id)
            assert message.status is MessageStatus.SENT and message.wamid
            assert [m.text for m in again.store.messages(target)].count("sent after the crash") == 1
    finally:
        again.store.close()


def test_a_second_desk_on_the_same_data_dir_is_refused(desk, data_dir):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    assert "Another wadesk is already using the data directory" in result.stderr
    assert result.stderr.strip().count("\n") == 0


async def test_no_color_is_honoured_and_states_still_read(desk, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = WadeskApp(desk, pump_events=False)
    assert app.no_color
    target = find_conversation(desk, closed_window(desk))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("slash", *"mar", "enter")  # every part of the inbox drawn, filtered
        await ready(pilot)
        await pilot.press("escape")
        lines = [pilot.app.screen.query_one(InboxList).render_line(y).text for y in range(12)]
        text = "\n".join(lines)
        assert any(word in text for word in ("breached", "due", "left", "closing")), text
        await open_conversation(pilot, target)
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(pilot.app.screen, TemplatePicker) and pilot.app.is_running


async def test_restart_continues_where_the_desk_left_off(data_dir, clock):
    """Through the composition root, with the mock's state file: the second start replays no
    history, duplicates nothing, and keeps statuses."""
    from backends.mock import MockBackend
    from engine.context import build
    from tests.conftest import quiet_config

    config = quiet_config()
    history = MockBackend(config.mock, clock).simulation.history()
    received = [e for e in history if isinstance(e, MessageReceived)]
    expected = {e.message.conversation_id for e in received}

    async def run_once() -> dict[str, int]:
        desk = build(config, data_dir, clock)
        desk.store.open()
        try:
            app = WadeskApp(desk)
            async with app.run_test(size=SIZE) as pilot:
                # The pump hands over the history (first start) or the catalogues (restart), then
                # waits: nothing else is due with a frozen clock and no trickle.
                while sum(c.message_count for c in desk.store.conversations()) < len(received) or not (
                    desk.store.templates(desk.numbers()[0].id)
                ):
                    await pilot.pause()
                return {c.id: c.message_count for c in desk.store.conversations()}
        finally:
            desk.store.close()

    first = await run_once()
    assert set(first) == expected and (data_dir / "mock-state.json").exists()
    second = await run_once()
    assert second == first


async def test_the_picker_fetches_the_templates_again_on_demand(data_dir, clock):
    from backends.mock import MockBackend
    from desk.models import TemplatesChanged
    from tests.conftest import quiet_config

    desk = make_context(data_dir, clock, history=False)
    history = MockBackend(quiet_config().mock, clock).simulation.history()
    number = desk.numbers()[0].id
    try:
        async with WadeskApp(desk).run_test(size=SIZE) as pilot:  # with the event pump this time
            # The pump hands over the history first (templates included).
            while sum(c.message_count for c in desk.store.conversations()) < sum(
                isinstance(e, MessageReceived) for e in history
            ):
                await pilot.pause()
            # Then the desk's copy loses a template.
            full = desk.store.templates(number)
            await pilot.app.engine.writer.apply(TemplatesChanged(number, tuple(full[1:]), synced_at=NOW))
            target = find_conversation(desk, lambda c: c.business_number_id == number and closed_window(desk)(c))
            await open_conversation(pilot, target)
            await pilot.press("ctrl+t")
            await pilot.pause()
            picker = pilot.app.screen
            assert len(picker.templates) == len(full) - 1
            await pilot.press("ctrl+r")
            for _ in range(500):
                if len(picker.templates) == len(full):
                    break
                await pilot.pause()
            assert len(picker.templates) == len(full)
            # The progress indicator was up until the catalogue came, and then said so.
            assert not picker.query_one("#picker-list").loading
            assert any("fetched just now" in n.message for n in pilot.app._notifications)
    finally:
        desk.store.close()


async def test_a_file_is_refused_when_the_window_is_closed_and_sent_when_open(app, desk, tmp_path):
    photo = tmp_path / "damage.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    closed = find_conversation(desk, closed_window(desk))
    target = find_conversation(desk, lambda c: c.waiting_since and window(c.last_inbound_at, NOW).open)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, closed)
        await pilot.press("ctrl+n")
        assert isinstance(pilot.app.screen, ConversationScreen)  # refused: the window is closed
        await pilot.press("escape")
        await open_conversation(pilot, target)
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press(*str(photo), "enter")
        await ready(pilot)
        last = desk.store.messages(target)[-1]
        assert last.type == "image" and last.media.path == str(photo) and last.status is MessageStatus.SENT


async def test_the_picker_says_when_the_templates_were_fetched(app, desk):
    target = find_conversation(desk, closed_window(desk))
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, target)
        await pilot.press("ctrl+t")
        await pilot.pause()
        # The mock's catalogue was fetched at NOW (12:00 UTC, the agent's zone by default).
        assert pilot.app.screen.query_one("#picker").border_subtitle == "fetched 12:00"
