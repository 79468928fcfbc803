"""The UI reads the backend's capability flags and hides what a backend lacks; receiving webhooks
is a capability too, not a check of the backend's name."""

from __future__ import annotations

from backends.base import Capability
from tests.conftest import ready
from tests.test_failures_told import writable
from tests.test_flows import SIZE, open_conversation
from tui.screens.conversation import ConversationScreen
from tui.serve import serve


def footer_text(app) -> str:
    from textual.widgets import Footer

    return " ".join(str(key.render()) for key in app.screen.query_one(Footer).query("FooterKey"))


async def test_without_templates_there_is_no_template_key(app, desk, monkeypatch):
    monkeypatch.setattr(desk.backend, "capabilities", desk.backend.capabilities & ~Capability.TEMPLATES)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, writable(desk))
        assert "Template" not in footer_text(app)
        await pilot.press("ctrl+t")
        await ready(pilot)
        assert isinstance(app.screen, ConversationScreen)  # no picker


async def test_without_mark_read_nothing_is_asked_of_the_backend(app, desk, monkeypatch):
    calls = []

    async def mark_read(*args):
        calls.append(args)

    monkeypatch.setattr(desk.backend, "mark_read", mark_read)
    monkeypatch.setattr(desk.backend, "capabilities", desk.backend.capabilities & ~Capability.MARK_READ)
    target = writable(desk)
    async with app.run_test(size=SIZE) as pilot:
        await open_conversation(pilot, target)
        await ready(pilot)
    assert calls == []
    assert desk.store.conversation(target).unread == 0  # our own read marker still moves


def test_serve_needs_a_backend_that_receives_webhooks(desk, capsys):
    assert Capability.WEBHOOKS not in desk.backend.capabilities
    assert serve(desk) == 2
    assert "serve receives webhooks, which the mock backend does not" in capsys.readouterr().err
