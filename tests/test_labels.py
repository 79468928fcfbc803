"""How times read: the one rule (tui.labels.local_time), past and future."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.labels import local_time

UTC = timezone.utc
MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
"""Monday 23 November 2026, 13:00 in Madrid."""


@pytest.mark.parametrize(
    ("at", "shown"),
    [
        (datetime(2026, 11, 23, 13, 5), "13:05"),  # today, later
        (datetime(2026, 11, 23, 0, 1), "00:01"),  # today, earlier
        (datetime(2026, 11, 24, 4, 50), "Tue 04:50"),  # tomorrow: this week
        (datetime(2026, 11, 29, 23, 59), "Sun 23:59"),  # the week's last minute
        (datetime(2026, 11, 30, 0, 0), "Mon 30 Nov 00:00"),  # next week, one minute later
        (datetime(2026, 11, 22, 23, 59), "Sun 22 Nov 23:59"),  # yesterday, but last week
        (datetime(2026, 11, 18, 3, 40), "Wed 18 Nov 03:40"),  # last Wednesday
        (datetime(2026, 11, 25, 3, 40), "Wed 03:40"),  # this Wednesday
        (datetime(2026, 12, 2, 14, 5), "Wed 2 Dec 14:05"),  # next Wednesday
        (datetime(2025, 12, 2, 14, 5), "Tue 2 Dec 2025 14:05"),  # another year
        (datetime(2027, 1, 4, 9, 0), "Mon 4 Jan 2027 09:00"),
    ],
)
def test_local_time_table(at, shown):
    assert local_time(at.replace(tzinfo=MADRID), MADRID, NOW) == shown


def test_the_issue_example_no_longer_reads_alike():
    # Today "Wed 03:40" last week and "closes Wed 04:50" tomorrow read alike.
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # a Tuesday
    last_week = local_time(datetime(2026, 11, 18, 3, 40, tzinfo=UTC), UTC, now)
    tomorrow = local_time(datetime(2026, 11, 25, 4, 50, tzinfo=UTC), UTC, now)
    assert (last_week, tomorrow) == ("Wed 18 Nov 03:40", "Wed 04:50")


def test_the_agents_zone_decides_the_date():
    at = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # Tuesday 08:30 in Tokyo
    assert local_time(at, UTC, NOW) == "23:30"
    assert local_time(at, ZoneInfo("Asia/Tokyo"), NOW) == "Tue 08:30"


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
zones = st.sampled_from([UTC, MADRID, ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Sao_Paulo")])


@settings(max_examples=400, deadline=None)
@given(at=instants, now=instants, zone=zones)
def test_a_date_is_shown_unless_the_same_week(at, now, zone):
    shown = local_time(at, zone, now)
    day, today = at.astimezone(zone).date(), now.astimezone(zone).date()
    parts = shown.split()
    assert parts[-1] == at.astimezone(zone).strftime("%H:%M")
    if day == today:
        assert len(parts) == 1
    elif day.isocalendar()[:2] == today.isocalendar()[:2]:
        assert len(parts) == 2  # weekday and time: within six days by construction
        assert abs((day - today).days) <= 6
    else:
        # Another week (so possibly more than six days away): the date is there.
        assert parts[1] == str(day.day)
        assert (len(parts) == 5) == (day.year != today.year)


@settings(max_examples=400, deadline=None)
@given(a=instants, b=instants, now=instants, zone=zones)
def test_different_days_never_read_alike(a, b, now, zone):
    if a.astimezone(zone).date() != b.astimezone(zone).date():
        assert local_time(a, zone, now) != local_time(b, zone, now)
