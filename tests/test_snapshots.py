"""How each screen looks, at 80x24 and 120x40, with the clock frozen (tests/conftest.py NOW).

Update after an intended change with `pytest tests/test_snapshots.py --snapshot-update`, then look
at the SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from desk.config import agent_key
from desk.language import detect
from desk.models import Direction
from desk.window import window
from tests.conftest import NOW, find_conversation, ready
from tests.test_flows import open_conversation
from tui.screens.confirm import ConfirmScreen
from tui.screens.media import MediaScreen
from tui.screens.template_picker import TemplatePicker

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def go_to(predicate, *keys: str):
    async def run_before(pilot) -> None:
        await open_conversation(pilot, find_conversation(pilot.app.ctx, predicate))
        if keys:
            await pilot.press(*keys)
        await pilot.pause()

    return run_before


def is_open(c):
    return c.waiting_since is not None and window(c.last_inbound_at, NOW).open and not c.customer.name.startswith("[")


def is_closed(c):
    return c.last_inbound_at is not None and not window(c.last_inbound_at, NOW).open


@pytest.mark.parametrize("size", SIZES)
def test_inbox(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_inbox_mine(snap_compare, app, size):
    """Two conversations taken (one from the conversation with ctrl+l), then the Mine view."""

    async def run_before(pilot) -> None:
        await go_to(is_open, "ctrl+l", "escape")(pilot)
        store = pilot.app.ctx.store
        store.assign(find_conversation(pilot.app.ctx, is_closed), agent_key(pilot.app.ctx.config))
        await ready(pilot)
        await pilot.press("m")
        await ready(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_conversation_window_open(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=go_to(is_open, *"Draft in progress"))


@pytest.mark.parametrize("size", SIZES)
def test_conversation_window_closed(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=go_to(is_closed))


@pytest.mark.parametrize("size", SIZES)
def test_conversation_hostile_customer(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=go_to(lambda c: "Mallory" in c.customer.name))


@pytest.mark.parametrize("size", SIZES)
def test_template_picker(snap_compare, app, size):
    async def run_before(pilot) -> None:
        await go_to(is_closed, "t")(pilot)
        picker = pilot.app.screen
        template = next(t for t in picker.templates if t.sendable and len(t.parameters()) >= 2)
        await pilot.press(*template.name, "enter", *"Maria")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_template_picker_language_first(snap_compare, app, size):
    """A customer who came from an ad and writes Spanish (as desk.language detects it): Spanish
    templates first, and the highlighted one free in the free entry point window."""

    async def run_before(pilot) -> None:
        desk = pilot.app.ctx
        target = find_conversation(desk, lambda c: any(m.referral for m in desk.store.messages(c.id))
                                   and window(c.last_inbound_at, NOW).open and c.customer.country == "MX")
        await open_conversation(pilot, target)
        transcript = desk.store.messages(target)
        language = detect([m.text for m in transcript if m.direction is Direction.INBOUND])
        conversation = replace(desk.store.conversation(target), language=language)
        pilot.app.push_screen(TemplatePicker(desk.store.templates(conversation.business_number_id), conversation, transcript))
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, app, size):
    async def run_before(pilot) -> None:
        await ready(pilot)
        await pilot.press("question_mark")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_attach(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=go_to(is_open, "ctrl+n"))


@pytest.mark.parametrize("size", SIZES)
def test_confirm(snap_compare, app, size):
    async def run_before(pilot) -> None:
        await go_to(is_open)(pilot)
        pilot.app.push_screen(ConfirmScreen("This message may already have reached the customer. Send it again anyway?"))
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_media(snap_compare, app, size, monkeypatch):
    monkeypatch.setenv("HOME", "/home/agent")  # the suggested "save to" path is under it

    async def run_before(pilot) -> None:
        await go_to(is_open)(pilot)
        pilot.app.push_screen(MediaScreen(Path("/srv/wadesk/media/1234567890.pdf"), "document: invoice.pdf (2.0 kB)"))
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def _sla_app(tmp_path: Path, clock):
    """A desk whose policy has office hours in London, England's public holidays and a listed
    date, a resolution clock and an urgent priority of its own."""
    import dataclasses

    from desk.config import BusinessHoursConfig, SlaBudgets, SlaConfig
    from tests.conftest import make_context, quiet_config
    from tui.app import WadeskApp

    hours = BusinessHoursConfig(days=("mon", "tue", "wed", "thu", "fri"), start="09:00", end="17:00",
                                timezone="Europe/London", holidays=("2026-12-24",), holidays_country="GB",
                                holidays_subdivision="ENG")
    sla = SlaConfig(first_response_minutes=60, next_response_minutes=30, resolution_minutes=480, business_hours=hours,
                    priorities={"urgent": SlaBudgets(first_response_minutes=15)})
    config = dataclasses.replace(quiet_config(), sla=sla)
    return WadeskApp(make_context(tmp_path / "data", clock, config), pump_events=False)


@pytest.mark.parametrize("size", SIZES)
def test_conversation_sla_panel(snap_compare, tmp_path, clock, size):
    """The policy the conversation is held to and each clock's due time, under the header."""
    assert snap_compare(_sla_app(tmp_path, clock), terminal_size=size, run_before=go_to(is_open))


@pytest.mark.parametrize("size", SIZES)
def test_inbox_alerted(snap_compare, app, clock, size):
    """A conversation breaches while the desk runs: the notification, and its row marked "!"."""
    from datetime import timedelta

    async def run_before(pilot) -> None:
        await ready(pilot)
        clock.advance(timedelta(minutes=6))
        pilot.app.check_alerts()
        await ready(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_search_results(snap_compare, app, size):
    """ctrl+f from the inbox with a word typed: the messages found, newest first, marked."""

    async def run_before(pilot) -> None:
        await ready(pilot)
        await pilot.press("slash", *"order", "ctrl+f")
        await ready(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
