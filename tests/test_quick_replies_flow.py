"""Quick replies and greetings as an agent meets them, at 80x24 with the clock frozen: /shortcut
fills the composer with the customer's name and waits; nothing goes until enter; nothing is
offered while the window is closed; a reply saved from the palette comes back with /; a greeting
goes once by itself and never to a customer whose window is closed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest

from desk.config import NumberConfig, QuickReplyConfig
from desk.models import Direction, MessageStatus
from desk.quick_replies import QuickReply, customer_names
from desk.text import display_name
from tests.conftest import NOW, make_context, quiet_config, ready
from tests.test_failures_told import writable
from tests.test_flows import SIZE, closed_window, open_conversation, transcript_text
from tui.app import WadeskApp
from tui.screens.quick_reply_save import SaveQuickReply
from tui.widgets.composer import Composer
from tui.widgets.quick_replies import QuickReplyMenu

SALES, SUPPORT = "100000000000001", "100000000000002"
REPLIES = (
    QuickReplyConfig("thanks", "Thank you, {{first_name}}! {{agent}} from {{department}} here."),
    QuickReplyConfig("thanks-order", "Thanks! Your order {{order}} is on its way."),
    QuickReplyConfig("hours", "We are open 9-17."),
)
GREETING = "Hi {{first_name}}, thanks for writing to {{department}}!"


def config(greeting: str = ""):
    numbers = (
        NumberConfig(SALES, "+1 555-0100", "Sales", greeting=greeting),
        NumberConfig(SUPPORT, "+1 555-0199", "Support", greeting=greeting),
    )
    return dataclasses.replace(quiet_config(numbers=numbers), agent_name="Sam", quick_replies=REPLIES)


@pytest.fixture
def desk(data_dir, clock) -> Iterator:
    context = make_context(data_dir, clock, config())
    yield context
    context.store.close()


@pytest.fixture
def sends(desk, monkeypatch) -> list[str]:
    """Every text the backend was asked to send."""
    asked: list[str] = []
    real = desk.backend.send_text

    async def send_text(number, customer, text, reply_to=None, **_):
        asked.append(text)
        return await real(number, customer, text, reply_to, **_)

    monkeypatch.setattr(desk.backend, "send_text", send_text)
    return asked


def named(desk):
    """An open-window conversation waiting on us whose customer WhatsApp gave a name."""
    return writable(desk) if customer_names(desk.store.conversation(writable(desk)).customer)[0] else None


def ours(desk, conversation_id):
    return [m for m in desk.store.messages(conversation_id) if m.direction is Direction.OUTBOUND]


async def test_a_quick_reply_fills_the_name_and_waits_for_the_agent(desk, sends):
    target = named(desk)
    assert target is not None
    conv = desk.store.conversation(target)
    first = customer_names(conv.customer)[1]
    before = ours(desk, target)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        menu = screen.query_one(QuickReplyMenu)
        await pilot.press("/", "t", "h")
        await ready(pilot)
        assert [r.shortcut for r in menu.shown] == ["thanks", "thanks-order"]
        await pilot.press("down", "up", "tab")  # back to the first, then in
        await ready(pilot)
        composer = screen.query_one(Composer)
        department = desk.number(conv.business_number_id).department
        assert composer.text == f"Thank you, {first}! Sam from {department} here."
        assert not menu.is_open
        # It waits: nothing was sent or even queued.
        assert sends == [] and ours(desk, target) == before
        await pilot.press(*" Anything else?", "enter")
        await ready(pilot)
        edited = f"Thank you, {first}! Sam from {department} here. Anything else?"
        assert sends == [edited]
        assert composer.text == ""


async def test_an_unknown_variable_stays_for_the_agent_and_enter_inserts_too(desk, sends):
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, writable(desk))
        await pilot.press(*"Sure. /thanks-", "enter")
        await ready(pilot)
        assert screen.query_one(Composer).text == "Sure. Thanks! Your order {{order}} is on its way."
        assert sends == []


async def test_escape_closes_the_list_and_keeps_what_was_typed(desk):
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, writable(desk))
        await pilot.press("/", "h")
        await ready(pilot)
        menu = screen.query_one(QuickReplyMenu)
        assert menu.is_open
        await pilot.press("escape")
        await ready(pilot)
        assert not menu.is_open and app.screen is screen and screen.query_one(Composer).text == "/h"
        await pilot.press("x")  # no such shortcut: the list stays closed
        await ready(pilot)
        assert not menu.is_open


async def test_a_url_or_a_date_opens_no_list(desk):
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, writable(desk))
        await pilot.press(*"see https://")
        await ready(pilot)
        assert not screen.query_one(QuickReplyMenu).is_open


async def test_nothing_is_offered_while_the_window_is_closed(desk):
    """The composer is disabled then; even a draft that ends in "/tha" (typed before the window
    closed) offers nothing."""
    target = next(c.id for c in desk.store.conversations() if closed_window(desk)(c))
    desk.store.save_draft(target, "/tha")
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        composer = screen.query_one(Composer)
        menu = screen.query_one(QuickReplyMenu)
        assert composer.disabled
        menu.follow(composer)
        assert not menu.is_open and menu.shown == []


async def test_the_window_closing_while_the_list_is_open_closes_it_at_the_next_key(desk, clock):
    target = writable(desk)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        await pilot.press("/")
        await ready(pilot)
        menu = screen.query_one(QuickReplyMenu)
        assert menu.is_open
        clock.advance(timedelta(hours=25))
        menu.follow(screen.query_one(Composer))
        assert not menu.is_open


async def test_a_reply_saved_from_the_palette_comes_back_with_its_shortcut(desk):
    target = writable(desk)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        await pilot.press(*"See you {{first_name}}")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"save the composer", "enter")
        await ready(pilot)
        assert isinstance(app.screen, SaveQuickReply)
        await pilot.press(*"two words", "enter")  # refused: the modal stays
        await ready(pilot)
        assert isinstance(app.screen, SaveQuickReply)
        await pilot.press(*(["backspace"] * 9), *"Bye", "enter")
        await ready(pilot)
        assert app.screen is screen
        assert desk.store.quick_replies() == [QuickReply("bye", "See you {{first_name}}")]
        screen.query_one(Composer).clear()
        await pilot.press("/", "b")
        await ready(pilot)
        menu = screen.query_one(QuickReplyMenu)
        assert [r.shortcut for r in menu.shown] == ["bye"]
        await pilot.press("tab")
        await ready(pilot)
        name = customer_names(screen.conversation.customer)[1] or "{{first_name}}"
        assert screen.query_one(Composer).text == f"See you {name}"


async def test_the_greeting_goes_once_by_itself_and_never_outside_the_window(data_dir, clock, monkeypatch):
    desk = make_context(data_dir, clock, config(greeting=GREETING))
    try:
        sent: list[str] = []
        real = desk.backend.send_text

        async def send_text(number, customer, text, reply_to=None, **_):
            sent.append(text)
            return await real(number, customer, text, reply_to, **_)

        monkeypatch.setattr(desk.backend, "send_text", send_text)
        sim = desk.backend.simulation
        known = {c.customer.id for c in desk.store.conversations() if c.business_number_id == SALES}
        new, late = [p for p in sim.people if p.id not in known and p.customer.phone][:2]
        app = WadeskApp(desk, pump_events=False)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            first = sim.customer_writes(SALES, new.id, NOW)
            await app.ingest(first)
            await ready(pilot)
            name = customer_names(new.customer)[1]
            assert sent == [f"Hi {name}, thanks for writing to Sales!"]
            clock.advance(timedelta(minutes=1))
            await app.ingest(sim.customer_writes(SALES, new.id, clock.now()))
            await ready(pilot)
            assert len(sent) == 1
            # A message written 25 hours ago (a webhook that took that long): its window is closed.
            stale = sim.customer_writes(SALES, late.id, clock.now() - timedelta(hours=25))
            await app.ingest(stale)
            await ready(pilot)
            assert len(sent) == 1
            screen = await open_conversation(pilot, first.message.conversation_id)
            text = transcript_text(screen)
            assert f"12:00  → automatic greeting  ✓ sent\n  {display_name(f'Hi {name}, thanks for writing to Sales!')}" in text
            greeting = [m for m in ours(desk, first.message.conversation_id) if m.type == "greeting"]
            assert [m.status for m in greeting] == [MessageStatus.SENT]
    finally:
        desk.store.close()
