"""How the customer panel looks, at 80x24 (over the conversation) and 120x40 (beside the
transcript), with the clock frozen: a customer from an ad on both business numbers, with notes and
attributes (one of them hostile, shown literally); the editor of the notes; and the conversation's
help with the panel's keys.

Update after an intended change with `pytest tests/test_snapshots_panel.py --snapshot-update`, then
look at the SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desk.customer import CustomerProfile
from engine.context import DeskContext
from tests.conftest import make_context, ready
from tests.test_customer_panel import from_an_ad_on_both_numbers
from tests.test_flows import open_conversation
from tests.test_snapshots import SIZES
from tui.app import WadeskApp

PROFILE = CustomerProfile(
    "Prefers WhatsApp to calls; answers after 17:00.\nOrder #A-1042 arrived damaged: refund agreed [b]not bold[/b].",
    (("plan", "gold"), ("city", "Puebla"), ("[red]tier", "\x1b]0;vip\x07")),
)


@pytest.fixture
def panel_desk(data_dir, clock) -> Iterator[DeskContext]:
    context = make_context(data_dir, clock)
    target, _ = from_an_ad_on_both_numbers(context)
    customer = context.store.conversation(target)
    assert customer is not None
    context.store.save_customer_profile(customer.customer.id, PROFILE, agent="Ana")
    yield context
    context.store.close()


@pytest.fixture
def panel_app(panel_desk) -> WadeskApp:
    return WadeskApp(panel_desk, pump_events=False)


def with_panel(*keys: str):
    async def run_before(pilot) -> None:
        target, _ = from_an_ad_on_both_numbers(pilot.app.ctx)
        await open_conversation(pilot, target)
        await pilot.press("f4", *keys)
        await ready(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_customer_panel(snap_compare, panel_app, size):
    assert snap_compare(panel_app, terminal_size=size, run_before=with_panel())


@pytest.mark.parametrize("size", SIZES)
def test_customer_notes_editor(snap_compare, panel_app, size):
    assert snap_compare(panel_app, terminal_size=size, run_before=with_panel("e"))


@pytest.mark.parametrize("size", SIZES)
def test_conversation_help_with_the_panel(snap_compare, panel_app, size):
    assert snap_compare(panel_app, terminal_size=size, run_before=with_panel("f1"))
