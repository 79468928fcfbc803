"""Presence between hub replicas: a desk's "viewing" or "typing" reaches the replica it is
connected to; NOTIFY on `wadesk_presence` carries it to the others, whose desks see it too.
Presence is never logged (no table): a replica down for a moment loses some, and the next one
(desks renew theirs while they stay) puts it right."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

import orjson
import psycopg

from desk.codec import ts_from_doc
from hub.events import Presence, Sighting

log = logging.getLogger(__name__)

CHANNEL = "wadesk_presence"


class PresenceRelay:
    def __init__(self, conninfo: str, presence: Presence) -> None:
        self._conninfo = conninfo
        self._presence = presence
        self._origin = uuid.uuid4().hex
        """This replica's own notifications come back to it: they carry its origin, and are skipped."""
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1000)
        self._tasks: list[asyncio.Task[None]] = []
        presence.relay = self._send

    async def start(self) -> None:
        listening = asyncio.Event()
        self._tasks = [asyncio.create_task(self._listen(listening)), asyncio.create_task(self._notify())]
        await listening.wait()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _send(self, sighting: Sighting) -> None:
        doc = {**sighting.to_json(), "business_number_id": sighting.business_number_id, "origin": self._origin}
        with contextlib.suppress(asyncio.QueueFull):  # lossy by nature, never a brake on requests
            self._outgoing.put_nowait(orjson.dumps(doc))

    async def _notify(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
                    while True:
                        payload = await self._outgoing.get()
                        await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload.decode()))
            except psycopg.Error as exc:
                log.warning("presence relay: cannot notify the other replicas (%s); trying again", type(exc).__name__)
                await asyncio.sleep(1.0)

    async def _listen(self, listening: asyncio.Event) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    listening.set()
                    async for note in conn.notifies():
                        self._seen(note.payload)
            except psycopg.Error as exc:
                log.warning("presence relay: lost the database (%s); listening again", type(exc).__name__)
                listening.set()
                await asyncio.sleep(1.0)

    def _seen(self, payload: str) -> None:
        try:
            doc = orjson.loads(payload)
            if doc.get("origin") == self._origin:
                return
            at = ts_from_doc(doc["at"])
            if at is None:
                raise ValueError("a sighting without its time")
            self._presence.seen(Sighting(doc["conversation_id"], doc["business_number_id"], doc["agent"], doc["state"], at))
        except (ValueError, KeyError, TypeError):
            log.warning("presence relay: a notification that is not a sighting was ignored")
