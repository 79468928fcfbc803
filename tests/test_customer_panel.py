"""The customer beside the chat (f4): their name, number as their country writes it, language, the
ad they came from, their conversation with each business number, and the agents' notes and
attributes, edited in the panel and kept by the store across a restart; beside the transcript on a
wide terminal (and remembered for the session), over the conversation on a narrow one."""

from __future__ import annotations

import errno
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from desk.contacts import format_number, handle
from desk.customer import CustomerProfile, latest_referral
from desk.models import Conversation, ConversationStatus, Customer, Referral
from engine.context import DeskContext
from tests.conftest import NOW, make_context, ready
from tests.test_failures_told import messages_told
from tests.test_flows import open_conversation
from tests.test_header import screen_lines
from tests.test_hostile_walk import CAPTION, NAME, TEXT, assert_nothing_acts, hostile_events, terminal  # noqa: F401 - a fixture
from tests.test_queue_flows import customer_writes
from tui.app import WadeskApp
from tui.screens.conversation import ConversationScreen
from tui.screens.customer_edit import EditCustomerProfile
from tui.widgets.customer_panel import CustomerPanel, CustomerScreen, outcome

WIDE, NARROW = (120, 40), (80, 24)


def from_an_ad_on_both_numbers(desk: DeskContext) -> tuple[str, str]:
    """A conversation whose customer came from an ad and also writes to our other number: (it,
    the other)."""
    conversations = sorted(desk.store.conversations(), key=lambda c: c.id)
    for conv in conversations:
        if latest_referral(desk.store.messages(conv.id)) is None:
            continue
        other = next((c for c in conversations if c.customer.id == conv.customer.id and c.id != conv.id), None)
        if other is not None:
            return conv.id, other.id
    raise LookupError("the mock's history has no customer from an ad on both numbers")


def came_directly(desk: DeskContext) -> str:
    return next(
        c.id for c in sorted(desk.store.conversations(), key=lambda c: c.id)
        if c.customer.phone and c.language and latest_referral(desk.store.messages(c.id)) is None
    )


def screen_text(app: WadeskApp) -> str:
    return "\n".join(screen_lines(app))


def panel(app: WadeskApp) -> CustomerPanel:
    return app.screen.query_one(CustomerPanel)


def is_beside(app: WadeskApp) -> bool:
    return isinstance(app.screen, ConversationScreen) and panel(app).display and not panel(app).has_class("-closed")


async def test_the_panel_beside_the_chat_says_who_they_are_where_they_came_from_and_their_conversations(app, desk):
    target, other = from_an_ad_on_both_numbers(desk)
    conv, theirs = desk.store.conversation(target), desk.store.conversation(other)
    referral = latest_referral(desk.store.messages(target))
    async with app.run_test(size=WIDE) as pilot:
        await open_conversation(pilot, target)
        assert not is_beside(app) and format_number(conv.customer.phone) not in "\n".join(screen_lines(app)[2:])
        await pilot.press("f4")
        await ready(pilot)
        assert is_beside(app) and app.focused is panel(app).conversations
        text = screen_text(app)
        for shown in (
            f"Number   {format_number(conv.customer.phone)}",
            "Language Spanish" if conv.language == "es" else "Language ",
            f"From     an ad: {referral.headline}",
            referral.source_url,
            f"{desk.number(conv.business_number_id).department} (this one)",
            desk.number(theirs.business_number_id).department,
            "Notes",
            "none yet",
        ):
            assert shown in text, (shown, text)

        # The other conversation changes (the customer writes there): the panel says so at once.
        app.ctx.clock.advance(timedelta(minutes=7))
        await app.ingest(customer_writes(app, other, "¿hola?", "wamid.other"))
        await ready(pilot)
        assert "12:07 · waiting" in screen_text(app), screen_text(app)


async def test_a_customer_who_came_directly_says_so(app, desk):
    async with app.run_test(size=WIDE) as pilot:
        await open_conversation(pilot, came_directly(desk))
        await pilot.press("f4")
        await ready(pilot)
        assert "From     directly, not from an ad" in screen_text(app)


