"""Serving the hub's API for tests, over real HTTP on loopback: `serving(api)` mounts an API app
(hub.api.api_app) at /api/v1 on 127.0.0.1 (on `port`: the same again after a restart) and
yields its base URL; `local_api(context)` is the
embedded desk's (an engine on the context, the desk's agent as the only one); `pg_engine` is a
replica's engine on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from aiohttp import web

from engine import Engine
from engine.context import DeskContext
from hub.api import Services, api_app
from hub.local import OutboxDispatch, local_services


@asynccontextmanager
async def serving(api: web.Application, port: int = 0) -> AsyncIterator[str]:
    root = web.Application()
    root.add_subapp("/api/v1", api)
    runner = web.AppRunner(root, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def local_api(context: DeskContext) -> AsyncIterator[tuple[str, Services, OutboxDispatch]]:
    engine = Engine(context, tell=lambda sentence: None)
    services, dispatch = local_services(engine)
    try:
        async with serving(api_app(services)) as url:
            yield url, services, dispatch
    finally:
        await dispatch.settled()
        engine.close()


@contextmanager
def pg_engine(pg_url: str, clock, data_dir, *, history: bool = True) -> Iterator[Engine]:
    """A hub replica's engine in this process: the mock as its backend, a PgStore on the
    (migrated) database, the mock's history applied unless told otherwise."""
    from backends.mock import MockBackend
    from desk.store.pg import PgStore, migrate
    from tests.conftest import quiet_config

    migrate.migrate(pg_url)
    config = quiet_config()
    backend = MockBackend(config.mock, clock, state_path=None)
    store = PgStore(pg_url, clock=clock)
    store.open()
    engine = Engine(DeskContext(config, store, backend, clock, data_dir), tell=lambda sentence: None)
    try:
        if history:
            store.apply_many(backend.simulation.history())
        yield engine
    finally:
        engine.close()
        store.close()
