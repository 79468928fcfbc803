"""The mock backend behaves like WhatsApp: deterministic, with every state and refusal the desk meets.

No sleeps and no network: the simulation is stepped with a FrozenClock, and the async loop is
bounded with asyncio.wait_for.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import phonenumbers
import pytest

from backends.base import Capability
from backends.errors import TemplateError, WhatsAppError, WindowClosedError, describe
from backends.mock import MockBackend, Simulation
from backends.mock.people import HOSTILE_LONG_LINE
from desk.clock import FrozenClock, SystemClock
from desk.config import MockConfig
from desk.models import (
    ConversationStatusChanged,
    Direction,
    Message,
    MessageReceived,
    MessageStatus,
    StatusChanged,
    Template,
    TemplatesChanged,
    TemplateStatus,
    conversation_id,
)
from desk.window import window

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
SALES, SUPPORT = "100000000000001", "100000000000002"


def quiet(**changes) -> MockConfig:
    """A config without trickle or failures unless a test asks for them."""
    return replace(MockConfig(), **{"inbound_per_minute": 0.0, "failure_rate": 0.0, **changes})


@dataclass
class Conv:
    messages: list[Message] = field(default_factory=list)
    resolved_at: datetime | None = None

    @property
    def inbound(self) -> list[Message]:
        return [m for m in self.messages if m.direction is Direction.INBOUND]

    @property
    def replies(self) -> list[Message]:
        return [m for m in self.messages if m.direction is Direction.OUTBOUND and m.status is not MessageStatus.FAILED]

    @property
    def last_in(self) -> datetime | None:
        return max((m.timestamp for m in self.inbound), default=None)

    @property
    def last_out(self) -> datetime | None:
        return max((m.timestamp for m in self.replies), default=None)

    @property
    def last(self) -> Message:
        return max(self.messages, key=lambda m: m.timestamp)


def conversations(events) -> dict[str, Conv]:
    convs: dict[str, Conv] = {}
    for event in events:
        if isinstance(event, MessageReceived):
            convs.setdefault(event.message.conversation_id, Conv()).messages.append(event.message)
        elif isinstance(event, ConversationStatusChanged):
            convs[conversation_id(event.business_number_id, event.customer_id)].resolved_at = event.at
    return convs


def messages(events) -> list[Message]:
    return [e.message for e in events if isinstance(e, MessageReceived)]


def find_conv(convs: dict[str, Conv], predicate) -> str:
    for key, conv in sorted(convs.items()):
        if predicate(conv):
            return key
    raise AssertionError("no conversation in that state")


def split(key: str) -> tuple[str, str]:
    number, customer = key.split("~", 1)
    return number, customer


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def backend(clock: FrozenClock) -> MockBackend:
    return MockBackend(quiet(), clock)


# --- determinism, customers ----------------------------------------------------------------------


def test_same_seed_gives_identical_history_and_another_seed_does_not() -> None:
    first = Simulation(MockConfig(), NOW).history()
    assert first == Simulation(MockConfig(), NOW).history()
    assert first != Simulation(replace(MockConfig(), seed=8), NOW).history()


def test_the_backend_declares_its_name_capabilities_and_numbers(backend: MockBackend) -> None:
    assert backend.name == "mock"
    assert backend.capabilities == (
        Capability.TEMPLATES | Capability.MARK_READ | Capability.TEMPLATE_SYNC | Capability.SEND_FILES
        | Capability.REACTIONS
    )
    assert [(n.id, n.department) for n in backend.business_numbers()] == [(SALES, "Sales"), (SUPPORT, "Support")]


def _has_script(text: str, word: str) -> bool:
    return any(word in unicodedata.name(ch, "") for ch in text)


def test_customers_span_countries_scripts_and_one_username() -> None:
    people = Simulation(quiet(), NOW).people
    names = [p.customer.name for p in people]
    assert len(people) >= 40
    for script in ("GREEK", "GUJARATI", "ARABIC", "CJK UNIFIED IDEOGRAPH"):
        assert any(_has_script(name, script) for name in names), script
    latvian = [p.customer.name for p in people if p.customer.country == "LV"]
    assert any(_has_script(name, "WITH MACRON") or _has_script(name, "WITH CEDILLA") for name in latvian)
    for code, country in (("+30", "GR"), ("+371", "LV"), ("+91", "IN"), ("+44", "GB"), ("+1", "US"), ("+34", "ES"),
                          ("+52", "MX")):
        assert any(p.customer.phone.startswith(code) and p.customer.country == country
                   for p in people if p.customer.phone), code
    assert {"el", "lv", "gu", "en", "es", "ar", "ja"} <= {p.language for p in people}

    username_only = [p.customer for p in people if p.customer.phone is None]
    assert len(username_only) == 1
    lena = username_only[0]
    assert lena.username == "@lena.k" and lena.id == "DE.1349120865530274191"

    ids = [p.id for p in people]
    assert len(set(ids)) == len(ids)
    for person in people:
        customer = person.customer
        if customer.phone is None:
            continue
        number = phonenumbers.parse(customer.phone)
        assert phonenumbers.is_valid_number(number), customer
        assert phonenumbers.region_code_for_number(number) == customer.country
        assert customer.phone == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        assert customer.id == customer.phone[1:]
        assert person.phone_display == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def test_customers_write_in_their_own_language() -> None:
    people = {p.language: p for p in Simulation(quiet(), NOW).people[2:]}
    assert _has_script(people["el"].lines["order"], "GREEK")
    assert _has_script(people["gu"].lines["order"], "GUJARATI")
    assert _has_script(people["ar"].lines["order"], "ARABIC")
    assert _has_script(people["ja"].lines["order"], "HIRAGANA")
    assert "pasūtījums" in people["lv"].lines["order"]
    assert "pedido" in people["es"].lines["order"]


def test_the_hostile_customer_says_everything_literally() -> None:
    history = Simulation(quiet(), NOW).history()
    mallory = [e for e in history if isinstance(e, MessageReceived) and e.customer.name == "[bold red]Mallory[/]"]
    assert mallory, "the hostile customer is in the history"
    texts = "\n".join(e.message.text for e in mallory if e.message.direction is Direction.INBOUND)
    for needle in ("[@click=app.quit]quit[/]", "\x1b[31mred\x1b[0m", "\x1b]8;;http://evil\x07link\x1b]8;;\x07",
                   "\u202e", "😈"):
        assert needle in texts
    assert any(e.message.text == HOSTILE_LONG_LINE for e in mallory)
    assert len(HOSTILE_LONG_LINE) == 2000 and "\n" not in HOSTILE_LONG_LINE


# --- history ---------------------------------------------------------------------------------------


def test_history_starts_with_each_numbers_catalogue() -> None:
    history = Simulation(quiet(), NOW).history()
    catalogues = [e for e in history if isinstance(e, TemplatesChanged)]
    assert [e.business_number_id for e in catalogues] == [SALES, SUPPORT]
    assert history[:2] == catalogues
    assert all(e.synced_at == NOW and 10 <= len(e.templates) <= 16 for e in catalogues)


def test_history_covers_every_state_the_inbox_shows() -> None:
    convs = conversations(Simulation(quiet(), NOW).history())
    day = timedelta(days=1)

    def age(at: datetime | None) -> timedelta:
        assert at is not None
        return NOW - at

    def unanswered_since(conv: Conv) -> datetime | None:
        after = [m.timestamp for m in conv.inbound if conv.last_out is None or m.timestamp > conv.last_out]
        return min(after, default=None)

    states = {
        "new and unanswered": lambda c: not c.replies and age(c.last_in) <= timedelta(minutes=10),
        "answered, waiting for the customer": lambda c: c.last.direction is Direction.OUTBOUND
        and c.last.status is MessageStatus.READ and window(c.last_in, NOW).open and c.resolved_at is None,
        "first-response SLA breached": lambda c: not c.replies
        and timedelta(hours=2) <= age(min(m.timestamp for m in c.inbound)) <= timedelta(hours=3),
        "next-response SLA due soon": lambda c: bool(c.replies) and c.last_in > c.last_out
        and timedelta(minutes=45) <= age(unanswered_since(c)) < timedelta(minutes=60),
        "window closing within the hour": lambda c: window(c.last_in, NOW).closing_soon
        and c.last_out is not None and c.last_out > c.last_in,
        "window closed days ago": lambda c: not window(c.last_in, NOW).open and 3 * day <= age(c.last_in) <= 6 * day,
        "resolved": lambda c: c.resolved_at is not None and c.resolved_at > c.last.timestamp,
    }
    for state, predicate in states.items():
        assert any(predicate(c) for c in convs.values()), state
    assert all(2 <= len(c.messages) <= 12 for c in convs.values())
    assert {split(key)[0] for key in convs} == {SALES, SUPPORT}
    customers = [split(key)[1] for key in convs]
    assert len(set(customers)) < len(customers), "some customer writes to both numbers"


def test_history_carries_every_message_type() -> None:
    history = Simulation(quiet(), NOW).history()
    msgs = messages(history)
    by_type: dict[str, list[Message]] = {}
    for m in msgs:
        by_type.setdefault(m.type, []).append(m)
    ids = [m.id for m in msgs]
    assert len(set(ids)) == len(ids) and all(i.startswith("wamid.HBgL") for i in ids)
    for m, event in ((m, e) for e in history if isinstance(e, MessageReceived) for m in [e.message]):
        assert m.conversation_id == conversation_id(event.business_number_id, event.customer.id)

    image = by_type["image"][0]
    assert image.media.caption and image.media.mime_type == "image/jpeg" and image.media.size > 0
    document = by_type["document"][0]
    assert document.media.filename.endswith(".pdf") and document.media.size > 0
    assert by_type["audio"][0].media.kind == "audio"
    assert by_type["voice"][0].media.kind == "voice"
    location = by_type["location"][0].location
    assert location is not None and -90 <= location.latitude <= 90
    assert by_type["contacts"][0].contacts
    ours = {m.id for m in msgs if m.direction is Direction.OUTBOUND}
    assert any(m.reaction_to in ours and m.text for m in by_type["reaction"])
    earlier = {m.id: m for m in msgs}
    replies = [m for m in msgs if m.reply_to]
    assert replies and all(earlier[m.reply_to].timestamp < m.timestamp for m in replies)
    unsupported = by_type["unsupported"][0]
    assert unsupported.error_code == 131051 and unsupported.text == "Message type unknown"

    outbound = [m for m in msgs if m.direction is Direction.OUTBOUND]
    assert all(m.wamid == m.id for m in outbound)
    assert {MessageStatus.READ, MessageStatus.DELIVERED, MessageStatus.SENT, MessageStatus.FAILED} == {
        m.status for m in outbound
    }
    failed = [m for m in outbound if m.status is MessageStatus.FAILED]
    assert len(failed) == 1 and failed[0].error_code == 131026 and failed[0].error_text == describe(131026)
    assert all(m.status is MessageStatus.RECEIVED for m in msgs if m.direction is Direction.INBOUND)
    times = [m.timestamp for m in msgs]
    assert times == sorted(times) and max(times) <= NOW


# --- sending free text -----------------------------------------------------------------------------


def _closed(backend: MockBackend) -> tuple[str, str]:
    convs = conversations(backend.simulation.history())
    return split(find_conv(convs, lambda c: not window(c.last_in, NOW).open))


def _open(backend: MockBackend) -> tuple[str, str]:
    convs = conversations(backend.simulation.history())
    return split(find_conv(convs, lambda c: not c.replies and window(c.last_in, NOW).open))


def _customer(backend: MockBackend, customer_id: str):
    return backend.simulation.person(customer_id).customer


def _drain(sim: Simulation, clock: FrozenClock, until: timedelta, step: timedelta = timedelta(seconds=1)) -> list:
    events = []
    end = clock.now() + until
    while clock.now() < end:
        clock.advance(step)
        events += sim.due_events(clock.now())
    return events


async def test_free_text_outside_the_window_is_refused_131047(backend: MockBackend) -> None:
    number, customer_id = _closed(backend)
    with pytest.raises(WindowClosedError) as refused:
        await backend.send_text(number, _customer(backend, customer_id), "Hello again")
    assert refused.value.code == 131047
    assert refused.value.sentence == describe(131047)


async def test_free_text_to_someone_who_never_wrote_is_refused(backend: MockBackend) -> None:
    never = next(p for p in backend.simulation.people if backend.simulation.last_inbound(SUPPORT, p.id) is None)
    with pytest.raises(WindowClosedError):
        await backend.send_text(SUPPORT, never.customer, "Hi")


async def test_free_text_inside_the_window_gets_sent_delivered_read(backend: MockBackend, clock: FrozenClock) -> None:
    number, customer_id = _open(backend)
    sent = await backend.send_text(number, _customer(backend, customer_id), "We are on it")
    assert sent.at == NOW and sent.wamid.startswith("wamid.HBgL")
    assert backend.simulation.due_events(clock.now()) == [], "statuses take time"
    statuses = [e for e in _drain(backend.simulation, clock, timedelta(minutes=3)) if isinstance(e, StatusChanged)]
    assert {(s.wamid, s.customer_id, s.business_number_id) for s in statuses} == {(sent.wamid, customer_id, number)}
    order = [s.status for s in statuses]
    assert order in ([MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ],
                     [MessageStatus.SENT, MessageStatus.READ])
    times = [s.timestamp for s in statuses]
    assert times == sorted(times) and NOW < times[0] and times[-1] <= NOW + timedelta(seconds=90)


async def test_a_reaction_is_free_form_and_gets_sent_only(backend: MockBackend, clock: FrozenClock) -> None:
    """Meta: a reaction is followed by a `sent` status and never by delivered or read."""
    number, customer_id = _open(backend)
    customer = _customer(backend, customer_id)
    sent = await backend.send_reaction(number, customer, "wamid.THEIRS", "👍")
    statuses = [e for e in _drain(backend.simulation, clock, timedelta(minutes=3)) if isinstance(e, StatusChanged)]
    assert [(s.wamid, s.status) for s in statuses] == [(sent.wamid, MessageStatus.SENT)]
    closed_number, closed_customer = _closed(backend)
    with pytest.raises(WindowClosedError):
        await backend.send_reaction(closed_number, _customer(backend, closed_customer), "wamid.THEIRS", "👍")
    with pytest.raises(WhatsAppError) as refused:
        await backend.send_reaction(number, customer, "", "👍")
    assert refused.value.code == 131008


async def test_delivered_is_sometimes_skipped(backend: MockBackend, clock: FrozenClock) -> None:
    number, customer_id = _open(backend)
    customer = _customer(backend, customer_id)
    sent = [(await backend.send_text(number, customer, f"update {i}")).wamid for i in range(40)]
    statuses = [e for e in _drain(backend.simulation, clock, timedelta(minutes=3)) if isinstance(e, StatusChanged)]
    delivered = {s.wamid for s in statuses if s.status is MessageStatus.DELIVERED}
    read = {s.wamid for s in statuses if s.status is MessageStatus.READ}
    assert read == set(sent) and 0 < len(delivered) < len(sent)


async def test_a_failure_rate_of_one_fails_every_send_with_131026(clock: FrozenClock) -> None:
    backend = MockBackend(quiet(failure_rate=1.0), clock)
    number, customer_id = _open(backend)
    sent = await backend.send_text(number, _customer(backend, customer_id), "Hello")
    statuses = [e for e in _drain(backend.simulation, clock, timedelta(minutes=2)) if isinstance(e, StatusChanged)]
    assert [(s.wamid, s.status, s.error_code, s.error_text) for s in statuses] == [
        (sent.wamid, MessageStatus.FAILED, 131026, describe(131026))
    ]


async def test_a_customer_writing_again_reopens_the_window(backend: MockBackend, clock: FrozenClock) -> None:
    number, customer_id = _closed(backend)
    customer = _customer(backend, customer_id)
    with pytest.raises(WindowClosedError):
        await backend.send_text(number, customer, "Hello")
    clock.advance(timedelta(minutes=1))
    event = backend.simulation.customer_writes(number, customer_id, clock.now())
    assert event.message.direction is Direction.INBOUND and event.customer == customer
    assert (await backend.send_text(number, customer, "Welcome back")).wamid


def test_the_trickle_reopens_closed_windows_by_itself(clock: FrozenClock) -> None:
    sim = Simulation(quiet(inbound_per_minute=2.0), NOW)
    closed_before = {key for key, c in conversations(sim.history()).items() if not window(c.last_in, NOW).open}
    arrived = messages(_drain(sim, clock, timedelta(hours=3), step=timedelta(minutes=1)))
    reopened = {m.conversation_id for m in arrived} & closed_before
    assert reopened
    number, customer_id = split(sorted(reopened)[0])
    assert window(sim.last_inbound(number, customer_id), clock.now()).open


# --- templates -------------------------------------------------------------------------------------


def _template(backend: MockBackend, number: str, name: str, language: str = "en_US") -> Template:
    return next(t for t in backend.simulation.templates(number) if t.name == name and t.language == language)


async def test_catalogue_has_every_status_language_and_format(backend: MockBackend) -> None:
    for number in (SALES, SUPPORT):
        templates = await backend.templates(number)
        assert 10 <= len(templates) <= 16
        assert {t.status.value for t in templates} == {"APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED"}
        assert {t.language for t in templates} >= {"en_US", "es", "el", "lv", "gu"}
        assert {t.category for t in templates if t.sendable} == {"UTILITY", "MARKETING", "AUTHENTICATION"}
        assert {t.parameter_format for t in templates} == {"POSITIONAL", "NAMED"}
        assert {b.type for t in templates for b in t.buttons} >= {"QUICK_REPLY", "URL"}
        assert any(t.header and t.footer and t.buttons for t in templates)
        assert all(t.id.isdigit() and len(t.id) == 15 and t.business_number_id == number for t in templates)
        named = next(t for t in templates if t.parameter_format == "NAMED")
        assert not any(p.isdigit() for p in named.parameters())
    assert {t.id for t in await backend.templates(SALES)}.isdisjoint({t.id for t in await backend.templates(SUPPORT)})


async def test_template_rules(backend: MockBackend) -> None:
    number, customer_id = _closed(backend)  # templates need no window
    customer = _customer(backend, customer_id)
    order_update = _template(backend, number, "order_update")
    assert order_update.parameters() == ["1", "2", "3"]
    good = {"1": "Ana", "2": "#123", "3": "shipped"}

    async def refused(template: Template, values: dict[str, str]) -> int:
        with pytest.raises(TemplateError) as error:
            await backend.send_template(number, customer, template, values)
        return error.value.code

    assert await refused(order_update, {"1": "Ana", "2": "#123"}) == 132000
    assert await refused(order_update, {**good, "4": "extra"}) == 132000
    assert await refused(order_update, {**good, "2": ""}) == 132000
    assert await refused(order_update, {**good, "2": "   "}) == 132000
    assert await refused(replace(order_update, name="no_such_template"), good) == 132001
    assert await refused(replace(order_update, language="lv"), good) == 132001
    assert await refused(_template(backend, number, "feedback_request"), {"first_name": "Ana"}) == 132001
    rejected = next(t for t in backend.simulation.templates(number) if t.status.value == "REJECTED")
    assert await refused(rejected, {p: "x" for p in rejected.parameters()}) == 132001
    paused = next(t for t in backend.simulation.templates(number) if t.status.value == "PAUSED")
    assert await refused(paused, {p: "x" for p in paused.parameters()}) == 132015
    disabled = next(t for t in backend.simulation.templates(number) if t.status.value == "DISABLED")
    assert await refused(disabled, {p: "x" for p in disabled.parameters()}) == 132016

    assert (await backend.send_template(number, customer, order_update, good)).wamid
    assert (await backend.send_template(number, customer, replace(order_update, language="en-US"), good)).wamid
    refund = _template(backend, number, "refund_processed")
    assert refund.parameter_format == "NAMED"
    values = {"first_name": "Ana", "order_id": "#123", "amount": "€20"}
    assert (await backend.send_template(number, customer, refund, values)).wamid
    assert await refused(refund, {"1": "Ana", "2": "#123", "3": "€20"}) == 132000
    thanks = _template(backend, number, "thanks_for_contacting")
    assert (await backend.send_template(number, customer, thanks, {})).wamid


async def test_the_mock_judges_templates_by_its_own_catalogue(backend: MockBackend) -> None:
    number, customer_id = _closed(backend)
    paused = next(t for t in backend.simulation.templates(number) if t.status.value == "PAUSED")
    claims_approved = replace(paused, status=TemplateStatus.APPROVED)
    with pytest.raises(TemplateError) as error:
        await backend.send_template(number, _customer(backend, customer_id), claims_approved,
                                    {p: "x" for p in paused.parameters()})
    assert error.value.code == 132015


async def test_an_unknown_business_number_is_refused(backend: MockBackend) -> None:
    with pytest.raises(WhatsAppError) as error:
        await backend.send_text("999", backend.simulation.people[2].customer, "Hi")
    assert error.value.code == 100


# --- the live trickle and speed --------------------------------------------------------------------


def test_the_trickle_brings_customers_writing_in_their_language(clock: FrozenClock) -> None:
    sim = Simulation(quiet(inbound_per_minute=2.0), NOW)
    before = set(conversations(sim.history()))
    arrived = messages(_drain(sim, clock, timedelta(hours=1), step=timedelta(seconds=30)))
    assert 60 <= len(arrived) <= 200
    assert all(m.direction is Direction.INBOUND and NOW < m.timestamp <= clock.now() for m in arrived)
    assert {m.type for m in arrived} - {"text"}, "sometimes media, location or reactions"
    assert {m.conversation_id for m in arrived} - before, "sometimes a new conversation"
    for m in arrived:
        if m.type == "text" and not m.reply_to:
            person = sim.person(split(m.conversation_id)[1])
            assert m.text in person.lines.values()
    for m in arrived:
        number, customer_id = split(m.conversation_id)
        assert sim.last_inbound(number, customer_id) >= m.timestamp


def test_same_seed_gives_the_same_trickle() -> None:
    def run() -> list:
        clock = FrozenClock(NOW)
        sim = Simulation(quiet(inbound_per_minute=3.0), NOW)
        return _drain(sim, clock, timedelta(minutes=20), step=timedelta(minutes=1))

    assert run() == run()


def test_speed_makes_the_world_move_faster(clock: FrozenClock) -> None:
    sim = Simulation(quiet(inbound_per_minute=2.0, speed=60.0), NOW)
    arrived = messages(_drain(sim, clock, timedelta(minutes=1)))
    assert 60 <= len(arrived) <= 200, "an hour of traffic in a minute"


async def test_speed_shortens_status_delays(clock: FrozenClock) -> None:
    backend = MockBackend(quiet(speed=60.0), clock)
    number, customer_id = _open(backend)
    sent = await backend.send_text(number, _customer(backend, customer_id), "Fast")
    statuses = [e for e in _drain(backend.simulation, clock, timedelta(seconds=2), step=timedelta(milliseconds=100))
                if isinstance(e, StatusChanged) and e.wamid == sent.wamid]
    assert statuses[-1].status is MessageStatus.READ


def test_without_trickle_nothing_is_due_until_a_send() -> None:
    sim = Simulation(quiet(), NOW)
    assert sim.next_due() is None


# --- persistence -----------------------------------------------------------------------------------


async def test_a_restart_yields_no_history_and_still_knows_the_windows(tmp_path, clock: FrozenClock) -> None:
    path = tmp_path / "mock-state.json"
    first = MockBackend(quiet(), clock, state_path=path)
    history = first.simulation.history()
    stream = first.events()
    taken = [await asyncio.wait_for(anext(stream), 1) for _ in history]
    assert taken == history
    assert path.exists() and json.loads(path.read_text())["seed"] == 7
    open_number, open_customer = _open(first)
    closed_number, closed_customer = _closed(first)
    pending = await first.send_text(open_number, _customer(first, open_customer), "Before the restart")
    await first.stop()

    clock.advance(timedelta(minutes=2))
    second = MockBackend(quiet(seed=99, customers=10), clock, state_path=path)
    assert not second.simulation.first_start and second.simulation.history() == []
    # The world keeps the seed and size it was made with, whatever the config says now.
    assert [p.id for p in second.simulation.people] == [p.id for p in first.simulation.people]
    stream = second.events()
    start = [await asyncio.wait_for(anext(stream), 1) for _ in second.business_numbers()]
    assert all(isinstance(e, TemplatesChanged) and e.synced_at == clock.now() for e in start)
    # Statuses owed from before the restart still come.
    owed = [await asyncio.wait_for(anext(stream), 1) for _ in range(2)]
    assert {e.wamid for e in owed} == {pending.wamid} and all(isinstance(e, StatusChanged) for e in owed)

    with pytest.raises(WindowClosedError):
        await second.send_text(closed_number, _customer(second, closed_customer), "Hello")
    assert await second.send_text(open_number, _customer(second, open_customer), "Still open")
    # Ids stay unique across restarts.
    assert (await second.send_text(open_number, _customer(second, open_customer), "again")).wamid != pending.wamid


async def test_nothing_is_saved_before_the_history_is_handed_over(tmp_path, clock: FrozenClock) -> None:
    path = tmp_path / "mock-state.json"
    backend = MockBackend(quiet(), clock, state_path=path)
    await backend.stop()
    assert not path.exists()
    assert MockBackend(quiet(), clock, state_path=path).simulation.first_start


def test_an_unreadable_state_file_is_a_first_start(tmp_path, clock: FrozenClock) -> None:
    path = tmp_path / "mock-state.json"
    path.write_text("{not json")
    assert MockBackend(quiet(), clock, state_path=path).simulation.first_start


# --- the async loop --------------------------------------------------------------------------------


async def test_events_yields_history_then_trickle_and_statuses(clock: FrozenClock) -> None:
    backend = MockBackend(quiet(inbound_per_minute=2.0, speed=1e6), clock)
    history = backend.simulation.history()
    stream = backend.events()
    assert [await asyncio.wait_for(anext(stream), 1) for _ in history] == history

    clock.advance(timedelta(milliseconds=1))  # a thousand seconds of the mock's world
    live = await asyncio.wait_for(anext(stream), 1)
    assert isinstance(live, MessageReceived) and live.message.timestamp > NOW - timedelta(seconds=1)

    # Drain what is due, then send: the waiting loop wakes for the statuses.
    number, customer_id = split(live.message.conversation_id)
    sent = await backend.send_text(number, live.customer, "Thanks!")
    clock.advance(timedelta(milliseconds=1))
    seen = []
    while not any(isinstance(e, StatusChanged) and e.status is MessageStatus.READ for e in seen):
        seen.append(await asyncio.wait_for(anext(stream), 1))
    assert {e.wamid for e in seen if isinstance(e, StatusChanged)} == {sent.wamid}


async def test_events_runs_on_the_system_clock_at_high_speed() -> None:
    backend = MockBackend(quiet(inbound_per_minute=2.0, speed=1e6), SystemClock())
    stream = backend.events()
    history = backend.simulation.history()
    for _ in history:
        await asyncio.wait_for(anext(stream), 1)
    live = [await asyncio.wait_for(anext(stream), 2) for _ in range(5)]
    assert all(isinstance(e, MessageReceived) for e in live)


async def test_mark_read_is_accepted(backend: MockBackend) -> None:
    assert await backend.mark_read(SALES, "wamid.HBgLxyz") is None
