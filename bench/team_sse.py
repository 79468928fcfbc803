"""The team bench's event-stream clients: GET /api/v1/events over HTTP/1.1 written by hand on
asyncio streams, each event's id stamped with the wall clock as it is read (the database's
committed_at and the load generator's 200s use the same clock: one machine).

Why not the desk's HubClient.events (httpx-sse) for the 20 clients: the clients share the 2 cores
with the hubs and PostgreSQL, and 20 x 1,000 events/s through httpx costs a core of its own
(receiver_clients.py measured ~20x less CPU per request written by hand); the catch-up is also
timed through HubClient.events, for the desk's view (bench/team.py)."""

from __future__ import annotations

import asyncio
import time
from array import array


class Follower:
    """One client of /events: `seqs[k]` arrived at wall time `times[k]`. `after` is its
    Last-Event-ID; `connected` is set once the hub answered 200 and sent its headers."""

    def __init__(self, base: str, token: str, after: int = 0) -> None:
        self.hostport = base.split("://", 1)[1].rstrip("/")
        self.token = token
        self.after = after
        self.seqs: array[int] = array("q")
        self.times: array[float] = array("d")
        self.resyncs = 0
        self.connected = asyncio.Event()
        self.reached: tuple[int, asyncio.Event] | None = None
        """(seq, event): set once an id >= seq arrived."""
        self._writer: asyncio.StreamWriter | None = None

    @property
    def last(self) -> int:
        return self.seqs[-1] if self.seqs else self.after

    def wait_for(self, seq: int) -> asyncio.Event:
        event = asyncio.Event()
        if self.last >= seq:
            event.set()
        self.reached = (seq, event)
        return event

    async def run(self) -> None:
        """Read the stream until the hub closes it or `close()`."""
        host, port = self.hostport.rsplit(":", 1)
        reader, self._writer = await asyncio.open_connection(host, int(port), limit=1 << 20)
        self._writer.write(
            (f"GET /api/v1/events HTTP/1.1\r\nHost: {self.hostport}\r\nAuthorization: Bearer {self.token}\r\n"
             f"Accept: text/event-stream\r\nLast-Event-ID: {self.after}\r\n\r\n").encode()
        )
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        if status != 200:
            raise RuntimeError(f"the hub answered {head[0]!r} to the event stream")
        chunked = any(h.lower().startswith("transfer-encoding:") and "chunked" in h.lower() for h in head)
        self.connected.set()
        buffer = b""
        try:
            while True:
                if chunked:
                    size = int((await reader.readline()).split(b";", 1)[0], 16)
                    if size == 0:
                        return
                    data = (await reader.readexactly(size + 2))[:-2]
                else:
                    data = await reader.read(1 << 16)
                    if not data:
                        return
                now = time.time()
                buffer += data
                *frames, buffer = buffer.split(b"\n\n")
                for frame in frames:
                    self._frame(frame, now)
        except (ConnectionError, asyncio.IncompleteReadError):
            return

    def _frame(self, frame: bytes, now: float) -> None:
        # By lines: aiohttp-sse ends its pings with \r\n\r\n, so a ping and the event after it
        # come as one "frame" here.
        for line in frame.split(b"\n"):
            if line.startswith(b"id: "):
                seq = int(line[4:])
                self.seqs.append(seq)
                self.times.append(now)
                if self.reached is not None and seq >= self.reached[0]:
                    self.reached[1].set()
            elif line.startswith(b"event: resync"):
                self.resyncs += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
