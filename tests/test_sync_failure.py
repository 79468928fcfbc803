"""A template sync that fails says so in the picker, and is tried again soon, with backoff."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from datetime import timedelta

import pytest

from backends.cloud import backend as cloud_backend
from backends.cloud.backend import CloudBackend, sync_delay
from desk.config import CloudConfig, CloudNumberConfig, WebhookConfig
from desk.store.tiny import TinyStore
from engine.context import DeskContext
from tests.conftest import FOREVER, quiet_config
from tests.test_cloud_e2e import SECRETS, WABA, until
from tui.app import WadeskApp
from tui.screens.conversation import ConversationScreen
from tui.screens.template_picker import TemplatePicker


async def settled(pilot) -> None:
    """Every worker but the event pump finished, failed ones included (they notify the agent)."""
    await until(pilot, lambda: all(w.is_finished for w in pilot.app.workers if w.group not in FOREVER), "the workers")
    await pilot.pause()


def closed_port() -> int:
    """A loopback port nobody listens on: Graph is unreachable there."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def unreachable_desk(clock, data_dir):
    mock = quiet_config().mock
    config = dataclasses.replace(
        quiet_config(),
        backend="cloud",
        cloud=CloudConfig(
            graph_url=f"http://127.0.0.1:{closed_port()}", waba_id=WABA,
            numbers=tuple(CloudNumberConfig(n.id, n.department, n.display) for n in mock.numbers),
            timeout_seconds=2.0,
        ),
        webhook=WebhookConfig(host="127.0.0.1", port=0, path="/webhook"),
    )
    store = TinyStore(data_dir, clock=clock)
    store.open()
    yield DeskContext(config, store, CloudBackend(config, clock, data_dir, SECRETS), clock, data_dir)
    store.close()


@pytest.mark.parametrize(
    "failures, delay",
    [(0, 900), (1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 900), (20, 900)],
)
def test_a_failed_sync_is_retried_soon_then_less_often(failures, delay):
    assert sync_delay(failures, every=900) == delay


async def test_the_background_sync_backs_off_and_recovers(unreachable_desk, monkeypatch):
    backend: CloudBackend = unreachable_desk.backend  # type: ignore[assignment]
    outcomes = iter([RuntimeError("Graph down"), RuntimeError("Graph down"), None, RuntimeError("again")])
    slept: list[float] = []

    async def sync() -> None:
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 4:
            raise asyncio.CancelledError

    monkeypatch.setattr(backend, "sync_templates", sync)
    monkeypatch.setattr(cloud_backend.asyncio, "sleep", sleep)
    with pytest.raises(asyncio.CancelledError):
        await backend._sync_templates_forever()
    assert slept == [30, 60, 900, 30]


async def test_the_picker_says_the_last_fetch_failed_and_ctrl_r_tries_again(unreachable_desk):
    backend: CloudBackend = unreachable_desk.backend  # type: ignore[assignment]
    app = WadeskApp(unreachable_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: backend.sync_failure is not None, "the first sync to fail")
        assert "Could not reach WhatsApp" in backend.sync_failure.sentence
        number = unreachable_desk.numbers()[0]
        # A conversation to open the picker from: the picker is the same for every conversation.
        from desk.models import Customer, Direction, Message, MessageReceived, MessageStatus, conversation_id

        customer = Customer(id="15550009999", name="Dora", phone="+15550009999", country="US")
        cid = conversation_id(number.id, customer.id)
        message = Message("wamid.1", cid, Direction.INBOUND, "text", unreachable_desk.clock.now(), MessageStatus.RECEIVED, "hi")
        await app.ingest(MessageReceived(number.id, customer, message))
        await app.push_screen(ConversationScreen(cid))
        await settled(pilot)  # marking it read fails too (Graph is down): a notification, no crash
        await pilot.press("ctrl+t")
        await settled(pilot)
        picker = app.screen
        assert isinstance(picker, TemplatePicker)
        status = str(picker.query_one("#picker-status").render())
        assert "last fetch failed" in status and "ctrl+r tries again" in status
        assert backend.sync_failure.sentence in status
        assert "last fetch failed" in str(picker.query_one("#picker").border_subtitle)
        shown = [str(option.prompt) for option in picker.query_one("#picker-list").options]
        assert shown == ["no templates fetched yet"]

        before = backend.sync_failure.at
        unreachable_desk.clock.advance(timedelta(minutes=1))
        await pilot.press("ctrl+r")
        await settled(pilot)
        assert backend.sync_failure is not None and backend.sync_failure.at >= before
        told = [n.message for n in app._notifications]
        assert any("Could not fetch the templates: Could not reach WhatsApp" in m for m in told), told
        assert any(m.startswith("Marking the conversation read failed: Could not reach WhatsApp") for m in told), told
