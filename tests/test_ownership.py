"""Ownership on screen: the inbox's views Mine / Unassigned / Everyone's with their counts (keys m,
u, a and the palette), and a conversation taken and given back from its screen (ctrl+l)."""

from __future__ import annotations

from desk.config import agent_key
from desk.inbox import InboxModel
from desk.models import ConversationStatus
from desk.views import Owner
from tests.conftest import find_conversation, make_context, ready
from tests.test_flows import open_conversation
from tests.test_header import screen_lines
from tui.app import WadeskApp
from tui.screens.inbox import InboxScreen


def inbox(app: WadeskApp) -> InboxModel:
    screen = app.screen
    assert isinstance(screen, InboxScreen) and screen.model is not None
    return screen.model


async def test_take_a_conversation_and_find_it_under_mine_then_give_it_back(data_dir, clock):
    desk = make_context(data_dir, clock)
    target = find_conversation(desk, lambda c: c.status is ConversationStatus.OPEN)
    everyone = len(desk.store.conversations())
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        model = inbox(app)
        assert (model.owned(Owner.MINE), model.owned(Owner.UNASSIGNED), model.owned(Owner.ALL)) == (0, everyone, everyone)
        assert f"mine 0, unassigned {everyone}" in screen_lines(app)[0]

        screen = await open_conversation(pilot, target)
        assert "unassigned" in screen_lines(app)[0]
        await pilot.press("ctrl+l")
        await ready(pilot)
        assert desk.store.conversation(target).assignee == agent_key(desk.config)
        assert "● mine" in screen_lines(app)[0]
        assert any("yours now" in n.message for n in app._notifications)
        await pilot.press("escape")
        await ready(pilot)

        await pilot.press("m")
        await ready(pilot)
        model = inbox(app)
        assert [r.conversation.id for r in model.rows] == [target]
        top = screen_lines(app)[0]
        assert f"mine: mine 1, unassigned {everyone - 1}" in top, top
        await pilot.press("u")
        await ready(pilot)
        assert target not in {r.conversation.id for r in inbox(app).rows}
        assert len(inbox(app).rows) == everyone - 1
        await pilot.press("a")
        await ready(pilot)
        assert len(inbox(app).rows) == everyone

        await open_conversation(pilot, target)
        await pilot.press("ctrl+l")  # mine: given back to nobody
        await ready(pilot)
        assert desk.store.conversation(target).assignee is None
        assert "nobody's now" in " ".join(n.message for n in app._notifications)
        assert screen is not None


async def test_someone_elses_conversation_is_under_everyones_only_and_says_whose(data_dir, clock):
    desk = make_context(data_dir, clock)
    target = find_conversation(desk, lambda c: True)
    desk.store.assign(target, "ben\x1b[31m")  # another agent's id: shown neutralised
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        for key in ("m", "u"):
            await pilot.press(key)
            await ready(pilot)
            assert target not in {r.conversation.id for r in inbox(app).rows}
        await pilot.press("a")
        await ready(pilot)
        await open_conversation(pilot, target)
        top = screen_lines(app)[0]
        assert "owner ben" in top and "\x1b" not in top
        await pilot.press("ctrl+l")  # taken from them
        await ready(pilot)
        assert desk.store.conversation(target).assignee == agent_key(desk.config)
        assert any("before" in n.message for n in app._notifications)


async def test_the_owner_views_are_in_the_palette(data_dir, clock):
    desk = make_context(data_dir, clock)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        titles = [c.title for c in app.screen.palette_commands()]
        assert {"Inbox: show mine", "Inbox: show unassigned", "Inbox: show everyone's"} <= set(titles)


async def test_next_opens_the_most_urgent_conversation_i_may_take_and_takes_it(data_dir, clock):
    desk = make_context(data_dir, clock)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        model = inbox(app)
        expected = model.next_for_me(3, clock.now())
        assert expected is not None and expected.conversation.id == model.rows[0].conversation.id  # the most urgent
        await pilot.press("n")
        await ready(pilot)
        screen = app.screen
        assert getattr(screen, "conversation_id", None) == expected.conversation.id
        assert desk.store.conversation(expected.conversation.id).assignee == agent_key(desk.config)
        await pilot.press("escape")
        await ready(pilot)
        assert inbox(app).holding() == 1 and "1/3" in screen_lines(app)[0]


async def test_next_takes_no_new_conversation_beyond_my_capacity(data_dir, clock):
    desk = make_context(data_dir, clock)
    me = agent_key(desk.config)
    waiting = [c for c in desk.store.conversations() if c.waiting_since is not None]
    for conv in waiting[:3]:
        desk.store.assign(conv.id, me)
    for conv in waiting[3:]:
        desk.store.assign(conv.id, "ben")
    answered = find_conversation(desk, lambda c: c.waiting_since is None and c.status is ConversationStatus.OPEN)
    desk.store.assign(answered, None)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        model = inbox(app)
        assert model.holding() == 3 and "3/3 full" in screen_lines(app)[0]
        row = model.next_for_me(3, clock.now())
        assert row is not None and row.conversation.assignee == me  # full: one of mine, never a new one
        for conv in waiting[:3]:
            desk.store.set_status(conv.id, ConversationStatus.RESOLVED)
        await ready(pilot)
        # Nothing of mine waits, the rest is Ben's, and an answered one waits on nobody.
        assert inbox(app).next_for_me(3, clock.now()) is None
        await pilot.press("n")
        await ready(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert any("Nothing is waiting" in n.message for n in app._notifications)
