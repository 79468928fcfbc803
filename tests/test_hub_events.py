"""The hub's event stream (hub/events.py) under load, over real sockets: a client that stops
reading is dropped by its bounded queue while a reading client gets every event, in order; a
client catching up a long backlog is never dropped for being fast behind; presence reaches the
others in the conversation's departments and never the agent itself."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import httpx
import pytest
from aiohttp import web
from httpx_sse import aconnect_sse

from desk.clock import FrozenClock
from desk.models import BusinessNumber
from desk.store.contract import Change, ChangeKind
from hub import events
from hub.access import Access, Agent

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
NUMBERS = [BusinessNumber("n1", "+1 555-0100", "Sales"), BusinessNumber("n2", "+1 555-0199", "Support")]


class Backlog:
    """A store whose log holds `size` changes already (as a hub after hours of traffic), then
    nothing more: what `events.stream` reads of a store."""

    def __init__(self, size: int) -> None:
        self.size = size

    def last_change(self) -> int:
        return self.size

    def conversation(self, conversation_id: str) -> None:
        return None

    async def changes(self, after: int) -> AsyncIterator[Change]:
        for seq in range(after + 1, self.size + 1):
            yield Change(seq, ChangeKind.CONVERSATION, f"n1~{seq % 50}", "n1", "ana")
        await asyncio.Event().wait()


async def served(store, presence: events.Presence, agents: dict[str, Agent], **limits) -> tuple[web.AppRunner, str]:
    async def handler(request: web.Request) -> web.StreamResponse:
        access = Access(agents[request.query["as"]], NUMBERS)
        return await events.stream(request, store, access, presence, ping_seconds=15, **limits)

    app = web.Application()
    app.router.add_get("/events", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def read_ids(url: str, who: str, count: int, after: int = 0) -> list[int]:
    ids: list[int] = []
    async with httpx.AsyncClient(timeout=30) as client:
        async with aconnect_sse(client, "GET", f"{url}/events?as={who}&after={after}") as source:
            async for event in source.aiter_sse():
                if event.event == "change":
                    ids.append(int(event.id))
                    if len(ids) == count:
                        return ids
    return ids


async def test_a_client_that_stops_reading_is_dropped_and_the_others_get_everything() -> None:
    # ~150 MB of frames: far more than the socket buffers between hub and client hold (how much
    # they take depends on the kernel and on how the frames are written: big writes fit more).
    size, read = 1_000_000, 60_000
    presence = events.Presence(FrozenClock(NOW))
    runner, url = await served(Backlog(size), presence, {"ana": Agent("ana")},
                               queue_size=100, stall_seconds=0.5)
    try:
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        host, port = url.removeprefix("http://").split(":")
        await asyncio.get_running_loop().sock_connect(stuck, (host, int(port)))
        stuck.sendall(f"GET /events?as=ana&after=0 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        ids = await asyncio.wait_for(read_ids(url, "ana", read), 60)
        assert ids == list(range(1, read + 1))  # a fast reader behind a long backlog is never dropped
        # The stuck one is dropped: its stream ends (it listened to presence while it lasted; the
        # fast one's ended when it left) without it ever reading; then the hub closed its side
        # (reading it to the end finds EOF).
        async def ended() -> None:
            while presence._listeners:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(ended(), 30)
        stuck.setblocking(False)
        loop = asyncio.get_running_loop()

        async def drain() -> None:
            with contextlib.suppress(ConnectionResetError):  # closed under unsent frames: a reset
                while await loop.sock_recv(stuck, 65536):
                    pass

        await asyncio.wait_for(drain(), 30)
        stuck.close()
    finally:
        await runner.cleanup()


async def test_presence_reaches_the_others_in_its_departments_only() -> None:
    presence = events.Presence(FrozenClock(NOW))
    agents = {"ana": Agent("ana"), "bob": Agent("bob"), "sam": Agent("sam", departments=frozenset({"Support"}))}
    runner, url = await served(Backlog(0), presence, agents, queue_size=100)
    seen: dict[str, list[dict]] = {name: [] for name in agents}
    try:
        async def watch(who: str) -> None:
            async with httpx.AsyncClient(timeout=30) as client:
                async with aconnect_sse(client, "GET", f"{url}/events?as={who}") as source:
                    async for event in source.aiter_sse():
                        seen[who].append(event.json())

        watchers = [asyncio.create_task(watch(who)) for who in agents]
        while len(presence._listeners) < 3:
            await asyncio.sleep(0.01)
        presence.publish(events.Sighting("n1~7", "n1", "ana", "typing", NOW))
        while not seen["bob"]:
            await asyncio.sleep(0.01)
        assert seen["bob"] == [{"conversation_id": "n1~7", "agent": "ana", "state": "typing", "at": NOW.timestamp()}]
        assert seen["ana"] == [] and seen["sam"] == []  # not to herself; not outside Sales
        assert [s.agent for s in presence.here("n1~7")] == ["ana"]
        presence.publish(events.Sighting("n1~7", "n1", "ana", "left", NOW))
        assert presence.here("n1~7") == []
        for task in watchers:
            task.cancel()
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("given", ["-1", "12abc"])
def test_a_resume_point_is_a_whole_number(given: str) -> None:
    from aiohttp.test_utils import make_mocked_request

    request = make_mocked_request("GET", "/events", headers={"Last-Event-ID": given})
    with pytest.raises(ValueError, match="Last-Event-ID"):
        events.resume_point(request, Backlog(5))
