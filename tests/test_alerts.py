"""When the agent is told (desk/alerts.py): each crossing's instant, told once, re-armed when the
conversation is handled, the state at start known and not told."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.alerts import AlertKind, AlertSettings, AlertWatch, crossings
from desk.models import Conversation, ConversationStatus, Customer, Priority
from desk.sla import BusinessHours, SlaPolicy

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
M = timedelta(minutes=1)
H = timedelta(hours=1)
T0 = datetime(2026, 6, 15, 10, tzinfo=UTC)  # a Monday
ALWAYS = SlaPolicy(first_response=H, next_response=30 * M, warn_before=15 * M, hours=BusinessHours.always())
OFFICE = SlaPolicy(H, H, 15 * M, BusinessHours(frozenset(range(5)), time(9), time(17), LONDON))
SETTINGS = AlertSettings(waiting=4 * H, window=2 * H)


def conv(cid: str = "b1~c1", **fields: object) -> Conversation:
    return Conversation(cid, "b1", Customer(cid.split("~")[1], "Ana"), **fields)  # type: ignore[arg-type]


def waiting(since: datetime = T0, cid: str = "b1~c1", **fields: object) -> Conversation:
    return conv(cid, waiting_since=since, last_inbound_at=since, opened_at=since, **fields)


def london(d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, 6, d, h, mi, tzinfo=LONDON).astimezone(UTC)


# (conversation, policy, [(kind, clock, at, due)])
CROSSINGS = [
    pytest.param(waiting(), ALWAYS, [
        (AlertKind.DUE_SOON, "first response", T0 + 45 * M, T0 + H),
        (AlertKind.BREACHED, "first response", T0 + H, T0 + H),
        (AlertKind.WAITING, "", T0 + 4 * H, T0 + 4 * H),
        (AlertKind.WINDOW_CLOSING, "", T0 + 22 * H, T0 + 24 * H),
    ], id="a-new-question"),
    pytest.param(waiting(first_reply_at=T0 - H), ALWAYS, [
        (AlertKind.DUE_SOON, "next response", T0 + 15 * M, T0 + 30 * M),
        (AlertKind.BREACHED, "next response", T0 + 30 * M, T0 + 30 * M),
        (AlertKind.WAITING, "", T0 + 4 * H, T0 + 4 * H),
        (AlertKind.WINDOW_CLOSING, "", T0 + 22 * H, T0 + 24 * H),
    ], id="next-response"),
    # 16:30 with an hour to answer: due soon at 16:45, breached at 09:30 the next morning.
    pytest.param(waiting(london(15, 16, 30)), OFFICE, [
        (AlertKind.DUE_SOON, "first response", london(16, 9, 15), london(16, 9, 30)),
        (AlertKind.BREACHED, "first response", london(16, 9, 30), london(16, 9, 30)),
        (AlertKind.WAITING, "", london(15, 20, 30), london(15, 20, 30)),
        (AlertKind.WINDOW_CLOSING, "", london(16, 14, 30), london(16, 16, 30)),
    ], id="overnight-breach-next-morning"),
    pytest.param(waiting(priority=Priority.URGENT), replace(ALWAYS, priorities={Priority.URGENT: replace(ALWAYS, first_response=10 * M)}), [
        (AlertKind.DUE_SOON, "first response", T0, T0 + 10 * M),  # a budget under the warning: due soon at once
        (AlertKind.BREACHED, "first response", T0 + 10 * M, T0 + 10 * M),
        (AlertKind.WAITING, "", T0 + 4 * H, T0 + 4 * H),
        (AlertKind.WINDOW_CLOSING, "", T0 + 22 * H, T0 + 24 * H),
    ], id="urgent-priority"),
    pytest.param(conv(opened_at=T0, first_reply_at=T0 + M, last_inbound_at=T0), replace(ALWAYS, resolution=8 * H), [
        (AlertKind.DUE_SOON, "resolution", T0 + 7 * H + 45 * M, T0 + 8 * H),
        (AlertKind.BREACHED, "resolution", T0 + 8 * H, T0 + 8 * H),
    ], id="answered-resolution-only"),
    pytest.param(waiting(status=ConversationStatus.RESOLVED), replace(ALWAYS, resolution=8 * H), [], id="resolved-nothing"),
    pytest.param(waiting(), replace(ALWAYS, first_response=None, warn_before=timedelta(0)), [
        (AlertKind.WAITING, "", T0 + 4 * H, T0 + 4 * H),
        (AlertKind.WINDOW_CLOSING, "", T0 + 22 * H, T0 + 24 * H),
    ], id="no-response-budget"),
]


@pytest.mark.parametrize("c, pol, expected", CROSSINGS)
def test_crossings(c, pol, expected):
    assert [(x.kind, x.clock, x.at, x.due) for x in crossings(c, pol, SETTINGS)] == expected


def test_thresholds_off():
    assert [x.kind for x in crossings(waiting(), ALWAYS, AlertSettings(waiting=None, window=None))] == [
        AlertKind.DUE_SOON, AlertKind.BREACHED]


def watch(*convs: Conversation, now: datetime = T0, pol: SlaPolicy = ALWAYS) -> AlertWatch:
    w = AlertWatch(lambda _: pol, SETTINGS)
    w.load(convs, now)
    return w


def kinds(w: AlertWatch, now: datetime) -> list[AlertKind]:
    return [a.kind for a in w.due(now)]


def test_each_crossing_is_told_once_at_its_instant():
    w = watch(waiting())
    assert kinds(w, T0 + 44 * M) == []
    assert kinds(w, T0 + 45 * M) == [AlertKind.DUE_SOON]
    assert kinds(w, T0 + 50 * M) == []
    assert kinds(w, T0 + 3 * H) == [AlertKind.BREACHED]
    assert kinds(w, T0 + 3 * H) == []
    assert w.alerted("b1~c1")
    assert kinds(w, T0 + 23 * H) == [AlertKind.WAITING, AlertKind.WINDOW_CLOSING]  # late check: both, oldest first
    assert kinds(w, T0 + 30 * H) == []


def test_the_state_at_start_is_known_not_told():
    w = watch(waiting(T0 - 2 * H), now=T0)
    assert kinds(w, T0) == [] and not w.alerted("b1~c1")
    assert kinds(w, T0 + 2 * H) == [AlertKind.WAITING]


def test_a_conversation_first_seen_later_is_told_what_it_crossed():
    w = watch()
    w.update(waiting(T0 - 2 * H), T0)  # a webhook that arrived two hours late
    assert kinds(w, T0) == [AlertKind.DUE_SOON, AlertKind.BREACHED]


def test_answering_re_arms_and_the_next_message_starts_new_crossings():
    w = watch(waiting())
    assert kinds(w, T0 + H) == [AlertKind.DUE_SOON, AlertKind.BREACHED]
    answered = conv(first_reply_at=T0 + 70 * M, last_reply_at=T0 + 70 * M, last_inbound_at=T0, opened_at=T0)
    w.update(answered, T0 + 70 * M)
    assert not w.alerted("b1~c1") and kinds(w, T0 + 5 * H) == []
    again = replace(answered, waiting_since=T0 + 6 * H, last_inbound_at=T0 + 6 * H)
    w.update(again, T0 + 6 * H)
    assert kinds(w, T0 + 6 * H + 30 * M) == [AlertKind.DUE_SOON, AlertKind.BREACHED]  # next response: 30 minutes


def test_a_customer_message_that_moves_no_clock_tells_nothing_again():
    w = watch(waiting())
    assert kinds(w, T0 + H) == [AlertKind.DUE_SOON, AlertKind.BREACHED]
    w.update(waiting(unread=2), T0 + 61 * M)
    assert kinds(w, T0 + 62 * M) == [] and w.alerted("b1~c1")


def test_resolving_stops_every_alert():
    pol = replace(ALWAYS, resolution=8 * H)
    w = watch(waiting(), pol=pol)
    w.update(waiting(status=ConversationStatus.RESOLVED), T0 + M)
    assert kinds(w, T0 + 2 * 24 * H) == []


def test_the_window_is_not_told_once_it_has_closed():
    w = watch(waiting())
    assert AlertKind.WINDOW_CLOSING not in kinds(w, T0 + 25 * H)


checks = st.lists(st.integers(min_value=0, max_value=30 * 60), min_size=1, max_size=30).map(sorted)


@settings(max_examples=200, deadline=None)
@given(minutes=checks, start=st.integers(min_value=-300, max_value=300), office=st.booleans())
def test_whatever_the_check_times_each_crossing_after_start_is_told_exactly_once(minutes, start, office):
    pol = OFFICE if office else ALWAYS
    c = waiting(T0 + start * M)
    w = watch(c, now=T0, pol=pol)
    told = []
    for m in minutes:
        told += [(a.kind, a.clock) for a in w.due(T0 + m * M)]
    last = T0 + minutes[-1] * M
    expected = [
        (x.kind, x.clock) for x in crossings(c, pol, SETTINGS)
        if T0 < x.at <= last and not (x.kind is AlertKind.WINDOW_CLOSING and x.due <= _told_at(x.at, minutes))
    ]
    assert sorted(told) == sorted(expected)


def _told_at(at: datetime, minutes: list[int]) -> datetime:
    """The first check at or after `at`."""
    return next(T0 + m * M for m in minutes if T0 + m * M >= at)


def test_a_conversation_first_seen_later_with_days_old_history_is_not_told_what_it_crossed_then():
    w = watch()
    w.load([], T0)
    w.update(waiting(T0 - 48 * H), T0)  # the demo's history at first start, a long backlog
    assert kinds(w, T0) == []
    assert w.alerted("b1~c1") is False
