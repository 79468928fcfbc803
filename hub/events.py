"""The event stream of the hub's API: Server-Sent Events (docs/team.md) of the store's changes,
each with `id: <seq>`, resumed exactly after `Last-Event-ID`, plus presence (who is viewing or
typing where), which is never logged and never replayed.

Each client has its own follower of `Store.changes(after)` and a bounded queue between it and the
socket. A client catching up reads as fast as its socket takes it (the follower waits for room);
one that stops reading fills its queue, and when no room comes for `stall_seconds` it is dropped
(its stream closed). It catches up from its last id when it reconnects, and nobody else ever waits
for it. Presence is lossy by nature: a full queue skips it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiohttp import ClientConnectionResetError, web
from aiohttp_sse import sse_response

from desk.clock import Clock
from desk.codec import ts_to_doc
from desk.store.contract import Change, ChangeKind, Store
from desk.wire import change_to_json
from hub.access import Access

log = logging.getLogger(__name__)

PRESENCE_STATES = ("viewing", "typing", "left")
STALL_SECONDS = 30.0
"""A client whose queue stays full this long has stopped reading: it is dropped."""
PRESENCE_FOR = timedelta(seconds=60)
"""A presence not renewed within this is over (a desk that died without saying "left")."""


@dataclass(frozen=True)
class Sighting:
    conversation_id: str
    business_number_id: str
    agent: str
    state: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "agent": self.agent, "state": self.state, "at": ts_to_doc(self.at)}


@dataclass
class Presence:
    """Who is viewing or typing in which conversation, on this hub process. `relay` passes each
    sighting on (to the other replicas); `seen` takes one from elsewhere."""

    clock: Clock
    relay: Callable[[Sighting], None] = lambda sighting: None
    _now: dict[tuple[str, str], Sighting] = field(default_factory=dict)
    _listeners: set[Callable[[Sighting], None]] = field(default_factory=set)

    def publish(self, sighting: Sighting) -> None:
        self.seen(sighting)
        self.relay(sighting)

    def seen(self, sighting: Sighting) -> None:
        key = (sighting.conversation_id, sighting.agent)
        if sighting.state == "left":
            self._now.pop(key, None)
        else:
            self._now[key] = sighting
        for listener in list(self._listeners):
            listener(sighting)

    def here(self, conversation_id: str) -> list[Sighting]:
        """Who is in the conversation now (sightings younger than PRESENCE_FOR)."""
        since = self.clock.now() - PRESENCE_FOR
        return [s for (cid, _), s in self._now.items() if cid == conversation_id and s.at >= since]

    def listen(self, listener: Callable[[Sighting], None]) -> Callable[[], None]:
        self._listeners.add(listener)
        return lambda: self._listeners.discard(listener)


def resume_point(request: web.Request, store: Store) -> int:
    """Where the stream starts: after `Last-Event-ID` (a reconnect), else `?after=`, else now.
    Anything that is not a whole number is a 422, not a silent start from now."""
    given = request.headers.get("Last-Event-ID") or request.query.get("after")
    if given is None or given == "":
        return store.last_change()
    try:
        after = int(given)
    except ValueError:
        raise ValueError(f"Last-Event-ID (or after) must be an event number; {given[:40]!r} is not.") from None
    if after < 0:
        raise ValueError("Last-Event-ID (or after) must not be negative.")
    return after


def _frame(event: str, data: dict[str, Any], seq: int | None = None) -> bytes:
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {event}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


@functools.lru_cache(maxsize=4096)
def _change_frame(change: Change) -> bytes:
    """A change's frame, encoded once for every client that follows it (the tail hands them all
    the same Change)."""
    return _frame("change", change_to_json(change), change.seq)


WRITE_MOST = 256
"""Frames one socket write takes at most: a client catching up, or one behind a burst of changes,
gets what waits in its queue in one write instead of one write a frame."""


def _business_number(store: Store, change: Change) -> str | None:
    if change.business_number_id is not None or change.conversation_id is None:
        return change.business_number_id
    conversation = store.conversation(change.conversation_id)
    return conversation.business_number_id if conversation else None


async def stream(
    request: web.Request, store: Store, access: Access, presence: Presence, *,
    queue_size: int, ping_seconds: float, stall_seconds: float = STALL_SECONDS,
) -> web.StreamResponse:
    after = resume_point(request, store)
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_size)
    dropped = asyncio.Event()

    async def put(frame: bytes) -> None:
        try:
            queue.put_nowait(frame)  # the usual case, without a timer and a task a frame
            return
        except asyncio.QueueFull:
            pass
        try:
            await asyncio.wait_for(queue.put(frame), stall_seconds)
        except TimeoutError:
            dropped.set()
            # The writer is stuck in a write the client will never read: only closing the
            # connection under it frees it (and the memory its unsent frames hold).
            if request.transport is not None:
                request.transport.abort()

    def sighted(sighting: Sighting) -> None:
        if sighting.agent != access.agent.name and access.number(sighting.business_number_id):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(_frame("presence", sighting.to_json()))

    async def follow() -> None:
        async for change in store.changes(after):
            if change.kind is ChangeKind.RESYNC:
                await put(_frame("resync", {"seq": change.seq}))
            elif access.number(_business_number(store, change)):
                await put(_change_frame(change))
            if dropped.is_set():
                return

    async with sse_response(request, ping_interval=ping_seconds) as sse:
        follower = asyncio.create_task(follow())
        unlisten = presence.listen(sighted)
        stop = asyncio.create_task(dropped.wait())
        try:
            while sse.is_connected() and not dropped.is_set():
                frames = []
                if queue.empty():
                    frame = asyncio.create_task(queue.get())
                    done, _ = await asyncio.wait({frame, stop, follower}, return_when=asyncio.FIRST_COMPLETED)
                    if frame not in done:
                        frame.cancel()
                        break
                    frames.append(frame.result())
                while len(frames) < WRITE_MOST and not queue.empty():
                    frames.append(queue.get_nowait())
                try:
                    await sse.write(b"".join(frames))
                except (ConnectionError, ClientConnectionResetError):
                    break  # the client went away, or was dropped: it resumes from its last id
            if dropped.is_set():
                log.info("event stream of %s dropped: it read nothing for %.0f s", access.agent.name, stall_seconds)
            elif follower.done() and not follower.cancelled() and follower.exception() is not None:
                log.error("event stream of %s ended: %s", access.agent.name, follower.exception())
        finally:
            unlisten()
            for task in (follower, stop):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await follower
            sse.stop_streaming()
    return sse
