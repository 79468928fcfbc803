"""The desk's screens in team mode (tui/shared.py), on a real hub (tests/hub_desk_helpers.py):
another agent's presence in the conversation header, the offline line and a send refused while
offline (the text stays in the composer), and a revoked token said in a sentence."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.hub.backend import HubBackend
from backends.hub.store import offline_sentence
from desk.clock import FrozenClock
from desk.config import Config
from engine.context import DeskContext
from tests.conftest import make_context
from tests.hub_desk_helpers import HubThread, desk_store
from tests.test_hub_desk import open_conversation_id
from tui.app import WadeskApp

SIZE = (120, 40)


@pytest.fixture
def hub(data_dir: Path, clock: FrozenClock) -> Iterator[HubThread]:
    context = make_context(data_dir, clock)
    running = HubThread(context).start()
    yield running
    running.stop()
    context.store.close()


@pytest.fixture
def ana_desk(hub: HubThread, clock: FrozenClock, tmp_path: Path) -> Iterator[DeskContext]:
    store = desk_store(hub, "ana", clock)
    backend = HubBackend(store.client, store)
    context = DeskContext(Config(backend="hub", agent_name="ana"), store, backend, clock, tmp_path / "ana")
    yield context
    store.close()


async def until(pilot, predicate, what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def line(app: WadeskApp) -> str:
    found = app.screen.query("#hub-line")
    return "" if not found or found.first().has_class("hidden") else str(found.first().render())


async def test_another_agents_presence_shows_in_the_header(hub: HubThread, ana_desk: DeskContext) -> None:
    cid = open_conversation_id(hub.context)
    app = WadeskApp(ana_desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        app.open_conversation(cid)
        await until(pilot, lambda: getattr(app.screen, "conversation_id", None) == cid and app.screen.query("Transcript"), "the conversation")
        bob = desk_store(hub, "bob", ana_desk.clock)
        try:
            bob.client.presence(cid, "typing")
            await until(pilot, lambda: "bob is typing" in line(app), "bob typing in the header")
            bob.client.presence(cid, "left")
            await until(pilot, lambda: line(app) == "", "bob gone")
        finally:
            bob.close()


async def test_offline_is_said_and_a_send_is_refused_keeping_the_text(hub: HubThread, ana_desk: DeskContext) -> None:
    cid = open_conversation_id(hub.context)
    app = WadeskApp(ana_desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        app.open_conversation(cid)
        await until(pilot, lambda: getattr(app.screen, "conversation_id", None) == cid and app.screen.query("Transcript"), "the conversation")
        hub.down()
        await until(pilot, lambda: line(app) == offline_sentence(hub.url), "the offline line")
        await pilot.press(*"are you there", "enter")
        await pilot.pause()
        assert app.screen.composer.text == "are you there"  # kept, not queued
        assert not [m for m in ana_desk.store.messages(cid) if m.text == "are you there"]
        hub.up()
        await until(pilot, lambda: line(app) == "", "back online", seconds=20)


async def test_a_revoked_token_is_said_in_a_sentence(hub: HubThread, ana_desk: DeskContext) -> None:
    cid = open_conversation_id(hub.context)
    app = WadeskApp(ana_desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        hub.directory.revoked.add("ana")
        app.open_conversation(cid)
        await until(pilot, lambda: getattr(app.screen, "conversation_id", None) == cid and app.screen.query("Transcript"), "the conversation")
        try:  # the next write is refused
            await app.engine.writer.set_labels(cid, ["vip"])
        except Exception:  # noqa: BLE001 - the refusal itself; what matters is what the desk says
            pass
        await until(pilot, lambda: "revoked" in line(app), "the refusal on the team line")
        assert "wadesk hub add-agent" in line(app)
