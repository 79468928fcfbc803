"""The webhook receiver: an aiohttp.web application, inside the app's event loop or headless
(`wadesk serve`).

GET: Meta's verification handshake (hub.mode=subscribe, hub.verify_token, hub.challenge).
POST: `X-Hub-Signature-256` is checked over the raw bytes with the app secret, in constant time;
a missing or wrong signature gets 401 and nothing is stored. Bodies up to 3 MB (Meta's maximum).
A signed body is made durable in the spool, answered 200, and only then handed on to be parsed
and applied: an answer other than 200 makes Meta retry for days, and a slow one makes it retry
too (it asks for a median under 250 ms).

Under abuse: a signature header that is not ASCII is simply wrong (401). A connection that has not
sent a whole request head within IDLE_SECONDS, or idles that long between requests, is closed (the
keep-alive timer, which aiohttp also starts when a connection opens); a body that has not arrived
within READ_SECONDS gets 408 and the connection is closed (slowloris). At the file-descriptor limit
asyncio stops accepting for a second and tries again, so the receiver answers again as soon as
connections free up; but it logs each refused accept, a hundred a second (42,000 lines in 17 s were
measured), so the receiver's loggers, asyncio's and aiohttp's let one record of a kind through per
LOG_INTERVAL and count the rest (`RateLimit`).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import logging
import socket
import time
from collections.abc import Callable
from typing import Protocol

from aiohttp import web

log = logging.getLogger(__name__)

MAX_BODY = 3 * 1024 * 1024
IDLE_SECONDS = 15.0
"""How long a connection may take to send a request head, or idle between requests."""
READ_SECONDS = 30.0
"""How long a body may take to arrive (3 MB at 100 kB/s)."""
LOG_INTERVAL = 60.0
"""At most one log record of a kind per this many seconds from the loggers under attack."""
_LIMITED_LOGGERS = (__name__, "asyncio", "aiohttp.server", "aiohttp.web")


class CannotListen(Exception):
    """The receiver cannot listen on its host and port: one sentence saying what to do."""


def signature_ok(body: bytes, header: str | None, app_secret: bytes) -> bool:
    """Whether `header` ("sha256=<hex>") is the HMAC-SHA256 of `body` under the app secret."""
    if not header or not header.startswith("sha256="):
        return False
    given = header[len("sha256=") :].strip().lower()
    if not given.isascii():  # compare_digest refuses non-ASCII str: a 500, not a 401, before
        return False
    expected = hmac.new(app_secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given, expected)


class BodySpool(Protocol):
    """Where a signed body is made durable before its 200: the desk's file (backends/cloud/spool.py)
    or the hub's table (hub/ingest.py)."""

    async def append(self, body: bytes) -> int:
        """Make `body` durable; returns its sequence number once it is (0: it was kept already)."""
        ...


def receiver_app(
    *,
    path: str,
    app_secret: str,
    verify_token: str,
    spool: BodySpool,
    received: Callable[[int, bytes], None],
    read_timeout: float = READ_SECONDS,
) -> web.Application:
    """The receiver. `received(seq, body)` is called for each body once it is durable."""
    app = web.Application(client_max_size=MAX_BODY)
    add_webhook_routes(
        app, path=path, app_secret=app_secret, verify_token=verify_token, spool=spool, received=received,
        read_timeout=read_timeout,
    )
    return app


