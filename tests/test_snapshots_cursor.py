"""How the transcript's message cursor, a reply's quote and the reaction picker look, at 80x24 and
120x40, with the clock frozen: the cursor on a customer's message (the transcript has the focus),
the quote above the composer while the reply is typed, and the picker over the conversation.

Update after an intended change with `pytest tests/test_snapshots_cursor.py --snapshot-update`,
then look at the SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import pytest

from desk.models import Direction
from tests.conftest import find_conversation
from tests.test_flows import open_conversation
from tests.test_message_cursor import cursor_to, focus_transcript, open_with_a_customer_text_before_the_newest
from tests.test_snapshots import SIZES


def on_an_older_customer_text(*keys: str):
    """Open a conversation, put the cursor on the customer's latest text that is not the newest
    message, then press `keys`."""

    async def run_before(pilot) -> None:
        desk = pilot.app.ctx
        screen = await open_conversation(pilot, find_conversation(desk, open_with_a_customer_text_before_the_newest))
        messages = desk.store.messages(screen.conversation_id)
        older = next(m for m in reversed(messages[:-1]) if m.direction is Direction.INBOUND and m.type == "text")
        transcript = await focus_transcript(pilot, screen)
        await cursor_to(pilot, transcript, older.id)
        if keys:
            await pilot.press(*keys)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_cursor_on_a_message(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=on_an_older_customer_text())


@pytest.mark.parametrize("size", SIZES)
def test_reply_quote_above_the_composer(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=on_an_older_customer_text("r", *"It left our warehouse today"))


@pytest.mark.parametrize("size", SIZES)
def test_reaction_picker(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=on_an_older_customer_text("e"))
