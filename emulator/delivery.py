"""Webhook delivery as Meta does it: one signed POST per body, and a body that did not get a 200 is
retried after 10 s, 20 s, 40 s ... at most an hour apart, for 7 days
(../shared/reference/whatsapp-cloud-api.md §6.2, §6.7).

The caller (emulator/server.py) holds its lock around `send`, `due` and `take_all`, so attempts
go out one at a time and in order.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp

from backends.cloud.jsonload import loads
from desk.clock import Clock
from emulator.encode import signature

__all__ = ["DELIVERY_TIMEOUT", "RETRY_FIRST", "RETRY_FOR", "RETRY_MOST", "Delivery", "Retry", "contents"]

log = logging.getLogger(__name__)

RETRY_FIRST = 10.0
RETRY_MOST = 3600.0
RETRY_FOR = timedelta(days=7)
"""Meta retries a webhook that did not get a 200 "with decreasing frequency" for up to 7 days (§6.7)."""
DELIVERY_TIMEOUT = 20.0


@dataclass(order=True)
class Retry:
    due: datetime
    seq: int
    body: bytes = dataclasses.field(compare=False)
    attempts: int = dataclasses.field(compare=False)
    first: datetime = dataclasses.field(compare=False)


class Delivery:
    """POSTs bodies to `receiver_url`, signed with `app_secret`, and keeps the retry queue."""

    def __init__(self, clock: Clock, app_secret: str, receiver_url: str | None,
                 report: Callable[[str], None] | None = None) -> None:
        self.clock = clock
        self.receiver_url = receiver_url
        self.delivered = 0
        """Bodies the receiver answered 200."""
        self.refused = 0
        """Attempts that got another answer or none."""
        self.queue: list[Retry] = []
        """The retry queue, a heap by due time."""
        self._app_secret = app_secret
        self._report = report
        self._seq = 0
        self._session: aiohttp.ClientSession | None = None

    def signature(self, body: bytes) -> str:
        return signature(body, self._app_secret)

    async def send(self, body: bytes, retry: Retry | None = None) -> int:
        """One attempt; a failed one goes (back) in the retry queue."""
        status = await self.post(body, self.signature(body))
        if status == 200:
            self.delivered += 1
            return status
        self.refused += 1
        now = self.clock.now()
        attempts = retry.attempts + 1 if retry else 1
        first = retry.first if retry else now
        if now - first < RETRY_FOR:
            delay = min(RETRY_FIRST * 2 ** (attempts - 1), RETRY_MOST)
            self._seq += 1
            heapq.heappush(self.queue, Retry(now + timedelta(seconds=delay), self._seq, body, attempts, first))
        else:
            log.warning("webhook dropped after %d attempts over 7 days", attempts)
        return status

    async def post(self, body: bytes, header: str | None) -> int:
        """POST one body as Meta does; the receiver's HTTP status, or 0 when there was no answer."""
        if not self.receiver_url:
            return 0
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT))
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        if header is not None:
            headers["X-Hub-Signature-256"] = header
        try:
            async with self._session.post(self.receiver_url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.info("webhook not delivered to %s: %s", self.receiver_url, exc)
            status = 0
        if self._report is not None:
            self._report(f"{self.clock.now():%H:%M:%S} webhook {contents(body)} -> {self.receiver_url}: "
                         f"{status or 'no answer'}")
        return status

    def due(self, now: datetime) -> list[Retry]:
        """The queued bodies due by `now`, taken off the queue, oldest first."""
        due = []
        while self.queue and self.queue[0].due <= now:
            due.append(heapq.heappop(self.queue))
        return due

    def take_all(self) -> list[Retry]:
        """Every queued body, whatever its due time, taken off the queue."""
        due, self.queue = sorted(self.queue), []
        return due

    def next_due(self) -> datetime | None:
        return self.queue[0].due if self.queue else None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def contents(body: bytes) -> str:
    """What a webhook body carries, counted ("1 message", "2 statuses"): never what it says."""
    try:
        doc = loads(body)
        values = [c.get("value") or {} for e in doc.get("entry") or [] for c in e.get("changes") or []]
    except (ValueError, TypeError, AttributeError):
        return f"{len(body)} bytes"
    counts = []
    for key, one, many in (("messages", "message", "messages"), ("statuses", "status", "statuses"),
                           ("message_echoes", "echo", "echoes")):
        n = sum(len(v.get(key) or ()) for v in values if isinstance(v, dict))
        if n:
            counts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(counts) or f"{len(body)} bytes"
