"""The receiver bench's load generator: C connections, each with one request in flight, sending
the signed bodies (httpx, or HTTP/1.1 written by hand for reference), timing each 200, and
watching serve apply them (webhooks.done, the marker's shard)."""

from __future__ import annotations

import asyncio
import ssl
import sys
import threading
import time
from pathlib import Path

from receiver_bodies import APP_SECRET, VERIFY_TOKEN
from receiver_servers import Server, machine_cpu
from seed import median

# httpcore runs `import sniffio` ~4 times a request (httpcore/_synchronization.py,
# current_async_library); sniffio is not installed here, so each is a failed import that searches
# sys.path: 35 us a call, ~0.14 ms of this process's CPU a request. A None in sys.modules makes it
# fail at once (1 us), with the same outcome ("asyncio").
sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

import httpx  # noqa: E402

from emulator.encode import signature  # noqa: E402

POLL_DONE = 0.010
POLL_MARKER = 0.002


class DonePoller(threading.Thread):
    """Reads <data_dir>/webhooks.done every POLL_DONE s: (time, last applied seq)."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(daemon=True)
        self.path = data_dir / "webhooks.done"
        self.samples: list[tuple[float, int]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        last = -1
        while not self.halt.wait(POLL_DONE):
            try:
                value = int(self.path.read_text().strip() or 0)
            except (FileNotFoundError, ValueError):
                continue
            if value != last:
                self.samples.append((time.perf_counter(), value))
                last = value

    def at(self, t: float) -> int:
        return max([v for when, v in self.samples if when <= t], default=0)


class HttpxConnection:
    """One httpx.AsyncClient holding one connection. One client per connection: httpx's pool
    re-examines every connection and every waiting request on each request (encode/httpx#3215,
    encode/httpcore#1035); one pool of 64 connections made this process the bottleneck (~100
    requests/s at 98 % CPU)."""

    _tls = None

    def __init__(self, url: str) -> None:
        if HttpxConnection._tls is None:  # unused (plain http), but each client would load its own: 23 ms
            HttpxConnection._tls = ssl.create_default_context()
        self.url = url
        self.client = httpx.AsyncClient(limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                                        timeout=60.0, verify=HttpxConnection._tls)

    async def handshake(self) -> bool:
        r = await self.client.get(self.url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                                    "hub.challenge": "warm"})
        return r.status_code == 200 and r.text == "warm"

    async def post(self, body: bytes, sig: str) -> int:
        r = await self.client.post(self.url, content=body,
                                   headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig})
        return r.status_code

    async def aclose(self) -> None:
        await self.client.aclose()


class RawConnection:
    """HTTP/1.1 by hand on one keep-alive connection (asyncio streams), one request at a time like
    the httpx client: a load generator that costs ~10x less CPU per request (reference only)."""

    def __init__(self, url: str) -> None:
        rest = url.split("://", 1)[1]
        self.hostport, path = rest.split("/", 1)
        self.path = "/" + path
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _exchange(self, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            host, port = self.hostport.rsplit(":", 1)
            self.reader, self.writer = await asyncio.open_connection(host, int(port))
        self.writer.write(head + body)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        length = next(int(v) for k, _, v in (x.partition(b":") for x in lines[1:]) if k.lower() == b"content-length")
        return int(lines[0].split(b" ", 2)[1]), await self.reader.readexactly(length)

    async def handshake(self) -> bool:
        target = f"{self.path}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=warm"
        status, text = await self._exchange(f"GET {target} HTTP/1.1\r\nHost: {self.hostport}\r\n\r\n".encode())
        return status == 200 and text == b"warm"

    async def post(self, body: bytes, sig: str) -> int:
        head = (f"POST {self.path} HTTP/1.1\r\nHost: {self.hostport}\r\nContent-Type: application/json\r\n"
                f"X-Hub-Signature-256: {sig}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        return (await self._exchange(head, body))[0]

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


CLIENTS = {"httpx": HttpxConnection, "raw": RawConnection}


async def send_all(server: Server, bodies: list[bytes], concurrency: int, client: str,
                   marker: tuple[Path, bytes] | None) -> dict[str, float]:
    sigs = [signature(b, APP_SECRET) for b in bodies]
    n = len(bodies)
    sent, answered = [0.0] * n, [0.0] * n
    out: dict[str, float] = {}
    connections = [CLIENTS[client](server.url) for _ in range(concurrency)]
    try:
        warm = await asyncio.gather(*(c.handshake() for c in connections))  # opens every connection
        assert all(warm), warm
        queue = iter(range(n))
        bad: list[tuple[int, int]] = []

        async def worker(connection) -> None:
            for i in queue:  # shared: each index is taken once
                t = time.perf_counter()
                status = await connection.post(bodies[i], sigs[i])
                answered[i] = time.perf_counter()
                sent[i] = t
                if status != 200:
                    bad.append((i, status))

        cpu0, client0, machine0 = server.cpu(), time.process_time(), machine_cpu()
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in connections))
        t_last = max(answered)
        cpu1, client1, machine1 = server.cpu(), time.process_time(), machine_cpu()
        if bad:
            raise AssertionError(f"{len(bad)} answers were not 200, e.g. {bad[:5]}")
        if marker is not None:
            shard, body = marker
            status = await connections[0].post(body, signature(body, APP_SECRET))
            assert status == 200, status
            deadline = time.perf_counter() + 120
            while not shard.exists():
                if time.perf_counter() > deadline:
                    raise TimeoutError("the marker never reached the store")
                await asyncio.sleep(POLL_MARKER)
            out["visible"] = time.perf_counter()
    finally:
        await asyncio.gather(*(c.aclose() for c in connections))
    latencies = sorted((a - s) * 1000 for s, a in zip(sent, answered))
    span = t_last - t0
    out.update(
        t0=t0, t_last=t_last, t_first_200=min(answered), wall=span, rate=n / span,
        p50=median(latencies), p95=latencies[int(0.95 * (n - 1))], p99=latencies[int(0.99 * (n - 1))],
        cpu_main=(cpu1[0] - cpu0[0]) / span * 100, cpu_other=(cpu1[1] - cpu0[1]) / span * 100,
        cpu_client=(client1 - client0) / span * 100,
        **{f"machine_{k}": (machine1[k] - machine0[k]) / span * 100 for k in machine0},
    )
    return out

