"""The domain's nouns: business numbers, customers, conversations, messages, templates.

Plain dataclasses, no I/O. Every datetime here is timezone-aware UTC; conversion to the agent's
zone happens only when something is shown.
"""

from __future__ import annotations

import enum
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any


class Direction(str, enum.Enum):
    INBOUND = "in"
    OUTBOUND = "out"


class MessageStatus(str, enum.Enum):
    """Where one of our messages is. Inbound messages are always RECEIVED, notes always NOTE."""

    RECEIVED = "received"
    QUEUED = "queued"
    """Recorded in the outbox; the request has not left yet."""
    SENDING = "sending"
    """The request may have left. Found like this at start-up, it becomes UNKNOWN."""
    UNKNOWN = "unknown"
    """The request left and no answer came back: it may or may not have been sent."""
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"
    NOTE = "note"
    """An internal note (type "note"): for colleagues, never queued, never sent to anyone."""


RETRYABLE = frozenset({MessageStatus.FAILED, MessageStatus.UNKNOWN})
"""Our message did not reach the customer, or nobody knows: only these carry WhatsApp's error
(or ours), and only these may the agent send again."""


class ConversationStatus(str, enum.Enum):
    """Where a conversation stands in the queue (desk.status holds the rules between them)."""

    OPEN = "open"
    PENDING = "pending"
    """We answered and wait on the customer: a message from them opens it again."""
    SNOOZED = "snoozed"
    """Out of the queue until a time (`Conversation.snoozed_until`) or until the customer writes."""
    RESOLVED = "resolved"


class Priority(str, enum.Enum):
    """How urgent a conversation is: it orders the queue before the SLA does, and picks the
    SLA policy."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """0 (urgent) .. 3 (low): most urgent first when sorted."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


@dataclass(frozen=True, slots=True)
class BusinessNumber:
    """One of our WhatsApp numbers; agents know it by its department."""

    id: str
    """WhatsApp's phone_number_id."""
    display: str
    """The number as customers see it, e.g. "+1 555-0100"."""
    department: str


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    """wa_id when there is a phone number, else the business-scoped user id (e.g. "US.1349...")."""
    name: str
    phone: str | None = None
    """E.164 with "+", or None for a customer known only by a username."""
    username: str | None = None
    country: str | None = None
    """ISO 3166 alpha-2, used to format the number the way its owner writes it."""


@dataclass(frozen=True, slots=True)
class Media:
    kind: str
    """image, video, audio, voice, document, sticker."""
    mime_type: str | None = None
    caption: str | None = None
    filename: str | None = None
    size: int | None = None
    media_id: str | None = None
    sha256: str | None = None
    path: str | None = None
    """For a file we send: where it is on this machine, so a failed send can be retried."""


def file_kind(name: str) -> tuple[str, str]:
    """How WhatsApp carries a file we send, as (kind, MIME type): JPEG and PNG as images (the only
    image formats it takes), anything else as a document."""
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return ("image" if mime in ("image/jpeg", "image/png") else "document"), mime


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Pricing:
    """What WhatsApp says it charges for one of our messages: the `pricing` of a status webhook
    (whatsapp-cloud-api.md §6.5). Kept as WhatsApp spells it; "" where it said nothing."""

    billable: bool | None
    """WhatsApp's own flag (to be deprecated: `type` says it too); None when absent."""
    category: str
    """marketing, marketing_lite, utility, authentication, authentication-international, service,
    referral_conversion."""
    model: str
    """`pricing_model`: PMP (per message, since 2025-07-01) or CBP (per conversation, legacy)."""
    type: str
    """regular (billed), free_customer_service or free_entry_point."""

    @property
    def billed(self) -> bool | None:
        """Whether the message is billed: `type` decides (regular: yes, free_*: no), else
        `billable`; None when WhatsApp said neither."""
        if self.type == "regular":
            return True
        if self.type.startswith("free_"):
            return False
        return self.billable


