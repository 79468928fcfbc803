"""Client-side pacing under WhatsApp's send limits (../shared/reference/whatsapp-cloud-api.md §9).

- Per business number: `rate` messages a second (80 by default; above it WhatsApp answers 130429),
  with a burst of one second's worth.
- Per (business number, recipient) pair: one message every 6 s (above it: 131056), with bursts of
  up to `pair_burst` = 10 messages that borrow against the future: after the burst the pair gets one
  message per 6 s, and its full allowance back only after N x 6 s of quiet. Meta tolerates bursts
  of 45; 10 covers an agent's multi-part reply and stays far below that.

Both are GCRA ("virtual scheduling") limiters: each key keeps the time its next message would be
due if sent at the steady rate. `wait` reserves the slot before sleeping, so concurrent callers
queue in order without a lock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


class Pacer:
    def __init__(
        self,
        clock: Any = None,
        *,
        rate: float = 80.0,
        pair_interval: float = 6.0,
        pair_burst: int = 10,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        """`clock`: a zero-argument callable giving seconds (time.monotonic by default) or a
        desk.clock.Clock (its now() is used)."""
        if clock is None:
            clock = time.monotonic
        now = getattr(clock, "now", None)
        self._now: Callable[[], float] = (lambda: now().timestamp()) if callable(now) else clock
        self._sleep = sleep
        self._number = (1.0 / rate, max(1, int(rate)))
        self._pair = (pair_interval, pair_burst)
        self._due: dict[tuple[str, ...], float] = {}

    async def wait(self, phone_number_id: str, recipient: str) -> float:
        """Sleep until a message from this number to this recipient is within the limits;
        returns the seconds waited."""
        now = self._now()
        limits = (((phone_number_id,), *self._number), ((phone_number_id, recipient), *self._pair))
        start = now
        for key, interval, burst in limits:
            due = max(self._due.get(key, now), now)
            start = max(start, due - (burst - 1) * interval)
        for key, interval, _ in limits:
            self._due[key] = max(self._due.get(key, start), start) + interval
        if len(self._due) > 4096:  # forget keys whose allowance has fully come back
            self._due = {k: v for k, v in self._due.items() if v > now}
        delay = start - now
        if delay > 0:
            await self._sleep(delay)
        return max(delay, 0.0)
