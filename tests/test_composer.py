"""The composer: WhatsApp's length limit is enforced before anything is sent, with a live
counter as it nears; a paste goes in as text, in order, with its control characters visible."""

from __future__ import annotations

import pytest

from desk.limits import TEXT_MAX
from desk.models import Direction
from desk.window import window
from tests.conftest import NOW, find_conversation, ready
from tests.test_flows import SIZE, open_conversation
from tui.widgets.composer import COUNT_FROM, counter, too_long


@pytest.mark.parametrize(
    ("length", "shown"),
    [
        (0, ""),
        (COUNT_FROM - 1, ""),
        (COUNT_FROM, "3,500/4,096"),
        (3812, "3,812/4,096"),
        (TEXT_MAX, "4,096/4,096"),
        (TEXT_MAX + 24, "4,120/4,096: 24 too many"),
    ],
)
def test_counter(length, shown):
    assert counter(length) == shown


def test_too_long_is_a_sentence_only_past_the_limit():
    assert too_long(TEXT_MAX) == ""
    sentence = too_long(TEXT_MAX + 1)
    assert "4,097 characters" in sentence and "4,096" in sentence and "by 1" in sentence


def test_the_mock_refuses_what_the_composer_refuses(desk):
    # One limit for both: the composer's refusal is never stricter or looser than WhatsApp's (mock).
    from backends.errors import WhatsAppError

    conv = next(c for c in desk.store.conversations() if window(c.last_inbound_at, NOW).open)
    sim = desk.backend.simulation
    sim.send_text(conv.business_number_id, conv.customer.id, "x" * TEXT_MAX, NOW)
    with pytest.raises(WhatsAppError):
        sim.send_text(conv.business_number_id, conv.customer.id, "x" * (TEXT_MAX + 1), NOW)


def _open_target(desk):
    return find_conversation(desk, lambda c: c.waiting_since and window(c.last_inbound_at, NOW).open)


async def test_a_reply_over_the_limit_is_refused_before_anything_is_sent(app, desk):
    target = _open_target(desk)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        before = len(desk.store.messages(target))
        composer = screen.composer
        composer.load_text("a" * (COUNT_FROM - 2))
        composer.move_cursor(composer.document.end)
        await pilot.pause()
        assert composer.counter == "" and composer.border_title is None
        await pilot.press("b", "b")
        await pilot.pause()
        # Live: the counter appears as the agent types across the threshold.
        assert composer.counter == "3,500/4,096" and "3,500/4,096" in composer.border_title
        composer.insert("c" * (TEXT_MAX - COUNT_FROM + 5))
        await pilot.pause()
        assert composer.counter == "4,101/4,096: 5 too many" and composer.has_class("-too-long")
        await pilot.press("enter")
        await ready(pilot)
        # Nothing left: no message in the store, the text is still there, and a sentence says why.
        assert len(desk.store.messages(target)) == before
        assert len(composer.text) == TEXT_MAX + 5
        notes = [n.message for n in pilot.app._notifications]
        assert any("4,101 characters" in n and "at most 4,096" in n for n in notes), notes
        # Shortened to the limit, it goes.
        await pilot.press(*["backspace"] * 5, "enter")
        await ready(pilot)
        ours = [m for m in desk.store.messages(target) if m.direction is Direction.OUTBOUND]
        assert len(ours[-1].text) == TEXT_MAX and composer.text == ""
