"""States as words and symbols, so they read without colour (NO_COLOR, monochrome terminals)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.cells import cell_len

from desk.config import WEEKDAYS
from desk.durations import short_duration
from desk.models import Conversation, ConversationStatus, Message, MessageStatus, Priority
from desk.sla import SlaKind, SlaState
from desk.status import current
from desk.store import audit
from desk.store.audit import AuditEntry
from desk.text import display_name, flatten
from desk.views import Owner, owner
from desk.window import WindowState

_SLA_SYMBOL = {SlaKind.OK: "✓", SlaKind.DUE_SOON: "▲", SlaKind.BREACHED: "✖"}
_PAUSED_SYMBOL = {SlaKind.OK: "‖", SlaKind.DUE_SOON: "▲"}
"""A paused clock that is due soon keeps its warning sign; otherwise the pause sign (one cell wide)."""


def fit(forms: Sequence[str], width: int | None) -> str:
    """The first of `forms` (longest and most explicit first) that fits in `width` cells; the
    last (shortest) when none does. A label is shortened by choosing a form, never cut in half."""
    if width is not None:
        for form in forms:
            if cell_len(form) <= width:
                return form
    return forms[-1] if width is not None else forms[0]


def sla_forms(state: SlaState, zone: ZoneInfo, now: datetime) -> list[str]:
    """The SLA's label, longest first: "✖ breached 1h05m", "▲ due 12m", "✓ ok 42m", or outside
    business hours "‖ paused until Wed 09:00 (30m left)" ... "‖ paused"; [""] when nothing waits."""
    if state.kind is SlaKind.NONE:
        return [""]
    if state.paused_until is None:
        return [f"{_SLA_SYMBOL[state.kind]} {state.label()}"]
    sign, when = _PAUSED_SYMBOL[state.kind], local_time(state.paused_until, zone, now)
    return [
        f"{sign} paused until {when} ({short_duration(state.remaining)} left)",
        f"{sign} paused until {when}",
        f"{sign} paused till {when}",
        f"{sign} paused {when}",
        f"{sign} paused",
    ]


def sla_label(state: SlaState, zone: ZoneInfo, now: datetime, width: int | None = None) -> str:
    """The longest of `sla_forms` that fits in `width` cells (the longest of all without one)."""
    return fit(sla_forms(state, zone, now), width)


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
        label = f"{label}{code}: {flatten(message.error_text)}"
    return label


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def local_time(at: datetime, zone: ZoneInfo, now: datetime) -> str:
    """An instant in the agent's zone, past or future: the one home of how a time is shown.

    "14:05" on today's date; "Wed 14:05" in the same (ISO, Monday-first) week, so within six days;
    "Wed 2 Dec 14:05" otherwise, with the year too ("Wed 2 Dec 2025 14:05") in another year. A
    weekday alone would make last Wednesday and next Wednesday read alike. English names, not
    strftime's, so that the locale cannot change a column's width.
    """
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    clock = f"{local.hour:02d}:{local.minute:02d}"
    day = local.date()
    if day == today:
        return clock
    weekday = WEEKDAYS[day.weekday()].capitalize()
    if day.isocalendar()[:2] == today.isocalendar()[:2]:
        return f"{weekday} {clock}"
    year = f" {day.year}" if day.year != today.year else ""
    return f"{weekday} {day.day} {_MONTHS[day.month - 1]}{year} {clock}"


def owner_words(assignee: str | None, me: str) -> str:
    """Whose a conversation is, in words: "● mine", "unassigned", or "owner <id>" (another agent's
    id, neutralised like any text that reaches the screen)."""
    whose = owner(assignee, me)
    if whose is Owner.ALL:
        return f"owner {display_name(assignee or '', 40)}"
    return "● mine" if whose is Owner.MINE else "unassigned"


PRIORITY_MARKS = {Priority.URGENT: "‼", Priority.HIGH: "!", Priority.NORMAL: "", Priority.LOW: "↓"}
"""Before the customer's name in the inbox: urgent ‼, high !, low ↓ (help lists them)."""


def queue_status(conv: Conversation, now: datetime, zone: ZoneInfo, *, until: bool = True) -> str:
    """The conversation's status in words, for the row and the header: "waiting" (open and the
    customer waits on us), "open", "pending", "snoozed" (with `until`: until when, or until the
    customer writes), "resolved"."""
    status = current(conv, now)
    if status is ConversationStatus.SNOOZED:
        if not until:
            return "snoozed"
        return f"snoozed to {local_time(conv.snoozed_until, zone, now)}" if conv.snoozed_until else "snoozed until they write"
    if status is ConversationStatus.OPEN:
        return "waiting" if conv.waiting_since else "open"
    return str(status.value)


def labels_text(labels: Sequence[str]) -> str:
    """"#refund #vip" (labels are tidy already: one line, no control characters)."""
    return " ".join(f"#{label}" for label in labels)


def activity(entry: AuditEntry, zone: ZoneInfo, now: datetime) -> str:
    """An audit entry in words, for the transcript: "Ana resolved it", "the customer wrote:
    reopened", "Ana snoozed it to Wed 09:00". The agent's name is neutralised."""
    who = display_name(entry.agent, 30) if entry.agent else "the desk"
    detail = entry.detail
    if entry.action == audit.REOPENED:
        return "the customer wrote: open again"
    if entry.action == audit.ASSIGNED:
        return f"{who} gave it to {display_name(detail, 30)}" if detail else f"{who} gave it back to nobody"
    if entry.action == audit.PRIORITY:
        return f"{who} set the priority to {detail}"
    if entry.action == audit.LABELS:
        return f"{who} changed the labels: {display_name(detail, 60)}"
    if entry.action == audit.STATUS:
        status = detail.partition(" ")[0]
        if status == "snoozed":
            until = audit.until_of(detail)
            return f"{who} snoozed it " + (f"to {local_time(until, zone, now)}" if until else "until the customer writes")
        return {"open": f"{who} opened it", "pending": f"{who} made it pending", "resolved": f"{who} resolved it"}.get(
            status, f"{who} set it {display_name(status, 20)}"
        )
    return f"{who}: {display_name(entry.action, 20)} {display_name(detail, 40)}"
_LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "pt": "Portuguese", "fr": "French", "de": "German", "it": "Italian",
    "el": "Greek", "ar": "Arabic", "hi": "Hindi", "gu": "Gujarati", "tr": "Turkish", "ru": "Russian",
    "id": "Indonesian", "lv": "Latvian", "ja": "Japanese", "zh": "Chinese", "ko": "Korean", "nl": "Dutch",
    "pl": "Polish", "uk": "Ukrainian",
}
"""The English name of each language desk.language can detect (its LANGUAGES)."""


def language_name(code: str) -> str:
    """"es" -> "Spanish"; a code we have no name for is shown as itself."""
    return _LANGUAGE_NAMES.get(code.lower(), code)
