"""Time, injectable: the app, the mock and the tests all ask a Clock, never datetime.now()."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock:
    """A clock that moves only when told to: tests and snapshots."""

    def __init__(self, at: datetime) -> None:
        self._at = at.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._at

    def advance(self, by: timedelta) -> None:
        self._at += by

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(timezone.utc)


class ScaledTimer:
    """Wall-clock delays shortened N times: `--speed N` makes the mock's world move faster."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed

    def seconds(self, simulated: float) -> float:
        """How long to really wait for `simulated` seconds of the mock's world."""
        return simulated / self.speed


def utc(ts: float | int | str) -> datetime:
    """A WhatsApp epoch timestamp (seconds, often a string) as an aware UTC datetime."""
    return datetime.fromtimestamp(int(ts), timezone.utc)


def monotonic() -> float:
    return time.monotonic()
