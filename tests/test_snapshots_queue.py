"""How the queue's screens look, at 80x24 and 120x40 (as tests/test_snapshots.py): the queue
menu, the labels and the narrowing screens, a conversation with its activity and a note, and
two tabs, one with news."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desk.models import ConversationStatus, Priority
from tests.conftest import find_conversation, ready
from tests.test_flows import open_conversation
from tests.test_queue_flows import customer_writes
from tests.test_snapshots import SIZES, go_to, is_closed, is_open


@pytest.mark.parametrize("size", SIZES)
def test_queue_menu(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=go_to(is_open, "ctrl+s"))


@pytest.mark.parametrize("size", SIZES)
def test_labels_edit(snap_compare, app, size):
    async def run_before(pilot) -> None:
        await go_to(is_open, "ctrl+s", "e")(pilot)
        await pilot.press(*"vip, refund")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_inbox_narrowed(snap_compare, app, size):
    """Two conversations made urgent and labelled, then the narrowing screen with urgent ticked."""

    async def run_before(pilot) -> None:
        store = pilot.app.ctx.store
        for n, conv in enumerate(sorted(store.conversations(), key=lambda c: c.id)[:2]):
            store.set_priority(conv.id, Priority.URGENT)
            store.set_labels(conv.id, ["vip", f"order-{n}"])
        await ready(pilot)
        await pilot.press("v")
        await pilot.pause()
        pilot.app.screen.query_one("SelectionList").select("priority:urgent")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_conversation_with_activity_and_a_note(snap_compare, app, size):
    """Snoozed, woken by the customer, made high priority and labelled, with a note being written
    in a closed window."""

    async def run_before(pilot) -> None:
        ctx = pilot.app.ctx
        target = find_conversation(ctx, is_closed)
        ctx.store.set_status(target, ConversationStatus.SNOOZED)
        ctx.store.add_note(target, "Called her: the parcel is at the depot.", agent="agent")
        ctx.store.set_priority(target, Priority.HIGH, agent="agent")
        ctx.store.set_labels(target, ["depot"], agent="agent")
        await open_conversation(pilot, target)
        await pilot.press("ctrl+b", *"Ask the depot again tomorrow")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_tabs(snap_compare, app, clock, size):
    async def run_before(pilot) -> None:
        ctx = pilot.app.ctx
        first = find_conversation(ctx, is_open)
        second = find_conversation(ctx, lambda c: is_open(c) and c.id != first)
        await open_conversation(pilot, second)
        await pilot.press("escape")
        await open_conversation(pilot, first)
        clock.advance(timedelta(seconds=30))
        await pilot.app.ingest(customer_writes(pilot.app, second, "still there?", "wamid.snap"))
        await ready(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
