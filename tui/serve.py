"""`wadesk serve`: the webhook receiver without the TUI, applying what arrives to the store.

For a server where no desk is open. It takes the data directory's lock like a desk, so exactly one
process at a time receives webhooks into a store.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from backends.base import Capability
from engine import Engine
from engine.context import DeskContext

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0
TALLY_SECONDS = 60.0
"""How often serve's log says how many conversations changed (the admin's sign of life)."""


def serve(context: DeskContext) -> int:
    if Capability.WEBHOOKS not in context.backend.capabilities:
        print(f"wadesk: serve receives webhooks, which the {context.backend.name} backend does not (--backend cloud does).",
              file=sys.stderr)
        return 2
    return asyncio.run(_serve(context))


async def _serve(context: DeskContext) -> int:
    # Each store fault reaches the admin once, in the log: one sentence naming the conversation
    # and the file (the store logs the traceback beside it).
    engine = Engine(context, log.error)
    backend = context.backend
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)

    def started() -> None:
        print(f"wadesk: receiving webhooks on {backend.receiver_url}", file=sys.stderr, flush=True)

    pump = asyncio.create_task(engine.pump.run(started))
    tally = asyncio.create_task(_tally(context))
    await asyncio.wait([pump, asyncio.create_task(stopping.wait())], return_when=asyncio.FIRST_COMPLETED)
    if pump.done():  # the backend could not start: its exception, as before
        engine.close()
        pump.result()
    # No new bodies, then apply what was acknowledged (each got its 200); after DRAIN_SECONDS
    # the rest waits in the spool for the next start.
    if not await backend.drain(DRAIN_SECONDS):
        log.warning("stopped with webhooks not yet applied; the next start applies them")
    pump.cancel()
    tally.cancel()
    try:  # greetings and away messages under way (the engine sends them itself here)
        await asyncio.wait_for(engine.autoreplier.settled(), DRAIN_SECONDS)
    except TimeoutError:
        log.warning("stopped with automatic messages still sending; they show as unknown")
    await backend.stop()
    engine.close()
    return 0


async def _tally(context: DeskContext) -> None:
    """Follow the store's changes, as the desk does, and log how many there were each minute."""
    loop = asyncio.get_running_loop()
    count, since = 0, loop.time()
    async for _ in context.store.changes(context.store.last_change()):
        count += 1
        if loop.time() - since >= TALLY_SECONDS:
            log.info("%d change(s) to conversations and templates in the last %.0f s", count, loop.time() - since)
            count, since = 0, loop.time()
