"""What a send costs, before it goes: the one home of WhatsApp's pricing rule as the desk applies it.

The facts (../shared/reference/whatsapp-cloud-api.md §7, "Free entry point" and "Pricing context",
from Meta's pricing page):
- Since 2025-07-01 WhatsApp bills per delivered template message; non-template (service) messages
  are free, and can only be sent inside the 24-hour customer service window (desk/window.py).
- A utility template sent inside the open window is free.
- Marketing and authentication templates are always billed, except inside a free entry point window.
- Free entry point: when a customer writes through a click-to-WhatsApp ad (the message carries a
  `referral`, desk.models.Referral) and we reply within 24 hours, any message type, that reply
  opens a 72-hour window in which all our messages are free. The 24-hour window still governs what
  can be sent: once it closes, only templates, free inside the entry point window.

Only an ad counts (`source_type` "ad"): a referral from a post may not open one, and saying
"free" of a message that is billed is the mistake to avoid. WhatsApp's own word on what it charged
comes afterwards, on the status webhooks (Message.pricing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from desk.models import Direction, Message, Pricing, Template
from desk.summary import NOT_A_REPLY, REPLIED
from desk.window import WINDOW, window

ENTRY_POINT_WINDOW = timedelta(hours=72)
"""How long the free entry point window lasts, from our reply that opens it."""


REGULAR, FREE_SERVICE, FREE_ENTRY_POINT = "regular", "free_customer_service", "free_entry_point"
"""Why a message is billed or free, in the words of WhatsApp's `pricing.type` (§6.5)."""
NOT_ALLOWED = "not_allowed"
"""Not a price: WhatsApp refuses the send (free-form text outside the 24-hour window)."""


@dataclass(frozen=True, slots=True)
class Cost:
    """What sending costs, and why, in words an agent reads before pressing send."""

    type: str
    """REGULAR (billed), FREE_SERVICE, FREE_ENTRY_POINT or NOT_ALLOWED."""
    reason: str

    @property
    def billed(self) -> bool:
        return self.type == REGULAR

    @property
    def allowed(self) -> bool:
        return self.type != NOT_ALLOWED

    def __str__(self) -> str:
        """"free: utility template inside the open 24-hour window", "billed: marketing template"."""
        word = "billed" if self.billed else "not allowed" if not self.allowed else "free"
        return f"{word}: {self.reason}"


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """What the free entry point rule knows of a conversation, read message by message (`after`,
    or `came_from_ad` and `replied`): the customer's latest message from an ad, whether we replied
    since, and the latest window a reply of ours opened."""

    ad_at: datetime | None = None
    answered: bool = False
    """We replied since `ad_at` (within its 24 hours or not: only the first reply can open one)."""
    opened_at: datetime | None = None

    def came_from_ad(self, at: datetime) -> EntryPoint:
        return replace(self, ad_at=at, answered=False)

    def replied(self, at: datetime) -> EntryPoint:
        """After our reply (one that reached WhatsApp) at `at`."""
        if self.ad_at is None or self.answered:
            return self
        return replace(self, answered=True, opened_at=at if at < self.ad_at + WINDOW else self.opened_at)

    def after(self, message: Message) -> EntryPoint:
        """After one more message of the transcript (in time order)."""
        referral = message.referral
        if message.direction is Direction.INBOUND and referral is not None and referral.source_type == "ad":
            return self.came_from_ad(message.timestamp)
        if message.direction is Direction.OUTBOUND and message.type not in NOT_A_REPLY and message.status in REPLIED:
            return self.replied(message.timestamp)  # a failed reply opened nothing; a note is not one
        return self

    def window(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The free entry point window that a send at `now` falls in, as (opens, closes): the one a
        reply opened, or the one this send would open (no reply since the customer came from the
        ad, and its 24 hours still running). None: no such window."""
        if self.opened_at is not None and self.opened_at <= now < self.opened_at + ENTRY_POINT_WINDOW:
            return self.opened_at, self.opened_at + ENTRY_POINT_WINDOW
        # A timestamp ahead (a skewed clock) counts as now, as in desk.window.
        if self.ad_at is not None and not self.answered and now < min(self.ad_at, now) + WINDOW:
            return now, now + ENTRY_POINT_WINDOW
        return None


def entry_point(transcript: Sequence[Message]) -> EntryPoint:
    """The free entry point state of a conversation with this transcript."""
    state = EntryPoint()
    for message in sorted(transcript, key=lambda m: m.timestamp):
        state = state.after(message)
    return state


def template_cost(template: Template, last_inbound_at: datetime | None, entry: EntryPoint, now: datetime) -> Cost:
    """What sending `template` at `now` costs, in a conversation whose customer last wrote at
    `last_inbound_at` (the 24-hour window), with this free entry point state."""
    if entry.window(now) is not None:
        return Cost(FREE_ENTRY_POINT, "inside the 72-hour free entry point window from an ad")
    category = template.category.strip().lower() or "uncategorised"
    if category == "utility":
        if window(last_inbound_at, now).open:
            return Cost(FREE_SERVICE, "utility template inside the open 24-hour window")
        return Cost(REGULAR, "utility template outside the 24-hour window")
    return Cost(REGULAR, f"{category} template")


def service_cost(last_inbound_at: datetime | None, entry: EntryPoint, now: datetime) -> Cost:
    """What a free-form message (text, a file) costs at `now`: nothing, but only inside the window."""
    if not window(last_inbound_at, now).open:
        return Cost(NOT_ALLOWED, "the 24-hour window is closed: only a template can be sent")
    if entry.window(now) is not None:
        return Cost(FREE_ENTRY_POINT, "inside the 72-hour free entry point window from an ad")
    return Cost(FREE_SERVICE, "service message inside the open 24-hour window")


def expected_pricing(cost: Cost, template: Template | None) -> Pricing | None:
    """The `pricing` WhatsApp's status webhooks give a message of this cost (§6.5, §7): what the
    mock sends, as WhatsApp does. None for a send WhatsApp refuses."""
    if not cost.allowed:
        return None
    if cost.type == FREE_ENTRY_POINT:
        category = "referral_conversion"
    else:
        category = template.category.strip().lower() if template is not None else "service"
    return Pricing(cost.billed, category, "PMP", cost.type)
