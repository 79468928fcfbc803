"""Help lists the desk's keys first, then the editor's; every footer shows each key once, and the
conversation's footer has room for resolve at 80 columns."""

from __future__ import annotations

import pytest
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from backends.base import Capability
from desk.window import window
from tests.conftest import NOW, find_conversation, ready
from tests.test_flows import open_conversation
from tui.screens.help import HelpScreen


def footer_line(app) -> str:
    """The footer as the terminal shows it: the screen's last rendered line."""
    return app.screen._compositor.render_strips()[-1].text


def footer_keys(app) -> list[tuple[str, str]]:
    return [(k.key_display, k.description) for k in app.screen.query(FooterKey)]


def assert_each_key_once(app) -> None:
    keys = footer_keys(app)
    descriptions = [d for _, d in keys]
    assert len(set(descriptions)) == len(descriptions), keys
    assert len({k for k, _ in keys}) == len(keys), keys
    line = footer_line(app)
    for key, description in keys:
        # Shown in full, not cut off at the edge.
        assert f"{key} {description}" in line, (key, description, line)


def help_text(app) -> str:
    assert isinstance(app.screen, HelpScreen)
    return "\n".join(str(s.render()) for s in app.screen.query(Static))


def is_open(c):
    return c.waiting_since is not None and window(c.last_inbound_at, NOW).open


def is_closed(c):
    return c.last_inbound_at is not None and not window(c.last_inbound_at, NOW).open


@pytest.fixture(params=["mock", "cloud"])
def capabilities(request, desk, monkeypatch):
    """The mock's capabilities, or the cloud's extra one (downloads: one more key in the footer)."""
    if request.param == "cloud":
        monkeypatch.setattr(type(desk.backend), "capabilities", desk.backend.capabilities | Capability.MEDIA_DOWNLOAD)
    return request.param


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_every_footer_shows_each_key_once(app, desk, capabilities, size):
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        assert_each_key_once(pilot.app)
        assert [d for _, d in footer_keys(pilot.app)].count("Quit") == 1
        await pilot.press("slash")  # the search field has the focus
        await pilot.pause()
        assert_each_key_once(pilot.app)
        await pilot.press("escape")
        await pilot.pause()
        for predicate in (is_open, is_closed):
            await pilot.press("home")
            screen = await open_conversation(pilot, find_conversation(desk, predicate))
            for focused in (screen.composer, screen.query_one("#transcript")):
                if not focused.disabled:
                    focused.focus()
                await pilot.pause()
                assert_each_key_once(pilot.app)
                shown = dict((d, k) for k, d in footer_keys(pilot.app))
                assert shown.get("Resolve") == "^o", shown
                assert {"Back", "Template", "Retry", "Help"} <= shown.keys()
                if capabilities == "cloud":
                    assert "File" in shown
            await pilot.press("escape")
            await pilot.pause()


async def test_conversation_help_lists_the_desks_keys_first(app, desk):
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_conversation(pilot, find_conversation(desk, is_open))
        assert screen.composer.has_focus
        await pilot.press("f1")
        await pilot.pause()
        # The new-line key, which the footer has no room for, is in the empty composer itself.
        assert "ctrl+j" in str(screen.composer.placeholder)
        lines = [line.strip() for line in help_text(pilot.app).splitlines() if line.strip()]
        desk_keys = ["Send the message.", "Back to the inbox", "Pick an approved template", "Send the failed or unknown message under the cursor",
                     "Resolve the conversation", "Send a file"]
        positions = [next(i for i, line in enumerate(lines) if what in line) for what in desk_keys]
        assert positions == sorted(positions)
        editor = lines.index("Editing text")
        assert max(positions) < editor
        # The editor's own keys (TextArea's) come after that heading, and only there.
        assert any("Cursor up" in line for line in lines[editor:])
        assert not any("Cursor up" in line for line in lines[:editor])
        # One line per action, its keys together.
        assert sum("Delete left to start of word" in line for line in lines) == 1


async def test_inbox_help_lists_the_desks_keys_then_textuals(app, desk):
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        lines = [line.strip() for line in help_text(pilot.app).splitlines() if line.strip()]
        everywhere = lines.index("More keys (Textual's)")
        assert any("Open the conversation" in line for line in lines[:everywhere])
        assert any("Quit wadesk" in line for line in lines[:everywhere])
        assert any("Scroll Left" in line for line in lines[everywhere:])
        assert any("command palette" in line for line in lines[everywhere:])
        assert "Editing text" not in lines
