"""Service-level agreements: the one home of the rule.

Policies. Each business number (department) has a policy, the top-level `[sla]` unless it has its
own; a priority may change any of its budgets (`[sla.priorities.urgent]`), and the conversation's
priority picks which (`SlaPolicy.for_priority`). A budget that is off (0 in the config, None here)
runs no clock.

Clocks. A conversation waits on us from the customer's first message that no successful reply has
answered (`Conversation.waiting_since`) until our next successful reply. While it waits a response
clock runs: the first-response budget until we have ever replied, the next-response budget after
that, so the next-response clock starts again at each customer message that follows our reply.
The resolution clock runs from the episode's first question (`Conversation.opened_at`) until the
conversation is resolved, whether or not the customer waits (pending and snoozed do not stop it).
Resolving stops every clock; the resolution time (business time from `opened_at` to `resolved_at`)
is kept (`resolution_time`).

Every clock counts business time only: the configured weekdays between opening and closing time in
the hours' own time zone, holidays (local dates, listed or a country's public holidays) excepted; a
clock that starts outside hours starts at the next opening, and a due time never falls outside
hours (a budget that would run out overnight runs out the next morning). A start in the future (a
skewed clock) counts as now. A clock is breached once now >= its due time (and reads how long
overdue, in wall-clock time), due soon while the business time left is at most the warning
threshold, ok otherwise. The conversation's state (`sla_state`) is that of the clock due first,
which is also its worst (all its clocks share the hours and the threshold); no clock, no state.
With no business days at all a clock never runs out: always ok, never due. Outside business hours
a clock that has not run out is paused, and says until when (`paused_until`, the next opening):
"ok 30m" on a Saturday would read as if half an hour were all that is left.

Business hours are local clock times, so a 09:00-17:00 day is 8 real hours on either side of a DST
change, and a 00:00-24:00 day is 23 or 25 real hours on the day the clocks change.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from desk.config import WEEKDAYS, BusinessHoursConfig, SlaBudgets, SlaConfig, clock_time, country_holidays, zone
from desk.durations import short_duration
from desk.models import Conversation, ConversationStatus, Priority

UTC = timezone.utc
ZERO = timedelta(0)
NEVER = datetime.max.replace(tzinfo=UTC)
"""What `add_business_time` returns when the clock never runs out (no business days at all)."""

_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0)
_UNKNOWN: object = object()


class PublicHolidays:
    """A country's public holidays: each year asked of the `holidays` library once, then a set
    (a library call per inbox row would cost ~20 us; a set lookup ~0.1 us)."""

    __slots__ = ("name", "_year", "_years")

    def __init__(self, name: str, year: Callable[[int], frozenset[date]]) -> None:
        self.name = name
        """How the policy names them: "GB-ENG"."""
        self._year = year
        self._years: dict[int, frozenset[date]] = {}

    def __contains__(self, day: date) -> bool:
        days = self._years.get(day.year)
        if days is None:
            # Two threads may compute the same year at once: they store equal sets.
            days = self._years[day.year] = self._year(day.year)
        return day in days

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicHolidays) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"PublicHolidays({self.name!r})"


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
    public: PublicHolidays | None = None
    """A country's public holidays, on which the clocks do not run either."""
    _spans: dict[date, tuple[datetime, datetime] | None] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    """`span()` per local day, computed once: ~3 us a day otherwise, and a resolution clock of
    days spans many of them for every row."""

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
        public = None
        if cfg.holidays_country:
            name = "-".join(p for p in (cfg.holidays_country, cfg.holidays_subdivision) if p)
            public = PublicHolidays(name, country_holidays(cfg.holidays_country, cfg.holidays_subdivision, "business_hours"))
        return cls(
            weekdays=days,
            start=start,
            end=clock_time(cfg.end, "business_hours.end"),
            tz=zone(cfg.timezone, "business_hours.timezone"),
            holidays=frozenset(date.fromisoformat(d) for d in cfg.holidays),
            public=public,
        )

    @property
    def is_always(self) -> bool:
        """Every day, all day, no holidays: whatever the zone, business time is elapsed time."""
        return (
            len(self.weekdays) == 7 and self.start == _MIDNIGHT and self.end is None and not self.holidays
            and self.public is None
        )

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays or (self.public is not None and day in self.public)

    def span(self, day: date) -> tuple[datetime, datetime] | None:
        """The local `day`'s opening hours as UTC instants [opens, closes), or None when closed."""
        cached = self._spans.get(day, _UNKNOWN)
        if cached is not _UNKNOWN:
            return cached  # type: ignore[return-value]  # only ever a span or None was stored
        span = self._spans[day] = self._span(day)
        return span

    def _span(self, day: date) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.weekdays or self.is_holiday(day):
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
    """The budgets of one business number (department), for one priority or for all of them.

    A budget of None runs no clock. The number's policy holds its priorities' own policies
    (`priorities`); callers pass the number's policy and the rule picks the conversation's."""

    first_response: timedelta | None
    next_response: timedelta | None
    warn_before: timedelta
    """Due soon once this much business time or less is left (zero: never due soon)."""
    hours: BusinessHours
    resolution: timedelta | None = None
    priority: Priority | None = None
    """The priority whose budgets these are; None: the number's own (every priority without its own)."""
    priorities: Mapping[Priority, SlaPolicy] = field(default_factory=dict, hash=False)
    """The priorities whose budgets differ, each a policy of its own (with no priorities itself)."""

    @classmethod
    def from_config(cls, cfg: SlaConfig) -> SlaPolicy:
        """From a config section that `desk.config.load` has already checked."""
        hours = BusinessHours.from_config(cfg.business_hours)  # one object: its day cache is shared
        base = cls(
            first_response=_budget(cfg.first_response_minutes),
            next_response=_budget(cfg.next_response_minutes),
            warn_before=timedelta(minutes=cfg.warn_before_minutes),
            hours=hours,
            resolution=_budget(cfg.resolution_minutes),
        )
        own = {Priority(name): base._with(Priority(name), budgets) for name, budgets in cfg.priorities.items()}
        return cls(base.first_response, base.next_response, base.warn_before, hours, base.resolution, None, own)

    def _with(self, priority: Priority, budgets: SlaBudgets) -> SlaPolicy:
        def pick(minutes: int | None, mine: timedelta | None) -> timedelta | None:
            return mine if minutes is None else _budget(minutes)

        warn = budgets.warn_before_minutes
        return SlaPolicy(
            first_response=pick(budgets.first_response_minutes, self.first_response),
            next_response=pick(budgets.next_response_minutes, self.next_response),
            warn_before=self.warn_before if warn is None else timedelta(minutes=warn),
            hours=self.hours,
            resolution=pick(budgets.resolution_minutes, self.resolution),
            priority=priority,
        )

    def for_priority(self, priority: Priority) -> SlaPolicy:
        """The policy a conversation of this priority is held to."""
        return self.priorities.get(priority, self) if self.priorities else self


