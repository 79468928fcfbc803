"""`wadesk hub`: one hub replica. Several may run against one database behind a load balancer;
they coordinate in PostgreSQL only (docs/team.md).

One aiohttp app on `[hub] listen` serves both the webhook path (`[webhook] path`, hub/ingest.py)
and the agents' API at /api/v1 (hub/api.py), so one reverse proxy fronts the hub. Beside it run
the applier (webhooks -> the store), the sender (the outbox), the template sync and, for the
mock's demo, the mock's own traffic. The database's URL comes from the environment variable
`[hub] database_url_env` and appears in no log and no error: only its host, port and database do.

At start, every reason not to serve is one sentence (HubRefused): no URL, a database that cannot be
reached, a schema not migrated or newer than this code, secrets missing, an address taken. SIGTERM
or SIGINT stops it cleanly: no new requests, those in flight answered, sends under way given
DRAIN_SECONDS to settle (one cut short shows as unknown, as it must), then everything is closed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path

import psycopg
from aiohttp import web
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from backends import registry
from backends.base import Capability
from backends.cloud.backend import CloudBackend, Secrets
from backends.cloud.receiver import MAX_BODY, CannotListen, Receiver
from desk.clock import Clock, SystemClock
from desk.config import Config, ConfigError
from desk.store.pg import PgStore, migrate
from engine import Engine
from engine.context import DeskContext, desk_clock
from hub import api
from hub.agents import PgDirectory
from hub.applier import Applier
from hub.events import Presence
from hub.files import SharedFiles
from hub.ingest import add_ingest_routes
from hub.presence_relay import PresenceRelay
from hub.sender import Sender
from hub.templates import TemplateSync

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0
"""How long a stopping replica lets its sends under way settle."""
SHUTDOWN_SECONDS = 2.0
"""How long requests in flight get at a stop (an event stream never ends on its own: it is cut)."""
CONNECT_SECONDS = 5
TRIM_SECONDS = 3600.0
"""How often a replica trims the event log."""
POOL_SIZE = 12
"""Connections of one replica: ingest's commits, the applier's claim, one per send in flight (the
sender's WORKERS) and the template sync, with room to spare."""


SERVED = ("cloud", "mock")
"""The backends a hub runs on ("hub" is a desk's way to reach one)."""


class HubRefused(Exception):
    """The hub cannot serve: one sentence saying why and what to do."""


def database_url(config: Config, environ: Mapping[str, str] | None = None) -> str:
    name = config.hub.database_url_env
    url = (os.environ if environ is None else environ).get(name, "")
    if not url:
        raise HubRefused(
            f"The environment variable {name} (config key hub.database_url_env) is not set: set it to the team "
            "database's URL, postgresql://user:password@host:port/database."
        )
    return url


def where(conninfo: str) -> str:
    """The database as a sentence may name it: host, port and name, never the user's password."""
    try:
        parts = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "the team database (its URL does not parse)"
    host, port, name = parts.get("host") or "localhost", parts.get("port") or "5432", parts.get("dbname") or "?"
    return f"the team database {name} on {host}:{port}"


def _without_secret(text: str, conninfo: str) -> str:
    try:
        password = conninfo_to_dict(conninfo).get("password")
    except psycopg.ProgrammingError:
        return text.replace(conninfo, "<the URL>")
    return text.replace(str(password), "***") if password else text


def check_database(conninfo: str) -> None:
    """Reachable, and migrated by this code's schema (HubRefused with the sentence otherwise)."""
    try:
        with psycopg.connect(conninfo, connect_timeout=CONNECT_SECONDS) as conn:
            migrate.check(conn)
    except psycopg.Error as exc:
        reason = _without_secret(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, conninfo)
        raise HubRefused(f"Cannot reach {where(conninfo)} ({reason}): check that it runs and the URL in the environment.") from None
    except migrate.SchemaTooNew as exc:
        raise HubRefused(str(exc)) from None
    except RuntimeError as exc:  # migrate.check: not migrated, or behind
        raise HubRefused(str(exc)) from None


def host_port(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise HubRefused(f"The config key hub.listen must be host:port (like 127.0.0.1:8788), not {listen!r}.")
    return host.strip("[]"), int(port)


def open_store(conninfo: str, clock: Clock) -> PgStore:
    store = PgStore(conninfo, clock=clock)
    store.open()
    return store


async def trim_events(store: PgStore, clock: Clock, keep_hours: int, every: float = TRIM_SECONDS) -> None:
    """Forget events older than `[hub] keep_events_hours` (a client away longer resyncs), every
    `every` seconds; each replica may, the delete is the same whoever runs it."""
    while True:
        try:
            await asyncio.to_thread(store.trim_events, clock.now() - timedelta(hours=keep_hours))
        except psycopg.Error as exc:  # tried again at the next turn
            log.warning("trimming the event log failed: %s", exc)
        await asyncio.sleep(every)


async def run(
    config: Config,
    conninfo: str,
    data_dir: Path,
    *,
    clock: Clock | None = None,
    started: Callable[[str], None] = lambda url: None,
    stopping: asyncio.Event | None = None,
) -> None:
    """Serve until `stopping` is set (by default: SIGTERM or SIGINT). `started(url)` once it listens."""
    loop = asyncio.get_running_loop()
    if stopping is None:
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
    if config.backend not in SERVED:
        raise HubRefused(
            f'wadesk hub talks to WhatsApp itself: the config key backend must be "cloud" (or "mock" for a demo), '
            f"not {config.backend!r}."
        )
    host, port = host_port(config.hub.listen)
    clock = desk_clock(config, data_dir, clock or SystemClock())
    try:
        backend = registry.entry(config.backend).build(config, clock, data_dir)
    except ConfigError as exc:
        raise HubRefused(str(exc)) from None
    store = await asyncio.to_thread(open_store, conninfo, clock)
    context = DeskContext(config, store, backend, clock, data_dir)
    pool = AsyncConnectionPool(conninfo, min_size=2, max_size=POOL_SIZE, open=False)
    agents_pool = ConnectionPool(conninfo, min_size=1, max_size=4, open=False)
    sender: Sender | None = None

    def send_now(*_: object) -> None:
        if sender is not None:
            sender.wake()

    engine = Engine(context, log.error, deliver=send_now)
    files = SharedFiles(pool, data_dir / "outgoing")
    sender = Sender(pool, engine.outbox, clock, files=files)
    tasks: list[asyncio.Task[None]] = []
    receiver: Receiver | None = None
    relay: PresenceRelay | None = None
    try:
        await pool.open()
        await asyncio.to_thread(agents_pool.open)
        app = web.Application(client_max_size=max(MAX_BODY, api.MAX_REQUEST))
        presence = Presence(clock)
        relay = PresenceRelay(conninfo, presence)
        await relay.start()
        services = api.Services(
            context, engine.writer, PgDirectory(agents_pool), send_now, presence, data_dir / "outgoing",
            share_file=files.keep,
        )
        app.add_subapp("/api/v1", api.api_app(services))
        if Capability.WEBHOOKS in backend.capabilities:
            templates = TemplateSync(
                pool, backend.fetch_catalogue, engine.pump.apply_each, store, [n.id for n in context.numbers()], clock,
                config.cloud.template_sync_minutes,
            ) if isinstance(backend, CloudBackend) else None
            applier = Applier(
                pool, conninfo, engine.pump.apply_each, lambda: {n.id: store.templates(n.id) for n in context.numbers()},
                clock, unknown_template=templates.wake if templates else lambda: None,
            )
            secrets = Secrets.from_environment(config)
            add_ingest_routes(
                app, path=config.webhook.path, app_secret=secrets.app_secret, verify_token=secrets.verify_token,
                pool=pool, clock=clock, received=lambda seq, body: applier.wake(),
            )
            tasks.append(asyncio.create_task(applier.run(), name="applier"))
            if templates is not None:
                tasks.append(asyncio.create_task(templates.run(), name="templates"))
        else:  # the mock's demo: its simulated customers write into the store (one replica)
            tasks.append(asyncio.create_task(engine.pump.run(), name="mock"))
        tasks.append(asyncio.create_task(trim_events(store, clock, config.hub.keep_events_hours), name="trim"))
        sending = asyncio.create_task(sender.run(), name="sender")
        receiver = Receiver(app, host, port, listen_key="hub.listen", shutdown_timeout=SHUTDOWN_SECONDS)
        await receiver.start()
        started(receiver.url)
        watched = [*tasks, sending, asyncio.create_task(stopping.wait())]
        done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # a part of the hub that failed: its exception, with its traceback in the log
        await receiver.stop()
        receiver = None
        for task in tasks:
            task.cancel()
        sender.stop()
        try:
            await asyncio.wait_for(sending, DRAIN_SECONDS)
        except TimeoutError:
            log.warning("stopped with sends under way; they show as unknown")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if receiver is not None:
            await receiver.stop()
        if relay is not None:
            await relay.stop()
        await pool.close()
        await asyncio.to_thread(agents_pool.close)
        engine.close()
        await asyncio.to_thread(store.close)
        await backend.stop()


def serve(config: Config, data_dir: Path, environ: Mapping[str, str] | None = None) -> int:
    """`wadesk hub`: 0 after a clean stop; 1 with a sentence on stderr when it cannot serve."""
    try:
        conninfo = database_url(config, environ)
        check_database(conninfo)

        def started(url: str) -> None:
            print(f"wadesk hub: serving the API at {url}/api/v1 and webhooks at {url}{config.webhook.path}",
                  file=sys.stderr, flush=True)

        asyncio.run(run(config, conninfo, data_dir, started=started))
    except (HubRefused, CannotListen) as exc:
        print(f"wadesk hub: {exc}", file=sys.stderr)
        return 1
    return 0
