"""The acceptance of the hub's runtime: two replicas as real processes on one real PostgreSQL,
webhooks over real HTTP, a replica SIGKILLed mid-stream and restarted: the database ends with
every message once, 0 lost, 0 duplicated, and every webhook that got a 200 applied; and 20
headless clients (the desk's own mirror, backends/hub HubStore), half on each replica, the
killed one's reconnecting, each end with exactly the database's state."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime, timezone

import httpx
import psycopg
import pytest
from aiohttp import web

from desk.clock import SystemClock
from desk.models import Direction, MessageStatus
from desk.store.pg.migrate import migrate
from hub.ingest import dedupe_key
from tests.hub_fixtures import SALES, SUPPORT, body_of, inbound, signed
from tests.hub_replicas import Replica, database_state

WEBHOOKS = 1000
COPIES = 3
CLIENTS = 20
AT_ONCE = 20
"""Posts in flight at once, as Meta delivers concurrently."""
SETTLE_SECONDS = 120.0


async def wait_until(condition, what: str, limit: float = SETTLE_SECONDS, every: float = 0.2) -> None:
    """Poll another process's work (bounded): the replicas apply on their own time. The test's
    loop runs meanwhile (the emulator's Graph is on it)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(every)


def unapplied(pg_url: str) -> int:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SELECT count(*) FROM webhook_inbox WHERE applied_at IS NULL").fetchone()
    return int(row[0]) if row else -1


def seen_by(store) -> dict[str, list[tuple]]:
    """What a client shows: every conversation's messages, as comparable rows."""
    return {c.id: [(m.id, m.status, m.text, m.timestamp) for m in store.messages(c.id)] for c in store.conversations()}


async def test_two_replicas_one_killed_mid_stream_lose_and_double_nothing(pg_url: str, token: str, tmp_path) -> None:
    from backends.hub.client import HubClient
    from backends.hub.store import HubStore

    rng = random.Random(9)
    wamids = [f"wamid.ACCEPT{i:04d}" for i in range(WEBHOOKS)]
    bodies = {
        wamid: body_of([inbound(i % 150, wamid, bn=(SALES, SUPPORT)[i % 2])]) for i, wamid in enumerate(wamids)
    }
    deliveries = [wamid for wamid in wamids for _ in range(COPIES)]
    rng.shuffle(deliveries)
    a, b = Replica(tmp_path, "a", pg_url).start(), Replica(tmp_path, "b", pg_url).start()
    acknowledged: set[str] = set()
    cut_off = 0
    clients = [HubStore(HubClient((a, b)[i % 2].url, token), "ana", clock=SystemClock()) for i in range(CLIENTS)]
    for client in clients:
        client.open()
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:

            async def deliver(wamid: str, replica: Replica) -> None:
                body = bodies[wamid]
                try:
                    answer = await client.post(replica.url + "/webhook", content=body, headers=signed(body))
                except httpx.HTTPError:
                    nonlocal cut_off
                    cut_off += 1
                    return  # the replica died before it answered: Meta retries (below)
                if answer.status_code == 200:
                    acknowledged.add(wamid)

            for start in range(0, len(deliveries), AT_ONCE):
                if start == len(deliveries) // 3:
                    a.kill()  # with requests in flight to it and bodies claimed, unapplied
                if start == len(deliveries) // 2:
                    a.start()  # on the same port
                chunk = deliveries[start : start + AT_ONCE]
                await asyncio.gather(*(deliver(w, rng.choice((a, b))) for w in chunk))
            # Meta's retries: every webhook without a 200 yet is sent again until it gets one.
            while missing := [w for w in wamids if w not in acknowledged]:
                await asyncio.gather(*(deliver(w, rng.choice((a, b))) for w in missing[:AT_ONCE]))
        await wait_until(lambda: unapplied(pg_url) == 0, "every inbox row applied")
        truth = {cid: [(m.id, m.status, m.text, m.timestamp) for m in ms] for cid, ms in database_state(pg_url, SystemClock()).items()}
        for client in clients:  # each follows on its own thread: it ends where the database is
            await wait_until(lambda: seen_by(client) == truth, "a client showing the database's state", limit=60)
    finally:
        for client in clients:
            client.close()
        codes = [a.stop(), b.stop()]
    assert codes == [0, 0]
    assert cut_off > 0  # the kill did cut deliveries off mid-stream

    with psycopg.connect(pg_url) as conn:
        kept = {bytes(k) for (k,) in conn.execute("SELECT dedupe_key FROM webhook_inbox WHERE applied_at IS NOT NULL")}
    assert {dedupe_key(bodies[w]) for w in acknowledged} <= kept  # every 200 is applied
    state = database_state(pg_url, SystemClock())
    messages = [m.id for transcript in state.values() for m in transcript if m.direction is Direction.INBOUND]
    assert len(messages) == len(set(messages)) == WEBHOOKS  # 0 duplicated
    assert set(messages) == set(wamids)  # 0 lost


# --- the outbox across replicas ---------------------------------------------------------------------


@pytest.fixture
def token(pg_url: str) -> str:
    from psycopg_pool import ConnectionPool

    from hub.access import Role
    from hub.agents import PgDirectory

    migrate(pg_url)
    with ConnectionPool(pg_url, min_size=1, max_size=1, open=True) as pool:
        return PgDirectory(pool).add("ana", Role.ADMIN)


def message_in(pg_url: str, cid: str, message_id: str):
    return next((m for m in database_state(pg_url, SystemClock()).get(cid, []) if m.id == message_id), None)


async def open_conversation(client: httpx.AsyncClient, replica: Replica, token: str, n: int = 1) -> str:
    """A customer writes (a signed webhook to `replica`); the conversation's id once applied."""
    event = inbound(n, f"wamid.OPEN{n}", at=datetime.now(timezone.utc))
    body = body_of([event])
    assert (await client.post(replica.url + "/webhook", content=body, headers=signed(body))).status_code == 200
    cid = event.message.conversation_id
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(300):
        if (await client.get(f"{replica.url}/api/v1/conversations/{cid}", headers=headers)).status_code == 200:
            return cid
        await asyncio.sleep(0.1)
    raise AssertionError("the customer's message was never applied")


async def reply(client: httpx.AsyncClient, replica: Replica, token: str, cid: str, key: str) -> dict:
    answer = await client.post(
        f"{replica.url}/api/v1/conversations/{cid}/reply", json={"key": key, "text": "on its way"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["message"]


async def test_the_same_reply_posted_three_times_with_one_key_is_one_graph_call(pg_url: str, token: str, tmp_path) -> None:
    from emulator.server import Emulator
    from tests.conftest import quiet_config
    from tests.hub_fixtures import SECRET
    from tests.hub_replicas import ACCESS_TOKEN

    emulator = Emulator(quiet_config().mock, SystemClock(), token=ACCESS_TOKEN, app_secret=SECRET, waba_id="waba-hub",
                        receiver_url=None)
    await emulator.start()
    a = b = None
    try:
        a = Replica(tmp_path, "a", pg_url, emulator.url).start()
        b = Replica(tmp_path, "b", pg_url, emulator.url).start()
        person = next(p for p in emulator.simulation.people if p.customer.phone)
        event = emulator.simulation.customer_writes(SALES, person.id, datetime.now(timezone.utc), "text", "greeting")
        emulator.receiver_url = a.url + "/webhook"
        await emulator.deliver([event])  # signed by the emulator, as Meta does
        cid = event.message.conversation_id
        async with httpx.AsyncClient(timeout=30) as client:
            headers = {"Authorization": f"Bearer {token}"}
            for _ in range(300):
                if (await client.get(f"{a.url}/api/v1/conversations/{cid}", headers=headers)).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            answers = await asyncio.gather(*(reply(client, r, token, cid, "key-0001-same") for r in (a, b, a)))
        assert len({m["id"] for m in answers}) == 1
        await wait_until(lambda: (m := message_in(pg_url, cid, "key-0001-same")) is not None and m.status is MessageStatus.SENT,
                   "the reply sent")
    finally:
        codes = [r.stop() for r in (a, b) if r is not None]
        await emulator.stop()
    assert codes == [0, 0]
    assert len(emulator.sent) == 1  # one Graph call, whichever replicas were asked, however often


class HangingGraph:
    """A Graph that takes each send and never answers it (the request has left: the outcome is
    unknown); it counts them."""

    def __init__(self) -> None:
        self.sends = 0
        self._never = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        async def messages(request: web.Request) -> web.Response:
            self.sends += 1
            await self._never.wait()
            return web.json_response({})

        async def templates(request: web.Request) -> web.Response:
            return web.json_response({"data": []})

        app = web.Application()
        app.router.add_post("/{version}/{number}/messages", messages)
        app.router.add_get("/{version}/{waba}/message_templates", templates)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        self._never.set()
        if self._runner is not None:
            await self._runner.cleanup()


async def test_a_replica_killed_mid_send_leaves_the_message_unknown_never_resent(pg_url: str, token: str, tmp_path) -> None:
    graph = HangingGraph()
    await graph.start()
    a = b = None
    try:
        a = Replica(tmp_path, "a", pg_url, graph.url).start()
        b = Replica(tmp_path, "b", pg_url, graph.url).start()
        async with httpx.AsyncClient(timeout=30) as client:
            cid = await open_conversation(client, a, token)
            await reply(client, a, token, cid, "key-0002-mid-send")
            for _ in range(300):
                if graph.sends:
                    break
                await asyncio.sleep(0.05)
        assert graph.sends == 1
        a.kill()  # the request has left; the answer never comes
        await wait_until(lambda: (m := message_in(pg_url, cid, "key-0002-mid-send")) is not None
                   and m.status is MessageStatus.UNKNOWN, "the other replica settles it as unknown", limit=60)
        a.start()  # a restart resends nothing either
        b.stop()
        a.stop()
    finally:
        for r in (a, b):
            if r is not None:
                r.stop()
        await graph.stop()
    assert graph.sends == 1
    assert message_in(pg_url, cid, "key-0002-mid-send").status is MessageStatus.UNKNOWN


async def test_the_mock_demo_hub_serves_the_mocks_customers_and_stops_cleanly(pg_url: str, token: str, tmp_path) -> None:
    hub = Replica(tmp_path, "demo", pg_url, backend="mock").start()
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(300):
                answer = await client.get(f"{hub.url}/api/v1/conversations", headers={"Authorization": f"Bearer {token}"})
                if answer.status_code == 200 and len(answer.json()["conversations"]) > 10:
                    break
                await asyncio.sleep(0.1)
            assert answer.status_code == 200 and len(answer.json()["conversations"]) > 10  # the mock's history
            assert (await client.post(f"{hub.url}/webhook", content=b"{}")).status_code == 404  # no webhooks on the mock
    finally:
        code = hub.stop()
    assert code == 0
