"""A bracketed paste keeps its text in order, ESC and all (tui/paste.py; the upstream report is
docs/upstream-paste-order.md)."""

from __future__ import annotations

import textual
import textual.drivers.linux_driver as linux_driver
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from textual import events
from textual._xterm_parser import XTermParser

from desk.models import Direction
from desk.window import window
from tests.conftest import NOW, find_conversation, ready
from tests.test_flows import SIZE, open_conversation
from tui.paste import PasteSafeParser

START, END = "\x1b[200~", "\x1b[201~"
REPRO = f"{START}AAA\x1bBBB{END}"
"""The issue's reproduction: ESC[200~ AAA ESC BBB ESC[201~."""


def events_of(parser: XTermParser, *chunks: str) -> list:
    out = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    return out


def parse(parser: XTermParser, *chunks: str) -> list[tuple[str, str]]:
    """What comes out, comparable: ("paste", text) or ("key", key)."""
    return [("paste", e.text) if isinstance(e, events.Paste) else ("key", e.key) for e in events_of(parser, *chunks)]


def test_textuals_parser_reorders_a_paste_that_holds_esc():
    # The upstream bug, as docs/upstream-paste-order.md reports it. If this fails after a Textual
    # upgrade, the bug is fixed upstream: check the report, then drop tui/paste.py.
    assert textual.__version__ == "8.2.8"
    assert parse(XTermParser(), REPRO) == [
        ("key", "circumflex_accent"), ("key", "B"), ("key", "B"), ("key", "B"), ("paste", "AAA")
    ]
    # Worse: ESC then CR in a paste is an Enter key, which would send the reply.
    assert ("key", "enter") in parse(XTermParser(), f"{START}hi\x1b\rrest{END}")


def test_the_safe_parser_keeps_the_paste_whole_and_in_order():
    assert parse(PasteSafeParser(), REPRO) == [("paste", "AAA␛BBB")]
    assert parse(PasteSafeParser(), f"{START}hi\x1b\rrest{END}") == [("paste", "hi␛\rrest")]


def test_outside_a_paste_nothing_changes():
    # A lone escape key, arrows, alt+x: passed on at once, as the stock parser would.
    for data in ("\x1b", "\x1b[A", "\x1bx", "plain"):
        assert parse(PasteSafeParser(), data, "") == parse(XTermParser(), data, "")


@settings(max_examples=300)
@given(
    text=st.text(alphabet=st.sampled_from(["a", "\x1b", "[", "2", "0", "1", "~", "\r", "é"]), max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=6),
)
def test_any_chunking_gives_the_same_paste(text, cuts):
    # Terminal reads split the input anywhere, markers included. (A paste holding the end marker
    # itself is ambiguous for any parser; terminals filter it out.)
    assume(END not in text)
    data = f"{START}{text}{END}"
    points = sorted({c for c in cuts if c < len(data)} | {0, len(data)})
    chunks = [data[a:b] for a, b in zip(points, points[1:])]
    assert parse(PasteSafeParser(), *chunks) == [("paste", text.replace("\x1b", "␛"))]


def test_the_app_installs_the_safe_parser(app):
    assert linux_driver.XTermParser is PasteSafeParser


async def test_a_paste_with_esc_reaches_the_composer_in_order(app, desk):
    target = find_conversation(desk, lambda c: c.waiting_since and window(c.last_inbound_at, NOW).open)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        before = len(desk.store.messages(target))
        composer = screen.composer
        # What the driver does with the terminal's bytes: parse them, post each event to the app.
        for event in events_of(PasteSafeParser(), f"{START}AAA\x1bBBB\r\x1b\rCCC{END}"):
            pilot.app.post_message(event)
        await ready(pilot)
        assert composer.text == "AAA␛BBB\n␛\nCCC"
        # Nothing was sent by the CR that followed an ESC.
        assert len(desk.store.messages(target)) == before
        await pilot.press("enter")
        await ready(pilot)
        ours = [m for m in desk.store.messages(target) if m.direction is Direction.OUTBOUND]
        assert ours[-1].text == "AAA␛BBB\n␛\nCCC"


async def test_a_paste_event_with_control_characters_is_shown_with_marks(app, desk):
    # Whatever delivers the paste (another terminal, a fixed Textual): controls become visible.
    target = find_conversation(desk, lambda c: c.waiting_since and window(c.last_inbound_at, NOW).open)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        pilot.app.post_message(events.Paste("one\r\ntwo\x07\x1b]0;pwned\x07"))
        await ready(pilot)
        assert screen.composer.text == "one\ntwo␇␛]0;pwned␇"
