"""The webhook receiver: an aiohttp.web application, inside the app's event loop or headless
(`wadesk serve`).

GET: Meta's verification handshake (hub.mode=subscribe, hub.verify_token, hub.challenge).
POST: `X-Hub-Signature-256` is checked over the raw bytes with the app secret, in constant time;
a missing or wrong signature gets 401 and nothing is stored. Bodies up to 3 MB (Meta's maximum).
A signed body is made durable in the spool, answered 200, and only then handed on to be parsed
and applied: an answer other than 200 makes Meta retry for days, and a slow one makes it retry
too (it asks for a median under 250 ms).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable

from aiohttp import web

from backends.cloud.spool import Spool

log = logging.getLogger(__name__)

MAX_BODY = 3 * 1024 * 1024


def signature_ok(body: bytes, header: str | None, app_secret: bytes) -> bool:
    """Whether `header` ("sha256=<hex>") is the HMAC-SHA256 of `body` under the app secret."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len("sha256=") :].strip().lower(), expected)


def receiver_app(
    *,
    path: str,
    app_secret: str,
    verify_token: str,
    spool: Spool,
    received: Callable[[int, bytes], None],
) -> web.Application:
    """The receiver. `received(seq, body)` is called for each body once it is durable."""
    secret = app_secret.encode()

    async def verify(request: web.Request) -> web.Response:
        query = request.query
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(token.encode(), verify_token.encode()):
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("webhook verification refused (wrong mode or token)")
        return web.Response(status=403, text="verification failed")

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_ok(body, request.headers.get("X-Hub-Signature-256"), secret):
            log.warning("webhook refused: missing or wrong signature (%d bytes)", len(body))
            return web.Response(status=401, text="bad signature")
        seq = await spool.append(body)
        received(seq, body)
        return web.Response(text="ok")

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_get(path, verify)
    app.router.add_post(path, receive)
    return app


class Receiver:
    """The receiver running on host:port until `stop()`."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self._host, self._port = host, port
        self.url = ""

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]  # the real port when 0 was asked
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        await self._runner.cleanup()
