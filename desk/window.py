"""The 24-hour customer-service window: the one home of the rule.

A conversation's window is open while now < the customer's latest message (WhatsApp's timestamp)
+ 24 hours. No customer message ever: closed. Our own messages, templates included, never open or
extend it. A customer timestamp in the future (a skewed clock) counts as now. Outside the window
the only thing that can be sent is an approved template (WhatsApp answers free text with 131047).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(hours=24)
CLOSING_SOON = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class WindowState:
    open: bool
    closes_at: datetime | None
    """When the window closes (or closed); None when the customer never wrote."""
    remaining: timedelta
    """Time left while open; zero when closed."""
    closing_soon: bool
    closed_for: timedelta | None = None
    """How long ago it closed; None while open or when the customer never wrote."""


def window(last_inbound_at: datetime | None, now: datetime, closing_soon: timedelta = CLOSING_SOON) -> WindowState:
    """The window of a conversation whose customer last wrote at `last_inbound_at`."""
    if last_inbound_at is None:
        return WindowState(False, None, timedelta(0), False, None)
    closes_at = min(last_inbound_at, now) + WINDOW
    if now < closes_at:
        remaining = closes_at - now
        return WindowState(True, closes_at, remaining, remaining <= closing_soon)
    return WindowState(False, closes_at, timedelta(0), False, now - closes_at)


def can_send_free_text(last_inbound_at: datetime | None, now: datetime) -> bool:
    return window(last_inbound_at, now).open
