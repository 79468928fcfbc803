"""How quick replies and automatic messages look, at 80x24 and 120x40, with the clock frozen: the
completion list over the composer, the modal that saves one, and a greeting in the transcript.

Update after an intended change with `pytest tests/test_snapshots_quick_replies.py --snapshot-update`,
then look at the SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from desk.config import NumberConfig
from engine.context import DeskContext
from tests.conftest import NOW, make_context, ready
from tests.test_flows import open_conversation
from tests.test_quick_replies_flow import REPLIES, SALES, SUPPORT
from tests.test_quick_replies_flow import config as replies_config
from tests.test_snapshots import SIZES, go_to, is_open
from tui.app import WadeskApp

GREETING = "Hi {{first_name}}, thanks for writing to {{department}}! An agent will answer shortly."


@pytest.fixture
def replies_desk(data_dir, clock) -> Iterator[DeskContext]:
    numbers = (
        NumberConfig(SALES, "+1 555-0100", "Sales", greeting=GREETING),
        NumberConfig(SUPPORT, "+1 555-0199", "Support", greeting=GREETING),
    )
    config = dataclasses.replace(replies_config(), mock=dataclasses.replace(replies_config().mock, numbers=numbers))
    assert config.quick_replies == REPLIES
    context = make_context(data_dir, clock, config)
    yield context
    context.store.close()


@pytest.fixture
def replies_app(replies_desk) -> WadeskApp:
    return WadeskApp(replies_desk, pump_events=False)


@pytest.mark.parametrize("size", SIZES)
def test_quick_replies_list(snap_compare, replies_app, size):
    assert snap_compare(replies_app, terminal_size=size, run_before=go_to(is_open, *"Sure! /t"))


@pytest.mark.parametrize("size", SIZES)
def test_save_quick_reply(snap_compare, replies_app, size):
    async def run_before(pilot) -> None:
        await go_to(is_open, *"Our shop is open 9-17, {{first_name}}.")(pilot)
        from tui.screens.quick_reply_save import SaveQuickReply

        pilot.app.push_screen(SaveQuickReply(pilot.app.screen.composer.text))
        await pilot.pause()
        await pilot.press(*"hours")
        await pilot.pause()

    assert snap_compare(replies_app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_greeting_in_the_transcript(snap_compare, replies_app, size):
    async def run_before(pilot) -> None:
        await ready(pilot)
        app = pilot.app
        sim = app.ctx.backend.simulation
        known = {c.customer.id for c in app.ctx.store.conversations() if c.business_number_id == SALES}
        new = next(p for p in sim.people if p.id not in known and p.customer.phone)
        first = sim.customer_writes(SALES, new.id, NOW)
        await app.ingest(first)
        await ready(pilot)
        await open_conversation(pilot, first.message.conversation_id)
        await ready(pilot)

    assert snap_compare(replies_app, terminal_size=size, run_before=run_before)
