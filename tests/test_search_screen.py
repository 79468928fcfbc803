"""Finding a message from the inbox (ctrl+f): the results list the message with its customer and
context, and enter opens the conversation at it, highlighted; driven with keys at 80x24."""

from __future__ import annotations

from datetime import timedelta

from desk.models import Direction, Message, MessageReceived, MessageStatus
from tests.conftest import NOW, find_conversation, ready
from tui.screens.conversation import ConversationScreen
from tui.screens.inbox import InboxScreen
from tui.screens.search import SearchScreen
from tui.widgets.transcript import Transcript

SIZE = (80, 24)
GREEK = "Το δέμα μου έφτασε σπασμένο, θέλω επιστροφή χρημάτων."


def plant(desk, conversation_id: str) -> str:
    """A Greek message from the customer, then 30 more after it: opened plainly, the transcript
    shows its end, where the Greek message is long out of sight."""
    conv = desk.store.conversation(conversation_id)
    start = NOW - timedelta(hours=5)
    events = [MessageReceived(conv.business_number_id, conv.customer, Message(
        "wamid.greek", conversation_id, Direction.INBOUND, "text", start, MessageStatus.RECEIVED, GREEK))]
    for k in range(30):
        events.append(MessageReceived(conv.business_number_id, conv.customer, Message(
            f"wamid.after-{k}", conversation_id, Direction.INBOUND, "text", start + timedelta(minutes=k + 1),
            MessageStatus.RECEIVED, f"and one more line, number {k}")))
    desk.store.apply_many(events)
    return conversation_id


def on_screen(pilot) -> str:
    return pilot.app.export_screenshot().replace("&#160;", " ")


async def find(pilot, query: str) -> SearchScreen:
    await ready(pilot)
    await pilot.press("slash", *query, "ctrl+f")
    await ready(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SearchScreen)
    return screen


async def test_a_greek_word_is_found_and_enter_opens_the_conversation_at_it(app, desk):
    target = plant(desk, find_conversation(desk, lambda c: c.customer.phone))
    async with app.run_test(size=SIZE) as pilot:
        results = await find(pilot, "ΣΠΑΣΜΕΝΟ")  # no tonos, capitals
        assert [(h.conversation_id, h.message_id) for h in results.hits] == [(target, "wamid.greek")]
        shown = on_screen(pilot)
        assert "σπασμένο" in shown and "1 found" in shown
        await pilot.press("enter")
        await ready(pilot)
        conversation = pilot.app.screen
        assert isinstance(conversation, ConversationScreen) and conversation.conversation_id == target
        assert conversation.at_message == "wamid.greek"
        transcript = conversation.query_one(Transcript)
        assert transcript.cursor is not None and transcript.cursor.id == "wamid.greek" and transcript.marked  # highlighted
        assert transcript.scroll_y < transcript.max_scroll_y  # not at the end, where it opens otherwise
        assert "σπασμένο" in on_screen(pilot)
        await pilot.press("escape")
        await ready(pilot)
        assert isinstance(pilot.app.screen, SearchScreen)  # back to the results


async def test_opened_plainly_the_same_conversation_shows_its_end(app, desk):
    """The other half of the test above: without the hit the Greek message is out of sight."""
    target = plant(desk, find_conversation(desk, lambda c: c.customer.phone))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        pilot.app.push_screen(ConversationScreen(target))
        await ready(pilot)
        assert "σπασμένο" not in on_screen(pilot)


async def test_the_query_can_be_changed_and_nothing_found_says_so(app, desk):
    async with app.run_test(size=SIZE) as pilot:
        results = await find(pilot, "zzqqxx")
        assert results.hits == [] and "Nothing found" in on_screen(pilot)
        plant(desk, find_conversation(desk, lambda c: c.customer.phone))
        await pilot.press("slash", "ctrl+u", *"επιστροφη", "enter")
        await ready(pilot)
        assert [h.message_id for h in results.hits if h.message_id == "wamid.greek"] == ["wamid.greek"]


async def test_the_inbox_search_box_keeps_conversations_whose_messages_match(app, desk):
    target = plant(desk, find_conversation(desk, lambda c: c.customer.phone))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        inbox = pilot.app.screen
        assert isinstance(inbox, InboxScreen)
        await pilot.press("slash", *"σπασμενο")
        await ready(pilot)
        assert [r.conversation.id for r in inbox.list.rows] == [target]


async def test_hostile_customer_text_in_a_hit_is_shown_literally(app, desk):
    conversation_id = find_conversation(desk, lambda c: c.customer.phone)
    conv = desk.store.conversation(conversation_id)
    hostile = "[bold red]refundzz[/] \x1b[31m \u202e [@click=app.quit]"
    desk.store.apply(MessageReceived(conv.business_number_id, conv.customer, Message(
        "wamid.hostile", conversation_id, Direction.INBOUND, "text", NOW, MessageStatus.RECEIVED, hostile)))
    async with app.run_test(size=SIZE) as pilot:
        await find(pilot, "refundzz")
        shown = on_screen(pilot)
        assert "[bold red]" in shown and "␛[31m" in shown and "&lt;U+202E&gt;" in shown
        assert "\x1b" not in shown and "\u202e" not in shown
