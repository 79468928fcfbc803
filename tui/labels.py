"""States as words and symbols, so they read without colour (NO_COLOR, monochrome terminals)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from desk.durations import short_duration
from desk.models import Conversation, Message, MessageStatus
from desk.sla import SlaKind, SlaState
from desk.window import WindowState

_SLA_SYMBOL = {SlaKind.OK: "✓", SlaKind.DUE_SOON: "▲", SlaKind.BREACHED: "✖"}


def sla_label(state: SlaState) -> str:
    """"✖ breached 1h05m", "▲ due 12m", "✓ ok 42m", or "" when nothing waits on us."""
    if state.kind is SlaKind.NONE:
        return ""
    return f"{_SLA_SYMBOL[state.kind]} {state.label()}"


def window_label(state: WindowState) -> str:
    """"◷ 23h10m left", "◔ closing 42m", "■ closed 3d4h", "■ closed" (never opened)."""
    if state.open:
        if state.closing_soon:
            return f"◔ closing {short_duration(state.remaining)}"
        return f"◷ {short_duration(state.remaining)} left"
    if state.closed_for is None:
        return "■ closed"
    return f"■ closed {short_duration(state.closed_for)}"


def waited_label(conv: Conversation, now: datetime) -> str:
    """How long the customer has waited for us, e.g. "wait 2h05m"; "" when nothing waits.

    Words, not a stopwatch emoji: its width differs between terminals and fonts."""
    if conv.waiting_since is None:
        return ""
    return f"wait {short_duration(now - conv.waiting_since)}"


STATUS_MARK = {
    MessageStatus.QUEUED: "… queued",
    MessageStatus.SENDING: "… sending",
    MessageStatus.UNKNOWN: "? unknown: may not have been sent",
    MessageStatus.SENT: "✓ sent",
    MessageStatus.DELIVERED: "✓✓ delivered",
    MessageStatus.READ: "✓✓ read",
    MessageStatus.PLAYED: "✓✓ played",
    MessageStatus.FAILED: "✖ failed",
}


def status_label(message: Message) -> str:
    """Our message's status in words; a failure says why."""
    label = STATUS_MARK.get(message.status, "")
    if message.status is MessageStatus.FAILED and message.error_text:
        code = f" ({message.error_code})" if message.error_code else ""
        label = f"{label}{code}: {message.error_text}"
    return label


def local_time(at: datetime, zone: ZoneInfo, now: datetime) -> str:
    """A timestamp in the agent's zone: "14:05" today, "Mon 14:05" this week, else "2026-11-02 14:05"."""
    local, today = at.astimezone(zone), now.astimezone(zone)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if abs((today.date() - local.date()).days) < 7:
        return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")
