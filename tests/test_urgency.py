"""The inbox order, filters and search (desk/urgency.py)."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from desk.models import Conversation, ConversationStatus, Customer
from desk.sla import BusinessHours, SlaKind, SlaPolicy, sla_state
from desk.urgency import Filter, deadline, fold, matches, search_matches, sort_key
from desk.window import window

UTC = timezone.utc
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)
# A 30-hour budget can outlast the 24-hour window, so both kinds of deadline show up in one inbox.
POLICY = SlaPolicy(first_response=30 * H, next_response=30 * H, warn_before=15 * M, hours=BusinessHours.always())


def conv(cid: str, number: str = "sales", name: str = "Ana", phone: str | None = None, username: str | None = None,
         **fields) -> Conversation:
    return Conversation(f"{number}~{cid}", number, Customer(cid, name, phone, username), **fields)


def waiting(cid: str, since: timedelta, last_inbound: timedelta | None = None, **fields) -> Conversation:
    """A conversation waiting on us since `since` ago, its customer's latest message `last_inbound` ago."""
    inbound = NOW - (since if last_inbound is None else last_inbound)
    return conv(cid, waiting_since=NOW - since, last_inbound_at=inbound, last_message_at=inbound, **fields)


BREACHED = waiting("breached", since=31 * H)  # SLA due 1h ago; window closed 7h ago
WINDOW_FIRST = waiting("window-first", since=23 * H + 30 * M)  # window closes in 30m, SLA in 6h30m
SLA_FIRST = waiting("sla-first", since=29 * H, last_inbound=10 * M)  # SLA due in 1h, window in 23h50m
FRESH = waiting("fresh", since=1 * H)  # window closes in 23h, SLA in 29h
RECENT = conv("recent", last_inbound_at=NOW - 5 * M, last_message_at=NOW - 5 * M, first_reply_at=NOW - 4 * M)
OLDER = conv("older", last_inbound_at=NOW - 3 * H, last_message_at=NOW - 2 * H)
SILENT = conv("silent")
RESOLVED = conv("resolved", status=ConversationStatus.RESOLVED, waiting_since=NOW - 40 * H,
                last_inbound_at=NOW - 40 * H, last_message_at=NOW - M)


def test_inbox_order():
    inbox = [SILENT, OLDER, FRESH, RESOLVED, SLA_FIRST, RECENT, WINDOW_FIRST, BREACHED]
    ordered = sorted(inbox, key=lambda c: sort_key(c, POLICY, NOW))
    assert [c.customer.id for c in ordered] == [
        "breached", "window-first", "sla-first", "fresh",  # waiting on us, soonest deadline first
        "resolved", "recent", "older", "silent",  # the rest by latest activity, never-active last
    ]


@pytest.mark.parametrize(
    "c, expected",
    [
        pytest.param(BREACHED, NOW - H, id="closed-window-leaves-the-sla-due-time"),
        pytest.param(WINDOW_FIRST, NOW + 30 * M, id="window-beats-a-later-sla"),
        pytest.param(SLA_FIRST, NOW + H, id="sla-beats-a-later-window"),
        pytest.param(RECENT, None, id="not-waiting"),
        pytest.param(RESOLVED, None, id="resolved"),
    ],
)
def test_deadline(c, expected):
    assert deadline(c, POLICY, NOW) == expected


def test_ties_fall_to_the_id():
    a, b = conv("a", last_message_at=NOW), conv("b", last_message_at=NOW)
    assert sorted([b, a], key=lambda c: sort_key(c, POLICY, NOW)) == [a, b]
    wa, wb = waiting("a", since=H), waiting("b", since=H)
    assert sorted([wb, wa], key=lambda c: sort_key(c, POLICY, NOW)) == [wa, wb]


def test_waiting_with_no_deadline_ends_the_waiting_group():
    never = SlaPolicy(H, H, 15 * M, BusinessHours(frozenset(), time(9), time(17), ZoneInfo("UTC")))
    stale = waiting("stale", since=30 * H)  # window closed, SLA never due
    live = waiting("live", since=H)
    idle = conv("idle", last_message_at=NOW)
    ordered = sorted([idle, stale, live], key=lambda c: sort_key(c, never, NOW))
    assert [c.customer.id for c in ordered] == ["live", "stale", "idle"]
    assert deadline(stale, never, NOW) is None