def add_webhook_routes(
    app: web.Application,
    *,
    path: str,
    app_secret: str,
    verify_token: str,
    spool: BodySpool,
    received: Callable[[int, bytes], None],
    read_timeout: float = READ_SECONDS,
) -> None:
    """The receiver's GET (verification) and POST at `path` on `app`, which must take bodies of
    MAX_BODY (its client_max_size): the desk's own app, or the hub's beside its API."""
    secret = app_secret.encode()

    async def verify(request: web.Request) -> web.Response:
        query = request.query
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(token.encode(), verify_token.encode()):
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("webhook verification refused (wrong mode or token)")
        return web.Response(status=403, text="verification failed")

    async def receive(request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_BODY:  # (an app taking bigger bodies for other routes)
            return web.Response(status=413, text="body too large")
        try:
            async with asyncio.timeout(read_timeout):
                body = await request.read()
        except TimeoutError:
            log.warning("webhook refused: the body did not arrive within %.0f s", read_timeout)
            return web.Response(status=408, text="request timeout")
        if len(body) > MAX_BODY:
            return web.Response(status=413, text="body too large")
        if not signature_ok(body, request.headers.get("X-Hub-Signature-256"), secret):
            log.warning("webhook refused: missing or wrong signature (%d bytes)", len(body))
            return web.Response(status=401, text="bad signature")
        seq = await spool.append(body)
        received(seq, body)
        return web.Response(text="ok")

    app.router.add_get(path, verify)
    app.router.add_post(path, receive)


class Receiver:
    """The receiver running on host:port until `stop()`."""

    def __init__(
        self, app: web.Application, host: str, port: int, *, idle_timeout: float = IDLE_SECONDS, listen_key: str = "",
        shutdown_timeout: float = 60.0,
    ) -> None:
        """`listen_key`: the config key that sets the address, for the sentence when it is taken
        ("hub.listen"; by default the webhook's). `shutdown_timeout`: how long `stop()` lets
        requests in flight finish (the hub's event streams never do)."""
        # lingering_time=0: an answer given before the body was read whole (408, 413) closes the
        # connection at once, instead of reading whatever trickles in for 10 more seconds.
        self._runner = web.AppRunner(
            app, access_log=None, keepalive_timeout=idle_timeout, lingering_time=0, shutdown_timeout=shutdown_timeout
        )
        self._host, self._port = host, port
        self._listen_key = listen_key
        self.url = ""

    async def start(self) -> None:
        """Listen; CannotListen (a sentence naming the port) when the port is taken."""
        limit_logs()
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise CannotListen(listen_sentence(self._host, self._port, exc, self._listen_key)) from exc
        host, port = self._runner.addresses[0][:2]  # the real port when 0 was asked
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        await self._runner.cleanup()


def check_listen(host: str, port: int) -> None:
    """Raise CannotListen now if the receiver could not listen on host:port (port 0: any port)."""
    if port == 0:
        return
    try:
        # SO_REUSEADDR as asyncio's server sets it: a port in TIME_WAIT is free, a listening one is not.
        with socket.create_server((host, port), reuse_port=False):
            pass
    except OSError as exc:
        raise CannotListen(listen_sentence(host, port, exc)) from exc


def listen_sentence(host: str, port: int, exc: OSError, listen_key: str = "") -> str:
    if listen_key:
        return f"Cannot listen on {host}:{port} ({exc.strerror or exc}): stop what uses it, or set another {listen_key} in the config."
    if exc.errno == errno.EADDRINUSE:
        return (
            f"The webhook port {port} on {host} is already in use (another wadesk serve or desk, or another "
            "program): stop it, or set another webhook.port in the config."
        )
    if exc.errno == errno.EACCES:
        return f"Listening on the webhook port {port} is not allowed here (ports below 1024 need privileges): set another webhook.port."
    return f"Cannot listen for webhooks on {host}:{port} ({exc.strerror or exc}): check webhook.host and webhook.port in the config."


class RateLimit(logging.Filter):
    """Lets one record of each kind (logger and message template, first line) through per
    `interval` seconds; the next one that passes says how many were held back."""

    def __init__(self, interval: float = LOG_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg).partition("\n")[0])
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        if len(self._last) > 1000:  # bounded whatever the attacker varies
            self._last.clear()
            self._held.clear()
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held and last is not None:  # (held only counts records that came after a logged one)
            record.msg = f"{record.msg}\n({held} more like this in the last {now - last:.0f} s were not logged)"
        return True


_RATE_LIMIT = RateLimit()


def limit_logs() -> None:
    """Put the one RateLimit on the loggers an attacker can make talk (idempotent)."""
    for name in _LIMITED_LOGGERS:
        logger = logging.getLogger(name)
        if _RATE_LIMIT not in logger.filters:
            logger.addFilter(_RATE_LIMIT)
