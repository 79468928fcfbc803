"""Service-level agreements: the one home of the rule.

A conversation waits on us from the customer's first message that no successful reply has answered
(`Conversation.waiting_since`) until our next successful reply. While it waits a clock runs: the
first-response budget until we have ever replied, the next-response budget after that. The clock counts
business time only: the configured weekdays between opening and closing time in the hours' own time
zone, holidays (local dates) excepted; a message outside hours starts the clock at the next opening. A
`waiting_since` in the future (a skewed clock) counts as now. The conversation is breached once
now >= its due time (and reads how long overdue, in wall-clock time), due soon while the business time
left is at most the warning threshold, ok otherwise. A resolved conversation, or one not waiting on us,
has no SLA state. With no business days at all the clock never runs out: always ok, never due.
Outside business hours a clock that has not run out is paused, and says until when (`paused_until`,
the next opening): "ok 30m" on a Saturday would read as if half an hour were all that is left.

Business hours are local clock times, so a 09:00-17:00 day is 8 real hours on either side of a DST
change, and a 00:00-24:00 day is 23 or 25 real hours on the day the clocks change.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from desk.config import WEEKDAYS, BusinessHoursConfig, SlaConfig, clock_time, zone
from desk.durations import short_duration
from desk.models import Conversation, ConversationStatus

UTC = timezone.utc
ZERO = timedelta(0)
NEVER = datetime.max.replace(tzinfo=UTC)
"""What `add_business_time` returns when the clock never runs out (no business days at all)."""

_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0)


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """When the SLA clocks run: the same opening hours on each of `weekdays`, in `tz`."""

    weekdays: frozenset[int]
    """0 = Monday .. 6 = Sunday."""
    start: time
    """Opening time, local to `tz`."""
    end: time | None
    """Closing time, local to `tz`; None is midnight at the end of the day."""
    tz: ZoneInfo
    holidays: frozenset[date] = frozenset()
    """Local dates on which the clocks do not run."""

    def __post_init__(self) -> None:
        # A day that closes before it opens would make add_business_time search forever.
        if self.end is not None and self.end <= self.start:
            raise ValueError("business hours must end after they start")

    @classmethod
    def always(cls) -> BusinessHours:
        """Around the clock, every day: business time is plain elapsed time."""
        return cls(frozenset(range(7)), _MIDNIGHT, None, ZoneInfo("UTC"))

    @classmethod
    def from_config(cls, cfg: BusinessHoursConfig) -> BusinessHours:
        """From a config section that `desk.config.load` has already checked."""
        start = clock_time(cfg.start, "business_hours.start")
        days = frozenset(WEEKDAYS.index(d) for d in cfg.days)
        if start is None:
            # start = "24:00" passes the config check but leaves no business time in any day.
            start, days = _MIDNIGHT, frozenset()
        return cls(
            weekdays=days,
            start=start,
            end=clock_time(cfg.end, "business_hours.end"),
            tz=zone(cfg.timezone, "business_hours.timezone"),
            holidays=frozenset(date.fromisoformat(d) for d in cfg.holidays),
        )

    @property
    def is_always(self) -> bool:
        """Every day, all day, no holidays: whatever the zone, business time is elapsed time."""
        return len(self.weekdays) == 7 and self.start == _MIDNIGHT and self.end is None and not self.holidays

    def span(self, day: date) -> tuple[datetime, datetime] | None:
        """The local `day`'s opening hours as UTC instants [opens, closes), or None when closed."""
        if day.weekday() not in self.weekdays or day in self.holidays:
            return None
        # Converting each end to UTC on its own is what makes DST right: the local 09:00 and 17:00
        # of a change day are still 8 real hours apart. (Subtracting two datetimes that share a
        # ZoneInfo would give wall-clock differences instead.) A time that a change skips moves
        # forward by the gap (03:30 on a 03:00->04:00 night reads as 04:30), as dateutil's
        # resolve_imaginary does; a repeated time means its first occurrence (fold=0).
        opens = datetime.combine(day, self.start, tzinfo=self.tz).astimezone(UTC)
        if self.end is None:
            closes_local = datetime.combine(day + _ONE_DAY, _MIDNIGHT, tzinfo=self.tz)
        else:
            closes_local = datetime.combine(day, self.end, tzinfo=self.tz)
        closes = closes_local.astimezone(UTC)
        # Hours that fall entirely inside a skipped hour leave nothing on that one day.
        return (opens, closes) if closes > opens else None


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """The budgets for one business number (department)."""

    first_response: timedelta
    next_response: timedelta
    warn_before: timedelta
    """Due soon once this much business time or less is left."""
    hours: BusinessHours

    @classmethod
    def from_config(cls, cfg: SlaConfig) -> SlaPolicy:
        """From a config section that `desk.config.load` has already checked."""
        return cls(
            first_response=timedelta(minutes=cfg.first_response_minutes),
            next_response=timedelta(minutes=cfg.next_response_minutes),
            warn_before=timedelta(minutes=cfg.warn_before_minutes),
            hours=BusinessHours.from_config(cfg.business_hours),
        )