async def test_the_panel_beside_stays_open_for_the_session_until_f4_closes_it(app, desk):
    target, other = from_an_ad_on_both_numbers(desk)
    async with app.run_test(size=WIDE) as pilot:
        await open_conversation(pilot, target)
        await pilot.press("f4")
        await pilot.press("escape", "escape")  # the panel keeps the focus: escape is still "back"
        await ready(pilot)
        await open_conversation(pilot, came_directly(desk))
        await ready(pilot)
        assert is_beside(app)
        assert app.focused is app.screen.composer  # open, and the agent types as before
        await pilot.press("f4")
        await ready(pilot)
        assert not is_beside(app) and app.focused is app.screen.composer
        await pilot.press("escape")
        await open_conversation(pilot, target)
        assert not is_beside(app)


async def test_enter_on_their_other_conversation_opens_it_in_a_tab(app, desk):
    target, other = from_an_ad_on_both_numbers(desk)
    async with app.run_test(size=WIDE) as pilot:
        await open_conversation(pilot, target)
        await pilot.press("f4", "down", "enter")
        await ready(pilot)
        assert isinstance(app.screen, ConversationScreen) and app.screen.conversation_id == other
        assert app.tabs.ids == [target, other]
        assert is_beside(app)
        department = desk.number(desk.store.conversation(other).business_number_id).department
        assert f"{department} (this one)" in screen_text(app)


async def test_on_a_narrow_terminal_the_panel_covers_the_conversation(app, desk):
    target, other = from_an_ad_on_both_numbers(desk)
    conv = desk.store.conversation(target)
    async with app.run_test(size=NARROW) as pilot:
        await open_conversation(pilot, target)
        await pilot.press("f4")
        await ready(pilot)
        assert isinstance(app.screen, CustomerScreen)
        assert format_number(conv.customer.phone) in screen_text(app)
        await pilot.press("escape")
        await ready(pilot)
        assert isinstance(app.screen, ConversationScreen) and app.screen.conversation_id == target
        stack = len(app.screen_stack)
        await pilot.press("f4", "down", "enter")
        await ready(pilot)
        assert isinstance(app.screen, ConversationScreen) and app.screen.conversation_id == other
        assert len(app.screen_stack) == stack  # in place of the conversation, the modal gone
        assert not app.customer_panel  # nothing to remember: it only covers


async def test_notes_and_attributes_edited_in_the_panel_are_the_customers_and_survive_a_restart(data_dir, clock):
    desk = make_context(data_dir, clock)
    target, other = from_an_ad_on_both_numbers(desk)
    customer = desk.store.conversation(target).customer
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=WIDE) as pilot:
        await open_conversation(pilot, target)
        await pilot.press("f4", "e")
        await ready(pilot)
        assert isinstance(app.screen, EditCustomerProfile)
        await pilot.press(*"Prefers [b]mornings[/b]", "tab", *"plan: gold", "enter", *"since: 2021", "ctrl+s")
        await ready(pilot)
        assert isinstance(app.screen, ConversationScreen)
        kept = desk.store.customer_profile(customer.id)
        assert (kept.notes, kept.attributes, kept.updated_at) == (
            "Prefers [b]mornings[/b]", (("plan", "gold"), ("since", "2021")), clock.now()
        )
        text = screen_text(app)
        assert "Prefers [b]mornings[/b]" in text and "plan: gold" in text and "since: 2021" in text  # never markup
        assert ("", "Notes and attributes saved.") in messages_told(app)
    desk.store.close()

    desk = make_context(data_dir, clock, history=False)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await pilot.press("escape")  # the tabs came back; the inbox
        await open_conversation(pilot, other)  # the same customer on the other number
        await pilot.press("f4")
        await ready(pilot)
        text = screen_text(app)
        assert "Prefers [b]mornings[/b]" in text and "plan: gold" in text, text
        await pilot.press("e")
        await ready(pilot)
        await pilot.press("tab", "enter", *"tier: vip", "ctrl+s")
        await ready(pilot)
    assert desk.store.customer_profile(customer.id).attribute("tier") == "vip"
    desk.store.close()


