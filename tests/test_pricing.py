"""What a send costs (desk/pricing.py), table-driven, and how pricing and referrals are kept
(desk/codec.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from desk.codec import check_message_doc, message_from_doc, message_to_doc
from desk.models import Direction, Message, MessageStatus, Pricing, Referral, Template, TemplateStatus
from desk.pricing import (
    FREE_ENTRY_POINT,
    FREE_SERVICE,
    NOT_ALLOWED,
    REGULAR,
    Cost,
    entry_point,
    expected_pricing,
    service_cost,
    template_cost,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
AD = Referral(source_url="https://fb.me/x", source_type="ad", source_id="1", headline="Chat with us")
POST = Referral(source_url="https://fb.me/p", source_type="post", source_id="2")


def template(category: str) -> Template:
    return Template("t", "en_US", category, TemplateStatus.APPROVED, "bn", "Hello")


def came(hours_ago: float, referral: Referral | None = AD) -> Message:
    """The customer's message, `hours_ago` before NOW, from an ad by default."""
    return Message(f"in{hours_ago}", "c", Direction.INBOUND, "text", NOW - hours_ago * H, MessageStatus.RECEIVED,
                   "hola", referral=referral)


def ours(hours_ago: float, status: MessageStatus = MessageStatus.READ, type: str = "text") -> Message:
    return Message(f"out{hours_ago}", "c", Direction.OUTBOUND, type, NOW - hours_ago * H, status, "hi")


FEP = "free: inside the 72-hour free entry point window from an ad"


@pytest.mark.parametrize(
    ("category", "transcript", "words"),
    [
        # No ad: the category and the 24-hour window decide.
        ("UTILITY", [came(2, None)], "free: utility template inside the open 24-hour window"),
        ("UTILITY", [came(30, None)], "billed: utility template outside the 24-hour window"),
        ("UTILITY", [], "billed: utility template outside the 24-hour window"),
        ("MARKETING", [came(2, None)], "billed: marketing template"),
        ("AUTHENTICATION", [came(2, None)], "billed: authentication template"),
        ("", [came(2, None)], "billed: uncategorised template"),
        # From an ad: our first reply within 24 h opens 72 free hours, for every category.
        ("MARKETING", [came(5), ours(4)], FEP),
        ("AUTHENTICATION", [came(50), ours(49)], FEP),  # 24-hour window closed, entry point still open
        ("UTILITY", [came(80), ours(71)], FEP),
        ("MARKETING", [came(2)], FEP),  # no reply yet: this send opens it
        ("MARKETING", [came(80), ours(73)], "billed: marketing template"),  # 72 hours are over
        ("MARKETING", [came(30)], "billed: marketing template"),  # never answered within 24 h
        ("MARKETING", [came(40), ours(10)], "billed: marketing template"),  # answered after 24 h
        ("MARKETING", [came(5), ours(4, MessageStatus.FAILED)], FEP),  # a failed reply opened nothing: this one does
        ("MARKETING", [came(30), ours(29, MessageStatus.FAILED)], "billed: marketing template"),
        ("MARKETING", [came(30), ours(29, type="note"), ours(5)], "billed: marketing template"),  # a note is no reply
        ("MARKETING", [came(5, POST)], "billed: marketing template"),  # a post is not an ad
        ("MARKETING", [came(100), ours(99), came(3, None)], "billed: marketing template"),  # an old ad
        ("MARKETING", [came(100), ours(99), came(3)], FEP),  # a new click on an ad
    ],
)
def test_template_cost(category: str, transcript: list[Message], words: str):
    last_inbound = max((m.timestamp for m in transcript if m.direction is Direction.INBOUND), default=None)
    assert str(template_cost(template(category), last_inbound, entry_point(transcript), NOW)) == words


