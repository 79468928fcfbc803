"""What one body produced so far, and the per-part safety net: a part that cannot be understood is
logged and counted in `Parsed.skipped`, and the rest of the body is still parsed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from backends.cloud.webhook.results import Parsed, Problem, TemplateUpdate
from backends.cloud.webhook.untrusted import as_time
from desk.models import Event

log = logging.getLogger(__name__)

FUTURE_LIMIT = timedelta(days=1)
"""How far ahead of now a WhatsApp timestamp may be before it is taken as now (and flagged)."""


class Collector:
    """What one body produced so far."""

    def __init__(self, now: datetime | None) -> None:
        self.now = now
        self.events: list[Event] = []
        self.template_updates: list[TemplateUpdate] = []
        self.problems: list[Problem] = []
        self.skipped = 0

    def when(self, value: object, what: str) -> tuple[datetime | None, datetime | None]:
        """(the time to use, the time claimed when that was too far ahead and `now` is used)."""
        at = as_time(value)
        if at is None or self.now is None or at <= self.now + FUTURE_LIMIT:
            return at, None
        log.warning("webhook: %s is dated %s, more than a day ahead; taken as received now", what, at.isoformat())
        return self.now, at

    def malformed(self, what: str) -> None:
        """A part we should understand but cannot: worth a warning (Meta changed something?)."""
        self.skipped += 1
        log.warning("webhook: skipped %s", what)

    def unhandled(self, what: str) -> None:
        """A well-formed part of a kind the desk does not use (groups, other fields)."""
        self.skipped += 1
        log.info("webhook: ignored %s", what)

    def parsed(self) -> Parsed:
        return Parsed(self.events, self.template_updates, self.problems, self.skipped)


_SAFETY_NET = True
"""Catch an unexpected exception per part (count it, log it) instead of failing the whole body.
The tests turn this off so that a bug shows up as a failure, not as a quiet skip."""


def guarded(out: Collector, what: str, fn: Callable[..., None], *args: Any) -> None:
    """`fn(*args)`, one part's parser: an exception it raises is counted and logged as a skipped
    `what`, not raised (unless the tests turned the safety net off)."""
    if not _SAFETY_NET:
        fn(*args)
        return
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 - the last line of defence; see _SAFETY_NET
        out.skipped += 1
        log.exception("webhook: a %s could not be parsed", what)

