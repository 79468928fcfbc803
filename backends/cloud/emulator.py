"""A local WhatsApp Cloud API: Meta's paths, bodies, answers and signed webhooks, on the mock's world.

`wadesk emulator` runs it (see `serve_emulator` and `main`); tests build an `Emulator` with a
FrozenClock and drive it over HTTP. The rules are the mock's (backends/mock/simulation.py): the
24-hour window, the template catalogue and its checks, the statuses of each send, the customers and
their trickle of messages. This module only speaks Meta's wire format around them, so the Cloud
backend (graph client, webhook receiver, parser) is exercised end to end without Meta.
Facts: ../shared/reference/whatsapp-cloud-api.md §1-9.

Graph API (every call needs `Authorization: Bearer <token>`, else error 190 with HTTP 401; the
version segment is any v21.0 or later, older ones get 2635):

    POST   /{version}/{phone_number_id}/messages   text, template, image/video/audio/document/sticker
                                                   (by uploaded media id or link), reaction, location,
                                                   contacts, interactive; {"status": "read"} -> {"success": true}
    POST   /{version}/{phone_number_id}/media      multipart (messaging_product, file, type) -> {"id"}
    GET    /{version}/{media_id}                   {messaging_product, url, mime_type, sha256 (hex), file_size, id}
    DELETE /{version}/{media_id}                   {"success": true}
    GET    /_media/{media_id}?exp=...              the bytes, with the bearer token only; 404 once the
                                                   URL is 5 minutes old (fetch a new one)
    GET    /{version}/{waba_id}/message_templates  limit, after (cursor), name, status, category, language
    GET    /{version}/{phone_number_id}            the number's display name, quality and throughput

Errors are Graph error objects, `{"error": {"message": "(#131047) Re-engagement message", "type":
"OAuthException", "code": 131047, "error_data": {"messaging_product": "whatsapp", "details": ...},
"fbtrace_id": ...}}`, with the HTTP status of backends.errors (400 unless the table says otherwise).
Free-form messages outside the window: 131047, synchronously (HTTP 400) with `window_errors="sync"`,
or accepted with a wamid and then failed by a status webhook with `window_errors="async"` (Meta does
both, §7). A recipient that is not one of the mock's customers: 131026, synchronously.

Webhooks: each due event is POSTed to `receiver_url`, one body per event, signed with
`X-Hub-Signature-256` over the exact bytes (backends/cloud/encode.py makes them). An answer other
than 200, or none, puts the body in a retry queue: retried after 10 s, 20 s, 40 s ... at most an hour
apart, for 7 days, as Meta does. Inbound media get small deterministic files (a PNG, a PDF, ...) whose
SHA-256 is in the webhook (base64, as in Meta's example; the media URL lookup gives it in hex).

Test control: the endpoints in CONTROL_ENDPOINTS below (also shown by `wadesk emulator --help`).
`wadesk emulator` prints one line on stderr for each request it answers and each webhook it
delivers (method, path without its query, status; never a token, a secret or a customer's text).

In-process: `await emulator.deliver(events, duplicates=1, shuffle=False)` and
`await emulator.advance(seconds)` do the same as the endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import hashlib
import heapq
import hmac
import logging
import os
import random
import re
import struct
import sys
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import aiohttp
from aiohttp import web

from backends.base import Sent
from backends.cloud.encode import (
    component_parameters,
    representable,
    signature,
    template_document,
    webhook_bytes,
    webhook_for,
)
from backends.cloud.jsonload import loads
from backends.errors import WhatsAppError, describe, error_for, title
from backends.mock.catalogue import find
from backends.mock.people import TOPICS, Person
from backends.mock.simulation import Simulation
from desk.clock import Clock, FrozenClock, SystemClock
from desk.config import ConfigError, MockConfig, load
from desk.models import (
    Direction,
    Event,
    Media,
    MessageReceived,
    MessageStatus,
    StatusChanged,
    Template,
)

log = logging.getLogger(__name__)

__all__ = ["Emulator", "main", "serve_emulator"]

CONTROL_ENDPOINTS = """\
control endpoints (JSON, no token; the emulator is meant for 127.0.0.1):
  POST /_emulator/customer_writes  {"phone_number_id", "customer_id" (id or +number), "text"?,
                                   "kind"? (text, image, document, voice, audio, location, contacts,
                                   reaction, reply, unsupported), "topic"?}: the customer writes now
                                   (which opens the window) and it is delivered: {"id", "statuses"}
  POST /_emulator/status           {"status": sent | delivered | read | failed, "wamid"? | "phone_number_id"
                                   and "customer_id" (the latest message sent to them), "code"? (failed:
                                   default 131026)}: force a status of one of the desk's messages now
                                   and deliver it: {"wamid", "statuses"}
  POST /_emulator/deliver_raw      {"body": {...} or [...] | "raw": "<exact text>", "signature":
                                   null (valid) | "bad" | "missing" | "<header value>", "times": 1,
                                   "shuffle": false, "seed": 0}: POST copies as they are (not retried)
  POST /_emulator/advance          {"seconds": N}: move a frozen clock (409 on the real clock) and
                                   deliver what is due: {"now", "statuses", "retry_queue"}
  POST /_emulator/flush            retry every queued webhook now
  POST /_emulator/receiver         {"url": ...}: deliver to another receiver (and flush)
  GET  /_emulator/customers        [{"id", "name", "phone", "username", "number_ids"}]
  GET  /_emulator/state            {"now", "clock", "next_due", "retry_queue", "delivered", "refused", ...}

