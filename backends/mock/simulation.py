"""The mock's world, deterministic from a seed and stepped by the caller's clock.

Nothing here sleeps or reads the time: every method that needs "now" takes it. Future happenings
(the next customer message, the statuses of our sends) sit in a heap keyed on their due time;
`due_events(now)` pops what is due and `next_due()` says when to ask again. The world moves
`speed` times faster than real time: the desk's mock steps it with a clock already that fast
(desk.clock.ScaledClock, so timestamps are the simulated ones), the emulator with the wall clock
(so delays are shortened instead, and WhatsApp's timestamps stay real).

The window rule is WhatsApp's, applied from the mock's own record of each customer's latest
message: the desk cannot talk it into sending free text outside the 24-hour window.

Here: the stepping (the timer heap, the live trickle of customer messages, the statuses of our
sends) and the state a restart continues from. The history of a first start is
backends/mock/history.py, the conversations and their messages backends/mock/threads.py, what
a send is refused for backends/mock/rules.py.
"""

from __future__ import annotations

import heapq
import random
from datetime import datetime, timedelta
from typing import Any

from backends.base import Sent
from backends.errors import describe
from backends.mock.catalogue import catalogue, find
from backends.mock.history import build_history
from backends.mock.people import TOPICS, Person, make_people
from backends.mock.rules import check_number, check_reaction, check_template, check_text
from backends.mock.threads import Threads, whole
from desk.codec import pricing_from_doc, pricing_to_doc, ts_from_doc, ts_to_doc
from desk.config import MockConfig
from desk.models import (
    BusinessNumber,
    Event,
    MessageReceived,
    MessageStatus,
    StatusChanged,
    Template,
    TemplatesChanged,
    conversation_id,
)
from desk.pricing import EntryPoint, expected_pricing, service_cost, template_cost
from desk.window import window

STATE_VERSION = 1
MAX_CATCH_UP = 200
"""Trickle messages made by one `due_events` call at most: after a long pause (a laptop asleep)
the world skips ahead instead of flooding the desk with hours of traffic."""
REOPEN_SHARE = 0.12
"""Share of trickle messages that come from a customer whose window has closed."""
NEW_NUMBER_SHARE = 0.2
"""Share of trickle messages a known customer sends to a number they have not written to yet."""
DELIVERED_SKIPPED = 0.2
"""Share of successful sends whose `delivered` never comes (delivered and read at once)."""

_TRICKLE_KINDS = ("text", "image", "document", "voice", "audio", "location", "contacts", "reaction",
                  "reply", "unsupported")
_TRICKLE_WEIGHTS = (70, 7, 4, 5, 2, 3, 2, 3, 4, 1)
_CHATTY_TOPICS = tuple(t for t in TOPICS if t != "damaged")
_TRICKLE = "trickle"


