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
from dataclasses import dataclass
from datetime import datetime, timedelta

from desk.models import Direction, Message, Template
from desk.summary import NOT_A_REPLY, REPLIED
from desk.window import WINDOW, window

ENTRY_POINT_WINDOW = timedelta(hours=72)
"""How long the free entry point window lasts, from our reply that opens it."""


@dataclass(frozen=True, slots=True)
class Cost:
    """What sending costs, and why, in words an agent reads before pressing send."""

    billed: bool
    reason: str
    allowed: bool = True
    """False: WhatsApp refuses it (free-form text outside the window)."""

    def __str__(self) -> str:
        """"free: utility template inside the open 24-hour window", "billed: marketing template"."""
        word = "not allowed" if not self.allowed else "billed" if self.billed else "free"
        return f"{word}: {self.reason}"


def entry_point_window(transcript: Sequence[Message], now: datetime) -> tuple[datetime, datetime] | None:
    """The free entry point window that a send at `now` falls in, as (opens, closes): one our reply
    opened within 24 hours of the customer's message from an ad, or the one this send would open
    (no reply since that message, and its 24 hours still running). None: no such window."""
    found: tuple[datetime, datetime] | None = None
    messages = sorted(transcript, key=lambda m: m.timestamp)
    for index, message in enumerate(messages):
        referral = message.referral
        if message.direction is not Direction.INBOUND or referral is None or referral.source_type != "ad":
            continue
        came = min(message.timestamp, now)  # a timestamp ahead counts as now, as in desk.window
        reply = next((m for m in messages[index + 1:] if _replies(m)), None)
        opens = reply.timestamp if reply is not None else now
        if opens < came + WINDOW and opens <= now < opens + ENTRY_POINT_WINDOW:
            found = (opens, opens + ENTRY_POINT_WINDOW)
    return found


def template_cost(template: Template, last_inbound_at: datetime | None, transcript: Sequence[Message],
                  now: datetime) -> Cost:
    """What sending `template` to the customer of this conversation (whose latest message was at
    `last_inbound_at`, with this transcript) costs at `now`."""
    if entry_point_window(transcript, now) is not None:
        return Cost(False, "inside the 72-hour free entry point window from an ad")
    category = template.category.strip().lower() or "uncategorised"
    if category == "utility":
        if window(last_inbound_at, now).open:
            return Cost(False, "utility template inside the open 24-hour window")
        return Cost(True, "utility template outside the 24-hour window")
    return Cost(True, f"{category} template")


def service_cost(last_inbound_at: datetime | None, transcript: Sequence[Message], now: datetime) -> Cost:
    """What a free-form message (text, a file) costs at `now`: nothing, but only inside the window."""
    if not window(last_inbound_at, now).open:
        return Cost(False, "the 24-hour window is closed: only a template can be sent", allowed=False)
    if entry_point_window(transcript, now) is not None:
        return Cost(False, "inside the 72-hour free entry point window from an ad")
    return Cost(False, "service message inside the open 24-hour window")


def _replies(message: Message) -> bool:
    """Our message that reached WhatsApp (a failed one opened nothing; a note is not one)."""
    return message.direction is Direction.OUTBOUND and message.type not in NOT_A_REPLY and message.status in REPLIED