@dataclass(frozen=True, slots=True)
class Referral:
    """Where a customer came from when their message started at a click-to-WhatsApp ad or post
    (the `referral` of an inbound message, §6.4). Customer-visible ad text and Meta's URLs, kept as
    data: whoever shows them neutralises them (desk.text)."""

    source_url: str | None = None
    source_type: str | None = None
    """"ad" or "post"."""
    source_id: str | None = None
    headline: str | None = None
    body: str | None = None
    media_type: str | None = None
    """"image" or "video"."""
    ctwa_clid: str | None = None
    """Meta's click id, for the advertiser's conversion reports."""


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    """The WhatsApp message id (wamid); for our messages, a local id until WhatsApp gives one."""
    conversation_id: str
    direction: Direction
    type: str
    """text, image, video, audio, voice, document, sticker, location, contacts, reaction,
    interactive, button, order, system, template, unsupported, or any type WhatsApp adds later."""
    timestamp: datetime
    """WhatsApp's timestamp (inbound) or when the agent sent it (outbound)."""
    status: MessageStatus
    text: str = ""
    """Body, caption, reply title, or a one-line rendering of what the message carries."""
    media: Media | None = None
    location: Location | None = None
    contacts: tuple[str, ...] = ()
    """Shared contacts, as "Name +number" lines."""
    reply_to: str | None = None
    """The id of the message this one quotes."""
    reaction_to: str | None = None
    """For a reaction: the id of the message reacted to; text holds the emoji ("" removes it)."""
    template: str | None = None
    """For a template send: "name (language)"."""
    template_values: tuple[tuple[str, str], ...] = ()
    """For a template send: the agent's parameter values, kept so a failed send can be retried."""
    error_code: int | None = None
    error_text: str | None = None
    wamid: str | None = None
    """For our messages: the id WhatsApp gave on acceptance (None until sent)."""
    status_at: datetime | None = None
    agent: str | None = None
    replaces: str | None = None
    """For our messages: the id of the failed or unknown one this one sends again (a retry, or the
    agent's edit of it); that one then offers no retry of its own."""
    pricing: Pricing | None = None
    """For our messages: what WhatsApp said it charges (the latest status that carried pricing)."""
    referral: Referral | None = None
    """For a customer's message: the ad or post they came from (it may open a free entry point
    window, desk.pricing)."""

    def with_status(self, status: MessageStatus, at: datetime | None = None, **changes: Any) -> Message:
        return replace(self, status=status, status_at=at or self.status_at, **changes)


def awaiting_retry(messages: Iterable[Message]) -> list[Message]:
    """Our FAILED or UNKNOWN messages that no later copy replaced, oldest first: the ones that
    offer a retry (or an edit). A replaced one stays in the transcript, marked, and offers none."""
    ours = [m for m in messages if m.direction is Direction.OUTBOUND]
    replaced = {m.replaces for m in ours if m.replaces}
    return [m for m in ours if m.status in RETRYABLE and m.id not in replaced]


def conversation_id(business_number_id: str, customer_id: str) -> str:
    """One conversation per business number + customer; the key is stable across restarts."""
    return f"{business_number_id}~{customer_id}"


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation's summary: what the inbox shows and what the window and SLA rules read."""

    id: str
    business_number_id: str
    customer: Customer
    status: ConversationStatus = ConversationStatus.OPEN
    last_inbound_at: datetime | None = None
    """WhatsApp timestamp of the customer's latest message: the 24-hour window runs from it."""
    last_message_at: datetime | None = None
    preview: str = ""
    preview_direction: Direction | None = None
    unread: int = 0
    waiting_since: datetime | None = None
    """The customer's first message not yet answered by a successful reply; None when we answered."""
    first_reply_at: datetime | None = None
    """None until the first successful reply: until then the first-response SLA applies."""
    last_reply_at: datetime | None = None
    """Our latest successful (accepted) reply; a customer message older than it is answered."""
    message_count: int = 0
    undelivered: bool = False
    """Our latest message failed (refused, or a `failed` status later) and the agent has not opened
    the conversation since: the inbox row says so instead of showing it as sent."""
    assignee: str | None = None
    """The agent id (config `agent_id`) who owns the conversation; None: nobody does."""
    priority: Priority = Priority.NORMAL
    labels: tuple[str, ...] = ()
    """Sorted, each once."""
    snoozed_until: datetime | None = None
    """While SNOOZED: when it comes back to the queue; None: when the customer writes."""
    opened_at: datetime | None = None
    """When this episode began: the customer's first question since the conversation was last
    resolved (or ever). The resolution clock runs from it."""
    resolved_at: datetime | None = None
    """When the conversation was last resolved; kept after it reopens, for the record."""
    language: str | None = None
    """The customer's language as detected from their text (ISO 639-1), None until known."""


# --- templates -------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


