"""The mock prices its statuses as WhatsApp does (desk.pricing's rule, §6.5 and §7), and has
customers who came from a click-to-WhatsApp ad; both survive a restart."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from backends.mock import Simulation
from backends.mock.backend import MockBackend
from desk.clock import FrozenClock
from desk.config import MockConfig
from desk.models import Direction, MessageReceived, MessageStatus, Pricing, StatusChanged, Template
from desk.window import window

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
SERVICE = Pricing(False, "service", "PMP", "free_customer_service")
UTILITY_FREE = Pricing(False, "utility", "PMP", "free_customer_service")
ENTRY_POINT = Pricing(False, "referral_conversion", "PMP", "free_entry_point")


def quiet() -> MockConfig:
    return replace(MockConfig(), inbound_per_minute=0.0, failure_rate=0.0)


def inbound(sim: Simulation) -> list[MessageReceived]:
    return [e for e in sim.history() if isinstance(e, MessageReceived) and e.message.direction is Direction.INBOUND]


def customer(sim: Simulation, *, ad: bool, open: bool) -> tuple[str, str]:
    """(number, customer) of a conversation whose latest message is from an ad or not, with its
    window open or closed."""
    latest: dict[tuple[str, str], MessageReceived] = {}
    for e in inbound(sim):
        latest[(e.business_number_id, e.customer.id)] = e
    ads = {(e.business_number_id, e.customer.id) for e in inbound(sim) if e.message.referral is not None}
    for key, e in sorted(latest.items()):
        if (key in ads) is ad and window(e.message.timestamp, NOW).open is open:
            return key
    raise AssertionError("no such conversation")


def template(sim: Simulation, number: str, name: str) -> Template:
    return next(t for t in sim.templates(number) if t.name == name)


def priced(sim: Simulation, wamid: str) -> list[tuple[MessageStatus, Pricing | None]]:
    return [(e.status, e.pricing) for e in sim.due_events(NOW + timedelta(hours=1))
            if isinstance(e, StatusChanged) and e.wamid == wamid]


def test_a_few_customers_came_from_an_ad():
    sim = Simulation(quiet(), NOW)
    from_ads = [e for e in inbound(sim) if e.message.referral is not None]
    assert 2 <= len({e.customer.id for e in from_ads}) <= 6
    assert all(e.message.referral.source_type == "ad" and e.message.referral.headline for e in from_ads)  # type: ignore[union-attr]


def test_statuses_carry_pricing_on_sent_and_on_delivered_or_read():
    sim = Simulation(quiet(), NOW)
    number, who = customer(sim, ad=False, open=True)
    sent = sim.send_text(number, who, "Hello", NOW)
    statuses = priced(sim, sent.wamid)
    assert statuses[0] == (MessageStatus.SENT, SERVICE)
    assert [p for _, p in statuses[1:]].count(SERVICE) == 1  # one of delivered/read, as WhatsApp does


@pytest.mark.parametrize(
    ("ad", "open", "name", "values", "pricing"),
    [
        (False, True, "order_update", {"1": "Ana", "2": "#1", "3": "shipped"}, UTILITY_FREE),
        (False, False, "order_update", {"1": "Ana", "2": "#1", "3": "shipped"}, Pricing(True, "utility", "PMP", "regular")),
        (False, True, "new_collection", {"1": "Ana", "2": "10%"}, Pricing(True, "marketing", "PMP", "regular")),
        (False, True, "verification_code", {"1": "123456"}, Pricing(True, "authentication", "PMP", "regular")),
        (True, True, "new_collection", {"1": "Ana", "2": "10%"}, ENTRY_POINT),
    ],
)
def test_a_template_is_priced_by_its_category_the_window_and_the_ad(
    ad: bool, open: bool, name: str, values: dict[str, str], pricing: Pricing
):
    sim = Simulation(quiet(), NOW)
    number, who = customer(sim, ad=ad, open=open)
    t = template(sim, number, name)
    sent = sim.send_template(number, who, t.name, t.language, values, NOW)
    assert priced(sim, sent.wamid)[0] == (MessageStatus.SENT, pricing)


def test_the_history_s_replies_are_priced_and_an_ad_reply_opens_the_free_entry_point():
    sim = Simulation(quiet(), NOW)
    ours = [e.message for e in sim.history() if isinstance(e, MessageReceived) and e.message.direction is Direction.OUTBOUND]
    assert {m.pricing for m in ours if m.status is not MessageStatus.FAILED} == {SERVICE, ENTRY_POINT}
    assert all(m.pricing is None for m in ours if m.status is MessageStatus.FAILED)


async def test_the_entry_point_and_owed_pricing_survive_a_restart(tmp_path: Path):
    clock = FrozenClock(NOW)
    path = tmp_path / "mock-state.json"
    first = MockBackend(quiet(), clock, state_path=path)
    stream = first.events()
    for _ in first.simulation.history():
        await anext(stream)
    number, who = customer(first.simulation, ad=True, open=True)
    owed = first.simulation.send_text(number, who, "Before the restart", NOW)
    first.save(stopping=True)

    second = MockBackend(quiet(), clock, state_path=path)
    assert priced(second.simulation, owed.wamid)[0] == (MessageStatus.SENT, ENTRY_POINT)
    t = template(second.simulation, number, "new_collection")
    sent = second.simulation.send_template(number, who, t.name, t.language, {"1": "Ana", "2": "10%"}, NOW)
    assert priced(second.simulation, sent.wamid)[0] == (MessageStatus.SENT, ENTRY_POINT)
