"""A hostile customer walked through every screen, modal and notification, checked on the bytes the
terminal receives: nothing they wrote is parsed as markup, and no ESC, OSC, BEL, C1 control, bidi
override or invisible character of theirs reaches the terminal."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import textual.drivers.headless_driver as headless
from textual.widgets._toast import Toast

from backends.base import Capability
from desk.models import (
    Customer,
    Direction,
    Media,
    Message,
    MessageReceived,
    MessageStatus,
    StatusChanged,
    conversation_id,
)
from desk.text import display_name
from tests.conftest import NOW, ready
from tui.app import WadeskApp
from tui.screens.attach import AttachScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.conversation import ConversationScreen
from tui.screens.help import HelpScreen, describe_keys
from tui.screens.media import MediaScreen
from tui.screens.template_picker import TemplatePicker

NAME = "[/x] Dora \x1b]0;PWNED-NAME\x07 \u202eevil\u202c zero\u200bwidth \u2060\ufeff \x9b31m"
CAPTION = "[@click=app.quit]tap to view[/] \x1b[2J\x1b]8;;http://evil\x07link"
FILENAME = "[b]inv\x1b]0;PWNED-FILE\x07oice[/].pdf"
TEXT = "hello [bold]not bold[/bold] \x1b]52;c;cHduZWQ=\x07 \u2066isolate\u2069 \x85next"
QUOTED = "Message undeliverable: [red]\x1b]0;PWNED-QUOTED\x07[/red]"
"""What WhatsApp quotes back in an error's details (customer text can be inside)."""

TEXTUAL_OWN = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\]22;[a-z-]+\x07")
"""Textual's own sequences (CSI cursor moves and colours, OSC 22 pointer shape): the only ones
allowed on the wire."""
FORBIDDEN = re.compile("[\x1b\x07\x80-\x9f\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff]")


class RecordingDriver(headless.HeadlessDriver):
    """The headless driver, but the app renders to it as to a terminal and every byte is kept."""

    output: list[str] = []

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        RecordingDriver.output.append(data)


@pytest.fixture
def terminal(monkeypatch):
    RecordingDriver.output = []
    monkeypatch.setattr(headless, "HeadlessDriver", RecordingDriver)
    return RecordingDriver.output


def wire(output: list[str]) -> str:
    """What the terminal received, with Textual's own sequences taken out."""
    return TEXTUAL_OWN.sub("", "".join(output))


def assert_nothing_acts(output: list[str]) -> str:
    text = wire(output)
    bad = sorted({f"U+{ord(c):04X}" for c in FORBIDDEN.findall(text)})
    assert not bad, f"reached the terminal: {bad}"
    return text


def hostile_events(business_number_id: str) -> tuple[str, list]:
    customer = Customer(id="15550001234", name=NAME, phone="+15550001234", country="US")
    cid = conversation_id(business_number_id, customer.id)
    at = NOW - timedelta(minutes=30)

    def inbound(n: int, **fields) -> MessageReceived:
        message = Message(
            id=f"wamid.hostile{n}", conversation_id=cid, direction=Direction.INBOUND, type="text",
            timestamp=at + timedelta(minutes=n), status=MessageStatus.RECEIVED,
        )
        return MessageReceived(business_number_id, customer, replace(message, **fields))

    events = [
        inbound(1, text=TEXT),
        inbound(2, type="image", text=CAPTION, media=Media("image", "image/jpeg", CAPTION, None, 1000, "media-1")),
        inbound(3, type="document", text=CAPTION,
                media=Media("document", "application/pdf", CAPTION, FILENAME, 2000, "media-2")),
    ]
    return cid, events


async def test_a_hostile_customer_acts_nowhere(desk, terminal, tmp_path):
    number = desk.numbers()[0].id
    cid, events = hostile_events(number)
    desk.store.apply_many(events)
    downloaded = tmp_path / "media-2.pdf"  # the backend names a download by its media id
    downloaded.write_bytes(b"%PDF-1.4")

    async def download_media(media_id: str) -> Path:
        return downloaded

    desk.backend.download_media = download_media
    desk.backend.capabilities |= Capability.MEDIA_DOWNLOAD
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await ready(pilot)
        inbox_wire = assert_nothing_acts(terminal)
        assert "[/x] Dora" in inbox_wire  # shown literally: not parsed, not dropped

        conversation = ConversationScreen(cid)
        await app.push_screen(conversation)
        await ready(pilot)
        shown = assert_nothing_acts(terminal)
        assert "[bold]not bold[/bold]" in shown

        # Every modal, with the customer's text where each one shows it.
        await pilot.press("ctrl+t")
        await ready(pilot)
        assert isinstance(app.screen, TemplatePicker)
        assert "templates for [/x] Dora" in assert_nothing_acts(terminal)
        await pilot.press("escape")
        await pilot.press("ctrl+f")  # downloads the latest file: the notification names it
        await ready(pilot)
        assert isinstance(app.screen, MediaScreen)
        assert "[@click=app.quit]tap to view[/]" in assert_nothing_acts(terminal)
        await pilot.press("escape")
        for modal in (
            ConfirmScreen(f"Send {display_name(NAME)} a template again? {CAPTION}"),
            HelpScreen(display_name(NAME), describe_keys(conversation)),
            AttachScreen(),
        ):
            await app.push_screen(modal)
            await ready(pilot)
            assert_nothing_acts(terminal)
            app.pop_screen()

        # Every notification that carries customer text: a failure WhatsApp reported later (with
        # its quoted details), a failed send, and a worker's error message.
        ours = Message(
            id="local.1", conversation_id=cid, direction=Direction.OUTBOUND, type="text",
            timestamp=NOW, status=MessageStatus.QUEUED, text=TEXT,
        )
        await app.engine.writer.record_outgoing(ours)
        await app.engine.writer.update_outgoing(cid, ours.id, MessageStatus.SENT, at=NOW, wamid="wamid.ours")
        await app.ingest(StatusChanged(number, "15550001234", "wamid.ours", MessageStatus.FAILED, NOW, 131026, QUOTED))
        app.notify(CAPTION, title=f"Not sent to {NAME}", severity="error")
        await ready(pilot)
        await pilot.pause()
        assert app.is_running
        toasts = [toast.render().plain for toast in app.screen.query(Toast)]
        assert any("[@click=app.quit]tap to view[/]" in t for t in toasts), toasts  # literal: no link
        assert any("Not delivered to [/x] Dora" in t for t in toasts), toasts
        text = assert_nothing_acts(terminal)
        assert "PWNED" in text  # shown as visible text, ␛]0;PWNED…␇, not obeyed


def test_no_screen_sets_a_title_from_a_string_that_could_be_markup():
    """By construction: a border title, subtitle or Static gets a Text (tui.plain), never an
    f-string, which Textual would parse as markup."""
    root = Path(__file__).parent.parent / "tui"
    risky = re.compile(r"(border_(sub)?title|sub_title|\.title)\s*=\s*f[\"']|Static\(\s*f[\"']|\.update\(\s*f[\"']|markup=True")
    found = [
        f"{path.relative_to(root.parent)}:{n}: {line.strip()}"
        for path in root.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if risky.search(line)
    ]
    assert not found, found
