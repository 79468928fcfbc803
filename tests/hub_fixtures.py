"""What the hub's tests share: a migrated database's pools, signed webhook bodies built from domain
events (the emulator's encoder: Meta's shapes), and the hub's webhook app on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
import psycopg
from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from backends.cloud.receiver import MAX_BODY, Receiver
from desk.clock import Clock
from desk.models import Customer, Direction, Event, Message, MessageReceived, MessageStatus, conversation_id
from emulator.encode import signature, webhook_bytes, webhook_for
from hub.ingest import add_ingest_routes
from tests.conftest import NOW

SECRET = "hub-app-secret-for-tests"
VERIFY = "hub-verify-token"
PATH = "/webhook"
SALES, SUPPORT = "100000000000001", "100000000000002"
DISPLAY = {SALES: "+1 555-0100", SUPPORT: "+1 555-0199"}


def customer(n: int) -> Customer:
    return Customer(f"1555{n:07d}", f"Customer {n}", phone=f"+1555{n:07d}")


def inbound(n: int, mid: str, *, bn: str = SALES, at: datetime | None = None, text: str | None = None) -> MessageReceived:
    who = customer(n)
    message = Message(
        mid, conversation_id(bn, who.id), Direction.INBOUND, "text", at or NOW - timedelta(minutes=5),
        MessageStatus.RECEIVED, text if text is not None else f"hello from {n} ({mid})",
    )
    return MessageReceived(bn, who, message)


def outgoing(cid: str, message_id: str, text: str = "on its way") -> Message:
    """One of our text messages, as the API records it (QUEUED)."""
    return Message(message_id, cid, Direction.OUTBOUND, "text", NOW, MessageStatus.QUEUED, text, agent="ana")


def body_of(events: Iterable[Event]) -> bytes:
    return webhook_bytes(webhook_for(list(events), waba_id="waba-hub", display_numbers=DISPLAY))


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": signature(body, secret), "Content-Type": "application/json"}


def inbox_rows(pg_url: str) -> list[tuple[int, bytes, bool]]:
    """(id, raw, applied) of every inbox row, in id order."""
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT id, raw, applied_at IS NOT NULL FROM webhook_inbox ORDER BY id").fetchall()
    return [(int(i), bytes(raw), bool(applied)) for i, raw, applied in rows]


@asynccontextmanager
async def pool_on(pg_url: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = AsyncConnectionPool(pg_url, min_size=1, max_size=10, open=False)
    await pool.open()
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def webhook_server(pg_url: str, clock: Clock) -> AsyncIterator[str]:
    """The hub's webhook routes on their own loopback port (what one replica serves); yields the URL."""
    async with pool_on(pg_url) as pool:
        app = web.Application(client_max_size=MAX_BODY)
        add_ingest_routes(app, path=PATH, app_secret=SECRET, verify_token=VERIFY, pool=pool, clock=clock)
        receiver = Receiver(app, "127.0.0.1", 0)
        await receiver.start()
        try:
            yield receiver.url + PATH
        finally:
            await receiver.stop()


async def post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    return (await client.post(url, content=body, headers=signed(body) if headers is None else headers)).status_code
