"""The mock's world, deterministic from a seed and stepped by the caller's clock.

Nothing here sleeps or reads the time: every method that needs "now" takes it. Future happenings
(the next customer message, the statuses of our sends) sit in a heap keyed on their due time;
`due_events(now)` pops what is due and `next_due()` says when to ask again. The world moves
`speed` times faster than real time: the desk's mock steps it with a clock already that fast
(desk.clock.ScaledClock, so timestamps are the simulated ones), the emulator with the wall clock
(so delays are shortened instead, and WhatsApp's timestamps stay real).

The window rule is WhatsApp's, applied from the mock's own record of each customer's latest
message: the desk cannot talk it into sending free text outside the 24-hour window.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backends.base import Sent
from backends.errors import describe, error_for
from backends.mock.catalogue import catalogue, find
from backends.mock.people import TOPICS, Person, make_people
from desk.config import MockConfig
from desk.contacts import handle
from desk.limits import TEXT_MAX
from desk.models import (
    BusinessNumber,
    ConversationStatus,
    ConversationStatusChanged,
    Direction,
    Event,
    Media,
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

MIN, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
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

# --- history scripts --------------------------------------------------------------------------------
# A conversation at first start, as (how long before now, who, what). "in": a topic of
# people.TOPICS or a message kind; "out": our message's status; "resolved": an agent resolved it.
# Each script pins one state the inbox must show; the first fifteen also carry the special types.
_Step = tuple[timedelta, str, str]
_SCRIPTS: tuple[tuple[str, tuple[_Step, ...]], ...] = (
    ("new", ((7 * MIN, "in", "greeting"), (5 * MIN, "in", "image"))),
    ("new", ((9 * MIN, "in", "greeting"), (7 * MIN, "in", "delivery"), (5 * MIN, "in", "refund"))),
    ("first_breached", ((2 * HOUR + 50 * MIN, "in", "refund"), (2 * HOUR + 40 * MIN, "in", "unsupported"))),
    ("first_breached", ((2 * HOUR + 35 * MIN, "in", "greeting"), (2 * HOUR + 20 * MIN, "in", "voice"))),
    ("answered", ((3 * HOUR, "in", "greeting"), (2 * HOUR + 55 * MIN, "in", "document"),
                  (2 * HOUR + 40 * MIN, "out", "read"))),
    ("answered", ((5 * HOUR, "in", "delivery"), (4 * HOUR + 50 * MIN, "out", "read"),
                  (4 * HOUR + 30 * MIN, "in", "order"), (4 * HOUR + 10 * MIN, "out", "read"))),
    ("next_due", ((4 * HOUR, "in", "order"), (3 * HOUR + 50 * MIN, "out", "read"), (50 * MIN, "in", "reply"))),
    ("next_due", ((6 * HOUR, "in", "greeting"), (5 * HOUR + 50 * MIN, "out", "read"), (5 * HOUR, "in", "location"),
                  (4 * HOUR + 55 * MIN, "out", "read"), (48 * MIN, "in", "refund"))),
    ("closing", ((23 * HOUR + 40 * MIN, "in", "order"), (23 * HOUR + 20 * MIN, "in", "audio"),
                 (23 * HOUR, "out", "read"))),
    ("closing", ((23 * HOUR + 35 * MIN, "in", "delivery"), (23 * HOUR + 30 * MIN, "in", "thanks"),
                 (23 * HOUR + 10 * MIN, "out", "read"))),
    ("closed", ((4 * DAY + 2 * HOUR, "in", "order"), (4 * DAY + HOUR + 58 * MIN, "out", "failed"),
                (4 * DAY + HOUR + 55 * MIN, "out", "delivered"), (4 * DAY + HOUR + 50 * MIN, "in", "thanks"),
                (4 * DAY + HOUR + 45 * MIN, "out", "read"))),
    ("closed", ((5 * DAY + 6 * HOUR, "in", "refund"), (5 * DAY + 5 * HOUR, "out", "read"),
                (5 * DAY + 4 * HOUR, "in", "contacts"), (5 * DAY + 3 * HOUR, "out", "sent"))),
    ("resolved", ((DAY + 3 * HOUR, "in", "refund"), (DAY + 2 * HOUR + 50 * MIN, "out", "read"),
                  (DAY + 2 * HOUR + 45 * MIN, "in", "reaction"), (DAY + 2 * HOUR + 40 * MIN, "in", "thanks"),
                  (DAY + 2 * HOUR + 30 * MIN, "out", "read"), (DAY + 2 * HOUR + 20 * MIN, "resolved", ""))),
    ("resolved", ((2 * DAY, "in", "order"), (DAY + 23 * HOUR + 50 * MIN, "out", "read"),
                  (DAY + 23 * HOUR + 40 * MIN, "in", "thanks"), (DAY + 23 * HOUR + 30 * MIN, "out", "delivered"),
                  (DAY + 23 * HOUR, "resolved", ""))),
    ("closed", ((3 * DAY + 3 * HOUR, "in", "greeting"), (3 * DAY + 2 * HOUR + 50 * MIN, "out", "read"))),
    # Plain variants, so the inbox is not one conversation per state.
    ("new", ((14 * MIN, "in", "greeting"), (12 * MIN, "in", "order"))),
    ("answered", ((HOUR + 30 * MIN, "in", "delivery"), (HOUR + 10 * MIN, "out", "read"))),
    ("first_breached", ((2 * HOUR + 10 * MIN, "in", "order"), (2 * HOUR + 5 * MIN, "in", "greeting"))),
    ("next_due", ((8 * HOUR, "in", "refund"), (7 * HOUR + 45 * MIN, "out", "read"), (55 * MIN, "in", "order"))),
    ("closing", ((23 * HOUR + 50 * MIN, "in", "refund"), (23 * HOUR + 45 * MIN, "out", "read"))),
    ("closed", ((6 * DAY, "in", "delivery"), (5 * DAY + 23 * HOUR, "out", "delivered"),
                (5 * DAY + 22 * HOUR, "in", "thanks"), (5 * DAY + 21 * HOUR, "out", "read"))),
    ("closed", ((3 * DAY + 20 * HOUR, "in", "order"), (3 * DAY + 19 * HOUR, "out", "read"))),
    ("resolved", ((9 * HOUR, "in", "order"), (8 * HOUR + 50 * MIN, "out", "read"),
                  (8 * HOUR + 40 * MIN, "in", "thanks"), (8 * HOUR + 30 * MIN, "out", "read"),
                  (8 * HOUR, "resolved", ""))),
    ("answered", ((40 * MIN, "in", "greeting"), (30 * MIN, "out", "delivered"))),
)
_HOSTILE_SCRIPT, _USERNAME_SCRIPT = 1, 4
"""Which scripts the hostile and the username-only customers play: both must be in the history."""
_WITH_OLDER_EXCHANGES = {"answered", "next_due", "closing", "closed", "resolved"}
"""States that may have older, long-closed exchanges before them (a new or a never-answered
conversation must not: its first reply is still owed)."""
_MAX_MESSAGES = 12


@dataclass
class _Thread:
    """What the mock remembers of one conversation: enough for the window rule and for quoting."""

    number_id: str
    customer_id: str
    last_inbound: datetime | None = None
    last_in: str | None = None
    last_out: str | None = None


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
        self._serial: int = state.get("serial", 0)
        self.people: list[Person] = make_people(random.Random(self.seed), self.customer_count)
        self._people = {person.id: person for person in self.people}
        self._catalogues = {n.id: catalogue(n.id, i) for i, n in enumerate(self.numbers)}
        self._threads: dict[str, _Thread] = {}
        self._queue: list[tuple[datetime, int, Any]] = []
        self._seq = 0
        # Separate streams, so the agent's sends do not change which customer writes next.
        self._trickle_rng = random.Random(f"{self.seed}:trickle:{self.generation}")
        self._send_rng = random.Random(f"{self.seed}:send:{self.generation}")
        self._history: list[Event] = []
        if self.first_start:
            self._history = self._build_history(now)
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
        thread = self._thread(business_number_id, customer_id)
        quote = thread.last_out if kind == "reaction" else (thread.last_in or thread.last_out)
        if kind in ("reaction", "reply") and quote is None:
            kind = "text"
        message = self._inbound(self._trickle_rng, thread, person, _whole(at), kind, topic, quote)
        return MessageReceived(business_number_id, person.customer, message)

    # --- sending ----------------------------------------------------------------------------------
    def send_text(
        self, business_number_id: str, customer_id: str, text: str, now: datetime, reply_to: str | None = None
    ) -> Sent:
        """Accept free text like WhatsApp would, or raise its error (131047 outside the window).

        The window is judged from the mock's own record of the customer's messages. `reply_to` is
        accepted unchecked, as WhatsApp does.
        """
        self._check_number(business_number_id)
        if not text.strip():
            raise error_for(131008, "text.body is required")
        if len(text) > TEXT_MAX:
            raise error_for(100, f"text.body is longer than {TEXT_MAX} characters")
        thread = self._threads.get(conversation_id(business_number_id, customer_id))
        if not window(thread.last_inbound if thread else None, now).open:
            raise error_for(131047, "More than 24 hours have passed since the recipient last replied.")
        return self._accept(business_number_id, customer_id, now)

    def send_template(
        self, business_number_id: str, customer_id: str, name: str, language: str, values: dict[str, str], now: datetime
    ) -> Sent:
        """Accept a template send, checked against the mock's own catalogue (not the desk's copy).

        Unknown, unapproved or wrong language: 132001; PAUSED 132015; DISABLED 132016; values that do
        not match the placeholders one for one (an empty value is a missing one): 132000.
        """
        self._check_number(business_number_id)
        template = find(self._catalogues[business_number_id], name, language)
        if template is None:
            raise error_for(132001, f"template name ({name}) does not exist in {language}")
        if template.status is TemplateStatus.PAUSED:
            raise error_for(132015, f"{name} is paused")
        if template.status is TemplateStatus.DISABLED:
            raise error_for(132016, f"{name} is disabled")
        if template.status is not TemplateStatus.APPROVED:
            raise error_for(132001, f"{name} ({language}) is {template.status_name}, not approved")
        given = {key for key, value in values.items() if value and value.strip()}
        expected = set(template.parameters())
        if len(given) != len(values) or given != expected:
            raise error_for(132000, f"expected {len(expected)} parameters, got {len(given)} filled in")
        return self._accept(business_number_id, customer_id, now)

    def templates(self, business_number_id: str) -> list[Template]:
        """The number's catalogue, every status included."""
        return list(self._catalogues.get(business_number_id, ()))

    def last_inbound(self, business_number_id: str, customer_id: str) -> datetime | None:
        """The mock's record of when the customer last wrote to this number (the window's start)."""
        thread = self._threads.get(conversation_id(business_number_id, customer_id))
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
            "serial": self._serial,
            "conversations": [
                {
                    "number": t.number_id,
                    "customer": t.customer_id,
                    "last_inbound": t.last_inbound.isoformat() if t.last_inbound else None,
                    "last_in": t.last_in,
                    "last_out": t.last_out,
                }
                for t in self._threads.values()
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
                }
                for due, _, item in sorted(self._queue, key=lambda entry: entry[:2])
                if isinstance(item, StatusChanged)
            ],
        }

    def _restore(self, state: dict[str, Any]) -> None:
        for row in state.get("conversations", []):
            thread = self._thread(row["number"], row["customer"])
            thread.last_inbound = datetime.fromisoformat(row["last_inbound"]) if row["last_inbound"] else None
            thread.last_in, thread.last_out = row.get("last_in"), row.get("last_out")
        for row in state.get("pending", []):
            due = datetime.fromisoformat(row["due"])
            self._push(due, StatusChanged(row["number"], row["customer"], row["wamid"], MessageStatus(row["status"]),
                                          due, row.get("error_code"), row.get("error_text")))

    # --- internals --------------------------------------------------------------------------------
    def _check_number(self, business_number_id: str) -> None:
        if business_number_id not in self._catalogues:
            raise error_for(100, f"Unknown phone number id {business_number_id}")

    def _thread(self, business_number_id: str, customer_id: str) -> _Thread:
        key = conversation_id(business_number_id, customer_id)
        if key not in self._threads:
            self._threads[key] = _Thread(business_number_id, customer_id)
        return self._threads[key]

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

    def _wamid(self, customer_id: str) -> str:
        """A WhatsApp-looking message id: "wamid.HBgL" + base64 of the recipient and a unique tag."""
        self._serial += 1
        tag = hashlib.sha256(f"{self.seed}:{self._serial}".encode()).hexdigest()[:18].upper()
        raw = customer_id.encode() + b"\x15\x02\x00\x11\x18\x12" + tag.encode()
        return "wamid.HBgL" + base64.b64encode(raw).decode().rstrip("=")

    def _accept(self, business_number_id: str, customer_id: str, now: datetime) -> Sent:
        """WhatsApp took the message: give it a wamid and schedule what its recipient's phone does."""
        wamid = self._wamid(customer_id)
        self._thread(business_number_id, customer_id).last_out = wamid
        rng = self._send_rng

        def status(at: datetime, value: MessageStatus, code: int | None = None) -> None:
            self._push(at, StatusChanged(business_number_id, customer_id, wamid, value, at,
                                         code, describe(code) if code else None))

        if rng.random() < self.config.failure_rate:
            status(self._later(now, rng.uniform(1, 5)), MessageStatus.FAILED, 131026)
        else:
            at = self._later(now, rng.uniform(0.5, 3))
            status(at, MessageStatus.SENT)
            if rng.random() >= DELIVERED_SKIPPED:
                at = self._later(at, rng.uniform(2, 20))
                status(at, MessageStatus.DELIVERED)
            status(self._later(at, rng.uniform(5, 60)), MessageStatus.READ)
        return Sent(wamid, now)

    def _trickle(self, at: datetime) -> MessageReceived:
        """A customer writes: sometimes one whose window closed, sometimes to another number."""
        rng = self._trickle_rng
        thread = None
        if rng.random() < REOPEN_SHARE:
            closed = sorted(k for k, t in self._threads.items()
                            if t.last_inbound and t.customer_id in self._people and not window(t.last_inbound, at).open)
            if closed:
                thread = self._threads[rng.choice(closed)]
        if thread is None:
            person = rng.choice(self.people)
            known = [n.id for n in self.numbers if conversation_id(n.id, person.id) in self._threads]
            number_id = rng.choice(known) if known and rng.random() >= NEW_NUMBER_SHARE else rng.choice(self.numbers).id
            thread = self._thread(number_id, person.id)
        kind = rng.choices(_TRICKLE_KINDS, _TRICKLE_WEIGHTS)[0]
        return self.customer_writes(thread.number_id, thread.customer_id, at, kind, rng.choice(_CHATTY_TOPICS))

    def _inbound(self, rng: random.Random, thread: _Thread, person: Person, at: datetime, kind: str,
                 topic: str, quote: str | None) -> Message:
        """A customer's message of `kind`; it moves the window and becomes the latest to quote."""
        wamid = self._wamid(person.id)
        fields: dict[str, Any] = {"type": kind, "text": person.lines.get(topic, "")}
        if kind == "image":
            caption = person.lines["damaged"]
            fields.update(text=caption, media=_media(rng, "image", "image/jpeg", 3_500_000, caption=caption))
        elif kind == "document":
            name = f"invoice_{person.order_id.lstrip('#')}.pdf"
            fields.update(text=name, media=_media(rng, "document", "application/pdf", 900_000, filename=name))
        elif kind == "audio":
            fields.update(text="Audio", media=_media(rng, "audio", "audio/mpeg", 2_000_000))
        elif kind == "voice":
            fields.update(text="Voice message", media=_media(rng, "voice", "audio/ogg; codecs=opus", 120_000))
        elif kind == "location":
            fields.update(text=f"Location: {person.place.name}", location=person.place)
        elif kind == "contacts":
            others = [p for p in self.people if p.customer.phone and p.id != person.id]
            other = others[rng.randrange(len(others))].customer
            fields.update(text=f"Contact: {other.name}", contacts=(f"{other.name} {handle(other)}",))
        elif kind == "reaction":
            fields.update(text=rng.choice(("👍", "❤️", "🙏", "😂")), reaction_to=quote)
        elif kind == "reply":
            fields.update(type="text", text=person.lines.get(topic, person.lines["delivery"]), reply_to=quote)
        elif kind == "unsupported":
            # WhatsApp sends what it cannot show as type "unsupported" with error 131051 (section 6.4).
            fields.update(text="Message type unknown", error_code=131051, error_text=describe(131051))
        else:
            fields["type"] = "text"
        thread.last_inbound, thread.last_in = at, wamid
        return Message(id=wamid, conversation_id=conversation_id(thread.number_id, person.id),
                       direction=Direction.INBOUND, timestamp=at, status=MessageStatus.RECEIVED, **fields)

    def _outbound(self, rng: random.Random, thread: _Thread, at: datetime, text: str, status: MessageStatus) -> Message:
        """One of our messages from before the desk started, as WhatsApp last reported it."""
        wamid = self._wamid(thread.customer_id)
        failed = status is MessageStatus.FAILED
        thread.last_out = wamid if not failed else thread.last_out
        return Message(
            id=wamid, conversation_id=conversation_id(thread.number_id, thread.customer_id),
            direction=Direction.OUTBOUND, type="text", timestamp=at, status=status, text=text, wamid=wamid,
            status_at=at + timedelta(seconds=rng.randrange(2, 240)),
            error_code=131026 if failed else None, error_text=describe(131026) if failed else None,
        )

    # --- history ----------------------------------------------------------------------------------
    def _build_history(self, now: datetime) -> list[Event]:
        rng = random.Random(f"{self.seed}:history")
        base = _whole(now)
        events: list[Event] = []
        for script_index, (person, number) in enumerate(self._cast(rng)):
            state, steps = _SCRIPTS[script_index]
            steps = self._with_older_exchanges(rng, state, steps)
            events.extend(self._play(rng, base, number, person, steps))
        events.sort(key=_event_time)  # stable: same-time events keep their script order
        return [*self.catalogue_events(now), *events]

    def _cast(self, rng: random.Random) -> list[tuple[Person, BusinessNumber]]:
        """Who plays each script on which number: the specials in their scripts, some customers on
        both numbers, each (number, customer) pair once."""
        hostile, username, *others = self.people
        rng.shuffle(others)
        cast = others[:]
        for index, person in sorted(((_HOSTILE_SCRIPT, hostile), (_USERNAME_SCRIPT, username))):
            cast.insert(index, person)
        n = len(self.numbers)
        home = [(p, self.numbers[i % n]) for i, p in enumerate(cast)]
        away = [(p, self.numbers[(i + 1) % n]) for i, p in enumerate(cast)] if n > 1 else []
        # Three customers also appear on their other number early, so that case is always present.
        ordered = home[:15] + away[:3] + home[15:] + away[3:]
        return ordered[: len(_SCRIPTS)]

    def _with_older_exchanges(self, rng: random.Random, state: str, steps: tuple[_Step, ...]) -> tuple[_Step, ...]:
        """Prepend 0-3 older question/answer pairs, days before the script, up to 12 messages."""
        if state not in _WITH_OLDER_EXCHANGES:
            return steps
        room = (_MAX_MESSAGES - sum(1 for _, who, _ in steps if who != "resolved")) // 2
        count = min(rng.randint(0, 3), room)
        oldest = steps[0][0]
        older: list[_Step] = []
        for k in range(count, 0, -1):
            asked = oldest + k * 3 * DAY + timedelta(minutes=rng.randrange(0, 600))
            older += [(asked, "in", rng.choice(("order", "delivery", "greeting"))), (asked - 15 * MIN, "out", "read")]
        return (*older, *steps)

    def _play(self, rng: random.Random, base: datetime, number: BusinessNumber, person: Person,
              steps: tuple[_Step, ...]) -> list[Event]:
        thread = self._thread(number.id, person.id)
        events: list[Event] = []
        replies = 0
        last_failed: str | None = None
        for ago, who, what in steps:
            at = base - ago
            if who == "in":
                kind = what if what not in TOPICS else "text"
                topic = what if what in TOPICS else "delivery"
                quote = thread.last_out if kind in ("reaction", "reply") else None
                message = self._inbound(rng, thread, person, at, kind, topic, quote)
            elif who == "out":
                # A failed reply is resent word for word, as an agent would.
                text = last_failed or person.agent_lines[min(replies, len(person.agent_lines) - 1)]
                status = MessageStatus(what)
                message = self._outbound(rng, thread, at, text, status)
                last_failed = text if status is MessageStatus.FAILED else None
                replies += status is not MessageStatus.FAILED
            else:
                events.append(ConversationStatusChanged(number.id, person.id, ConversationStatus.RESOLVED, at))
                continue
            events.append(MessageReceived(number.id, person.customer, message))
        return events


def _whole(at: datetime) -> datetime:
    """WhatsApp's timestamps are whole seconds."""
    return at.replace(microsecond=0)


def _media(rng: random.Random, kind: str, mime_type: str, largest: int, **details: str) -> Media:
    """An inbound attachment as the webhook describes it: WhatsApp's media id, size and checksum."""
    return Media(kind, mime_type, size=rng.randrange(largest // 20, largest), media_id=str(rng.randrange(10**15, 10**16)),
                 sha256=f"{rng.getrandbits(256):064x}", **details)


def _event_time(event: Event) -> datetime:
    """When a history event happened (history holds only messages and resolutions)."""
    if isinstance(event, MessageReceived):
        return event.message.timestamp
    assert isinstance(event, ConversationStatusChanged)
    return event.at
