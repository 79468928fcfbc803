"""The contract between the desk and whatever speaks WhatsApp (the mock, the Cloud API).

A backend reports what happens as domain events (`events()`), and does what the agent asks
(send text, send a template, mark read). It never touches the store or the UI: the app hands its
events to the store and its results to the outbox.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from desk.models import BusinessNumber, Customer, Event, Template


class Capability(enum.Flag):
    """What a backend can do beyond sending text; the UI hides what is missing."""

    NONE = 0
    TEMPLATES = enum.auto()
    MARK_READ = enum.auto()
    MEDIA_DOWNLOAD = enum.auto()
    TEMPLATE_SYNC = enum.auto()
    SEND_FILES = enum.auto()
    WEBHOOKS = enum.auto()
    """Receives webhooks (a listening address; `drain()` applies what was acknowledged on stop):
    what `wadesk serve` runs."""
    REACTIONS = enum.auto()
    """Sends an emoji reaction to a customer's message (`send_reaction`)."""
    SHARED = enum.auto()
    """Other agents share the store (the hub, docs/team.md): taking a conversation is a claim
    that can be lost, others' presence shows (`others`, `tell_presence`), and the link to the
    shared store can be down (`link`, `watch`)."""


@dataclass(frozen=True, slots=True)
class Sent:
    """WhatsApp accepted a message (accepted, not delivered: statuses follow as events)."""

    wamid: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SyncFailure:
    """The last template sync failed: when, and why in a sentence (shown in the picker)."""

    at: datetime
    sentence: str


class Link(str, enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"
    """The shared store cannot be reached: the desk says so, keeps drafts, queues nothing."""
    REFUSED = "refused"
    """The shared store refused this agent (a revoked or unknown token): the desk stops acting."""


@dataclass(frozen=True, slots=True)
class LinkState:
    link: Link
    sentence: str = ""
    """Why, for the agent (empty when ONLINE)."""


@dataclass(frozen=True, slots=True)
class Presence:
    """Another agent viewing, typing in or leaving a conversation (SHARED): shown, never stored."""

    conversation_id: str
    agent: str
    state: str
    """viewing, typing or left."""
    at: datetime | None


@dataclass(frozen=True, slots=True)
class Said:
    """Something the agent should be told once, in a sentence (back online, read everything again)."""

    sentence: str


News = LinkState | Presence | Said
"""What a SHARED backend tells its watchers (`Backend.watch`), from any thread."""


class Backend(ABC):
    """A source of events and a way to send. Errors are `backends.errors.WhatsAppError`s; a request
    whose outcome is unknown raises `backends.errors.OutcomeUnknown`.

    Each send_* takes `key`: the outbox's id of the message, the same for every attempt at it. A
    backend that sends through another party (the hub) gives it as that party's idempotency key;
    one that calls WhatsApp itself (mock, cloud) ignores it."""

    name: str = "?"
    capabilities: Capability = Capability.NONE
    sync_failure: SyncFailure | None = None
    """Set when the latest template sync (TEMPLATE_SYNC) failed, cleared when one succeeds."""

    @abstractmethod
    def business_numbers(self) -> list[BusinessNumber]:
        """Our numbers (departments), in the order the agent sees them."""

    async def start(self) -> None:
        """Connect, start timers or servers. Called once by the app before `events()`."""

    async def stop(self) -> None:
        """Release what `start` took."""

    @abstractmethod
    def events(self) -> AsyncIterator[Event]:
        """What happens, as it happens: messages, statuses, template changes. Never ends on its own.

        The acknowledgement rule: the consumer asks for the next event only once the last one is
        durable in the store (engine.pump waits and retries while the store can keep nothing).
        So when the consumer asks for the next event, the backend may count every event it
        yielded as kept (the cloud backend then marks a webhook body done in its spool); one the
        consumer never got past (cancelled, failed) is given again at the next start."""

    async def batches(self) -> AsyncIterator[list[Event]]:
        """`events()` in groups: each list is what the backend has ready now (at least one event),
        so that the store can make a burst durable with one sync. The acknowledgement rule holds
        per list: asking for the next list means every event of this one is durable."""
        async for event in self.events():
            yield [event]

    def identity(self) -> str | None:
        """The agent this desk acts as when the backend says so (the hub: its token's agent, once
        the store is open); None: the config's agent_id / agent_name decide."""
        return None

    @property
    def receiver_url(self) -> str | None:
        """Where webhooks are received (WEBHOOKS), once started; None for a backend without."""
        return None

    async def drain(self, timeout: float) -> bool:
        """Stop receiving webhooks, then wait up to `timeout` seconds while the pump applies what
        was already acknowledged (each got its 200); True if all of it was. What is left waits
        for the next start. A backend without WEBHOOKS has nothing to drain."""
        return True

    @abstractmethod
    async def send_text(
        self, business_number_id: str, customer: Customer, text: str, reply_to: str | None = None,
        *, key: str | None = None,
    ) -> Sent:
        """Send free text. Outside the 24-hour window WhatsApp answers 131047, and so must a backend."""

    async def send_template(
        self, business_number_id: str, customer: Customer, template: Template, values: dict[str, str],
        *, key: str | None = None,
    ) -> Sent:
        """Send an approved template with its parameters."""
        raise NotImplementedError(f"the {self.name} backend cannot send templates")

    async def send_file(
        self, business_number_id: str, customer: Customer, path: Path, caption: str | None = None,
        *, key: str | None = None,
    ) -> Sent:
        """Send a local file (SEND_FILES): an image as an image, anything else as a document.
        Free-form, so the 24-hour window applies as for text."""
        raise NotImplementedError(f"the {self.name} backend cannot send files")

    async def send_reaction(
        self, business_number_id: str, customer: Customer, message_id: str, emoji: str, *, key: str | None = None
    ) -> Sent:
        """React to the customer's message `message_id` (REACTIONS) with `emoji`; "" removes our
        reaction. Free-form, so the 24-hour window applies as for text."""
        raise NotImplementedError(f"the {self.name} backend cannot send reactions")

    async def templates(self, business_number_id: str) -> list[Template]:
        """The business number's template catalogue, every status included."""
        return []

    async def sync_templates(self) -> None:
        """Fetch every number's catalogue again (TEMPLATE_SYNC); it arrives as TemplatesChanged
        events from `events()`, like any other change."""
        raise NotImplementedError(f"the {self.name} backend cannot sync templates")

    async def download_media(self, media_id: str) -> Path:
        """An inbound file (MEDIA_DOWNLOAD), checked against WhatsApp's sha256, into the data dir."""
        raise NotImplementedError(f"the {self.name} backend cannot download media")

    async def mark_read(self, business_number_id: str, wamid: str) -> None:
        """Tell the customer we read up to this message (blue ticks)."""

    # --- SHARED: a store other agents share ---------------------------------------------------------
    @property
    def link(self) -> LinkState | None:
        """The link to the shared store now; None for a backend without one (not SHARED)."""
        return None

    def watch(self, listener: Callable[[News], None]) -> None:
        """Call `listener` with each piece of news (a new link state, a presence, a sentence to
        say), from whatever thread learnt it."""

    def others(self, conversation_id: str) -> list[Presence]:
        """The other agents viewing or typing in the conversation now, by name."""
        return []

    async def tell_presence(self, conversation_id: str, state: str) -> None:
        """Tell the others this agent is viewing, typing in or has left the conversation."""