class Simulation:
    """The deterministic WhatsApp world of the mock backend.

    `state` is what `state()` returned on an earlier run (None for a first start, which builds the
    history). On a restart the world keeps the seed and customer count it was created with, whatever
    the config says now, because the store already holds those customers. `clock_rate` is how much
    faster than real time the clock that steps this world runs (the desk's ScaledClock: its speed).
    """

    def __init__(
        self, config: MockConfig, now: datetime, state: dict[str, Any] | None = None, *, clock_rate: float = 1.0
    ) -> None:
        self.config = config
        self.shortening = config.speed / clock_rate
        """The world's delays are divided by this: its speed, less what the clock's own rate covers."""
        self.numbers = [BusinessNumber(n.id, n.display, n.department) for n in config.numbers]
        self.first_start = state is None
        state = state or {}
        self.seed: int = state.get("seed", config.seed)
        self.customer_count: int = state.get("customers", config.customers)
        self.anchor = datetime.fromisoformat(state["anchor"]) if "anchor" in state else now
        self.generation: int = state.get("generation", -1) + 1
        self.people: list[Person] = make_people(random.Random(self.seed), self.customer_count)
        self._people = {person.id: person for person in self.people}
        self._catalogues = {n.id: catalogue(n.id, i) for i, n in enumerate(self.numbers)}
        self._threads = Threads(self.seed, self.people, state.get("serial", 0))
        self._queue: list[tuple[datetime, int, Any]] = []
        self._seq = 0
        # Separate streams, so the agent's sends do not change which customer writes next.
        self._trickle_rng = random.Random(f"{self.seed}:trickle:{self.generation}")
        self._send_rng = random.Random(f"{self.seed}:send:{self.generation}")
        self._history: list[Event] = []
        if self.first_start:
            history = build_history(self.seed, now, self.people, self.numbers, self._threads)
            self._history = [*self.catalogue_events(now), *history]
        else:
            self._restore(state)
        self._schedule_trickle(now)

    # --- the stepping API -------------------------------------------------------------------------
    def history(self) -> list[Event]:
        """At first start: each number's catalogue, then every history event, oldest first.
        After a restart: empty (the store already has it)."""
        return list(self._history)

    def catalogue_events(self, now: datetime) -> list[TemplatesChanged]:
        """Each number's current catalogue as a TemplatesChanged synced now."""
        return [TemplatesChanged(n.id, self._catalogues[n.id], synced_at=now) for n in self.numbers]

    def next_due(self) -> datetime | None:
        """When the next thing happens (a customer message or a status), or None if nothing will."""
        return self._queue[0][0] if self._queue else None

    def due_events(self, now: datetime) -> list[Event]:
        """Everything due by `now`, in time order; each trickle message schedules the next."""
        events: list[Event] = []
        made = 0
        while self._queue and self._queue[0][0] <= now:
            due, _, item = heapq.heappop(self._queue)
            if not isinstance(item, str):  # a StatusChanged, made when the message was sent
                events.append(item)
            elif made >= MAX_CATCH_UP:
                self._schedule_trickle(now)
            else:
                events.append(self._trickle(due))
                made += 1
                self._schedule_trickle(due)
        return events

    def customer_writes(
        self, business_number_id: str, customer_id: str, at: datetime, kind: str = "text", topic: str = "greeting"
    ) -> MessageReceived:
        """A customer sends a message at `at`: how the trickle makes one, and a hook for tests and demos.

        `kind` is text, image, document, audio, voice, location, contacts, reaction, reply or
        unsupported; `topic` one of people.TOPICS. The message (re)opens the conversation's window.
        The customer must be one of `people` (KeyError otherwise).
        """
        person = self._people[customer_id]
        thread = self._threads.open(business_number_id, customer_id)
        quote = thread.last_out if kind == "reaction" else (thread.last_in or thread.last_out)
        if kind in ("reaction", "reply") and quote is None:
            kind = "text"
        message = self._threads.inbound(self._trickle_rng, thread, person, whole(at), kind, topic, quote)
        return MessageReceived(business_number_id, person.customer, message)

    # --- sending ----------------------------------------------------------------------------------
    def send_text(
        self, business_number_id: str, customer_id: str, text: str, now: datetime, reply_to: str | None = None
    ) -> Sent:
        """Accept free text like WhatsApp would, or raise its error (131047 outside the window; the
        rest in backends/mock/rules.py).

        The window is judged from the mock's own record of the customer's messages. `reply_to` is
        accepted unchecked, as WhatsApp does.
        """
        check_number(business_number_id, self._catalogues)
        check_text(text, self.last_inbound(business_number_id, customer_id), now)
        return self._accept(business_number_id, customer_id, now, None)

    def send_reaction(self, business_number_id: str, customer_id: str, message_id: str, emoji: str, now: datetime) -> Sent:
        """Accept a reaction ("" removes ours) like WhatsApp: free-form, so the window applies; the
        message it reacts to is not checked (WhatsApp tells of a bad one later, by webhook). Only
        `sent` follows, as Meta says of reactions."""
        check_number(business_number_id, self._catalogues)
        check_reaction(message_id, self.last_inbound(business_number_id, customer_id), now)
        return self._accept(business_number_id, customer_id, now, None, reaction=True)

    def send_template(
        self, business_number_id: str, customer_id: str, name: str, language: str, values: dict[str, str], now: datetime
    ) -> Sent:
        """Accept a template send, checked against the mock's own catalogue (not the desk's copy).

        Unknown, unapproved or wrong language: 132001; PAUSED 132015; DISABLED 132016; values that do
        not match the placeholders one for one (an empty value is a missing one): 132000.
        """
        check_number(business_number_id, self._catalogues)
        check_template(self._catalogues[business_number_id], name, language, values)
        return self._accept(business_number_id, customer_id, now, find(self._catalogues[business_number_id], name, language))

    def templates(self, business_number_id: str) -> list[Template]:
        """The number's catalogue, every status included."""
        return list(self._catalogues.get(business_number_id, ()))

    def last_inbound(self, business_number_id: str, customer_id: str) -> datetime | None:
        """The mock's record of when the customer last wrote to this number (the window's start)."""
        thread = self._threads.get(business_number_id, customer_id)
        return thread.last_inbound if thread else None

    def person(self, customer_id: str) -> Person | None:
        return self._people.get(customer_id)

    # --- persistence ------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """A JSON-ready snapshot: what a restart needs to continue this world without its history."""
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "customers": self.customer_count,
            "anchor": self.anchor.isoformat(),
            "generation": self.generation,
            "serial": self._threads.serial,
            "conversations": [
                {
                    "number": t.number_id,
                    "customer": t.customer_id,
                    "last_inbound": t.last_inbound.isoformat() if t.last_inbound else None,
                    "last_in": t.last_in,
                    "last_out": t.last_out,
                    "entry": [ts_to_doc(t.entry.ad_at), t.entry.answered, ts_to_doc(t.entry.opened_at)],
                }
                for t in self._threads.by_key.values()
            ],
            # Statuses still owed for our sends: a restart must not leave a message at one tick.
            "pending": [
                {
                    "due": due.isoformat(),
                    "number": item.business_number_id,
                    "customer": item.customer_id,
                    "wamid": item.wamid,
                    "status": item.status.value,
                    "error_code": item.error_code,
                    "error_text": item.error_text,
                    "pricing": pricing_to_doc(item.pricing) if item.pricing else None,
                }
                for due, _, item in sorted(self._queue, key=lambda entry: entry[:2])
                if isinstance(item, StatusChanged)
            ],
        }

    def _restore(self, state: dict[str, Any]) -> None:
        for row in state.get("conversations", []):
            thread = self._threads.open(row["number"], row["customer"])
            thread.last_inbound = datetime.fromisoformat(row["last_inbound"]) if row["last_inbound"] else None
            thread.last_in, thread.last_out = row.get("last_in"), row.get("last_out")
            ad_at, answered, opened_at = row.get("entry") or (None, False, None)
            thread.entry = EntryPoint(ts_from_doc(ad_at), bool(answered), ts_from_doc(opened_at))
        for row in state.get("pending", []):
            due = datetime.fromisoformat(row["due"])
            pricing = pricing_from_doc(row["pricing"]) if row.get("pricing") else None
            self._push(due, StatusChanged(row["number"], row["customer"], row["wamid"], MessageStatus(row["status"]),
                                          due, row.get("error_code"), row.get("error_text"), pricing))

    # --- internals --------------------------------------------------------------------------------
    def _push(self, due: datetime, item: Any) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (due, self._seq, item))

    def _later(self, at: datetime, simulated_seconds: float) -> datetime:
        """`at` plus a delay of the mock's world, in the stepping clock's time."""
        return at + timedelta(seconds=simulated_seconds / self.shortening)

    def _schedule_trickle(self, after: datetime) -> None:
        rate = self.config.inbound_per_minute
        if rate > 0:
            self._push(self._later(after, self._trickle_rng.expovariate(rate / 60.0)), _TRICKLE)

    def _accept(
        self, business_number_id: str, customer_id: str, now: datetime, template: Template | None, *, reaction: bool = False
    ) -> Sent:
        """WhatsApp took the message (`template`, or free-form when None): give it a wamid and
        schedule what its recipient's phone does, the statuses priced as WhatsApp prices them
        (desk.pricing): on `sent`, and on `delivered` or, when that is skipped, `read`. A `reaction`
        gets `sent` only (Meta sends no delivered or read for reactions)."""
        wamid = self._threads.wamid(customer_id)
        thread = self._threads.open(business_number_id, customer_id)
        if not reaction:  # a customer's reaction or quote goes to a message of ours, not to an emoji
            thread.last_out = wamid
        if template is None:
            cost = service_cost(thread.last_inbound, thread.entry, now)
        else:
            cost = template_cost(template, thread.last_inbound, thread.entry, now)
        pricing = expected_pricing(cost, template)
        rng = self._send_rng

        def status(at: datetime, value: MessageStatus, code: int | None = None, priced: bool = False) -> None:
            self._push(at, StatusChanged(business_number_id, customer_id, wamid, value, at,
                                         code, describe(code) if code else None, pricing if priced else None))

        if rng.random() < self.config.failure_rate:
            status(self._later(now, rng.uniform(1, 5)), MessageStatus.FAILED, 131026)
        else:
            thread.entry = thread.entry.replied(now)
            at = self._later(now, rng.uniform(0.5, 3))
            status(at, MessageStatus.SENT, priced=True)
            if reaction:
                return Sent(wamid, now)
            delivered = rng.random() >= DELIVERED_SKIPPED
            if delivered:
                at = self._later(at, rng.uniform(2, 20))
                status(at, MessageStatus.DELIVERED, priced=True)
            status(self._later(at, rng.uniform(5, 60)), MessageStatus.READ, priced=not delivered)
        return Sent(wamid, now)

    def _trickle(self, at: datetime) -> MessageReceived:
        """A customer writes: sometimes one whose window closed, sometimes to another number."""
        rng = self._trickle_rng
        thread = None
        if rng.random() < REOPEN_SHARE:
            closed = sorted(k for k, t in self._threads.by_key.items()
                            if t.last_inbound and t.customer_id in self._people and not window(t.last_inbound, at).open)
            if closed:
                thread = self._threads.by_key[rng.choice(closed)]
        if thread is None:
            person = rng.choice(self.people)
            known = [n.id for n in self.numbers if conversation_id(n.id, person.id) in self._threads.by_key]
            number_id = rng.choice(known) if known and rng.random() >= NEW_NUMBER_SHARE else rng.choice(self.numbers).id
            thread = self._threads.open(number_id, person.id)
        kind = rng.choices(_TRICKLE_KINDS, _TRICKLE_WEIGHTS)[0]
        return self.customer_writes(thread.number_id, thread.customer_id, at, kind, rng.choice(_CHATTY_TOPICS))
