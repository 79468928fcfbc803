"""The SLA rule (desk/sla.py): business-time maths, states and labels."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.config import BusinessHoursConfig, SlaConfig
from desk.durations import short_duration
from desk.models import Conversation, ConversationStatus, Customer
from desk.sla import (
    NEVER,
    BusinessHours,
    SlaKind,
    SlaPolicy,
    add_business_time,
    business_time_between,
    next_opening,
    sla_state,
)

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
ATHENS = ZoneInfo("Europe/Athens")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
SUNDAY = frozenset({6})
M = timedelta(minutes=1)
H = timedelta(hours=1)


def at(zone: ZoneInfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """A local wall-clock time as the UTC instant the functions take."""
    return datetime(y, mo, d, h, mi, tzinfo=zone).astimezone(UTC)


OFFICE = BusinessHours(WEEKDAYS, time(9), time(17), LONDON)
OFFICE_HOLIDAY = BusinessHours(WEEKDAYS, time(9), time(17), LONDON, frozenset({date(2026, 6, 15)}))
EVENINGS = BusinessHours.from_config(
    BusinessHoursConfig(days=("mon", "tue", "wed", "thu", "fri"), start="18:00", end="24:00", timezone="Europe/London")
)
ATHENS_SUNDAYS = BusinessHours(SUNDAY, time(0), None, ATHENS)
ATHENS_DAYTIME = BusinessHours(EVERY_DAY, time(9), time(17), ATHENS)
# A far-off holiday keeps these off the around-the-clock short cut, so the day-by-day path is tested.
ATHENS_ALL_DAY = BusinessHours(EVERY_DAY, time(0), None, ATHENS, frozenset({date(2030, 1, 1)}))
NY_OFFICE = BusinessHours(WEEKDAYS, time(9), time(17), NEW_YORK)
NY_SUNDAYS = BusinessHours(SUNDAY, time(0), None, NEW_YORK)
# 01:30-02:30 straddles both New York changes: skipped in March, repeated in November.
NY_SMALL_HOURS = BusinessHours(EVERY_DAY, time(1, 30), time(2, 30), NEW_YORK)


# 2026-06-12 is a Friday (London on BST); 2026-03-29 and 2026-11-01 are Sundays.
ADD_CASES = [
    pytest.param(OFFICE, at(LONDON, 2026, 6, 12, 16, 30), H, at(LONDON, 2026, 6, 15, 9, 30), id="friday-16:30-due-monday-09:30"),
    pytest.param(OFFICE, at(LONDON, 2026, 6, 13, 11), H, at(LONDON, 2026, 6, 15, 10), id="saturday-due-monday-10:00"),
    pytest.param(OFFICE_HOLIDAY, at(LONDON, 2026, 6, 12, 16, 30), H, at(LONDON, 2026, 6, 16, 9, 30), id="holiday-skipped"),
    pytest.param(OFFICE, at(LONDON, 2026, 6, 15, 8, 59), H, at(LONDON, 2026, 6, 15, 10), id="08:59-due-10:00"),
    pytest.param(OFFICE, at(LONDON, 2026, 6, 15, 10), 7 * H, at(LONDON, 2026, 6, 15, 17), id="runs-out-at-closing"),
    pytest.param(OFFICE, at(LONDON, 2026, 6, 15, 17), H, at(LONDON, 2026, 6, 16, 10), id="closing-instant-is-closed"),
    pytest.param(OFFICE, at(LONDON, 2026, 6, 15, 16), 9 * H, at(LONDON, 2026, 6, 16, 17), id="spans-two-days"),
    pytest.param(OFFICE, at(LONDON, 2026, 6, 15, 10), timedelta(0), at(LONDON, 2026, 6, 15, 10), id="zero-budget-in-hours"),
    pytest.param(EVENINGS, at(LONDON, 2026, 6, 15, 23, 30), H, at(LONDON, 2026, 6, 16, 18, 30), id="end-24:00"),
    pytest.param(EVENINGS, at(LONDON, 2026, 6, 12, 23, 30), H, at(LONDON, 2026, 6, 15, 18, 30), id="end-24:00-over-weekend"),
    pytest.param(ATHENS_SUNDAYS, at(ATHENS, 2026, 3, 28, 12), 23 * H, at(ATHENS, 2026, 3, 30), id="athens-spring-forward-day-is-23h"),
    pytest.param(ATHENS_SUNDAYS, at(ATHENS, 2026, 3, 28, 12), 24 * H, at(ATHENS, 2026, 4, 5, 1), id="athens-24h-spills-to-next-sunday"),
    pytest.param(ATHENS_DAYTIME, at(ATHENS, 2026, 3, 28, 16), 2 * H, at(ATHENS, 2026, 3, 29, 10), id="athens-daytime-across-change"),
    pytest.param(ATHENS_ALL_DAY, at(ATHENS, 2026, 3, 28, 12), 24 * H, at(ATHENS, 2026, 3, 29, 13), id="athens-24h-span-is-real-24h"),
    pytest.param(NY_OFFICE, at(NEW_YORK, 2026, 10, 30, 16, 30), H, at(NEW_YORK, 2026, 11, 2, 9, 30), id="new-york-fall-back-weekend"),
    pytest.param(NY_SUNDAYS, at(NEW_YORK, 2026, 11, 1), 25 * H, at(NEW_YORK, 2026, 11, 2), id="new-york-fall-back-day-is-25h"),
    pytest.param(BusinessHours.always(), at(UTC, 2026, 6, 12, 16, 30), H, at(UTC, 2026, 6, 12, 17, 30), id="always"),
]


@pytest.mark.parametrize("hours, start, budget, due", ADD_CASES)
def test_add_business_time(hours, start, budget, due):
    assert add_business_time(start, budget, hours) == due


BETWEEN_CASES = [
    pytest.param(ATHENS_DAYTIME, at(ATHENS, 2026, 3, 28), at(ATHENS, 2026, 3, 29), 8 * H, id="athens-9-17-before-change"),
    pytest.param(ATHENS_DAYTIME, at(ATHENS, 2026, 3, 29), at(ATHENS, 2026, 3, 30), 8 * H, id="athens-9-17-on-change-day"),
    pytest.param(ATHENS_SUNDAYS, at(ATHENS, 2026, 3, 29), at(ATHENS, 2026, 3, 30), 23 * H, id="athens-sunday-is-23h"),
    pytest.param(NY_SUNDAYS, at(NEW_YORK, 2026, 11, 1), at(NEW_YORK, 2026, 11, 2), 25 * H, id="new-york-sunday-is-25h"),
    pytest.param(NY_OFFICE, at(NEW_YORK, 2026, 10, 30), at(NEW_YORK, 2026, 11, 3), 16 * H, id="new-york-9-17-both-sides"),
    pytest.param(NY_SMALL_HOURS, at(NEW_YORK, 2026, 11, 1), at(NEW_YORK, 2026, 11, 2), 2 * H, id="fall-back-opens-at-first-01:30"),
    pytest.param(OFFICE, at(LONDON, 2026, 6, 12, 16, 30), at(LONDON, 2026, 6, 15, 9, 30), H, id="over-weekend"),
    pytest.param(OFFICE, at(LONDON, 2026, 6, 15, 12), at(LONDON, 2026, 6, 15, 11), timedelta(0), id="end-before-start"),
    pytest.param(BusinessHours.always(), at(UTC, 2026, 6, 1), at(UTC, 2026, 6, 2), 24 * H, id="always"),
]


@pytest.mark.parametrize("hours, start, end, expected", BETWEEN_CASES)
def test_business_time_between(hours, start, end, expected):
    assert business_time_between(start, end, hours) == expected


def test_no_business_days_is_never_due():
    closed = BusinessHours(frozenset(), time(9), time(17), LONDON)
    assert add_business_time(at(UTC, 2026, 6, 1), H, closed) is NEVER
    policy = SlaPolicy(H, H, 15 * M, closed)
    state = sla_state(conv(waiting_since=at(UTC, 2020, 1, 1)), policy, at(UTC, 2026, 6, 1))
    assert (state.kind, state.due_at, state.label()) == (SlaKind.OK, None, "ok")


def test_bad_hours_and_inputs_are_refused():
    with pytest.raises(ValueError):
        BusinessHours(WEEKDAYS, time(17), time(9), LONDON)
    with pytest.raises(ValueError):
        add_business_time(datetime(2026, 1, 1), H, OFFICE)
    with pytest.raises(ValueError):
        add_business_time(at(UTC, 2026, 1, 1), -H, OFFICE)


# --- states ----------------------------------------------------------------------------------------

NOW = at(UTC, 2026, 6, 10, 12)
POLICY = SlaPolicy(first_response=60 * M, next_response=30 * M, warn_before=15 * M, hours=BusinessHours.always())
OFFICE_POLICY = SlaPolicy(60 * M, 60 * M, 15 * M, OFFICE)


def conv(**fields) -> Conversation:
    return Conversation("b1~c1", "b1", Customer("c1", "Ana"), **fields)


# (conversation, policy, now, kind, clock, due_at, label)
STATE_CASES = [
    pytest.param(conv(waiting_since=NOW), POLICY, NOW, SlaKind.OK, "first response", NOW + H, "ok 1h00m", id="first-response-due-in-1h"),
    pytest.param(conv(waiting_since=NOW - 18 * M), POLICY, NOW, SlaKind.OK, "first response", NOW + 42 * M, "ok 42m", id="ok-42m"),
    pytest.param(conv(waiting_since=NOW - 44 * M - timedelta(seconds=59)), POLICY, NOW, SlaKind.OK, "first response",
                 NOW + 15 * M + timedelta(seconds=1), "ok 15m", id="ok-just-above-warn"),
    pytest.param(conv(waiting_since=NOW - 45 * M), POLICY, NOW, SlaKind.DUE_SOON, "first response", NOW + 15 * M, "due 15m", id="due-soon-at-warn-edge"),
    pytest.param(conv(waiting_since=NOW - 48 * M), POLICY, NOW, SlaKind.DUE_SOON, "first response", NOW + 12 * M, "due 12m", id="due-12m"),
    pytest.param(conv(waiting_since=NOW - H), POLICY, NOW, SlaKind.BREACHED, "first response", NOW, "breached 0m", id="breached-at-exactly-due"),
    pytest.param(conv(waiting_since=NOW - 2 * H - 5 * M), POLICY, NOW, SlaKind.BREACHED, "first response", NOW - 65 * M,
                 "breached 1h05m", id="breached-1h05m"),
    pytest.param(conv(waiting_since=NOW - 10 * M, first_reply_at=NOW - 2 * H), POLICY, NOW, SlaKind.OK, "next response",
                 NOW + 20 * M, "ok 20m", id="next-response-after-first-reply"),
    pytest.param(conv(waiting_since=NOW + H), POLICY, NOW, SlaKind.OK, "first response", NOW + H, "ok 1h00m", id="future-waiting-since-counts-as-now"),
    pytest.param(conv(waiting_since=NOW - 3 * H, status=ConversationStatus.RESOLVED), POLICY, NOW, SlaKind.NONE, "", None, "", id="resolved"),
    pytest.param(conv(waiting_since=None, first_reply_at=NOW - H), POLICY, NOW, SlaKind.NONE, "", None, "", id="answered"),
    pytest.param(conv(waiting_since=at(LONDON, 2026, 6, 12, 16, 30)), OFFICE_POLICY, at(LONDON, 2026, 6, 13, 12), SlaKind.OK,
                 "first response", at(LONDON, 2026, 6, 15, 9, 30), "paused", id="office-weekend-is-paused"),
    pytest.param(conv(waiting_since=at(LONDON, 2026, 6, 12, 16, 30)), OFFICE_POLICY, at(LONDON, 2026, 6, 15, 10), SlaKind.BREACHED,
                 "first response", at(LONDON, 2026, 6, 15, 9, 30), "breached 30m", id="office-overdue-is-wall-clock"),
]


@pytest.mark.parametrize("c, policy, now, kind, clock, due_at, label", STATE_CASES)
def test_sla_state(c, policy, now, kind, clock, due_at, label):
    state = sla_state(c, policy, now)
    assert (state.kind, state.clock, state.due_at, state.label()) == (kind, clock, due_at, label)
    if kind is SlaKind.BREACHED:
        assert state.overdue == now - due_at and state.remaining == timedelta(0)
    elif kind is not SlaKind.NONE:
        assert state.remaining == business_time_between(now, due_at, policy.hours)
        assert state.overdue == timedelta(0)


# (policy, now, paused_until): the clock stops outside business hours and says until when.
PAUSE_CASES = [
    pytest.param(OFFICE_POLICY, at(LONDON, 2026, 6, 13, 12), at(LONDON, 2026, 6, 15, 9), id="saturday-until-monday-09:00"),
    pytest.param(OFFICE_POLICY, at(LONDON, 2026, 6, 15, 8, 59), at(LONDON, 2026, 6, 15, 9), id="before-opening"),
    pytest.param(OFFICE_POLICY, at(LONDON, 2026, 6, 15, 9), None, id="at-opening-runs"),
    pytest.param(OFFICE_POLICY, at(LONDON, 2026, 6, 15, 16, 59), None, id="before-closing-runs"),
    pytest.param(OFFICE_POLICY, at(LONDON, 2026, 6, 15, 17), at(LONDON, 2026, 6, 16, 9), id="at-closing-paused"),
    pytest.param(SlaPolicy(60 * M, 60 * M, 15 * M, OFFICE_HOLIDAY), at(LONDON, 2026, 6, 12, 18),
                 at(LONDON, 2026, 6, 16, 9), id="friday-evening-over-a-monday-holiday"),
    pytest.param(SlaPolicy(60 * M, 60 * M, 15 * M, EVENINGS), at(LONDON, 2026, 6, 15, 12), at(LONDON, 2026, 6, 15, 18),
                 id="evenings-at-noon"),
    pytest.param(SlaPolicy(60 * M, 60 * M, 15 * M, ATHENS_DAYTIME), at(ATHENS, 2026, 3, 28, 20), at(ATHENS, 2026, 3, 29, 9),
                 id="athens-overnight-into-the-change"),
    pytest.param(POLICY, NOW, None, id="around-the-clock-never-pauses"),
]


@pytest.mark.parametrize("policy, now, paused_until", PAUSE_CASES)
def test_a_clock_outside_business_hours_is_paused(policy, now, paused_until):
    # Waiting for 10 minutes of business time, not yet due: ok (or due soon), paused or running.
    waiting = conv(waiting_since=now - 10 * M)
    state = sla_state(waiting, policy, now)
    assert state.kind in (SlaKind.OK, SlaKind.DUE_SOON)
    assert state.paused_until == paused_until
    assert next_opening(now, policy.hours) == paused_until
    assert ("paused" in state.label()) == (paused_until is not None)
    if paused_until is not None:
        # The time left is still there (it counts once the clock runs again).
        assert state.remaining == business_time_between(paused_until, state.due_at, policy.hours)


def test_a_paused_clock_that_is_due_soon_stays_due_soon():
    # 55 business minutes used on Friday afternoon: 5 left, due soon, and paused over the weekend.
    state = sla_state(conv(waiting_since=at(LONDON, 2026, 6, 12, 16, 5)), OFFICE_POLICY, at(LONDON, 2026, 6, 13, 12))
    assert (state.kind, state.remaining, state.paused_until) == (SlaKind.DUE_SOON, 5 * M, at(LONDON, 2026, 6, 15, 9))


def test_breached_is_never_paused():
    # Overdue counts wall-clock time: a breach outside hours still reads as a breach.
    state = sla_state(conv(waiting_since=at(LONDON, 2026, 6, 12, 15)), OFFICE_POLICY, at(LONDON, 2026, 6, 13, 12))
    assert state.kind is SlaKind.BREACHED and state.paused_until is None


def test_no_business_days_never_opens():
    closed = BusinessHours(frozenset(), time(9), time(17), LONDON)
    assert next_opening(at(UTC, 2026, 6, 1), closed) is None


@pytest.mark.parametrize(
    "td, text",
    [
        pytest.param(timedelta(0), "0m", id="zero"),
        pytest.param(timedelta(seconds=59), "0m", id="under-a-minute-rounds-down"),
        pytest.param(12 * M, "12m", id="minutes"),
        pytest.param(65 * M, "1h05m", id="hours-pad-minutes"),
        pytest.param(timedelta(days=3, hours=4, minutes=5), "3d4h", id="days-drop-minutes"),
        pytest.param(-5 * M, "0m", id="negative-reads-zero"),
    ],
)
def test_short_duration(td, text):
    assert short_duration(td) == text


# --- config ----------------------------------------------------------------------------------------


def test_policy_from_default_config_is_around_the_clock():
    policy = SlaPolicy.from_config(SlaConfig())
    assert (policy.first_response, policy.next_response, policy.warn_before) == (H, H, 15 * M)
    assert policy.hours.is_always


def test_hours_from_config():
    hours = BusinessHours.from_config(
        BusinessHoursConfig(days=("mon", "wed", "sun"), start="09:30", end="24:00", timezone="Europe/Athens",
                            holidays=("2026-12-25",))
    )
    assert hours == BusinessHours(frozenset({0, 2, 6}), time(9, 30), None, ATHENS, frozenset({date(2026, 12, 25)}))
    assert not hours.is_always


def test_start_24_00_leaves_no_business_time():
    hours = BusinessHours.from_config(BusinessHoursConfig(start="24:00"))
    assert add_business_time(at(UTC, 2026, 1, 1), H, hours) is NEVER


# --- properties ------------------------------------------------------------------------------------

CONFIGS = [BusinessHours.always(), OFFICE_HOLIDAY, EVENINGS, ATHENS_SUNDAYS, ATHENS_DAYTIME, ATHENS_ALL_DAY,
           NY_OFFICE, NY_SMALL_HOURS]
starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
budgets = st.integers(min_value=0, max_value=5 * 24 * 3600).map(lambda s: timedelta(seconds=s))
hours_st = st.sampled_from(CONFIGS)


@given(hours=hours_st, start=starts, budget=budgets)
def test_adding_then_measuring_gives_the_budget_back(hours, start, budget):
    due = add_business_time(start, budget, hours)
    assert business_time_between(start, due, hours) == budget


@given(hours=hours_st, start=starts, a=budgets, b=budgets)
def test_due_is_monotonic_in_the_budget(hours, start, a, b):
    a, b = sorted((a, b))
    assert add_business_time(start, a, hours) <= add_business_time(start, b, hours)


@given(start=starts, budget=budgets)
def test_always_is_plain_arithmetic(start, budget):
    assert add_business_time(start, budget, BusinessHours.always()) == start + budget
    assert business_time_between(start, start + budget, BusinessHours.always()) == budget


@given(hours=hours_st, now=starts)
def test_next_opening_is_where_the_clock_starts(hours, now):
    opening = next_opening(now, hours)
    if opening is None:
        # Running (or never running at all): the next instant of budget is spent at once.
        tick = timedelta(microseconds=1)
        assert add_business_time(now, tick, hours) == now + tick or not hours.weekdays
    else:
        assert opening > now
        assert business_time_between(now, opening, hours) == timedelta(0)
        assert add_business_time(now, timedelta(0), hours) == opening