def _utc(at: datetime) -> datetime:
    # Arithmetic on a datetime in another zone would be wall-clock arithmetic: normalise first.
    tz = at.tzinfo
    if tz is UTC:
        return at  # the common case, and astimezone() is not free (~4 us): 100k rows at start
    if tz is None:
        raise ValueError(f"naive datetime {at!r}: the SLA works on aware UTC datetimes")
    return at.astimezone(UTC)


def business_time_between(start: datetime, end: datetime, hours: BusinessHours) -> timedelta:
    """The business time inside [start, end); zero if end <= start."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return ZERO
    if hours.is_always:
        return end - start
    total = ZERO
    # A day's hours end by its local midnight, so no day before start's local date can reach start.
    day = start.astimezone(hours.tz).date()
    last = end.astimezone(hours.tz).date()
    while day <= last:
        span = hours.span(day)
        if span is not None:
            lo, hi = max(span[0], start), min(span[1], end)
            if hi > lo:
                total += hi - lo
        day += _ONE_DAY
    return total


def next_opening(at: datetime, hours: BusinessHours) -> datetime | None:
    """When a clock stopped at `at` (outside business hours) starts again: the next opening.

    None while the clock runs at `at`, and when it never runs (no business days at all)."""
    at = _utc(at)
    if hours.is_always or not hours.weekdays:
        return None
    day = at.astimezone(hours.tz).date()
    try:
        # Terminates as add_business_time does: some weekday comes round every week.
        while True:
            span = hours.span(day)
            if span is not None and span[1] > at:
                return span[0] if span[0] > at else None
            day += _ONE_DAY
    except OverflowError:
        return None


def add_business_time(start: datetime, budget: timedelta, hours: BusinessHours) -> datetime:
    """The instant at which `budget` of business time has elapsed since `start`.

    Outside hours the clock starts at the next opening; a budget that runs out exactly at closing
    time is due at closing time. Returns `NEVER` when there are no business days at all. Costs one
    step per local day spanned; around-the-clock hours are plain arithmetic.
    """
    start = _utc(start)
    if budget < ZERO:
        raise ValueError("budget must not be negative")
    try:
        if hours.is_always:
            return start + budget
        if not hours.weekdays:
            return NEVER
        left = budget
        day = start.astimezone(hours.tz).date()
        # Terminates: some weekday comes round every week and holidays are finite; a day left empty
        # by a DST gap is only ever one day.
        while True:
            span = hours.span(day)
            if span is not None and span[1] > start:
                begin = max(span[0], start)
                available = span[1] - begin
                if left <= available:
                    return begin + left
                left -= available
            day += _ONE_DAY
    except OverflowError:
        # Past year 9999: as good as never.
        return NEVER


class SlaKind(str, enum.Enum):
    NONE = "none"
    """Nothing waiting on us, or resolved."""
    OK = "ok"
    DUE_SOON = "due_soon"
    BREACHED = "breached"


FIRST_RESPONSE = "first response"
NEXT_RESPONSE = "next response"


@dataclass(frozen=True, slots=True)
class SlaState:
    kind: SlaKind
    clock: str
    """"first response", "next response", or "" when no clock runs."""
    due_at: datetime | None
    """None when no clock runs, or when it never runs out (no business days)."""
    remaining: timedelta
    """Business time left while not breached (timedelta.max when never due); zero when breached."""
    overdue: timedelta
    """Wall-clock time since due_at when breached; zero otherwise."""
    paused_until: datetime | None = None
    """Outside business hours, when the clock (ok or due soon) starts again; None while it runs."""

    def label(self) -> str:
        """Words that read without colour: "", "ok 42m", "due 12m", "paused", "breached 1h05m".

        (The UI says until when a clock is paused, in the agent's zone: tui.labels.)"""
        if self.kind is SlaKind.NONE:
            return ""
        if self.kind is SlaKind.BREACHED:
            return f"breached {short_duration(self.overdue)}"
        if self.paused_until is not None:
            return "paused"
        if self.due_at is None:
            return "ok"
        word = "due" if self.kind is SlaKind.DUE_SOON else "ok"
        return f"{word} {short_duration(self.remaining)}"


NO_SLA = SlaState(SlaKind.NONE, "", None, ZERO, ZERO)


def sla_state(conv: Conversation, policy: SlaPolicy, now: datetime) -> SlaState:
    """Where `conv` stands against `policy` at `now` (the rule is in this module's docstring)."""
    if conv.status is ConversationStatus.RESOLVED or conv.waiting_since is None:
        return NO_SLA
    now = _utc(now)
    if conv.first_reply_at is None:
        clock, budget = FIRST_RESPONSE, policy.first_response
    else:
        clock, budget = NEXT_RESPONSE, policy.next_response
    start = min(_utc(conv.waiting_since), now)
    due_at = add_business_time(start, budget, policy.hours)
    if due_at == NEVER:
        return SlaState(SlaKind.OK, clock, None, timedelta.max, ZERO)
    if now >= due_at:
        return SlaState(SlaKind.BREACHED, clock, due_at, ZERO, now - due_at)
    remaining = business_time_between(now, due_at, policy.hours)
    kind = SlaKind.DUE_SOON if remaining <= policy.warn_before else SlaKind.OK
    return SlaState(kind, clock, due_at, remaining, ZERO, next_opening(now, policy.hours))
