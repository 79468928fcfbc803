"""What the queue menu's choice does to a conversation, and the sentence that tells the agent:
the one place the conversation screen and the inbox row share."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from desk.models import Conversation, ConversationStatus, Priority
from engine.writer import StoreWriter
from tui.labels import local_time
from tui.screens.queue_menu import QueueChoice

MORNING = time(9)


def snooze_until(value: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    """When a snooze chosen as `value` ends: None until the customer writes; "1h", "4h"; or
    "tomorrow" at 09:00 in the agent's zone."""
    if value == "write":
        return None
    if value == "tomorrow":
        day = now.astimezone(zone).date() + timedelta(days=1)
        return datetime.combine(day, MORNING, tzinfo=zone).astimezone(now.tzinfo)
    return now + timedelta(hours=int(value.removesuffix("h")))


async def carry_out(
    writer: StoreWriter, conv: Conversation, choice: QueueChoice, now: datetime, zone: ZoneInfo
) -> str:
    """Make the change; returns the sentence for the agent."""
    if choice.kind == "status":
        status = ConversationStatus(choice.value)
        await writer.set_status(conv.id, status)
        return {
            ConversationStatus.OPEN: "The conversation is open.",
            ConversationStatus.PENDING: "Pending: waiting on the customer; their next message opens it again.",
            ConversationStatus.RESOLVED: "Conversation resolved.",
        }.get(status, f"The conversation is {status.value}.")
    if choice.kind == "snooze":
        until = snooze_until(choice.value, now, zone)
        await writer.set_status(conv.id, ConversationStatus.SNOOZED, until)
        if until is None:
            return "Snoozed until the customer writes."
        return f"Snoozed to {local_time(until, zone, now)}; a message from the customer wakes it sooner."
    if choice.kind == "priority":
        priority = Priority(choice.value)
        await writer.set_priority(conv.id, priority)
        return f"Priority {priority.value}."
    labels = [label for label in choice.value.split(",")]
    await writer.set_labels(conv.id, labels)
    tidy = writer.store.conversation(conv.id)
    shown = " ".join(f"#{label}" for label in tidy.labels) if tidy is not None else ""
    return f"Labels: {shown}." if shown else "No labels."
