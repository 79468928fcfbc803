"""`wadesk serve`: the webhook receiver without the TUI, applying what arrives to the store.

For a server where no desk is open. It takes the data directory's lock like a desk, so exactly one
process at a time receives webhooks into a store.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from backends.base import Capability
from desk.ingest import Ingest
from tui.context import DeskContext

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0
T = TypeVar("T")


def serve(context: DeskContext) -> int:
    if Capability.WEBHOOKS not in context.backend.capabilities:
        print(f"wadesk: serve receives webhooks, which the {context.backend.name} backend does not (--backend cloud does).",
              file=sys.stderr)
        return 2
    return asyncio.run(_serve(context))


async def _serve(context: DeskContext) -> int:
    backend, store = context.backend, context.store
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    await backend.start()
    print(f"wadesk: receiving webhooks on {backend.receiver_url}", file=sys.stderr, flush=True)

    async def write(fn: Callable[..., T], *args: Any) -> T:
        return await loop.run_in_executor(writer, partial(fn, *args))

    # Each store fault reaches the admin once, in the log: one sentence naming the conversation
    # and the file (the store logs the traceback beside it).
    ingest = Ingest(store, write, log.error)

    async def apply_events() -> None:
        async for event in backend.events():
            await ingest.apply(event)  # returns once the event is durable

    pump = asyncio.create_task(apply_events())
    retry = asyncio.create_task(ingest.retry_forever(lambda ids: None))
    await stopping.wait()
    # No new bodies, then apply what was acknowledged (each got its 200); after DRAIN_SECONDS
    # the rest waits in the spool for the next start.
    if not await backend.drain(DRAIN_SECONDS):
        log.warning("stopped with webhooks not yet applied; the next start applies them")
    pump.cancel()
    retry.cancel()
    await backend.stop()
    writer.shutdown(wait=True)
    return 0
