"""Tabs: each conversation opened keeps a tab; f2/f3 and alt+n switch, alt+w closes, a tab with
news says so (●), and the tabs survive a restart."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import make_context, ready
from tests.test_flows import open_conversation
from tests.test_header import screen_lines
from tests.test_ownership import inbox
from tests.test_queue_flows import customer_writes
from tui.app import WadeskApp
from tui.screens.conversation import ConversationScreen
from tui.screens.inbox import InboxScreen
from tui.tabs import MAX_TABS, Tabs
from tui.widgets.tab_bar import TabBar


def tab_line(app: WadeskApp) -> str:
    bar = app.screen.query_one(TabBar)
    return str(bar.render()) if bar.display else ""


def test_tabs_open_once_close_to_a_neighbour_and_keep_at_most_nine() -> None:
    tabs = Tabs()
    assert tabs.open("a") and not tabs.open("a")
    tabs.open("b")
    tabs.open("c")
    assert tabs.close("b") == "c" and tabs.close("c") == "a" and tabs.close("a") is None
    for n in range(MAX_TABS + 1):
        tabs.open(str(n))
    assert tabs.ids == [str(n) for n in range(1, MAX_TABS + 1)]
    assert tabs.step("9", 1) == "1" and tabs.step(None, -1) == "9"


async def test_tabs_switch_show_news_close_and_survive_a_restart(data_dir, clock):
    desk = make_context(data_dir, clock)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        first, second = (r.conversation.id for r in inbox(app).rows[:2])
        await open_conversation(pilot, first)
        await pilot.press("escape")
        await open_conversation(pilot, second)
        assert app.tabs.ids == [first, second]
        assert tab_line(app).lstrip().startswith("1 ") and "[2 " in tab_line(app)
        assert tab_line(app) in screen_lines(app)[-2]  # above the footer
        await pilot.press("f2")  # to the left: the first one, in place of the second
        await ready(pilot)
        assert isinstance(app.screen, ConversationScreen) and app.screen.conversation_id == first
        assert len(app.screen_stack) == 3  # (the default screen,) the inbox, one conversation

        # The customer of the other tab writes: that tab shows news.
        clock.advance(timedelta(minutes=1))
        await app.ingest(customer_writes(app, second, "are you there?", "wamid.news"))
        await ready(pilot)
        assert "●" in tab_line(app).split("[1 ")[1], tab_line(app)

        await pilot.press("alt+2")
        await ready(pilot)
        assert app.screen.conversation_id == second
        await ready(pilot)
        assert "●" not in tab_line(app)  # seen now
    desk.store.close()

    desk = make_context(data_dir, clock, history=False)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.tabs.ids == [first, second]
        assert isinstance(app.screen, InboxScreen) and "1 " in tab_line(app)
        await pilot.press("f3")
        await ready(pilot)
        assert app.screen.conversation_id == first
        await pilot.press("alt+w")
        await ready(pilot)
        assert app.tabs.ids == [second] and app.screen.conversation_id == second
        await pilot.press("alt+w")
        await ready(pilot)
        assert app.tabs.ids == [] and isinstance(app.screen, InboxScreen)
    assert desk.store.tabs(app.engine.writer.agent) == []
    desk.store.close()
