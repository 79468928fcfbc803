"""At 80x24 the conversation header and the inbox bar fit: labels shorten first, no value is cut in
half; a paused SLA clock says until when, in the header and in the inbox row; a file's caption is
in the transcript."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta, timezone

import pytest
from rich.cells import cell_len

from desk.clock import FrozenClock
from desk.config import BusinessHoursConfig, SlaConfig
from desk.models import Direction, Media, Message, MessageReceived, MessageStatus
from desk.sla import SlaKind, SlaState
from desk.window import window
from tests.conftest import NOW, find_conversation, make_context, quiet_config, ready
from tests.test_flows import open_conversation, transcript_text
from tui.app import WadeskApp
from tui.header import conversation_header, inbox_bar
from tui.labels import fit, sla_forms, sla_label
from tui.widgets.inbox_list import InboxList

UTC = timezone.utc
LONG_NAME = "Maria Guadalupe Fernández de la Cruz y Montoya-Villanueva"


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def test_fit_takes_the_longest_form_that_fits():
    forms = ["window ◷ 23h10m left", "◷ 23h10m left"]
    assert fit(forms, 40) == forms[0]
    assert fit(forms, 15) == forms[1]
    assert fit(forms, 5) == forms[1]  # the shortest when nothing fits
    assert fit(forms, None) == forms[0]


# --- the SLA's forms -------------------------------------------------------------------------------

MONDAY = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def paused(kind=SlaKind.OK, until=datetime(2026, 11, 24, 9, 0, tzinfo=UTC)) -> SlaState:
    return SlaState(kind, "first response", DUE, timedelta(minutes=30), timedelta(0), until)


@pytest.mark.parametrize(
    ("state", "width", "shown"),
    [
        (paused(), None, "‖ paused until Tue 09:00 (30m left)"),
        (paused(), 30, "‖ paused until Tue 09:00"),
        (paused(), 18, "‖ paused Tue 09:00"),
        (paused(until=datetime(2026, 11, 23, 21, 0, tzinfo=UTC)), 18, "‖ paused 21:00"),
        (paused(until=datetime(2026, 11, 30, 9, 0, tzinfo=UTC)), None, "‖ paused until Mon 30 Nov 09:00 (30m left)"),
        (paused(until=datetime(2026, 11, 30, 9, 0, tzinfo=UTC)), 18, "‖ paused"),
        (paused(SlaKind.DUE_SOON), 18, "▲ paused Tue 09:00"),
        (SlaState(SlaKind.OK, "first response", DUE, timedelta(minutes=30), timedelta(0)), 18, "✓ ok 30m"),
        (SlaState(SlaKind.BREACHED, "first response", DUE, timedelta(0), timedelta(minutes=65)), 18, "✖ breached 1h05m"),
    ],
)
def test_sla_label_says_paused_until_when(state, width, shown):
    assert sla_label(state, UTC, MONDAY, width) == shown
    assert all(cell_len(f) <= cell_len(sla_forms(state, UTC, MONDAY)[0]) for f in sla_forms(state, UTC, MONDAY))


# --- fitting the header and the bar ----------------------------------------------------------------


def header(width: int, *, name: str = LONG_NAME, sla: SlaState | None = None, resolved: bool = False) -> list[str]:
    win = window(NOW - timedelta(minutes=50), NOW)
    sla = sla or SlaState(SlaKind.DUE_SOON, "next response", NOW + timedelta(minutes=10), timedelta(minutes=10), timedelta(0))
    text = conversation_header(
        name=name, handle="+52 222 148 6205", department="Support", number="+1 555-0101", status="resolved" if resolved else "open",
        owner="● mine", win=win, sla=sla, waited="wait 50m", zone=UTC, now=NOW, width=width,
    )
    return text.plain.split("\n")


VALUES = ["◷ 23h10m left", "▲ due 10m", "wait 50m", "Support", "● mine"]


@pytest.mark.parametrize("width", [200, 120, 100, 78, 60, 50])
def test_the_header_fits_and_keeps_every_value_whole(width):
    who, timers = header(width)
    assert cell_len(who) <= width and cell_len(timers) <= width
    text = who + "\n" + timers
    for value in VALUES:
        assert value in text, (value, text)
    assert "…" in who or LONG_NAME in who
    if width >= 100:
        assert "window ◷ 23h10m left (closes Tue 11:10)" in timers and "next response" in timers


def test_the_header_shortens_labels_before_values():
    _, wide = header(200)
    _, narrow = header(60)
    assert wide.startswith("window ") and not narrow.startswith("window ")
    # The window's close time is kept longer than the labels around it.
    assert "Tue 11:10" in header(78)[1]


def test_a_short_name_keeps_the_phone_number_and_the_business_number():
    who, _ = header(78, name="Ana")
    assert who == "Ana  +52 222 148 6205  ·  Support (+1 555-0101)  ·  ● mine"


def test_a_paused_clock_in_the_header():
    _, timers = header(120, sla=paused())
    assert "first response ‖ paused until Tue 09:00 (30m left)" in timers
    _, timers = header(78, sla=paused())
    assert "paused until Tue 09:00" in timers and cell_len(timers) <= 78


def bar(width: int, **kw) -> str:
    args = dict(backend="mock", shown="24 conversations", breached=3, owner_words=None, owned=(2, 18), holding=(1, 3),
                filter_words="window closing", department="Support", query="", width=width)
    args.update(kw)
    return inbox_bar(**args).plain


@pytest.mark.parametrize("width", [120, 80])
@pytest.mark.parametrize("query", ["", "refund", "a very long search for the order that never came"])
def test_the_inbox_bar_fits_and_keeps_the_counts(width, query):
    line = bar(width, query=query)
    assert cell_len(line) <= width, line
    assert "✖ 3 breached" in line and line.startswith(" wadesk ")
    assert "24 conv" in line and "window closing" in line and "Support" in line
    mine = bar(width, query=query, owner_words="mine")  # the view's name stays; its counts when they fit
    assert cell_len(mine) <= width and "· mine" in mine
    if width >= 120 and not query:
        assert "mine: mine 2, unassigned 18" in mine
    if query and width >= 120:
        assert repr(query) in line or repr(query)[:-1] in line


def test_the_inbox_bar_shortens_labels_first():
    assert bar(200) == (
        " wadesk  mock · 24 conversations · ✖ 3 breached · everyone's: mine 2, unassigned 18 · holding 1 of 3"
        " · filter: window closing · Support"
    )
    assert "filter:" not in bar(80, query="refund") and "'refund'" in bar(80, query="refund")


# --- on screen, at 80x24 ---------------------------------------------------------------------------


async def test_at_80x24_a_long_name_cuts_nothing_in_half(data_dir, clock):
    desk = make_context(data_dir, clock)
    target = find_conversation(desk, lambda c: c.waiting_since is not None and window(c.last_inbound_at, NOW).open)
    conv = desk.store.conversation(target)
    # The customer's profile name becomes a very long one (WhatsApp sends it with every message).
    long_customer = dataclasses.replace(conv.customer, name=LONG_NAME * 2)
    desk.store.apply(MessageReceived(conv.business_number_id, long_customer, Message(
        "wamid.long-name", target, Direction.INBOUND, "text", NOW - timedelta(minutes=1), MessageStatus.RECEIVED, text="hola")))
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("slash", *"Fernández")  # a search: the bar has one more value to fit
        await ready(pilot)
        top = screen_lines(pilot.app)[0]
        assert top.rstrip().endswith("'Fernández'"), top
        assert "✖" not in top or "breached" in top
        await pilot.press("enter", "escape")
        await pilot.pause()
        await open_conversation(pilot, target)
        who, timers = screen_lines(pilot.app)[:2]
        number = pilot.app.ctx.number(conv.business_number_id)
        assert number.department in who and "…" in who
        # Every value whole: the window's time left and close time, the SLA, how long they waited.
        assert re.search(r"◷ \d+h\d\dm left \((closes )?\w{3} \d\d:\d\d\)", timers), timers
        assert re.search(r"(▲ due|✓ ok|✖ breached) \d+m · wait \d+m$", timers.rstrip()), timers
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        who, timers = screen_lines(pilot.app)[:2]
        assert "window ◷" in timers and ("next response" in timers or "first response" in timers)
        desk.store.close()


def business_hours_desk(data_dir, clock):
    hours = BusinessHoursConfig(days=("mon", "tue", "wed", "thu", "fri"), start="09:00", end="17:00", timezone="UTC")
    config = dataclasses.replace(quiet_config(), sla=SlaConfig(business_hours=hours))
    return make_context(data_dir, clock, config)


async def test_a_paused_clock_shows_in_the_inbox_row_and_the_header(data_dir):
    tuesday_evening = FrozenClock(datetime(2026, 11, 24, 20, 0, tzinfo=UTC))
    desk = business_hours_desk(data_dir, tuesday_evening)
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        rows = pilot.app.screen.query_one(InboxList).rows
        index, row = next((i, r) for i, r in enumerate(rows) if r.sla(tuesday_evening.now()).paused_until is not None)
        lines = screen_lines(pilot.app)
        # Two lines per row below the bar; the row's second line carries the SLA.
        assert "‖ paused Wed 09:00" in lines[1 + 2 * index + 1] or "▲ paused Wed 09:00" in lines[1 + 2 * index + 1]
        assert not any(" ok " in line for line in lines), lines
        await open_conversation(pilot, row.conversation.id)
        timers = screen_lines(pilot.app)[1]
        assert "paused until Wed 09:00" in timers, timers
    desk.store.close()


# --- captions --------------------------------------------------------------------------------------


async def test_a_files_caption_is_in_the_transcript(app, desk):
    target = find_conversation(desk, lambda c: c.last_inbound_at is not None)
    conv = desk.store.conversation(target)
    caption = "Here is the invoice\nwith the wrong address [/b] \x1b[31m"
    for i, (kind, name) in enumerate([("document", "invoice.pdf"), ("image", None), ("video", None)]):
        media = Media(kind, "application/pdf", caption=caption, filename=name, size=120_000, media_id=f"m{i}")
        await_msg = Message(f"wamid.cap{i}", target, Direction.INBOUND, kind, NOW - timedelta(minutes=3 - i),
                            MessageStatus.RECEIVED, text=caption, media=media)
        desk.store.apply(MessageReceived(conv.business_number_id, conv.customer, await_msg))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_conversation(pilot, target)
        text = transcript_text(screen)
        assert "[document: invoice.pdf (117 KB)]\n  Here is the invoice\n  with the wrong address [/b] ␛[31m" in text
        assert "[image]\n  Here is the invoice" in text
        assert "[video]\n  Here is the invoice" in text
