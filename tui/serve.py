"""`wadesk serve`: the webhook receiver without the TUI, applying what arrives to the store, and
the desk's alerts (in the log, and `[alerts] command` run) so an admin hears of breaches.

For a server where no desk is open. It takes the data directory's lock like a desk, so exactly one
process at a time receives webhooks into a store.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from backends.base import Capability
from desk.clock import tick_seconds
from desk.store.contract import ChangeKind
from desk.text import display_name
from engine import Engine
from engine.alerts import Alerts
from engine.context import DeskContext
from engine.local_api import DeskSocket

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
    desk_socket = DeskSocket(engine)  # <data_dir>/desk.sock, for wadesk list|reply ...
    cli = asyncio.create_task(desk_socket.serve())
    tally = asyncio.create_task(_tally(context))
    alerts = asyncio.create_task(_alerts(context))
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
    cli.cancel()
    await asyncio.gather(cli, return_exceptions=True)  # the socket removed before the engine closes
    try:  # greetings and away messages (the engine sends them itself here), and the CLI's sends, under way
        await asyncio.wait_for(asyncio.gather(engine.autoreplier.settled(), desk_socket.settled()), DRAIN_SECONDS)
    except TimeoutError:
        log.warning("stopped with automatic messages still sending; they show as unknown")
    alerts.cancel()
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


async def _alerts(context: DeskContext, every: float | None = None) -> None:
    """The desk's alerts with no desk open: each in the log, and `[alerts] command` run, so an
    admin hears of breaches (desk.alerts says when; the state at start is known, not told).
    Checked at each change and every `every` seconds (as often as the desk's countdowns)."""
    every = tick_seconds(context.clock) if every is None else every
    alerts = Alerts(context)
    after = context.store.last_change()  # before the watch reads the store
    await alerts.start()

    async def follow() -> None:
        async for change in context.store.changes(after):
            if change.kind is ChangeKind.RESYNC:
                alerts.changed(c.id for c in context.store.conversations())
            elif change.conversation_id:
                alerts.changed([change.conversation_id])
            await check(alerts)

    following = asyncio.create_task(follow())
    try:
        while True:
            await check(alerts)
            await asyncio.sleep(every)
    finally:
        following.cancel()


async def check(alerts: Alerts) -> None:
    """Log and run the command for each line crossed since the last check; waits for the commands."""
    told = alerts.due()
    for alert in told:
        log.warning("alert: %s: %s (%s)", display_name(alert.customer, 80), alert.words(), alert.due.isoformat())
    if alerts.command is not None and told:
        for failure in await asyncio.gather(*(alerts.command.run(a) for a in told)):
            if failure is not None:
                log.error("%s", failure)
