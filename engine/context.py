"""The composition root: config, data directory, store, backend and clock, built in one place.

The backend comes from the registry (backends/registry.py), the store is the embedded TinyDB one,
or the one a backend comes with (the hub's mirror).
`desk_clock` is the one clock of the desk: the wall clock, or the simulated time of a backend that
has one (the mock: its `--speed`, continuing what the last run saved; the cloud's timestamps are
real, so `--speed` does not apply)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import platformdirs

from backends import registry
from backends.base import Backend
from desk.clock import Clock, SystemClock
from desk.config import Config, agent_key, zone
from desk.models import BusinessNumber
from desk.sla import SlaPolicy
from desk.store import Store


@dataclass
class DeskContext:
    """Everything the desk's faces need (the TUI, `wadesk serve`, `wadesk check`), made by
    `build()` for the CLI and by fixtures for tests."""

    config: Config
    store: Store
    backend: Backend
    clock: Clock
    data_dir: Path
    policies: dict[str, SlaPolicy] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._numbers = {n.id: n for n in self.backend.business_numbers()}
        for number in self._numbers.values():
            self.policies.setdefault(number.id, SlaPolicy.from_config(self.config.sla_for(number.id)))

    def numbers(self) -> list[BusinessNumber]:
        return list(self._numbers.values())

    def number(self, business_number_id: str) -> BusinessNumber:
        """Looked up for every inbox row at start (100k times): a dict, not a scan."""
        number = self._numbers.get(business_number_id)
        return number or BusinessNumber(business_number_id, business_number_id, "?")

    def policy(self, business_number_id: str) -> SlaPolicy:
        policy = self.policies.get(business_number_id)
        if policy is None:
            policy = self.policies[business_number_id] = SlaPolicy.from_config(self.config.sla)
        return policy

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.config.timezone, "timezone")

    @property
    def closing_soon(self) -> timedelta:
        return timedelta(minutes=self.config.inbox.closing_soon_minutes)


def identified(context: DeskContext) -> DeskContext:
    """Once the store is open: the desk acts as the agent its backend says it is (team mode: the
    hub's name for its token), so that "mine", the claims and the signatures are that agent's,
    whatever agent_name and agent_id the config holds."""
    who = context.backend.identity()
    if who and who != agent_key(context.config):
        context.config = dataclasses.replace(context.config, agent_id=who, agent_name=who)
    return context


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("wadesk", appauthor=False))


def desk_clock(config: Config, data_dir: Path, wall: Clock, base: Callable[[], float] = time.monotonic) -> Clock:
    entry = registry.entry(config.backend)
    return entry.clock(config, data_dir, wall, base) if entry.clock else wall


def build(
    config: Config, data_dir: Path, clock: Clock | None = None, *, base: Callable[[], float] = time.monotonic
) -> DeskContext:
    """Make the store and the backend for `config`; the store is not opened yet.

    `clock` is the real time (tests pass a frozen one) and `base` the real elapsed seconds under a
    simulated clock. The store, the backend, the outbox and the screens all get the same clock.
    """
    from desk.store.tiny import TinyStore

    clock = desk_clock(config, data_dir, clock or SystemClock(), base)
    entry = registry.entry(config.backend)
    backend = entry.build(config, clock, data_dir)
    # A shared store comes with its backend (backend = "hub": the mirror of the hub's store; the
    # data directory then keeps only the desk's own small files, such as its log).
    store = entry.store(backend) if entry.store else TinyStore(data_dir, clock=clock)
    return DeskContext(config, store, backend, clock, data_dir)