example: curl -s localhost:8788/_emulator/customer_writes -d \\
  '{"phone_number_id": "100000000000001", "customer_id": "+<number from /_emulator/customers>", "text": "hello"}'
"""

RETRY_FIRST = 10.0
RETRY_MOST = 3600.0
RETRY_FOR = timedelta(days=7)
"""Meta retries a webhook that did not get a 200 "with decreasing frequency" for up to 7 days (§6.7)."""
MEDIA_URL_SECONDS = 300
"""A media URL is valid for 5 minutes (§5)."""
OLDEST_VERSION = 21
"""Graph API versions before v21.0 have expired by late 2026 (§1)."""
DELIVERY_TIMEOUT = 20.0

_VERSION = r"{version:v[0-9]+\.[0-9]+}"
_FREE_FORM = ("text", "image", "video", "audio", "document", "sticker", "reaction", "location", "contacts", "interactive")
_MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
_UPLOAD_LIMITS = {
    "audio/aac": 16_000_000, "audio/amr": 16_000_000, "audio/mpeg": 16_000_000, "audio/mp4": 16_000_000,
    "audio/ogg": 16_000_000,
    "text/plain": 100_000_000, "application/pdf": 100_000_000, "application/msword": 100_000_000,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100_000_000,
    "application/vnd.ms-excel": 100_000_000,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100_000_000,
    "application/vnd.ms-powerpoint": 100_000_000,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100_000_000,
    "image/jpeg": 5_000_000, "image/png": 5_000_000,
    "image/webp": 500_000,
    "video/mp4": 16_000_000, "video/3gpp": 16_000_000,
}
"""Uploadable types and their size limits (§5); anything else is 131053."""


@dataclass(frozen=True, slots=True)
class _MediaFile:
    data: bytes
    mime_type: str
    number_id: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(order=True)
class _Retry:
    due: datetime
    seq: int
    body: bytes = dataclasses.field(compare=False)
    attempts: int = dataclasses.field(compare=False)
    first: datetime = dataclasses.field(compare=False)


class _Refused(Exception):
    """A request the emulator answers with a Graph error."""

    def __init__(self, code: int, details: str, http_status: int | None = None) -> None:
        super().__init__(details)
        self.code, self.details = code, details
        self.http_status = http_status or error_for(code).http_status


class Emulator:
    """The WhatsApp Cloud API for the mock's numbers and customers, on `clock`.

    With a FrozenClock nothing happens on its own: time moves with `advance`, and sends deliver only
    what is due at once (an async 131047). With any other clock, `run()` delivers on time.
    """

    def __init__(
        self,
        config: MockConfig,
        clock: Clock,
        *,
        token: str,
        app_secret: str,
        waba_id: str,
        receiver_url: str | None,
        api_version: str = "v24.0",
        window_errors: Literal["sync", "async"] = "sync",
        report: Callable[[str], None] | None = None,
    ) -> None:
        """`report` gets one line per request answered and per webhook delivered (the CLI prints
        them on stderr)."""
        if window_errors not in ("sync", "async"):
            raise ValueError("window_errors must be 'sync' or 'async'")
        self.clock = clock
        self.simulation = Simulation(config, clock.now())
        self.waba_id = waba_id
        self.receiver_url = receiver_url
        self.api_version = api_version
        self.window_errors = window_errors
        self.url = ""
        """The bound base URL ("http://127.0.0.1:54321") once started."""
        self.display_numbers = {n.id: n.display for n in self.simulation.numbers}
        self.delivered = 0
        """Bodies the receiver answered 200."""
        self.refused = 0
        """Attempts that got another answer or none."""
        self._token = token
        self._app_secret = app_secret
        self._report = report
        self._people = {p.id: p for p in self.simulation.people}
        self._phones = {p.customer.phone.lstrip("+"): p for p in self.simulation.people if p.customer.phone}
        self._media: dict[str, _MediaFile] = {}
        self._sent: dict[str, tuple[str, str]] = {}
        """wamid of each message the desk sent -> (phone_number_id, customer id), oldest first."""
        self._pending: list[tuple[datetime, int, StatusChanged]] = []  # our own: async 131047s
        self._retries: list[_Retry] = []
        self._seq = 0
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._live = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.app = self._make_app()

    # --- running ----------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on host:port (0: any free port); `url` is then the bound address."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def run(self) -> None:
        """Deliver what comes due on the clock, forever: the live mode of `serve_emulator`."""
        self._live = True
        try:
            while True:
                await self.deliver_due()
                wait = self._seconds_to_next()
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
        finally:
            self._live = False

    # --- delivering -------------------------------------------------------------------------------
    def webhook_events(self, events: Iterable[Event]) -> list[Event]:
        """`events` as WhatsApp would report them: inbound media get files (and their real SHA-256);
        one of our messages becomes its echo plus its latest status; events without a webhook
        (templates, resolutions) are left out."""
        out: list[Event] = []
        for event in events:
            if isinstance(event, MessageReceived):
                message = event.message
                if message.media is not None and message.media.media_id:
                    message = replace(message, media=self._inbound_media(message.media, event.business_number_id))
                    event = replace(event, message=message)
                out.append(event)
                if message.direction is Direction.OUTBOUND and message.status in _REPORTED:
                    out.append(StatusChanged(
                        event.business_number_id, event.customer.id, message.wamid or message.id, message.status,
                        message.status_at or message.timestamp, message.error_code, message.error_text,
                    ))
            elif representable(event):
                out.append(event)
        return out

    def history_events(self) -> list[Event]:
        """The mock's history, as webhooks would carry it (see `webhook_events`)."""
        return self.webhook_events(self.simulation.history())

    async def deliver(
        self, events: Iterable[Event], duplicates: int = 1, shuffle: bool = False, *, batch: bool = False, seed: int = 0
    ) -> list[int]:
        """POST `events` to the receiver, one body per event (or one for all with `batch`), each
        `duplicates` times, shuffled with `seed` if asked. Returns the receiver's HTTP statuses (0:
        no answer); what was not answered 200 is queued for retry."""
        prepared = self.webhook_events(events)
        groups = [prepared] if batch and prepared else [[event] for event in prepared]
        bodies = [self._body(group) for group in groups for _ in range(duplicates)]
        if shuffle:
            random.Random(seed).shuffle(bodies)
        async with self._lock:
            return [await self._send(body) for body in bodies]

    async def advance(self, seconds: float) -> list[int]:
        """Move the FrozenClock on and deliver what is due (TypeError on another clock)."""
        if not isinstance(self.clock, FrozenClock):
            raise TypeError("advance needs an emulator built with a FrozenClock")
        self.clock.advance(timedelta(seconds=seconds))
        return await self.deliver_due()

    async def deliver_due(self, until: datetime | None = None) -> list[int]:
        """Deliver what the world made due by `until` (default now), then the retries due by then:
        the receiver's statuses."""
        async with self._lock:
            now = self.clock.now() if until is None else min(until, self.clock.now())
            events: list[Event] = list(self.simulation.due_events(now))
            while self._pending and self._pending[0][0] <= now:
                events.append(heapq.heappop(self._pending)[2])
            statuses = [await self._send(self._body([event])) for event in self.webhook_events(events)]
            due = []
            while self._retries and self._retries[0].due <= now:
                due.append(heapq.heappop(self._retries))
            for retry in due:
                statuses.append(await self._send(retry.body, retry))
            return statuses

    async def flush(self) -> list[int]:
        """Retry every queued body now, whatever its due time."""
        async with self._lock:
            due, self._retries = sorted(self._retries), []
            return [await self._send(retry.body, retry) for retry in due]

    def _body(self, events: list[Event]) -> bytes:
        return webhook_bytes(webhook_for(events, waba_id=self.waba_id, display_numbers=self.display_numbers))

    async def _send(self, body: bytes, retry: _Retry | None = None) -> int:
        """One attempt; a failed one goes (back) in the retry queue. Hold the lock."""
        status = await self._post(body, signature(body, self._app_secret))
        if status == 200:
            self.delivered += 1
            return status
        self.refused += 1
        now = self.clock.now()
        attempts = retry.attempts + 1 if retry else 1
        first = retry.first if retry else now
        if now - first < RETRY_FOR:
            delay = min(RETRY_FIRST * 2 ** (attempts - 1), RETRY_MOST)
            self._seq += 1
            heapq.heappush(self._retries, _Retry(now + timedelta(seconds=delay), self._seq, body, attempts, first))
        else:
            log.warning("webhook dropped after %d attempts over 7 days", attempts)
        return status

    async def _post(self, body: bytes, header: str | None) -> int:
        """POST one body as Meta does; the receiver's HTTP status, or 0 when there was no answer."""
        if not self.receiver_url:
            return 0
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT))
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        if header is not None:
            headers["X-Hub-Signature-256"] = header
        try:
            async with self._session.post(self.receiver_url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.info("webhook not delivered to %s: %s", self.receiver_url, exc)
            status = 0
        if self._report is not None:
            self._report(f"{self.clock.now():%H:%M:%S} webhook {_contents(body)} -> {self.receiver_url}: "
                         f"{status or 'no answer'}")
        return status

    def _seconds_to_next(self) -> float | None:
        dues = [d for d in (self.simulation.next_due(),) if d is not None]
        if self._pending:
            dues.append(self._pending[0][0])
        if self._retries:
            dues.append(self._retries[0].due)
        if not dues:
            return None
        return max((min(dues) - self.clock.now()).total_seconds(), 0.0)

    def _kick(self) -> None:
        """Something may be due now (a send scheduled statuses or an async failure)."""
        if self._live:
            self._wake.set()
        else:  # only what is due now: a later `advance` must deliver (and report) its own
            self._background(self.deliver_due(self.clock.now()))

    def _background(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- media --------------------------------------------------------------------------------------
    def _inbound_media(self, media: Media, number_id: str) -> Media:
        assert media.media_id is not None
        stored = self._media.get(media.media_id)
        if stored is None:
            mime_type = media.mime_type or "application/octet-stream"
            stored = _MediaFile(_fake_file(media.media_id, mime_type), mime_type, number_id)
            self._media[media.media_id] = stored
        digest = base64.b64encode(hashlib.sha256(stored.data).digest()).decode()
        return replace(media, sha256=digest, size=len(stored.data))

    # --- HTTP ---------------------------------------------------------------------------------------
    def _make_app(self) -> web.Application:
        app = web.Application(
            client_max_size=max(_UPLOAD_LIMITS.values()) + 1_000_000, middlewares=[self._report_request]
        )
        router = app.router
        router.add_post("/_emulator/advance", self._control_advance)
        router.add_post("/_emulator/customer_writes", self._control_customer_writes)
        router.add_post("/_emulator/status", self._control_status)
        router.add_post("/_emulator/deliver_raw", self._control_deliver_raw)
        router.add_post("/_emulator/flush", self._control_flush)
        router.add_post("/_emulator/receiver", self._control_receiver)
        router.add_get("/_emulator/customers", self._control_customers)
        router.add_get("/_emulator/state", self._control_state)
        router.add_get("/_media/{media_id}", self._download)
        router.add_post(f"/{_VERSION}/{{number_id}}/messages", self._graph(self._messages))
        router.add_post(f"/{_VERSION}/{{number_id}}/media", self._graph(self._upload))
        router.add_get(f"/{_VERSION}/{{waba_id}}/message_templates", self._graph(self._templates))
        router.add_get(f"/{_VERSION}/{{object_id}}", self._graph(self._object))
        router.add_delete(f"/{_VERSION}/{{object_id}}", self._graph(self._delete))
        return app

    @web.middleware
    async def _report_request(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """One line per request answered: method, path without its query (a media URL's holds its
        expiry), status. Headers, and so the token, are never shown."""
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            if self._report is not None:
                self._report(f"{self.clock.now():%H:%M:%S} {request.method} {request.path} -> {status}")

    def _graph(self, handler: Any) -> Any:
        """A Graph endpoint: version and token checked, `_Refused` and WhatsAppError as error objects."""

        async def endpoint(request: web.Request) -> web.StreamResponse:
            try:
                version = request.match_info["version"]
                if int(version[1:].split(".")[0]) < OLDEST_VERSION:
                    raise _Refused(
                        2635, f"You are calling a deprecated version of the Graph API. Please update to "
                        f"the latest version: {self.api_version}.",
                    )
                if not self._authorized(request):
                    raise _Refused(190, "Invalid OAuth access token - Cannot parse access token", 401)
                return await handler(request)
            except _Refused as refused:
                return self._error(refused.code, refused.details, refused.http_status)
            except WhatsAppError as error:
                return self._error(error.code, error.details, error.http_status)

        return endpoint

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self._token.encode())

    def _error(self, code: int, details: str, http_status: int) -> web.Response:
        self._seq += 1
        trace = base64.urlsafe_b64encode(hashlib.sha256(f"fbtrace:{self._seq}".encode()).digest()[:15]).decode()
        error: dict[str, Any] = {"message": f"(#{code}) {title(code)}", "type": "OAuthException", "code": code}
        if code == 190:
            error["message"] = details
        elif code == 2635:
            error["message"] = f"(#{code}) {details}"
        else:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        error["fbtrace_id"] = trace
        headers = {}
        if http_status == 401:
            headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{details}"'
        return web.json_response({"error": error}, status=http_status, headers=headers)

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            body = loads(await request.read())
        except ValueError:
            raise _Refused(100, "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise _Refused(100, "The request body must be a JSON object.")
        return body

    def _unknown_object(self, object_id: str, method: str) -> _Refused:
        return _Refused(
            100,
            f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
            "missing permissions, or does not support this operation.",
        )

    # POST /{version}/{phone_number_id}/messages
    async def _messages(self, request: web.Request) -> web.Response:
        number_id = request.match_info["number_id"]
        if number_id not in self.display_numbers:
            raise self._unknown_object(number_id, "post")
        body = await self._json(request)
        if body.get("messaging_product") != "whatsapp":
            raise _Refused(100, "The parameter messaging_product is required and must be \"whatsapp\".")
        if "status" in body:
            return self._mark_read(body)
        person, contact = self._recipient(body)
        kind = body.get("type", "text")
        now = self.clock.now()
        try:
            if kind == "template":
                sent = self._send_template(number_id, person, body, now)
            elif kind in _FREE_FORM:
                sent = self._send_free_form(number_id, person, kind, body, now)
            else:
                raise _Refused(131051, f"Message type {kind!r} is not supported.")
        except WhatsAppError as error:
            if error.code != 131047 or self.window_errors == "sync":
                raise
            sent = self._fail_later(number_id, person.id, error, now)
        self._sent[sent.wamid] = (number_id, person.id)
        self._kick()
        return web.json_response({"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": sent.wamid}]})

    def _mark_read(self, body: dict[str, Any]) -> web.Response:
        if body.get("status") != "read":
            raise _Refused(100, "The parameter status must be \"read\".")
        wamid = body.get("message_id")
        if not isinstance(wamid, str) or not wamid:
            raise _Refused(131008, "The parameter message_id is required.")
        if not wamid.startswith("wamid."):
            raise _Refused(100, f"Invalid message_id {wamid!r}.")
        return web.json_response({"success": True})

    def _recipient(self, body: dict[str, Any]) -> tuple[Person, dict[str, str]]:
        """The customer addressed by `recipient` (a BSUID or a number) or `to` (a number), and the
        response's contacts entry: {"input", "wa_id"} or, for a BSUID, {"input", "user_id"}."""
        given = body.get("recipient") or body.get("to")
        if not isinstance(given, str) or not given.strip():
            raise _Refused(131008, "The parameter to is required.")
        if "." in given:  # a business-scoped user id, "DE.1349..."
            person = self._people.get(given.strip())
            if person is None:
                raise _Refused(131026, f"{given} is not a WhatsApp user of the emulator (GET /_emulator/customers).")
            return person, {"input": given, "user_id": person.id}
        digits = re.sub(r"[\s()+\-]", "", given)
        if not digits.isdigit():
            raise _Refused(100, f"Invalid parameter to: {given!r} is not a phone number.")
        person = self._phones.get(digits)
        if person is None:
            raise _Refused(131026, f"{given} is not on WhatsApp (not one of the emulator's customers: GET /_emulator/customers).")
        return person, {"input": given, "wa_id": person.id}

    def _send_free_form(self, number_id: str, person: Person, kind: str, body: dict[str, Any], now: datetime) -> Sent:
        """Anything but a template: the window rule is the Simulation's (send_text); the text it is
        given only stands in for the content, which the mock's customers never look at."""
        part = body.get(kind)
        if part is None or (kind != "contacts" and not isinstance(part, dict)):
            raise _Refused(131008, f"The parameter {kind} is required.")
        context = body.get("context")
        reply_to = context.get("message_id") if isinstance(context, dict) else None
        if kind == "text":
            text = part.get("body")
            if not isinstance(text, str):
                raise _Refused(131008, "The parameter text.body is required.")
        elif kind in _MEDIA_KINDS:
            media_id, link = part.get("id"), part.get("link")
            if not media_id and not link:
                raise _Refused(131008, f"The parameter {kind}.id or {kind}.link is required.")
            if media_id and str(media_id) not in self._media:
                raise _Refused(100, f"Invalid parameter {kind}.id: no media with id {media_id}.")
            text = part.get("caption") or f"[{kind}]"
        elif kind == "reaction":
            if not part.get("message_id"):
                raise _Refused(131008, "The parameter reaction.message_id is required.")
            text = "[reaction]"
        else:
            text = f"[{kind}]"
        return self.simulation.send_text(number_id, person.id, text, now, reply_to)

    def _send_template(self, number_id: str, person: Person, body: dict[str, Any], now: datetime) -> Sent:
        spec = body.get("template")
        if not isinstance(spec, dict):
            raise _Refused(131008, "The parameter template is required.")
        name = spec.get("name")
        language = spec.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        if not isinstance(name, str) or not name or not isinstance(code, str) or not code:
            raise _Refused(131008, "The parameters template.name and template.language.code are required.")
        template = find(tuple(self.simulation.templates(number_id)), name, code)
        components = spec.get("components") or []
        if not isinstance(components, list):
            raise _Refused(100, "The parameter template.components must be a list.")
        values = _template_values(template, components)
        return self.simulation.send_template(number_id, person.id, name, code, values, now)

    def _fail_later(self, number_id: str, customer_id: str, error: WhatsAppError, now: datetime) -> Sent:
        """Accept the message and fail it in a status webhook, as Meta sometimes does with 131047."""
        self._seq += 1
        tag = hashlib.sha256(f"emulator:{self._seq}".encode()).hexdigest()[:18].upper()
        wamid = "wamid.HBgL" + base64.b64encode(customer_id.encode() + b"\x15\x02\x00\x11\x18\x12" + tag.encode()).decode().rstrip("=")
        failed = StatusChanged(number_id, customer_id, wamid, MessageStatus.FAILED, now, error.code, describe(error.code))
        heapq.heappush(self._pending, (now, self._seq, failed))
        return Sent(wamid, now)

    # POST /{version}/{phone_number_id}/media
    async def _upload(self, request: web.Request) -> web.Response:
        number_id = request.match_info["number_id"]
        if number_id not in self.display_numbers:
            raise self._unknown_object(number_id, "post")
        try:
            form = await request.post()
        except ValueError:
            raise _Refused(100, "Upload media as multipart/form-data.") from None
        if form.get("messaging_product") != "whatsapp":
            raise _Refused(100, "The parameter messaging_product is required and must be \"whatsapp\".")
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise _Refused(131008, "The parameter file is required.")
        data = upload.file.read()
        declared = form.get("type")
        mime_type = (declared if isinstance(declared, str) and declared else upload.content_type) or ""
        base = mime_type.split(";")[0].strip().lower()
        limit = _UPLOAD_LIMITS.get(base)
        if limit is None:
            raise _Refused(131053, f"Unsupported file type {mime_type!r}.")
        sent_as = (upload.content_type or "").split(";")[0].strip().lower()
        if sent_as not in ("", "application/octet-stream", base):
            raise _Refused(131053, f"The file is {sent_as} but the type says {base}.")
        if len(data) > limit:
            raise _Refused(131053, f"{base} files may be at most {limit} bytes; this one has {len(data)}.")
        self._seq += 1
        media_id = str(4_000_000_000_000_000 + self._seq)
        self._media[media_id] = _MediaFile(data, mime_type, number_id)
        return web.json_response({"id": media_id})

    # GET /{version}/{media_id | phone_number_id}
    async def _object(self, request: web.Request) -> web.Response:
        object_id = request.match_info["object_id"]
        media = self._media.get(object_id)
        if media is not None:
            owner = request.query.get("phone_number_id")
            if owner and owner != media.number_id:
                raise self._unknown_object(object_id, "get")
            expires = int(self.clock.now().timestamp()) + MEDIA_URL_SECONDS
            return web.json_response({
                "messaging_product": "whatsapp",
                "url": f"{request.scheme}://{request.host}/_media/{object_id}?exp={expires}",
                "mime_type": media.mime_type,
                "sha256": media.sha256,
                "file_size": str(len(media.data)),
                "id": object_id,
            })
        number = next((n for n in self.simulation.numbers if n.id == object_id), None)
        if number is not None:
            return web.json_response({
                "verified_name": number.department,
                "display_phone_number": number.display,
                "id": number.id,
                "quality_rating": "GREEN",
                "platform_type": "CLOUD_API",
                "throughput": {"level": "STANDARD"},
            })
        raise self._unknown_object(object_id, "get")

    # DELETE /{version}/{media_id}
    async def _delete(self, request: web.Request) -> web.Response:
        object_id = request.match_info["object_id"]
        media = self._media.get(object_id)
        owner = request.query.get("phone_number_id")
        if media is None or (owner and owner != media.number_id):
            raise self._unknown_object(object_id, "delete")
        del self._media[object_id]
        return web.json_response({"success": True})

    # GET /_media/{media_id}
    async def _download(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(190, "Invalid OAuth access token - Cannot parse access token", 401)
        media = self._media.get(request.match_info["media_id"])
        expires = request.query.get("exp", "")
        if media is None or not expires.isdigit() or int(expires) < self.clock.now().timestamp():
            return web.Response(status=404, text="Not found: fetch a new URL from GET /{version}/{media_id}.")
        return web.Response(body=media.data, headers={"Content-Type": media.mime_type})

    # GET /{version}/{waba_id}/message_templates
    async def _templates(self, request: web.Request) -> web.Response:
        waba_id = request.match_info["waba_id"]
        if waba_id != self.waba_id:
            raise self._unknown_object(waba_id, "get")
        query = request.query
        documents = [
            doc for doc in (template_document(t) for t in self._waba_templates())
            if all(not query.get(key) or str(doc[key]).lower() == query[key].lower()
                   for key in ("name", "status", "category", "language"))
        ]
        limit_text = query.get("limit", "25")
        if not limit_text.isdigit() or int(limit_text) < 1:
            raise _Refused(100, f"Invalid parameter limit: {limit_text!r}.")
        limit = int(limit_text)
        start = _cursor_index(query["after"]) + 1 if "after" in query else 0
        page = documents[start : start + limit]
        answer: dict[str, Any] = {"data": page}
        if page:
            last = start + len(page) - 1
            answer["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(last)}}
            if last + 1 < len(documents):
                answer["paging"]["next"] = str(request.url.update_query(after=_cursor(last), limit=str(limit)))
        return web.json_response(answer)

    def _waba_templates(self) -> list[Template]:
        """The account's catalogue: the numbers' catalogues, one template per name and language.

        The mock gives each number its own catalogue; a WABA has one. Sends are still checked against
        the sending number's catalogue, so a template listed from another number's extras answers
        132001 there (none of those extras is APPROVED, so nothing sendable is affected)."""
        seen: dict[tuple[str, str], Template] = {}
        for number in self.simulation.numbers:
            for template in self.simulation.templates(number.id):
                seen.setdefault((template.name, template.language), template)
        return list(seen.values())

    # --- control endpoints --------------------------------------------------------------------------
    async def _control_advance(self, request: web.Request) -> web.Response:
        body = await _control_json(request)
        seconds = body.get("seconds", 0)
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            return _control_error("seconds must be a number of seconds, 0 or more")
        if not isinstance(self.clock, FrozenClock):
            return _control_error("the emulator runs on the real clock: it cannot be advanced", 409)
        statuses = await self.advance(seconds)
        return web.json_response({"now": self.clock.now().isoformat(), "statuses": statuses, "retry_queue": len(self._retries)})

    async def _control_customer_writes(self, request: web.Request) -> web.Response:
        body = await _control_json(request)
        number_id = body.get("phone_number_id")
        if number_id not in self.display_numbers:
            return _control_error(f"unknown phone_number_id {number_id!r}; the numbers are {', '.join(self.display_numbers)}")
        person = self._person(body.get("customer_id"))
        if person is None:
            return _control_error(f"unknown customer {body.get('customer_id')!r}; see GET /_emulator/customers")
        topic = body.get("topic", "greeting")
        if topic not in TOPICS:
            return _control_error(f"topic must be one of {', '.join(TOPICS)}")
        kind = body.get("kind", "text")
        event = self.simulation.customer_writes(number_id, person.id, self.clock.now(), kind, topic)
        text = body.get("text")
        if isinstance(text, str) and event.message.type == "text":
            event = replace(event, message=replace(event.message, text=text))
        statuses = await self.deliver([event])
        return web.json_response({"id": event.message.id, "timestamp": event.message.timestamp.isoformat(), "statuses": statuses})

    async def _control_status(self, request: web.Request) -> web.Response:
        body = await _control_json(request)
        status = body.get("status")
        if status not in ("sent", "delivered", "read", "failed"):
            return _control_error("status must be one of sent, delivered, read, failed")
        wamid = body.get("wamid")
        if wamid is None:
            pair = (body.get("phone_number_id"), body.get("customer_id"))
            person = self._person(pair[1])
            wamid = next((w for w, sent_to in reversed(self._sent.items())
                          if person is not None and sent_to == (pair[0], person.id)), None)
        if wamid not in self._sent:
            return _control_error("give the wamid of a message sent through this emulator, or the phone_number_id "
                                  "and customer_id it was sent to")
        code = body.get("code", 131026 if status == "failed" else None)
        if code is not None and (status != "failed" or not isinstance(code, int) or isinstance(code, bool)):
            return _control_error("code is a whole number, and only for status failed")
        number_id, customer_id = self._sent[wamid]
        event = StatusChanged(number_id, customer_id, wamid, MessageStatus(status), self.clock.now(), code,
                              describe(code) if code is not None else None)
        return web.json_response({"wamid": wamid, "statuses": await self.deliver([event])})

    async def _control_deliver_raw(self, request: web.Request) -> web.Response:
        body = await _control_json(request)
        if isinstance(body.get("raw"), str):
            bodies = [body["raw"].encode("utf-8")]
        elif isinstance(body.get("body"), (dict, list)):
            items = body["body"] if isinstance(body["body"], list) else [body["body"]]
            bodies = [webhook_bytes(item) for item in items]
        else:
            return _control_error("give the payload as body (an object or a list of them) or raw (a string)")
        times, seed = body.get("times", 1), body.get("seed", 0)
        if not isinstance(times, int) or times < 1 or not isinstance(seed, int):
            return _control_error("times must be a whole number from 1 and seed a whole number")
        copies = [b for b in bodies for _ in range(times)]
        if body.get("shuffle"):
            random.Random(seed).shuffle(copies)
        how = body.get("signature")
        async with self._lock:
            statuses = []
            for copy in copies:
                header = {None: signature(copy, self._app_secret), "missing": None, "bad": "sha256=" + "0" * 64}.get(how, how)
                statuses.append(await self._post(copy, header))
        return web.json_response({"statuses": statuses})

    async def _control_flush(self, request: web.Request) -> web.Response:
        return web.json_response({"statuses": await self.flush()})

    async def _control_receiver(self, request: web.Request) -> web.Response:
        body = await _control_json(request)
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return _control_error("url must be an http(s) URL")
        self.receiver_url = url
        return web.json_response({"receiver_url": url, "statuses": await self.flush()})

    async def _control_customers(self, request: web.Request) -> web.Response:
        numbers = [n.id for n in self.simulation.numbers]
        return web.json_response([
            {
                "id": p.id,
                "name": p.customer.name,
                "phone": p.customer.phone,
                "username": p.customer.username,
                "number_ids": [n for n in numbers if self.simulation.last_inbound(n, p.id) is not None],
            }
            for p in self.simulation.people
        ])

    async def _control_state(self, request: web.Request) -> web.Response:
        next_due = self.simulation.next_due()
        return web.json_response({
            "now": self.clock.now().isoformat(),
            "clock": "frozen" if isinstance(self.clock, FrozenClock) else "real",
            "next_due": next_due.isoformat() if next_due else None,
            "retry_queue": len(self._retries),
            "delivered": self.delivered,
            "refused": self.refused,
            "receiver_url": self.receiver_url,
            "window_errors": self.window_errors,
            "waba_id": self.waba_id,
            "numbers": self.display_numbers,
        })

    def _person(self, given: object) -> Person | None:
        if not isinstance(given, str):
            return None
        return self._people.get(given) or self._phones.get(given.lstrip("+"))


_REPORTED = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED, MessageStatus.FAILED)


def _template_values(template: Template | None, components: list[Any]) -> dict[str, str]:
    """The values of a template send, keyed like Template.parameters(): by `parameter_name` for
    NAMED templates, else by position within the header or body (the first {{n}} placeholder of
    that component gets the first value). Values beyond the placeholders get made-up keys, so the
    Simulation sees the count mismatch (132000)."""
    values: dict[str, str] = {}
    for component in components:
        if not isinstance(component, dict):
            continue
        kind = str(component.get("type", "")).lower()
        if kind not in ("header", "body"):
            continue  # buttons: the catalogue's buttons take no parameters
        names = component_parameters(template, kind) if template else []
        position = 0
        for parameter in component.get("parameters") or []:
            text = _parameter_text(parameter)
            if text is None:
                continue  # a media header: no placeholder to fill
            key = parameter.get("parameter_name")
            if not isinstance(key, str) or not key:
                key = names[position] if position < len(names) else f"{kind}#{position + 1}"
            position += 1
            values[key] = text
    return values


def _parameter_text(parameter: object) -> str | None:
    if not isinstance(parameter, dict):
        return None
    kind = parameter.get("type")
    if kind == "text":
        text = parameter.get("text")
        return text if isinstance(text, str) else ""
    if kind in ("currency", "date_time"):
        fallback = (parameter.get(kind) or {}).get("fallback_value")
        return fallback if isinstance(fallback, str) else ""
    return None


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"cursor:{index}".encode()).decode().rstrip("=")


def _cursor_index(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith("cursor:"):
            return int(text[len("cursor:"):])
    except (ValueError, UnicodeDecodeError):
        pass
    raise _Refused(100, f"Invalid cursor {cursor!r}.")


async def _control_json(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = loads(await request.read())
    except ValueError:
        raise web.HTTPBadRequest(text="the body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


def _control_error(sentence: str, status: int = 400) -> web.Response:
    return web.json_response({"error": sentence}, status=status)


def _contents(body: bytes) -> str:
    """What a webhook body carries, counted ("1 message", "2 statuses"): never what it says."""
    try:
        doc = loads(body)
        values = [c.get("value") or {} for e in doc.get("entry") or [] for c in e.get("changes") or []]
    except (ValueError, TypeError, AttributeError):
        return f"{len(body)} bytes"
    counts = []
    for key, one, many in (("messages", "message", "messages"), ("statuses", "status", "statuses"),
                           ("message_echoes", "echo", "echoes")):
        n = sum(len(v.get(key) or ()) for v in values if isinstance(v, dict))
        if n:
            counts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(counts) or f"{len(body)} bytes"


def _fake_file(media_id: str, mime_type: str) -> bytes:
    """A small, deterministic file of the right kind for an inbound media id."""
    base = mime_type.split(";")[0].strip().lower()
    tag = f"wadesk emulator media {media_id}".encode()
    if base == "image/png":
        return _png(tag)
    if base == "image/jpeg":
        # SOI, a comment segment, EOI: what a sniffer calls a JPEG, with no picture in it.
        return b"\xff\xd8\xff\xfe" + struct.pack(">H", len(tag) + 2) + tag + b"\xff\xd9"
    if base == "application/pdf":
        return b"%PDF-1.4\n% " + tag + b"\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    if base == "audio/ogg":
        return b"OggS\x00\x02" + bytes(20) + tag
    if base == "audio/mpeg":
        return b"ID3\x03\x00\x00\x00\x00\x00\x00" + tag
    return tag


def _png(text: bytes) -> bytes:
    """A 1x1 white PNG carrying `text` in a tEXt chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"tEXt", b"Comment\x00" + text) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


# --- the CLI ----------------------------------------------------------------------------------------


async def serve_emulator(
    host: str,
    port: int,
    receiver_url: str | None,
    *,
    token: str,
    app_secret: str,
    waba_id: str,
    config: MockConfig,
    speed: float,
    window_errors: Literal["sync", "async"] = "sync",
    history: bool = True,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the emulator on the real clock until cancelled: the mock's history first (as webhooks,
    so the desk gets the demo data), then the live trickle and the statuses of the desk's sends.
    `ready` is set once it listens."""
    emulator = Emulator(
        replace(config, speed=speed), SystemClock(), token=token, app_secret=app_secret, waba_id=waba_id,
        receiver_url=receiver_url, window_errors=window_errors, report=lambda line: print(line, file=sys.stderr, flush=True),
    )
    await emulator.start(host, port)
    log.info("WhatsApp Cloud API emulator on %s, webhooks to %s", emulator.url, receiver_url)
    if ready is not None:
        ready.set()
    try:
        if history:
            await emulator.deliver(emulator.history_events())
        await emulator.run()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    """`wadesk emulator [options]`: secrets come from environment variables only."""
    parser = argparse.ArgumentParser(
        prog="wadesk emulator",
        allow_abbrev=False,
        description="A local WhatsApp Cloud API on the mock's customers: point the cloud backend's graph_url at it. "
        "It prints a line for each request it answers and each webhook it delivers.",
        epilog=CONTROL_ENDPOINTS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, help="the wadesk config file (its [mock] and [webhook] sections)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788)
    parser.add_argument("--receiver-url", help="where to POST webhooks (default: from [webhook] in the config)")
    parser.add_argument("--waba-id", help="the WhatsApp Business Account id (default: cloud.waba_id, else 102290129340398)")
    parser.add_argument("--speed", type=float, help="how many times faster than real time the customers live")
    parser.add_argument("--window-errors", choices=("sync", "async"), default="sync",
                        help="131047 as an HTTP error (sync) or as a failed status webhook (async)")
    parser.add_argument("--no-history", action="store_true", help="do not deliver the mock's history at start")
    parser.add_argument("--token-env", default=None, help="variable holding the access token (default WHATSAPP_ACCESS_TOKEN)")
    parser.add_argument("--app-secret-env", default=None, help="variable holding the app secret (default WHATSAPP_APP_SECRET)")
    args = parser.parse_args(argv)
    try:
        config = load(args.config)
    except ConfigError as error:
        print(f"wadesk emulator: {error}", file=sys.stderr)
        return 2
    token_env = args.token_env or config.cloud.access_token_env
    secret_env = args.app_secret_env or config.cloud.app_secret_env
    token, secret = os.environ.get(token_env, ""), os.environ.get(secret_env, "")
    missing = [name for name, value in ((token_env, token), (secret_env, secret)) if not value]
    if missing:
        print(f"wadesk emulator: set the environment variable(s) {', '.join(missing)} (the desk must use the same values).",
              file=sys.stderr)
        return 2
    speed = args.speed if args.speed is not None else config.mock.speed
    if speed <= 0:
        print("wadesk emulator: --speed must be greater than 0.", file=sys.stderr)
        return 2
    hook = config.webhook
    receiver_url = args.receiver_url or f"http://{hook.host}:{hook.port}{hook.path}"
    waba_id = args.waba_id or config.cloud.waba_id or "102290129340398"
    numbers = ", ".join(f"{n.id} ({n.department}, {n.display})" for n in config.mock.numbers)
    print(
        f"WhatsApp Cloud API emulator on http://{args.host}:{args.port}, webhooks to {receiver_url}\n"
        f"  waba_id {waba_id}; numbers {numbers}\n"
        f"  point the desk at it: [cloud] graph_url = \"http://{args.host}:{args.port}\", waba_id = \"{waba_id}\",\n"
        f"  and one [[cloud.numbers]] per number above. Ctrl-C stops it.",
        file=sys.stderr,
    )
    try:
        asyncio.run(serve_emulator(
            args.host, args.port, receiver_url, token=token, app_secret=secret, waba_id=waba_id,
            config=config.mock, speed=speed, window_errors=args.window_errors, history=not args.no_history,
        ))
    except KeyboardInterrupt:
        return 0
    except OSError as error:
        print(f"wadesk emulator: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
