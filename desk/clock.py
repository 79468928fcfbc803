"""Time, injectable: the app, the mock and the tests all ask a Clock, never datetime.now()."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    rate: float
    """How many of this clock's seconds pass in a real second: 1, or the mock's `--speed`."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    rate = 1.0

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock:
    """A clock that moves only when told to: tests and snapshots."""

    rate = 1.0

    def __init__(self, at: datetime) -> None:
        self._at = at.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._at

    def advance(self, by: timedelta) -> None:
        self._at += by

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(timezone.utc)


class ScaledClock:
    """The mock's simulated time (`--speed N`): from `start`, `rate` times faster than real time.

    One desk reads one clock (store, backend, outbox, screens), so SLA timers, windows, the
    customers' traffic and the stored timestamps all move together. `base` gives real elapsed
    seconds: monotonic, so a step of the wall clock is not multiplied by the rate; tests pass
    their own.
    """

    def __init__(self, start: datetime, rate: float, base: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._start = start.astimezone(timezone.utc)
        self._base = base
        self._origin = base()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(self._base() - self._origin) * self.rate)


def simulated_clock(
    saved: datetime | None, rate: float, wall: Clock, base: Callable[[], float] = time.monotonic
) -> Clock:
    """The clock a mock desk runs on, given the simulated time an earlier run saved.

    It continues from the later of `saved` and the wall clock's time, never going backwards (the
    store holds the earlier run's timestamps). At real speed with nothing saved ahead, that is
    the wall clock itself.
    """
    now = wall.now()
    if saved is None or saved <= now:
        return wall if rate == 1 else ScaledClock(now, rate, base)
    return ScaledClock(saved, rate, base)


def real_seconds(clock: Clock, seconds: float) -> float:
    """How long to really wait for `seconds` of `clock`'s time to pass."""
    return seconds / clock.rate


def tick_seconds(clock: Clock, resolution: float = 60.0) -> float:
    """How often (real seconds) a screen repaints its countdowns: once a second, or once per
    `resolution` of the clock's time (a countdown's last digit: durations show minutes) when that
    comes sooner at a high speed; never more than ten times a second."""
    return min(1.0, max(real_seconds(clock, resolution), 0.1))


def utc(ts: float | int | str) -> datetime:
    """A WhatsApp epoch timestamp (seconds, often a string) as an aware UTC datetime."""
    return datetime.fromtimestamp(int(ts), timezone.utc)


def monotonic() -> float:
    return time.monotonic()
