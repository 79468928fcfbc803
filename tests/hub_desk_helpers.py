"""A real hub for the desk's client tests: the lead's API app (hub.api.api_app) over an embedded
store, served on loopback from a thread of its own (as a hub runs in a process of its own: the
desk's REST calls are synchronous, from its writer thread), with a directory of agents by token.
`HubThread.restart()` drops every connection and listens again on the same port."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from backends.hub.client import HubClient
from backends.hub.store import HubStore
from engine import Engine
from engine.context import DeskContext
from hub.access import Agent, Role
from hub.agents import Revoked, Unauthorized
from hub.api import Services, api_app
from hub.events import Presence
from hub.local import OutboxDispatch

T = TypeVar("T")

AGENTS = {
    "tok-ana-0123456789": Agent("ana"),
    "tok-bob-0123456789": Agent("bob"),
    "tok-sam-0123456789": Agent("sam", Role.AGENT, frozenset({"Sales"})),
}
"""Tokens -> agents: ana and bob see every department, sam only Sales."""


@dataclass
class Directory:
    agents: dict[str, Agent] = field(default_factory=lambda: dict(AGENTS))
    revoked: set[str] = field(default_factory=set)

    def who(self, token: str | None) -> Agent:
        agent = self.agents.get(token or "")
        if agent is None:
            raise Unauthorized("The hub does not know this token: ask an admin for one (wadesk hub add-agent).")
        if agent.name in self.revoked:
            raise Revoked(
                f"The hub refused your token: agent {agent.name} was revoked. Ask an admin for a new one (wadesk hub add-agent)."
            )
        return agent


def token_of(name: str) -> str:
    return next(token for token, agent in AGENTS.items() if agent.name == name)


class HubThread:
    def __init__(self, context: DeskContext) -> None:
        self.context = context
        self.directory = Directory()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-hub", daemon=True)
        self.port = 0
        self._runner: web.AppRunner | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the hub's loop and wait for it (from the test's thread)."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=30)

    def start(self) -> HubThread:
        self._thread.start()

        async def setup() -> None:
            self.engine = Engine(self.context, tell=lambda sentence: None)
            self.dispatch = OutboxDispatch(self.engine)
            self.services = Services(
                self.context, self.engine.writer, self.directory, self.dispatch, Presence(self.context.clock),
                self.context.data_dir / "outgoing",
            )
            await self._listen()

        self.run(setup())
        return self

    async def _listen(self) -> None:
        root = web.Application()
        root.add_subapp("/api/v1", api_app(self.services))
        self._runner = web.AppRunner(root, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def down(self) -> None:
        """Stop listening and drop every connection (a network drop, a hub restarting)."""
        assert self._runner is not None
        self.run(self._runner.cleanup())

    def up(self) -> None:
        self.run(self._listen())

    def stop(self) -> None:
        async def teardown() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
            await self.dispatch.settled()

        self.run(teardown())
        self.engine.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)

    # --- acting on the hub's store, as another agent or WhatsApp would -----------------------------
    def write(self, call: Callable[[], Coroutine[Any, Any, T]]) -> T:
        async def go() -> T:
            return await call()

        return self.run(go())


def desk_store(hub: HubThread, agent: str, clock: Any) -> HubStore:
    """An opened HubStore for `agent`, following the hub."""
    client = HubClient(hub.url, token_of(agent), idle_seconds=5.0)
    store = HubStore(client, agent, clock=clock, numbers=client.numbers)
    store.open()
    return store


def until(predicate: Callable[[], bool], seconds: float = 10.0, what: str = "the condition") -> None:
    """Wait (polling a shared mirror from the test's thread) until `predicate()` holds."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
