"""The 24-hour window rule (desk/window.py): table-driven edges and properties."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.window import CLOSING_SOON, WINDOW, can_send_free_text, window

UTC = timezone.utc
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
H = timedelta(hours=1)


# (inbound, now, open, closes_at, remaining, closing_soon, closed_for)
CASES = [
    pytest.param(None, NOW, False, None, timedelta(0), False, None, id="never-wrote-closed"),
    pytest.param(NOW - timedelta(minutes=1), NOW, True, NOW + WINDOW - timedelta(minutes=1),
                 WINDOW - timedelta(minutes=1), False, None, id="one-minute-old-open"),
    pytest.param(NOW - WINDOW, NOW, False, NOW, timedelta(0), False, timedelta(0), id="exactly-24h-closed"),
    pytest.param(NOW - WINDOW + US, NOW, True, NOW + US, US, True, None, id="one-microsecond-before-open"),
    pytest.param(NOW - WINDOW - 2 * H, NOW, False, NOW - 2 * H, timedelta(0), False, 2 * H, id="closed-two-hours-ago"),
    pytest.param(NOW - WINDOW + CLOSING_SOON, NOW, True, NOW + CLOSING_SOON, CLOSING_SOON, True, None,
                 id="closing-soon-at-threshold"),
    pytest.param(NOW - WINDOW + CLOSING_SOON + US, NOW, True, NOW + CLOSING_SOON + US, CLOSING_SOON + US, False,
                 None, id="not-closing-soon-just-above-threshold"),
    pytest.param(NOW + 2 * H, NOW, True, NOW + WINDOW, WINDOW, False, None, id="future-timestamp-counts-as-now"),
]


@pytest.mark.parametrize("inbound, now, is_open, closes_at, remaining, closing_soon, closed_for", CASES)
def test_window_table(inbound, now, is_open, closes_at, remaining, closing_soon, closed_for):
    state = window(inbound, now)
    assert state.open is is_open
    assert state.closes_at == closes_at
    assert state.remaining == remaining
    assert state.closing_soon is closing_soon
    assert state.closed_for == closed_for
    assert can_send_free_text(inbound, now) is is_open


@pytest.mark.parametrize(
    "threshold, expected",
    [
        pytest.param(timedelta(minutes=29), False, id="below-remaining"),
        pytest.param(timedelta(minutes=30), True, id="equal-remaining"),
        pytest.param(timedelta(minutes=31), True, id="above-remaining"),
    ],
)
def test_closing_soon_threshold_is_configurable(threshold, expected):
    inbound = NOW - WINDOW + timedelta(minutes=30)
    assert window(inbound, NOW, closing_soon=threshold).closing_soon is expected


def test_dst_change_does_not_stretch_the_window():
    # Athens springs forward at 03:00 on 2026-03-29: 24 real hours after 12:00 EET is 13:00 EEST.
    athens = ZoneInfo("Europe/Athens")
    inbound = datetime(2026, 3, 28, 12, 0, tzinfo=athens).astimezone(UTC)
    closes_local = datetime(2026, 3, 29, 13, 0, tzinfo=athens)
    state = window(inbound, inbound + H)
    assert state.closes_at == closes_local.astimezone(UTC)
    assert state.closes_at - inbound == WINDOW
    assert window(inbound, closes_local.astimezone(UTC) - US).open
    assert not window(inbound, closes_local.astimezone(UTC)).open


instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(inbound=instants, now=instants)
def test_open_iff_now_before_min_of_inbound_and_now_plus_24h(inbound, now):
    state = window(inbound, now)
    assert state.open is (now < min(inbound, now) + WINDOW)
    assert state.closes_at == min(inbound, now) + WINDOW


@given(inbound=instants, now=instants)
def test_remaining_and_closed_for_add_up(inbound, now):
    state = window(inbound, now)
    if state.open:
        assert now + state.remaining == state.closes_at
        assert state.remaining > timedelta(0)
        assert state.closed_for is None
    else:
        assert state.remaining == timedelta(0)
        assert state.closed_for is not None and state.closed_for >= timedelta(0)
        assert now - state.closed_for == state.closes_at