class TemplateStatus(str, enum.Enum):
    APPROVED = "APPROVED"
    PENDING = "PENDING"
    REJECTED = "REJECTED"
    PAUSED = "PAUSED"
    DISABLED = "DISABLED"

    @classmethod
    def parse(cls, value: str) -> TemplateStatus | str:
        try:
            return cls(value.upper())
        except ValueError:
            return value


@dataclass(frozen=True, slots=True)
class TemplateButton:
    type: str
    """QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, ..."""
    text: str


@dataclass(frozen=True, slots=True)
class TemplateRef:
    """Which template: WhatsApp names one by its name and its language, on sends and in webhooks.
    Shown (and stored on a message we sent) as "name (language)"."""

    name: str
    language: str

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    language: str
    """As approved, e.g. en_US: a send must use exactly this code."""
    category: str
    status: TemplateStatus | str
    business_number_id: str
    body: str
    header: str | None = None
    footer: str | None = None
    buttons: tuple[TemplateButton, ...] = ()
    parameter_format: str = "POSITIONAL"
    """POSITIONAL ({{1}}) or NAMED ({{first_name}})."""
    id: str = ""

    @property
    def key(self) -> TemplateRef:
        return TemplateRef(self.name, self.language)

    @property
    def status_name(self) -> str:
        """The status as WhatsApp spells it, known to us or not."""
        return self.status.value if isinstance(self.status, TemplateStatus) else str(self.status)

    @property
    def sendable(self) -> bool:
        return self.status is TemplateStatus.APPROVED

    def placeholders(self) -> list[tuple[str, str, str]]:
        """(component, placeholder, key) for each placeholder, header first, as WhatsApp numbers them.

        The key is what the agent fills in. A NAMED placeholder has one key wherever it appears; a
        POSITIONAL header's {{1}} is not the body's {{1}} (each component counts from 1), so its key
        is "header.1". Positional placeholders come in number order, whatever their order in the text.
        """
        named = self.parameter_format.upper() == "NAMED"
        found = []
        for component, text in (("header", self.header or ""), ("body", self.body)):
            names = list(dict.fromkeys(_PLACEHOLDER.findall(text)))
            if not named and all(n.isdigit() for n in names):
                names.sort(key=int)
            found += [(component, n, f"header.{n}" if component == "header" and not named else n) for n in names]
        return found

    def parameters(self) -> list[str]:
        """The values the agent must fill in (keys of `placeholders()`), each once, in order."""
        return list(dict.fromkeys(key for _, _, key in self.placeholders()))

    def render(self, values: dict[str, str], missing: str = "{{{{{}}}}}") -> str:
        """Header, body, footer and buttons as the customer will see them.

        A placeholder without a value is shown as `missing` formatted with its name.
        """

        def fill(text: str, prefix: str = "") -> str:
            def value(m: re.Match[str]) -> str:
                return values.get(prefix + m.group(1)) or values.get(m.group(1)) or missing.format(m.group(1))

            return _PLACEHOLDER.sub(value, text)

        positional_header = "" if self.parameter_format.upper() == "NAMED" else "header."
        parts = []
        if self.header:
            parts.append(fill(self.header, positional_header))
        parts.append(fill(self.body))
        if self.footer:
            parts.append(self.footer)
        if self.buttons:
            parts.append("  ".join(f"[ {b.text} ]" for b in self.buttons))
        return "\n\n".join(parts)


@dataclass(frozen=True, slots=True)
class TemplateChoice:
    """What the template picker returns: which template and the agent's values for its parameters."""

    template: Template
    values: dict[str, str] = field(default_factory=dict)


# --- events: what a backend reports ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A customer's message (or a business message seen in history at first start)."""

    business_number_id: str
    customer: Customer
    message: Message


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """WhatsApp reports what happened to one of our messages, keyed by the wamid it gave us."""

    business_number_id: str
    customer_id: str
    wamid: str
    status: MessageStatus
    timestamp: datetime
    error_code: int | None = None
    error_text: str | None = None
    pricing: Pricing | None = None
    """What WhatsApp charges for the message (on `sent` and on one of `delivered`/`read`)."""


@dataclass(frozen=True, slots=True)
class TemplatesChanged:
    """A business number's template catalogue (or one template's status) changed."""

    business_number_id: str
    templates: tuple[Template, ...]
    synced_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConversationStatusChanged:
    """An agent resolved or reopened a conversation (from history, or from another desk later)."""

    business_number_id: str
    customer_id: str
    status: ConversationStatus
    at: datetime


Event = MessageReceived | StatusChanged | TemplatesChanged | ConversationStatusChanged