@pytest.mark.parametrize(
    ("transcript", "words"),
    [
        ([came(2, None)], "free: service message inside the open 24-hour window"),
        ([came(2), ours(1)], FEP),
        ([came(30), ours(20)], "not allowed: the 24-hour window is closed: only a template can be sent"),
        ([], "not allowed: the 24-hour window is closed: only a template can be sent"),
    ],
)
def test_service_cost(transcript: list[Message], words: str):
    last_inbound = max((m.timestamp for m in transcript if m.direction is Direction.INBOUND), default=None)
    assert str(service_cost(last_inbound, entry_point(transcript), NOW)) == words


def test_the_entry_point_window_runs_72_hours_from_our_reply():
    assert entry_point([came(5), ours(4)]).window(NOW) == (NOW - 4 * H, NOW + 68 * H)
    assert entry_point([came(5)]).window(NOW) == (NOW, NOW + 72 * H)
    assert entry_point([ours(4), came(5)]).window(NOW) == (NOW - 4 * H, NOW + 68 * H)  # read in time order
    assert entry_point([came(5, None), ours(4)]).window(NOW) is None
    # A referral dated ahead (a skewed clock) counts as now, as the 24-hour window does.
    assert entry_point([came(-1000)]).window(NOW) == (NOW, NOW + 72 * H)
    # A window a reply opened stays open when the customer clicks an ad again.
    assert entry_point([came(40), ours(39), came(30)]).window(NOW) == (NOW - 39 * H, NOW + 33 * H)


def test_a_cost_in_words():
    assert str(Cost(REGULAR, "marketing template")) == "billed: marketing template"
    assert str(Cost(FREE_SERVICE, "x")) == "free: x"
    assert str(Cost(NOT_ALLOWED, "x")) == "not allowed: x"


@pytest.mark.parametrize(
    ("cost", "category", "pricing"),
    [
        (Cost(REGULAR, ""), "MARKETING", Pricing(True, "marketing", "PMP", "regular")),
        (Cost(FREE_SERVICE, ""), "UTILITY", Pricing(False, "utility", "PMP", "free_customer_service")),
        (Cost(FREE_SERVICE, ""), None, Pricing(False, "service", "PMP", "free_customer_service")),
        (Cost(FREE_ENTRY_POINT, ""), "MARKETING", Pricing(False, "referral_conversion", "PMP", "free_entry_point")),
        (Cost(NOT_ALLOWED, ""), None, None),
    ],
)
def test_the_pricing_whatsapp_reports_for_a_cost(cost: Cost, category: str | None, pricing: Pricing | None):
    assert expected_pricing(cost, template(category) if category else None) == pricing


# --- kept in the store's documents ----------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"pricing": Pricing(True, "marketing", "PMP", "regular")},
        {"pricing": Pricing(None, "", "", "free_entry_point")},
        {"referral": AD},
        {"referral": Referral(headline="[bold]x[/] \x1b[2J", ctwa_clid="Aff-1")},
        {"referral": Referral()},
    ],
)
def test_pricing_and_referral_round_trip(extra: dict):
    m = Message("wamid.1", "c", Direction.OUTBOUND, "text", NOW, MessageStatus.SENT, "hi", **extra)
    doc = orjson.loads(orjson.dumps(message_to_doc(m)))
    check_message_doc(doc)
    assert message_from_doc(doc, "c") == m


def test_a_message_without_them_leaves_them_out():
    doc = message_to_doc(ours(1))
    assert "pricing" not in doc and "referral" not in doc


@pytest.mark.parametrize("bad", [{"pricing": "regular"}, {"pricing": {"billable": "yes"}}, {"pricing": {"type": 1}},
                                 {"referral": ["ad"]}, {"referral": {"headline": 7}}])
def test_a_damaged_pricing_or_referral_is_found_when_the_shard_loads(bad: dict):
    doc = {**message_to_doc(ours(1)), **bad}
    with pytest.raises((TypeError, ValueError, KeyError)):
        check_message_doc(doc)
