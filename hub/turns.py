"""The loop every hub worker runs (the applier, the sender): do a turn of work, then sleep until
the bell rings (a NOTIFY, this replica's own request) or the poll comes round, the safety net for
a doorbell missed; while the database is away, wait with a backoff and try again (the rows wait
in the database, for this replica or another)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import psycopg

from desk.faults import Backoff

log = logging.getLogger(__name__)


async def run_turns(
    turn: Callable[[], Awaitable[object]], bell: asyncio.Event, poll: float, what: str,
    stopping: Callable[[], bool] = lambda: False,
) -> None:
    """Until cancelled (or `stopping()`): `turn()`, then wait. `what` names the work in the log."""
    backoff = Backoff(first=0.5, most=30.0)
    while not stopping():
        bell.clear()
        try:
            await turn()
            backoff.reset()
        except psycopg.Error as exc:  # the database went away: the rows wait for us
            log.warning("%s paused: %s", what, exc)
            await asyncio.sleep(backoff.next())
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(bell.wait(), poll)
