"""A local WhatsApp Cloud API: Meta's paths, bodies, answers and signed webhooks, on the mock's world.

`wadesk emulator` runs it (emulator/cli.py); tests build an `Emulator` with a FrozenClock and drive
it over HTTP. The rules are the mock's (backends/mock/simulation.py and rules.py): the 24-hour window, the
template catalogue and its checks, the statuses of each send, the customers and their trickle of
messages. The emulator only speaks Meta's wire format around them, so the Cloud backend (graph
client, webhook receiver, parser) is exercised end to end without Meta.
Facts: ../shared/reference/whatsapp-cloud-api.md §1-9.

Every Graph call needs `Authorization: Bearer <token>`, else error 190 with HTTP 401; the version
segment is any v21.0 or later (older ones get 2635), or left out for `api_version`. The endpoints:
emulator/graph.py (messages, templates, the number) and emulator/media.py; any other path or
method is answered with Graph's error object (100), not a page. Webhooks: emulator/delivery.py. Test control:
emulator/control.py. `wadesk emulator` prints one line on stderr for each request it answers and
each webhook it delivers (method, path without its query, status; never a token, a secret or a
customer's text).

In-process: `await emulator.deliver(events, duplicates=1, shuffle=False)` and
`await emulator.advance(seconds)` do the same as the control endpoints.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal

from aiohttp import web

from backends.errors import WhatsAppError
from backends.mock.people import Person
from backends.mock.simulation import Simulation
from desk.clock import Clock, FrozenClock
from desk.config import MockConfig
from desk.models import Direction, Event, MessageReceived, MessageStatus, StatusChanged
from emulator.control import Control
from emulator.delivery import Delivery
from emulator.encode import representable, webhook_bytes, webhook_for
from emulator.files import UPLOAD_LIMITS
from emulator.graph import Graph
from emulator.identity import bsuid
from emulator.media import MediaStore
from emulator.wire import INVALID_TOKEN, Refused, authorized, error_response, unknown_object

__all__ = ["Emulator"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

OLDEST_VERSION = 21
"""Graph API versions before v21.0 have expired by late 2026 (§1)."""

_VERSION = r"{version:v[0-9]+\.[0-9]+}"
_REPORTED = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED, MessageStatus.FAILED)


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
        self.api_version = api_version
        self.window_errors = window_errors
        self.url = ""
        """The bound base URL ("http://127.0.0.1:54321") once started."""
        self.display_numbers = {n.id: n.display for n in self.simulation.numbers}
        self.delivery = Delivery(clock, app_secret, receiver_url, report)
        self.people = {p.id: p for p in self.simulation.people}
        self.phones = {p.customer.phone.lstrip("+"): p for p in self.simulation.people if p.customer.phone}
        self.bsuids = {bsuid(p.id, waba_id): p for p in self.simulation.people}
        """Every customer by their business-scoped user id (emulator/identity.py)."""
        self._customers = {p.id: p.customer for p in self.simulation.people}
        self.media = MediaStore(self)
        self.sent: dict[str, tuple[str, str]] = {}
        """wamid of each message the desk sent -> (phone_number_id, customer id), oldest first."""
        self.callbacks: dict[str, str] = {}
        """wamid -> the send's biz_opaque_callback_data, which its statuses carry back (§2)."""
        self.lock = asyncio.Lock()
        """Held around every delivery, so webhooks go out one at a time and in order."""
        self._token = token
        self._report = report
        self._pending: list[tuple[datetime, int, StatusChanged]] = []  # our own: async 131047s
        self._seq = 0
        self._wake = asyncio.Event()
        self._live = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._control, self._api = Control(self), Graph(self)
        self.app = self._make_app()

    @property
    def receiver_url(self) -> str | None:
        """Where webhooks go (None: nowhere yet; they wait in the retry queue)."""
        return self.delivery.receiver_url

    @receiver_url.setter
    def receiver_url(self, url: str | None) -> None:
        self.delivery.receiver_url = url

    @property
    def delivered(self) -> int:
        return self.delivery.delivered

    @property
    def refused(self) -> int:
        return self.delivery.refused

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
        await self.delivery.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def run(self) -> None:
        """Deliver what comes due on the clock, forever: the live mode of `wadesk emulator`."""
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
                    message = replace(message, media=self.media.inbound(message.media, event.business_number_id))
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
        async with self.lock:
            return [await self.delivery.send(body) for body in bodies]

    async def advance(self, seconds: float) -> list[int]:
        """Move the FrozenClock on and deliver what is due (TypeError on another clock)."""
        if not isinstance(self.clock, FrozenClock):
            raise TypeError("advance needs an emulator built with a FrozenClock")
        self.clock.advance(timedelta(seconds=seconds))
        return await self.deliver_due()

    async def deliver_due(self, until: datetime | None = None) -> list[int]:
        """Deliver what the world made due by `until` (default now), then the retries due by then:
        the receiver's statuses."""
        async with self.lock:
            now = self.clock.now() if until is None else min(until, self.clock.now())
            events: list[Event] = list(self.simulation.due_events(now))
            while self._pending and self._pending[0][0] <= now:
                events.append(heapq.heappop(self._pending)[2])
            statuses = [await self.delivery.send(self._body([event])) for event in self.webhook_events(events)]
            for retry in self.delivery.due(now):
                statuses.append(await self.delivery.send(retry.body, retry))
            return statuses

    async def flush(self) -> list[int]:
        """Retry every queued body now, whatever its due time."""
        async with self.lock:
            return [await self.delivery.send(retry.body, retry) for retry in self.delivery.take_all()]

    def fail_at(self, at: datetime, seq: int, failed: StatusChanged) -> None:
        """Deliver `failed` (a status of our own making, an async 131047) once `at` has come."""
        heapq.heappush(self._pending, (at, seq, failed))

    def kick(self) -> None:
        """Something may be due now (a send scheduled statuses or an async failure)."""
        if self._live:
            self._wake.set()
        else:  # only what is due now: a later `advance` must deliver (and report) its own
            task = asyncio.get_running_loop().create_task(self.deliver_due(self.clock.now()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _body(self, events: list[Event]) -> bytes:
        return webhook_bytes(webhook_for(events, waba_id=self.waba_id, display_numbers=self.display_numbers,
                                         customers=self._customers, callbacks=self.callbacks))

    def _seconds_to_next(self) -> float | None:
        dues = [d for d in (self.simulation.next_due(), self.delivery.next_due()) if d is not None]
        if self._pending:
            dues.append(self._pending[0][0])
        if not dues:
            return None
        return max((min(dues) - self.clock.now()).total_seconds(), 0.0)

    # --- shared by the endpoints ------------------------------------------------------------------
    def next_seq(self) -> int:
        """A number used once: media ids, trace ids, made-up wamids."""
        self._seq += 1
        return self._seq

    def person(self, given: object) -> Person | None:
        """The customer named by a control request: their id, their BSUID, or their number with or
        without "+"."""
        if not isinstance(given, str):
            return None
        return self.people.get(given) or self.bsuids.get(given) or self.phones.get(given.lstrip("+"))

    def authorized(self, request: web.Request) -> bool:
        return authorized(request, self._token)

    def error(self, code: int, details: str, http_status: int) -> web.Response:
        return error_response(code, details, http_status, self.next_seq())

    # --- HTTP ---------------------------------------------------------------------------------------
    def _make_app(self) -> web.Application:
        app = web.Application(
            client_max_size=max(UPLOAD_LIMITS.values()) + 1_000_000, middlewares=[self._report_request]
        )
        control, graph, media = self._control, self._api, self.media
        router = app.router
        router.add_post("/_emulator/advance", control.advance)
        router.add_post("/_emulator/customer_writes", control.customer_writes)
        router.add_post("/_emulator/status", control.status)
        router.add_post("/_emulator/deliver_raw", control.deliver_raw)
        router.add_post("/_emulator/flush", control.flush)
        router.add_post("/_emulator/receiver", control.receiver)
        router.add_get("/_emulator/customers", control.customers)
        router.add_get("/_emulator/state", control.state)
        router.add_get("/_media/{media_id}", media.download)
        # The version segment may be left out: Graph then uses the app's default version (§1).
        for root in (f"/{_VERSION}", ""):
            router.add_post(f"{root}/{{number_id}}/messages", self._graph(graph.messages))
            router.add_post(f"{root}/{{number_id}}/media", self._graph(media.upload))
            router.add_get(f"{root}/{{waba_id}}/message_templates", self._graph(graph.templates))
            router.add_get(f"{root}/{{object_id}}", self._graph(self._object))
            router.add_delete(f"{root}/{{object_id}}", self._graph(media.delete))
        router.add_route("*", "/{path:.*}", self._graph(self._unsupported))
        return app

    # GET /{version}/{media_id | phone_number_id}
    async def _object(self, request: web.Request) -> web.Response:
        object_id = request.match_info["object_id"]
        found = self.media.lookup(request, object_id) or self._api.number(request, object_id)
        if found is None:
            raise unknown_object(object_id, "get")
        return found

    # anything else: a Graph error object, as Graph answers a path or method it does not serve
    async def _unsupported(self, request: web.Request) -> web.Response:
        if request.path.startswith("/_"):  # a mistyped control endpoint: no Graph there
            raise web.HTTPNotFound(text=f"no such endpoint {request.path}; see wadesk emulator --help")
        parts = [p for p in request.path.split("/") if p]
        if parts and re.fullmatch(r"v[0-9]+\.[0-9]+", parts[0]):
            parts = parts[1:]
        raise unknown_object(parts[0] if parts else "", request.method.lower())

    @web.middleware
    async def _report_request(self, request: web.Request, handler: Handler) -> web.StreamResponse:
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

    def _graph(self, handler: Handler) -> Handler:
        """A Graph endpoint: version and token checked, `Refused` and WhatsAppError as error objects."""

        async def endpoint(request: web.Request) -> web.StreamResponse:
            try:
                version = request.match_info.get("version", self.api_version)
                if int(version[1:].split(".")[0]) < OLDEST_VERSION:
                    raise Refused(
                        2635, f"You are calling a deprecated version of the Graph API. Please update to "
                        f"the latest version: {self.api_version}.",
                    )
                if not self.authorized(request):
                    raise Refused(190, INVALID_TOKEN, 401)
                return await handler(request)
            except Refused as refused:
                return self.error(refused.code, refused.details, refused.http_status)
            except WhatsAppError as error:
                return self.error(error.code, error.details, error.http_status)

        return endpoint