def _budget(minutes: int) -> timedelta | None:
    """A configured budget: 0 is off."""
    return timedelta(minutes=minutes) if minutes else None


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
RESOLUTION = "resolution"


@dataclass(frozen=True, slots=True)
class SlaState:
    kind: SlaKind
    clock: str
    """"first response", "next response", "resolution", or "" when no clock runs."""
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


@dataclass(frozen=True, slots=True)
class SlaClock:
    """A clock that runs for a conversation: from `start` (as stored: a future one is not yet
    clamped to now), `budget` of business time."""

    name: str
    start: datetime
    budget: timedelta


def running_clocks(conv: Conversation, policy: SlaPolicy) -> list[SlaClock]:
    """The clocks that run for `conv` under `policy` (the priority's: `SlaPolicy.for_priority`)."""
    if conv.status is ConversationStatus.RESOLVED:
        return []
    clocks = []
    if conv.waiting_since is not None:
        if conv.first_reply_at is None:
            name, budget = FIRST_RESPONSE, policy.first_response
        else:
            name, budget = NEXT_RESPONSE, policy.next_response
        if budget is not None:
            clocks.append(SlaClock(name, conv.waiting_since, budget))
    if policy.resolution is not None and conv.opened_at is not None:
        clocks.append(SlaClock(RESOLUTION, conv.opened_at, policy.resolution))
    return clocks


def due_at(clock: SlaClock, hours: BusinessHours, now: datetime | None = None) -> datetime:
    """When `clock` runs out (`NEVER` without business days); a start after `now` counts as now."""
    start = _utc(clock.start)
    if now is not None:
        start = min(start, _utc(now))
    return add_business_time(start, clock.budget, hours)


def due_soon_at(clock: SlaClock, policy: SlaPolicy) -> datetime | None:
    """When `clock` becomes due soon (its business time left reaches the warning threshold): at
    its start when the budget is no more than the threshold; None when the threshold is zero."""
    if not policy.warn_before:
        return None
    if clock.budget <= policy.warn_before:
        return _utc(clock.start)
    return add_business_time(clock.start, clock.budget - policy.warn_before, policy.hours)


def _state(clock: SlaClock, due: datetime, policy: SlaPolicy, now: datetime) -> SlaState:
    if due == NEVER:
        return SlaState(SlaKind.OK, clock.name, None, timedelta.max, ZERO)
    if now >= due:
        return SlaState(SlaKind.BREACHED, clock.name, due, ZERO, now - due)
    remaining = business_time_between(now, due, policy.hours)
    kind = SlaKind.DUE_SOON if remaining <= policy.warn_before else SlaKind.OK
    return SlaState(kind, clock.name, due, remaining, ZERO, next_opening(now, policy.hours))


def sla_clocks(conv: Conversation, policy: SlaPolicy, now: datetime) -> list[SlaState]:
    """Every clock that runs for `conv` at `now`, each with its due time: what the conversation
    shows. `policy` is the number's (the conversation's priority picks its own)."""
    now = _utc(now)
    policy = policy.for_priority(conv.priority)
    return [_state(c, due_at(c, policy.hours, now), policy, now) for c in running_clocks(conv, policy)]


def sla_state(conv: Conversation, policy: SlaPolicy, now: datetime) -> SlaState:
    """Where `conv` stands against `policy` at `now`: its clock due first (the rule is in this
    module's docstring). Runs for every inbox row at start: the common cases return early."""
    if conv.status is ConversationStatus.RESOLVED:
        return NO_SLA
    policy = policy.for_priority(conv.priority)
    if conv.waiting_since is None and (policy.resolution is None or conv.opened_at is None):
        return NO_SLA
    now = _utc(now)
    first: tuple[SlaClock, datetime] | None = None
    for clock in running_clocks(conv, policy):
        due = due_at(clock, policy.hours, now)
        if first is None or due < first[1]:
            first = (clock, due)
    return NO_SLA if first is None else _state(*first, policy, now)


def resolution_time(conv: Conversation, policy: SlaPolicy) -> timedelta | None:
    """How long (business time) the conversation took from its episode's first question to being
    resolved; None while it is not resolved, or when it was resolved before that episode began."""
    if conv.status is not ConversationStatus.RESOLVED or conv.resolved_at is None or conv.opened_at is None:
        return None
    if conv.resolved_at < conv.opened_at:
        return None
    return business_time_between(conv.opened_at, conv.resolved_at, policy.for_priority(conv.priority).hours)
