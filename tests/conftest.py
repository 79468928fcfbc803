"""Shared fixtures: a frozen clock, a temporary data directory, and a desk on the mock whose
history is already in the store, so every test starts from the same screen."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from backends.mock import MockBackend
from desk.clock import FrozenClock
from desk.config import Config, MockConfig
from desk.store.tiny import TinyStore
from engine.context import DeskContext
from tui.app import WadeskApp

pytest_plugins = ["tests.postgres_fixtures"]
"""Team mode's real PostgreSQL (pg_server, pg_url)."""

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
"""A Monday; every test and snapshot sees this moment unless it moves the clock."""


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def quiet_config(**mock: object) -> Config:
    """The default config with a mock that sends nothing on its own (no trickle, no failures)."""
    return Config(mock=dataclasses.replace(MockConfig(inbound_per_minute=0.0, failure_rate=0.0), **mock))


def make_context(data_dir: Path, clock: FrozenClock, config: Config | None = None, *, history: bool = True) -> DeskContext:
    """A desk on the mock with its store open and, by default, the mock's history applied."""
    config = config or quiet_config()
    backend = MockBackend(config.mock, clock, state_path=None)
    store = TinyStore(data_dir, clock=clock)
    store.open()
    if history:
        store.apply_many(backend.simulation.history())
    return DeskContext(config, store, backend, clock, data_dir)


@pytest.fixture
def desk(data_dir: Path, clock: FrozenClock) -> Iterator[DeskContext]:
    context = make_context(data_dir, clock)
    yield context
    context.store.close()


@pytest.fixture
def app(desk: DeskContext) -> WadeskApp:
    """The app without its event pump: tests feed events with `app.ingest`."""
    return WadeskApp(desk, pump_events=False)


def find_conversation(desk: DeskContext, predicate: Callable) -> str:
    """The id of the first conversation (in id order) that `predicate(conversation)` accepts."""
    for conv in sorted(desk.store.conversations(), key=lambda c: c.id):
        if predicate(conv):
            return conv.id
    raise LookupError("no conversation matches")


FOREVER = ("events", "changes", "socket")
"""Worker groups that never finish: the event pump, the store's change feed and the CLI's socket
wait for as long as the app runs."""


async def ready(pilot) -> None:
    """Wait until every worker is done, those started by workers too (the inbox's load, the outbox's
    sends), and the screen is painted."""
    def busy() -> list:
        return [w for w in pilot.app.workers if not w.is_finished and w.group not in FOREVER]

    while workers := busy():
        await pilot.app.workers.wait_for_complete(workers)
        await pilot.pause()
    await pilot.pause()
