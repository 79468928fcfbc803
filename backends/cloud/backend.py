"""The WhatsApp Cloud API backend: Graph calls out (httpx), signed webhooks in (aiohttp).

Inbound: the receiver makes each webhook body durable (backends/cloud/spool.py), answers 200, and
queues it; `events()` parses it and yields its events; once the app has applied them (it asks for
the next event only then), the body is marked done. Bodies left undone by a crash are replayed at
the next start: the store applies idempotently.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import httpx

from backends.base import Backend, Capability, Sent, SyncFailure
from backends.cloud import payloads
from backends.cloud.graph import Graph
from backends.cloud.inlet import Inlet, ProcessInlet, ThreadInlet
from backends.cloud.pacing import Pacer
from backends.cloud.webhook import TemplateUpdate, parse_body
from backends.errors import OutcomeUnknown, error_for, error_sentence
from desk.clock import Clock
from desk.config import Config, ConfigError
from desk.models import (
    BusinessNumber,
    Customer,
    Event,
    Template,
    TemplateRef,
    TemplatesChanged,
    TemplateStatus,
    file_kind,
)
from desk.store.rules import merge_templates

log = logging.getLogger(__name__)

BATCH_BODIES = 64
"""Webhook bodies handed to the store together when they wait in the queue (a burst): one journal
sync for them all instead of one each."""


@dataclass(frozen=True)
class Secrets:
    """Read from the environment, never from a file; never shown (repr hides them)."""

    access_token: str = field(repr=False)
    app_secret: str = field(repr=False)
    verify_token: str = field(repr=False)

    @classmethod
    def from_environment(cls, config: Config, environ: Mapping[str, str] | None = None) -> Secrets:
        """The secrets named by the config; a missing variable is a ConfigError naming it."""
        environ = os.environ if environ is None else environ
        cloud = config.cloud
        values = []
        for key, name in (
            ("access_token_env", cloud.access_token_env),
            ("app_secret_env", cloud.app_secret_env),
            ("verify_token_env", cloud.verify_token_env),
        ):
            value = environ.get(name, "")
            if not value:
                raise ConfigError(f"The environment variable {name} (config key cloud.{key}) is not set.")
            values.append(value)
        return cls(*values)


class CloudBackend(Backend):
    name = "cloud"
    capabilities = (
        Capability.TEMPLATES | Capability.MARK_READ | Capability.MEDIA_DOWNLOAD | Capability.TEMPLATE_SYNC
        | Capability.SEND_FILES | Capability.WEBHOOKS | Capability.REACTIONS
    )

    def __init__(
        self,
        config: Config,
        clock: Clock,
        data_dir: Path,
        secrets: Secrets,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._data_dir = data_dir
        self._secrets = secrets
        self._client = client or httpx.AsyncClient()
        cloud = config.cloud
        self.graph = Graph(self._client, cloud.graph_url, cloud.api_version, secrets.access_token, clock, cloud.timeout_seconds)
        self._pacer = Pacer(clock)
        webhook = config.webhook
        inlet = ProcessInlet if webhook.process else ThreadInlet
        self._inlet: Inlet = inlet(data_dir, webhook.host, webhook.port, webhook.path, secrets.app_secret, secrets.verify_token)
        self._queue: asyncio.Queue[tuple[int, bytes] | Event] = asyncio.Queue()
        self._catalogue: dict[str, tuple[Template, ...]] = {}
        self._sync_task: asyncio.Task[None] | None = None

    @property
    def receiver_url(self) -> str:
        """Where the receiver listens (its port is the real one when the config asked for 0)."""
        return (self._inlet.url if self._inlet.url else "") + self._config.webhook.path

    def business_numbers(self) -> list[BusinessNumber]:
        return self._config.numbers()

    # --- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> None:
        await self._inlet.start(lambda seq, body: self._queue.put_nowait((seq, body)))
        log.info("webhook receiver listening on %s", self.receiver_url)
        self._sync_task = asyncio.create_task(self._sync_templates_forever())

    async def drain(self, timeout: float) -> bool:
        """Stop receiving, then wait (up to `timeout` s) until what was received is applied; the
        rest stays in the spool for the next start. True if everything was applied."""
        await self._inlet.stop_receiving()
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        if self._sync_task:
            self._sync_task.cancel()
        await self._inlet.close()
        await self._client.aclose()

    # --- inbound -------------------------------------------------------------------------------------
    async def events(self) -> AsyncIterator[Event]:
        async for batch in self.batches():
            for event in batch:
                yield event

    async def batches(self) -> AsyncIterator[list[Event]]:
        while True:
            items = [await self._queue.get()]
            while len(items) < BATCH_BODIES and not self._queue.empty():
                items.append(self._queue.get_nowait())
            events: list[Event] = []
            done: list[int] = []
            for item in items:
                if isinstance(item, tuple):
                    events.extend(self._parse(*item))
                    done.append(item[0])
                else:
                    events.append(item)
            if events:
                yield events
            # The ack rule: the consumer asks for the next batch only once this one is durable in
            # the store (journaled; engine.pump waits and retries while the store can keep
            # nothing). So only here are these bodies done. A consumer that stops mid-batch
            # (cancelled, failed) never gets here: the bodies replay.
            for seq in done:
                self._inlet.done(seq)
            for _ in items:
                self._queue.task_done()

    def _parse(self, seq: int, body: bytes) -> list[Event]:
        events, unknown = parse_events(seq, body, self._clock.now(), self._catalogue)
        for changed in events:
            if isinstance(changed, TemplatesChanged) and changed.synced_at is None:
                self._catalogue[changed.business_number_id] = merge_templates(
                    self._catalogue.get(changed.business_number_id, ()), changed.templates
                )
        if unknown:
            # A template we have not seen: fetch the catalogue again.
            asyncio.get_running_loop().create_task(self.sync_templates())
        return events

    # --- templates -----------------------------------------------------------------------------------
    async def sync_templates(self) -> None:
        """Fetch the WABA's catalogue (every page) and hand it to the app as events. A failure is
        kept in `sync_failure` (the picker shows it) and raised."""
        for changed in await self.fetch_catalogue():
            self._queue.put_nowait(changed)

    async def fetch_catalogue(self) -> list[TemplatesChanged]:
        """The WABA's catalogue (every page), one TemplatesChanged per number, for whoever applies
        it (the desk's queue, the hub's template sync). A failure is kept in `sync_failure` and raised."""
        numbers = [n.id for n in self.business_numbers()]
        try:
            templates = await self.graph.list_templates(self._config.cloud.waba_id, numbers)
        except Exception as exc:
            self.sync_failure = SyncFailure(self._clock.now(), error_sentence(exc))
            raise
        self.sync_failure = None
        now = self._clock.now()
        found = []
        for number_id in numbers:
            mine = tuple(t for t in templates if t.business_number_id == number_id)
            self._catalogue[number_id] = mine
            found.append(TemplatesChanged(number_id, mine, synced_at=now))
        return found

    async def _sync_templates_forever(self) -> None:
        every = self._config.cloud.template_sync_minutes * 60
        failures = 0
        while True:
            try:
                await self.sync_templates()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - kept in sync_failure, retried soon
                failures += 1
                log.warning("template sync failed (%d in a row): %s", failures, exc)
            await asyncio.sleep(sync_delay(failures, every))

    async def templates(self, business_number_id: str) -> list[Template]:
        return list(self._catalogue.get(business_number_id, ()))

    # --- outbound ------------------------------------------------------------------------------------
    async def send_text(
        self, business_number_id: str, customer: Customer, text: str, reply_to: str | None = None,
        *, key: str | None = None,
    ) -> Sent:
        try:
            payload = payloads.text(customer, text, reply_to=reply_to)
        except ValueError as exc:  # refused before anything left: a failure, not an unknown
            raise error_for(131009, str(exc)) from None
        await self._pacer.wait(business_number_id, customer.id)
        return await self.graph.send_message(business_number_id, payload)

    async def send_template(
        self, business_number_id: str, customer: Customer, template: Template, values: dict[str, str],
        *, key: str | None = None,
    ) -> Sent:
        try:
            payload = payloads.template(customer, template, values)
        except ValueError as exc:  # a missing value: what WhatsApp would answer with 132000
            raise error_for(132000, str(exc)) from None
        await self._pacer.wait(business_number_id, customer.id)
        return await self.graph.send_message(business_number_id, payload)

    async def send_file(
        self, business_number_id: str, customer: Customer, path: Path, caption: str | None = None,
        *, key: str | None = None,
    ) -> Sent:
        """Upload, then send by media id: an image (jpeg, png) as an image, the rest as a document."""
        kind, mime = file_kind(path.name)
        try:
            media_id = await self.graph.upload_media(business_number_id, path, mime)
        except OutcomeUnknown:
            # An upload the customer never sees: nothing was sent, so this is a plain failure.
            raise error_for(2, "The file upload got no answer; nothing was sent.") from None
        payload = payloads.media(
            customer, kind, media_id, caption=caption or None, filename=path.name if kind == "document" else None
        )
        await self._pacer.wait(business_number_id, customer.id)
        return await self.graph.send_message(business_number_id, payload)

    async def send_reaction(
        self, business_number_id: str, customer: Customer, message_id: str, emoji: str, *, key: str | None = None
    ) -> Sent:
        try:
            payload = payloads.reaction(customer, message_id, emoji)
        except ValueError as exc:  # refused before anything left: a failure, not an unknown
            raise error_for(131009, str(exc)) from None
        await self._pacer.wait(business_number_id, customer.id)
        return await self.graph.send_message(business_number_id, payload)

    async def mark_read(self, business_number_id: str, wamid: str) -> None:
        await self.graph.mark_read(business_number_id, wamid)

    async def download_media(self, media_id: str) -> Path:
        """An inbound file, checked against its sha256, into the data directory."""
        return await self.graph.download_media(media_id, self._data_dir / "media")


def parse_events(
    seq: int, body: bytes, now: datetime, catalogue: Mapping[str, Sequence[Template]]
) -> tuple[list[Event], bool]:
    """One webhook body's events, for the desk's pump and the hub's applier alike: its messages
    and statuses, and a TemplatesChanged per number for each template status update found in
    `catalogue` (each number's templates). The second value: an update named a template the
    catalogue does not have (the caller fetches the catalogue again). Problems and skipped parts
    are logged here. Never raises for what the body holds."""
    parsed = parse_body(body, now)  # a date far ahead is taken as now
    events: list[Event] = list(parsed.events)
    unknown = False
    for update in parsed.template_updates:
        changed = template_status_changes(catalogue, update)
        events.extend(changed)
        unknown = unknown or not changed
    for problem in parsed.problems:
        log.warning("WhatsApp reported a problem: (%s) %s %s", problem.code, problem.sentence, problem.details)
    if parsed.skipped:
        log.warning("webhook %d: %d part(s) not understood (the raw body is kept)", seq, parsed.skipped)
    return events, unknown


def template_status_changes(catalogue: Mapping[str, Sequence[Template]], update: TemplateUpdate) -> list[TemplatesChanged]:
    """A template's new status, for every number whose catalogue has it (by id, else by name and
    language): the updated templates only, as events (synced_at None: not a whole catalogue)."""
    changed = []
    for number_id, templates in catalogue.items():
        updated = tuple(
            replace(t, status=TemplateStatus.parse(update.status))
            for t in templates
            if (t.id and t.id == update.template_id) or t.key == TemplateRef(update.name, update.language)
        )
        if updated:
            changed.append(TemplatesChanged(number_id, updated))
    return changed


SYNC_RETRY_FIRST = 30.0
"""Seconds before the first retry of a failed template sync (an emulator not yet started, a blip)."""


def sync_delay(failures: int, every: float) -> float:
    """Seconds until the next template sync: `every` after a success; after failures 30 s, 60 s,
    120 s ... doubling up to `every`, so a fault that clears is noticed soon without hammering Graph."""
    if failures == 0:
        return every
    return min(every, SYNC_RETRY_FIRST * 2.0 ** (failures - 1))

