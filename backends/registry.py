"""The backends a config may name: a new backend is one entry here.

Each entry says which config section it reads and how to build it; its module is imported only
when it is built (the mock does not pull in the Cloud API's HTTP stack, nor the reverse).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from backends.base import Backend
from desk.clock import Clock
from desk.config import CloudConfig, Config, ConfigError, HubConfig, MockConfig
from desk.models import BusinessNumber
from desk.store import Store


@dataclass(frozen=True)
class Entry:
    name: str
    config_type: type
    """The config section it reads (`[mock]`, `[cloud]`)."""
    build: Callable[[Config, Clock, Path], Backend]
    """(config, the desk's clock, the data directory) -> the backend, not started."""
    clock: Callable[[Config, Path, Clock, Callable[[], float]], Clock] | None = None
    """(config, data directory, the wall clock, real elapsed seconds) -> the desk's clock, for a
    backend whose time is simulated (the mock's `--speed`); None: the wall clock."""
    store: Callable[[Backend], Store] | None = None
    """The backend -> the store it comes with, for a backend whose store is shared (the hub's
    mirror); None: the desk's own embedded store in the data directory."""


def mock_state_path(data_dir: Path) -> Path:
    return data_dir / "mock-state.json"


def _mock(config: Config, clock: Clock, data_dir: Path) -> Backend:
    from backends.mock import MockBackend

    return MockBackend(config.mock, clock, state_path=mock_state_path(data_dir))


def _mock_clock(config: Config, data_dir: Path, wall: Clock, base: Callable[[], float]) -> Clock:
    """The mock's simulated time, `mock.speed` times faster than real time, continuing what the
    last run saved (desk.clock.simulated_clock)."""
    from backends.mock.backend import saved_now
    from desk.clock import simulated_clock

    return simulated_clock(saved_now(mock_state_path(data_dir)), config.mock.speed, wall, base)


def _cloud(config: Config, clock: Clock, data_dir: Path) -> Backend:
    from backends.cloud.backend import CloudBackend, Secrets

    return CloudBackend(config, clock, data_dir, Secrets.from_environment(config))


def hub_token(config: Config, environ: Mapping[str, str] = os.environ) -> str:
    """This agent's token, from the environment variable [hub] token_env names (never a file)."""
    token = environ.get(config.hub.token_env, "").strip()
    if not token:
        raise ConfigError(
            f"The environment variable {config.hub.token_env} ([hub] token_env) must hold this agent's hub token "
            "(an admin makes one with wadesk hub add-agent)."
        )
    return token


def _hub(config: Config, clock: Clock, data_dir: Path) -> Backend:
    from backends.hub import extra

    if sentence := extra.missing():
        raise ConfigError(sentence)
    from backends.hub.backend import HubBackend
    from backends.hub.client import HubClient
    from backends.hub.store import HubStore
    from desk.config import agent_key

    client = HubClient(config.hub.url, hub_token(config))
    backend: HubBackend | None = None

    def numbers() -> list[BusinessNumber]:
        return backend.business_numbers() if backend else []

    store = HubStore(client, agent_key(config), clock=clock, numbers=numbers)
    backend = HubBackend(client, store)
    return backend


def _hub_store(backend: Backend) -> Store:
    from backends.hub.backend import HubBackend

    assert isinstance(backend, HubBackend)
    return backend.store


REGISTRY: dict[str, Entry] = {
    entry.name: entry
    for entry in (
        Entry("mock", MockConfig, _mock, _mock_clock),
        Entry("cloud", CloudConfig, _cloud),
        Entry("hub", HubConfig, _hub, store=_hub_store),
    )
}


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def entry(name: str) -> Entry:
    """The backend called `name`; an unknown name is a ConfigError listing the known ones."""
    found = REGISTRY.get(name)
    if found is None:
        raise ConfigError(f"The config key backend must be one of {', '.join(REGISTRY)}, not {name!r}.")
    return found