async def test_what_cannot_be_kept_is_said_in_the_editor_and_nothing_typed_is_lost(app, desk):
    target, _ = from_an_ad_on_both_numbers(desk)
    customer = desk.store.conversation(target).customer
    async with app.run_test(size=NARROW) as pilot:
        await open_conversation(pilot, target)
        await pilot.press("f4", "e")
        await ready(pilot)
        await pilot.press(*"note", "tab", *"gold member", "ctrl+s")
        await ready(pilot)
        assert isinstance(app.screen, EditCustomerProfile)
        assert "Line 1 ('gold member') needs a \":\" between the name and the value." in screen_text(app)
        assert desk.store.customer_profile(customer.id) == CustomerProfile()
        await pilot.press("home", *"plan: ", "ctrl+s")
        await ready(pilot)
        assert isinstance(app.screen, CustomerScreen)
        assert desk.store.customer_profile(customer.id).attributes == (("plan", "gold member"),)


async def test_a_failed_save_is_told_in_a_sentence(app, desk, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(desk.data_dir / "customers.json"))

    monkeypatch.setattr(desk.store, "save_customer_profile", disk_full)
    target, _ = from_an_ad_on_both_numbers(desk)
    async with app.run_test(size=WIDE) as pilot:
        await open_conversation(pilot, target)
        await pilot.press("f4", "e", *"VIP", "ctrl+s")
        await ready(pilot)
        told = messages_told(app)
        assert (
            "Something went wrong",
            f"Saving the notes about the customer failed: No space left on device ({desk.data_dir / 'customers.json'}). "
            "The details are in the log.",
        ) in told, told


async def test_a_hostile_customer_ad_and_notes_act_nowhere_in_the_panel(desk, terminal):  # noqa: F811
    number = desk.numbers()[0].id
    cid, events = hostile_events(number)
    ad = Referral(source_url=f"https://fb.me/{CAPTION}", source_type="ad", headline=TEXT, body=CAPTION)
    events[0] = replace(events[0], message=replace(events[0].message, referral=ad))
    desk.store.apply_many(events)
    customer_id = desk.store.conversation(cid).customer.id
    desk.store.save_customer_profile(customer_id, CustomerProfile(TEXT, (("[b]tier", CAPTION),)), agent=NAME)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        await app.push_screen(ConversationScreen(cid))
        await ready(pilot)
        await pilot.press("f4")
        await ready(pilot)
        shown = assert_nothing_acts(terminal)
        assert "[/x] Dora" in shown and "hello [bold]not bold[/bold]" in shown and "[b]tier: [@click" in shown
        await pilot.press("e")
        await ready(pilot)
        assert isinstance(app.screen, EditCustomerProfile)
        assert "about [/x] Dora" in assert_nothing_acts(terminal)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"status": ConversationStatus.RESOLVED, "resolved_at": NOW - timedelta(days=1, hours=2)}, "resolved Sun 22 Nov 10:00"),
        ({"status": ConversationStatus.RESOLVED, "resolved_at": NOW - timedelta(hours=1)}, "resolved 11:00"),
        ({"status": ConversationStatus.OPEN, "waiting_since": NOW - timedelta(minutes=5)}, "waiting"),
        ({"status": ConversationStatus.OPEN}, "open"),
        ({"status": ConversationStatus.PENDING}, "pending"),
        ({"status": ConversationStatus.SNOOZED, "snoozed_until": NOW + timedelta(hours=4)}, "snoozed to 16:00"),
        ({"status": ConversationStatus.SNOOZED}, "snoozed until they write"),
    ],
)
def test_each_conversation_says_how_it_stands(changes, says):
    conv = Conversation("bn~c", "bn", Customer("c", "Ana"), **changes)
    assert outcome(conv, NOW, ZoneInfo("UTC")) == says


async def test_a_customer_known_only_by_username_has_no_number_and_says_so(app, desk):
    target = next(c for c in sorted(desk.store.conversations(), key=lambda c: c.id) if not c.customer.phone)
    async with app.run_test(size=WIDE) as pilot:
        await open_conversation(pilot, target.id)
        await pilot.press("f4")
        await ready(pilot)
        assert f"Number   none; known as {handle(target.customer)}" in screen_text(app)