CLOSING = waiting("closing", since=23 * H + 30 * M, number="support")


@pytest.mark.parametrize(
    "filter, expected",
    [
        pytest.param(Filter.ALL, {"breached", "window-first", "sla-first", "recent", "silent", "resolved", "closing"}, id="all"),
        pytest.param(Filter.WAITING, {"breached", "window-first", "sla-first", "closing"}, id="waiting"),
        pytest.param(Filter.BREACHED, {"breached"}, id="breached"),
        pytest.param(Filter.CLOSING, {"window-first", "closing"}, id="closing"),
        pytest.param(Filter.CLOSED, {"breached", "silent", "resolved"}, id="closed-includes-never-opened"),
    ],
)
def test_filters(filter, expected):
    inbox = [BREACHED, WINDOW_FIRST, SLA_FIRST, RECENT, SILENT, RESOLVED, CLOSING]
    assert {c.customer.id for c in inbox if matches(c, filter, POLICY, NOW)} == expected


def test_filter_by_business_number():
    inbox = [BREACHED, WINDOW_FIRST, CLOSING]
    assert [c.customer.id for c in inbox if matches(c, Filter.CLOSING, POLICY, NOW, "support")] == ["closing"]
    assert [c.customer.id for c in inbox if matches(c, Filter.ALL, POLICY, NOW, "sales")] == ["breached", "window-first"]


def test_closing_soon_threshold_is_the_callers():
    # WINDOW_FIRST has 30 minutes left.
    assert not matches(WINDOW_FIRST, Filter.CLOSING, POLICY, NOW, closing_soon=29 * M)
    assert matches(WINDOW_FIRST, Filter.CLOSING, POLICY, NOW, closing_soon=30 * M)


def test_filters_agree_with_the_rules():
    for c in [BREACHED, WINDOW_FIRST, SLA_FIRST, RECENT, SILENT, RESOLVED]:
        assert matches(c, Filter.CLOSED, POLICY, NOW) is not window(c.last_inbound_at, NOW).open
        assert matches(c, Filter.BREACHED, POLICY, NOW) is (sla_state(c, POLICY, NOW).kind is SlaKind.BREACHED)


# --- search ----------------------------------------------------------------------------------------

GIORGOS = conv("g", name="Γιώργος Παπαδόπουλος", phone="+306912345678", preview="Πότε έρχεται η παραγγελία;")
JOSE = conv("j", name="José Álvarez", username="jalvarez", preview="Where is my order?")


@pytest.mark.parametrize(
    "c, query, extra, expected",
    [
        pytest.param(GIORGOS, "γιωργος", "", True, id="greek-without-accents"),
        pytest.param(GIORGOS, "ΓΙΏΡΓΟΣ", "", True, id="greek-upper-case"),
        pytest.param(GIORGOS, "παπαδοπουλος", "", True, id="greek-surname-final-sigma"),
        pytest.param(JOSE, "jose alv", "", True, id="latin-accents"),
        pytest.param(JOSE, "JALVAREZ", "", True, id="username"),
        pytest.param(JOSE, "my order", "", True, id="preview"),
        pytest.param(GIORGOS, "παραγγελια", "", True, id="greek-preview"),
        pytest.param(JOSE, "refund", "I want a refund please", True, id="message-text-from-caller"),
        pytest.param(JOSE, "refund", "", False, id="no-match"),
        pytest.param(GIORGOS, "30 69", "", True, id="spaced-digits"),
        pytest.param(GIORGOS, "+30 691-234", "", True, id="formatted-digits"),
        pytest.param(GIORGOS, "6912", "", True, id="plain-digits"),
        pytest.param(GIORGOS, "room 12", "", False, id="words-with-digits-are-not-a-phone"),
        pytest.param(JOSE, "30 69", "", False, id="no-phone"),
        pytest.param(JOSE, "  ", "", True, id="empty-query-matches-all"),
    ],
)
def test_search(c, query, extra, expected):
    assert search_matches(c, query, extra) is expected


def test_fold():
    assert fold("Γιώργος") == fold("ΓΙΩΡΓΟΣ") == "γιωργοσ"
    assert fold("José Ñandú") == "jose nandu"
