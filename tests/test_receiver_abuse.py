"""The webhook receiver under abuse, over real HTTP on 127.0.0.1: bytes it cannot decode, clients
that never finish a request, the file-descriptor limit, and a log that stays bounded.

Nothing sleeps to wait for work: a test reads its socket until the server answers or closes it
(bounded by a timeout that only a failure reaches).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from backends.cloud.receiver import RateLimit, Receiver, receiver_app
from backends.cloud.spool import Spool

SECRET = "abuse-secret"
BODY = b'{"object": "whatsapp_business_account", "entry": []}'
WAIT = 10.0
"""Upper bound for an answer that takes milliseconds (or a timeout of a fraction of a second)."""
ROOT = Path(__file__).resolve().parent.parent


def signed(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


class Running:
    def __init__(self, receiver: Receiver, spool: Spool, received: list[int]) -> None:
        self.receiver, self.spool, self.received = receiver, spool, received

    @property
    def port(self) -> int:
        return int(self.receiver.url.rsplit(":", 1)[1])


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    spool = Spool(tmp_path)
    spool.open()
    received: list[int] = []
    app = receiver_app(path="/webhook", app_secret=SECRET, verify_token="v", spool=spool,
                       received=lambda seq, body: received.append(seq), read_timeout=0.3)
    receiver = Receiver(app, "127.0.0.1", 0, idle_timeout=0.3)
    await receiver.start()
    yield Running(receiver, spool, received)
    await receiver.stop()
    spool.close()


async def exchange(port: int, *parts: bytes) -> bytes:
    """Send the parts, then read until the server closes the connection: what it answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for part in parts:
            writer.write(part)
            await writer.drain()
        return await asyncio.wait_for(reader.read(), WAIT)
    finally:
        writer.close()


def post_head(signature: bytes, length: int = len(BODY)) -> bytes:
    return (
        b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nX-Hub-Signature-256: " + signature + b"\r\n"
        b"Content-Length: " + str(length).encode() + b"\r\n\r\n"
    )


async def test_a_signed_body_gets_200(running):
    answer = await exchange(running.port, post_head(signed(BODY).encode()), BODY)
    assert answer.startswith(b"HTTP/1.1 200") and running.received == [1]


@pytest.mark.parametrize("signature", [
    "sha256=".encode() + "é".encode() * 32,
    b"sha256=" + b"\xff" * 64,
    "sha256=ａｂ".encode() + b"0" * 62,  # full-width letters: not ASCII either
])
async def test_a_non_ascii_signature_is_401_not_500(running, signature, caplog):
    answer = await exchange(running.port, post_head(signature), BODY)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:80]
    assert running.received == [] and "Traceback" not in caplog.text


async def test_a_connection_that_never_finishes_its_request_head_is_closed(running):
    # Half a request line and headers, then nothing: the server hangs up after idle_timeout.
    answer = await exchange(running.port, b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Hub-Sig")
    assert answer == b""


async def test_a_connection_that_never_sends_anything_is_closed(running):
    assert await exchange(running.port) == b""


async def test_a_body_that_trickles_is_408_and_closed(running):
    answer = await exchange(running.port, post_head(signed(BODY).encode()), BODY[:10])
    assert answer.startswith(b"HTTP/1.1 408") and running.received == []


# --- the log stays bounded ---------------------------------------------------------------------------


def test_the_rate_limit_lets_one_record_of_a_kind_through_per_interval():
    now = [0.0]
    limit = RateLimit(interval=60.0, clock=lambda: now[0])

    def record(msg: str, name: str = "asyncio") -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, None, None)

    accept = "socket.accept() out of system resource\nsocket: <fd=8>"
    assert limit.filter(record(accept))
    assert not any(limit.filter(record(accept)) for _ in range(500))
    assert limit.filter(record("another kind"))  # a different message is not held back
    assert limit.filter(record(accept, name="aiohttp.server"))  # nor the same from another logger
    now[0] = 59.0
    assert not limit.filter(record(accept))
    now[0] = 61.0
    passed = record(accept)
    assert limit.filter(passed)
    assert "501 more like this in the last 61 s were not logged" in passed.getMessage()


