"""Customer text is hostile: nothing in it may reach the terminal as a command."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.text import display_name, flatten, safe

DANGEROUS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("\x1b[31mred\x1b[0m", "␛[31mred␛[0m"),
        ("\x1b]8;;http://evil\x07link\x1b]8;;\x07", "␛]8;;http://evil␇link␛]8;;␇"),
        ("abc\u202edcba", "abc<U+202E>dcba"),
        ("csi \x9b31m", "csi <U+009B>31m"),
        ("[bold red]x[/] [@click=app.quit]q[/]", "[bold red]x[/] [@click=app.quit]q[/]"),
        ("مرحبا\u200f ok", "مرحبا\u200f ok"),
        ("emoji 👍🏽 and ગુજરાતી", "emoji 👍🏽 and ગુજરાતી"),
        ("line\nbreak\tand tab", "line\nbreak\tand tab"),
    ],
)
def test_safe(raw, shown):
    assert safe(raw) == shown


def test_flatten_is_one_line_and_cut():
    assert flatten("a\n\n b\r\nc") == "a b c"
    assert flatten("x" * 100, 10) == "x" * 9 + "…"


@given(st.text())
def test_nothing_dangerous_survives(text):
    assert not DANGEROUS.search(safe(text))
    assert "\n" not in flatten(text)


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("Dora\u200b", "Dora<U+200B>"),
        ("Do\u200dra \ufeff\u2060", "Do<U+200D>ra <U+FEFF><U+2060>"),
        ("in\u00advoice.pdf", "in<U+00AD>voice.pdf"),
        ("[/x] Dora \x1b]0;t\x07", "[/x] Dora ␛]0;t␇"),
    ],
)
def test_names_show_invisible_characters(raw, shown):
    """Two customers must never look alike: in a name or a file name, what is invisible is marked."""
    assert display_name(raw) == shown
    assert safe("Dora\u200b") == "Dora\u200b"  # message text keeps joiners (emoji, Indic scripts)
