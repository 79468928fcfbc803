"""The inbox cursor follows the conversation, never the position: after a filter, a search, a
department change, a clear or a live update, enter opens the conversation that was highlighted
(or, when it is no longer shown, the first row), and the bar counts the rows shown."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Static

from desk.models import Direction, Message, MessageReceived, MessageStatus
from desk.sla import SlaKind
from tests.conftest import NOW, ready
from tui.screens.conversation import ConversationScreen
from tui.screens.inbox import InboxScreen

SIZE = (80, 24)


async def _inbox(pilot) -> InboxScreen:
    await ready(pilot)
    inbox = pilot.app.screen
    assert isinstance(inbox, InboxScreen)
    return inbox


async def _put_cursor_on(pilot, inbox: InboxScreen, conversation_id: str) -> None:
    target = inbox.model.index_of(conversation_id)
    assert target is not None
    await pilot.press("home", *(["j"] * target))
    assert inbox.list.current_id == conversation_id


async def _enter_opens(pilot, conversation_id: str) -> None:
    await pilot.press("enter")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ConversationScreen) and screen.conversation_id == conversation_id


def _ids(inbox: InboxScreen) -> list[str]:
    return [r.conversation.id for r in inbox.list.rows]


async def test_a_filter_keeps_the_cursor_on_the_same_conversation(app):
    async with app.run_test(size=SIZE) as pilot:
        inbox = await _inbox(pilot)
        everything = _ids(inbox)
        closed = [r.conversation.id for r in inbox.list.rows if not r.window(NOW).open]
        # A closed conversation whose place in the filtered list differs from its place now.
        chosen = next(cid for i, cid in enumerate(closed) if everything.index(cid) != i)
        await _put_cursor_on(pilot, inbox, chosen)
        await pilot.press("5")
        assert inbox.list.current_id == chosen and inbox.list.current.conversation.id == chosen
        await _enter_opens(pilot, chosen)


async def test_a_filter_that_hides_the_conversation_puts_the_cursor_on_the_first_row(app):
    async with app.run_test(size=SIZE) as pilot:
        inbox = await _inbox(pilot)
        closed = [r for r in inbox.list.rows if not r.window(NOW).open]
        # An open conversation at a position the filtered list also has: the old code left the
        # cursor there, on another customer.
        chosen = next(
            r.conversation.id for i, r in enumerate(inbox.list.rows) if 0 < i < len(closed) and r.window(NOW).open
        )
        await _put_cursor_on(pilot, inbox, chosen)
        await pilot.press("5")
        first = _ids(inbox)[0]
        assert chosen not in _ids(inbox)
        assert inbox.list.cursor == 0 and inbox.list.current_id == first
        await _enter_opens(pilot, first)


async def test_search_results_from_the_worker_keep_the_cursor(app, desk):
    async with app.run_test(size=SIZE) as pilot:
        inbox = await _inbox(pilot)
        # A one-letter query finds many; the cursor's conversation among them, not first.
        query = "a"
        everything = _ids(inbox)
        hits = inbox.model.matching(query)
        found = [cid for cid in everything if cid in hits]
        chosen = next(cid for i, cid in enumerate(found) if everything.index(cid) != i)
        await _put_cursor_on(pilot, inbox, chosen)
        await pilot.press("slash", query)
        await ready(pilot)
        assert _ids(inbox) == found
        await pilot.press("enter")  # leaves the search box for the list
        assert inbox.list.current_id == chosen
        await _enter_opens(pilot, chosen)


async def test_a_department_change_and_escape_keep_the_cursor(app, desk):
    async with app.run_test(size=SIZE) as pilot:
        inbox = await _inbox(pilot)
        sales = desk.numbers()[0].id
        everything = _ids(inbox)
        in_sales = [r.conversation.id for r in inbox.list.rows if r.conversation.business_number_id == sales]
        chosen = next(cid for i, cid in enumerate(in_sales) if everything.index(cid) != i)
        await _put_cursor_on(pilot, inbox, chosen)
        await pilot.press("d")  # only the first business number
        assert inbox.model.business_number_id == sales and inbox.list.current_id == chosen
        await pilot.press("escape")
        assert _ids(inbox) == everything and inbox.list.current_id == chosen
        await _enter_opens(pilot, chosen)


async def test_a_department_change_that_hides_the_conversation_goes_to_the_first_row(app, desk):
    async with app.run_test(size=SIZE) as pilot:
        inbox = await _inbox(pilot)
        sales = desk.numbers()[0].id
        count = sum(r.conversation.business_number_id == sales for r in inbox.list.rows)
        chosen = next(
            r.conversation.id for i, r in enumerate(inbox.list.rows) if 0 < i < count and r.conversation.business_number_id != sales
        )
        await _put_cursor_on(pilot, inbox, chosen)
        await pilot.press("d")
        assert inbox.list.cursor == 0 and inbox.list.current_id == _ids(inbox)[0]


async def test_a_live_update_above_the_cursor_keeps_it_on_its_conversation(app, desk):
    async with app.run_test(size=SIZE) as pilot:
        inbox = await _inbox(pilot)
        await pilot.press("j", "j", "j")
        chosen = inbox.list.current_id
        # A customer at the bottom wrote three hours ago (a late webhook): breached, their row
        # jumps to the top, above the cursor.
        other = inbox.list.rows[-1].conversation
        message = Message(
            "wamid.late1", other.id, Direction.INBOUND, "text", NOW - timedelta(hours=3), MessageStatus.RECEIVED, text="hello?"
        )
        await pilot.app.ingest(MessageReceived(other.business_number_id, other.customer, message))
        await pilot.pause()
        assert _ids(inbox).index(other.id) < _ids(inbox).index(chosen)
        assert inbox.list.current_id == chosen and inbox.list.current.conversation.id == chosen
        await _enter_opens(pilot, chosen)


async def test_the_bar_counts_the_rows_shown(app):
    async with app.run_test(size=SIZE) as pilot:
        inbox = await _inbox(pilot)
        bar = inbox.query_one("#inbox-bar", Static)

        def shown_breached() -> int:
            return sum(r.sla(NOW).kind is SlaKind.BREACHED for r in inbox.list.rows)

        assert shown_breached() > 0 and f"✖ {shown_breached()} breached" in str(bar.content)
        await pilot.press("5")  # closed windows: none of them breached here
        text = str(bar.content)
        assert f"{len(inbox.list.rows)} conversations" in text
        expected = shown_breached()
        assert (f"✖ {expected} breached" in text) if expected else ("breached" not in text)


async def test_until_the_agent_acts_the_cursor_stays_on_the_first_row_as_the_history_loads(data_dir, clock):
    """A first start streams the history in: conversations arrive above the first one shown. The
    agent has chosen nothing yet, so the cursor stays on the most urgent row, not on the first
    conversation that happened to arrive (which ends up far down the list)."""
    from tests.conftest import make_context
    from tests.test_cloud_e2e import until
    from tui.app import WadeskApp

    desk = make_context(data_dir, clock, history=False)
    try:
        async with WadeskApp(desk).run_test(size=SIZE) as pilot:
            expected = {e.message.conversation_id for e in desk.backend.simulation.history() if isinstance(e, MessageReceived)}
            await until(pilot, lambda: len(desk.store.conversations()) == len(expected), "the whole history")
            inbox = await _inbox(pilot)
            await until(pilot, lambda: len(inbox.list.rows) == len(expected), "every row")
            assert len(inbox.list.rows) > 1
            assert inbox.list.cursor == 0 and inbox.list.current_id == _ids(inbox)[0]
            await pilot.press("j")  # now the agent has chosen: the cursor stays with it
            chosen = inbox.list.current_id
            assert chosen == _ids(inbox)[1]
    finally:
        desk.store.close()