CHILD = textwrap.dedent("""
    import asyncio, logging, resource, sys
    from pathlib import Path
    from backends.cloud.receiver import Receiver, receiver_app
    from backends.cloud.spool import Spool

    logging.basicConfig(filename=sys.argv[2], level=logging.INFO)

    async def main():
        spool = Spool(Path(sys.argv[1]))
        spool.open()
        app = receiver_app(path="/webhook", app_secret="abuse-secret", verify_token="v", spool=spool,
                           received=lambda seq, body: None)
        receiver = Receiver(app, "127.0.0.1", 0)
        await receiver.start()
        # A few descriptors to spare once listening: the tenth connection or so hits the limit.
        used = len(list(Path("/proc/self/fd").iterdir()))
        resource.setrlimit(resource.RLIMIT_NOFILE, (used + 8, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        print(receiver.url.rsplit(":", 1)[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
""")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
async def test_at_the_descriptor_limit_it_logs_once_and_answers_again_when_connections_free_up(tmp_path):
    log_file = tmp_path / "receiver.log"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), str(log_file)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        port = int(await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), WAIT))
        flood = []
        for _ in range(60):  # far more than the child can accept
            sock = socket.create_connection(("127.0.0.1", port))
            flood.append(sock)

        async def logged() -> str:
            while "out of system resource" not in (text := log_file.read_text() if log_file.exists() else ""):
                await asyncio.sleep(0.05)  # polling a file another process writes
            return text

        await asyncio.wait_for(logged(), WAIT)
        for sock in flood:
            sock.close()
        # The descriptors come back as the child sees the closes; asyncio tries accept again each second.
        async def answered() -> bytes:
            while True:
                try:
                    return await exchange(port, post_head(signed(BODY).encode()), BODY)
                except (ConnectionError, OSError):
                    await asyncio.sleep(0.1)

        answer = await asyncio.wait_for(answered(), WAIT)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
        # One record for the whole episode (a hundred a second before), traceback included.
        assert log_file.read_text().count("socket.accept() out of system resource") == 1
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def test_the_log_file_rotates_at_its_size_bound(tmp_path, monkeypatch):
    from tui import logs

    monkeypatch.setattr(logs, "LOG_BYTES", 2000)
    handler = logs.log_to_file(tmp_path / "log" / "wadesk.log")
    try:
        for i in range(200):
            logging.getLogger("wadesk.test").warning("line %d of a flood", i)
    finally:
        logs.stop_logging(handler)
    files = sorted(p.name for p in (tmp_path / "log").iterdir())
    assert files == ["wadesk.log", "wadesk.log.1", "wadesk.log.2", "wadesk.log.3"]
    assert all((tmp_path / "log" / name).stat().st_size <= 2000 for name in files)
    assert "line 199 of a flood" in (tmp_path / "log" / "wadesk.log").read_text()


# --- a date far in the future, through the whole cloud backend ----------------------------------------


async def test_a_webhook_dated_year_3000_is_kept_at_the_backends_now(tmp_path):
    """The backend gives the parser its clock: the window of a message dated 3000 closes a day after
    it arrived (the parser's own tests cover the rule)."""
    import httpx

    from backends.cloud.backend import CloudBackend, Secrets
    from desk.clock import FrozenClock
    from desk.config import CloudConfig, CloudNumberConfig, Config, WebhookConfig
    from desk.window import window
    from emulator.encode import webhook_bytes
    from tests.conftest import NOW

    config = Config(backend="cloud", cloud=CloudConfig(graph_url="http://127.0.0.1:9", waba_id="1",
                                                       numbers=(CloudNumberConfig("106540352242922", "Support"),)),
                    webhook=WebhookConfig(port=0))
    clock = FrozenClock(NOW)
    backend = CloudBackend(config, clock, tmp_path, Secrets("t", SECRET, "v"))
    body = webhook_bytes({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
                                       "metadata": {"phone_number_id": "106540352242922"},
                                       "messages": [{"from": "16505551234", "id": "wamid.FUTURE", "type": "text",
                                                     "timestamp": "32503680000", "text": {"body": "hi"}}]}}]}]})
    await backend.start()
    try:
        async with httpx.AsyncClient() as client:
            answer = await client.post(backend.receiver_url, content=body, headers={"X-Hub-Signature-256": signed(body)})
        assert answer.status_code == 200
        events = backend.events()
        event = await asyncio.wait_for(anext(events), WAIT)
        while not hasattr(event, "message"):  # a template sync's outcome may come first
            event = await asyncio.wait_for(anext(events), WAIT)
        assert event.message.id == "wamid.FUTURE" and event.message.timestamp == NOW
        assert not window(event.message.timestamp, NOW + timedelta(hours=25)).open
    finally:
        await backend.stop()
