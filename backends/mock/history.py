"""The mock's history at first start: two dozen scripted conversations, each pinning one state the
inbox must show (new, first reply overdue, answered, next reply due, window closing, closed,
resolved), played by the people of backends/mock/people.py on the business numbers.

Deterministic from the seed: the same seed gives the same history, message for message.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from backends.mock.people import TOPICS, Person
from backends.mock.threads import Threads, whole
from desk.models import (
    BusinessNumber,
    ConversationStatus,
    ConversationStatusChanged,
    Event,
    MessageReceived,
    MessageStatus,
    Referral,
)

MIN, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

# A conversation at first start, as (how long before now, who, what). "in": a topic of
# people.TOPICS or a message kind; "ad": the same, from a click-to-WhatsApp ad (it may open a free
# entry point window, desk.pricing); "out": our message's status; "resolved": an agent resolved it.
# Each script pins one state the inbox must show; the first fifteen also carry the special types.
_Step = tuple[timedelta, str, str]
_SCRIPTS: tuple[tuple[str, tuple[_Step, ...]], ...] = (
    ("new", ((7 * MIN, "ad", "greeting"), (5 * MIN, "in", "image"))),
    ("new", ((9 * MIN, "in", "greeting"), (7 * MIN, "in", "delivery"), (5 * MIN, "in", "refund"))),
    ("first_breached", ((2 * HOUR + 50 * MIN, "in", "refund"), (2 * HOUR + 40 * MIN, "in", "unsupported"))),
    ("first_breached", ((2 * HOUR + 35 * MIN, "in", "greeting"), (2 * HOUR + 20 * MIN, "in", "voice"))),
    ("answered", ((3 * HOUR, "in", "greeting"), (2 * HOUR + 55 * MIN, "in", "document"),
                  (2 * HOUR + 40 * MIN, "out", "read"))),
    ("answered", ((5 * HOUR, "in", "delivery"), (4 * HOUR + 50 * MIN, "out", "read"),
                  (4 * HOUR + 30 * MIN, "in", "order"), (4 * HOUR + 10 * MIN, "out", "read"))),
    ("next_due", ((4 * HOUR, "ad", "order"), (3 * HOUR + 50 * MIN, "out", "read"), (50 * MIN, "in", "reply"))),
    ("next_due", ((6 * HOUR, "in", "greeting"), (5 * HOUR + 50 * MIN, "out", "read"), (5 * HOUR, "in", "location"),
                  (4 * HOUR + 55 * MIN, "out", "read"), (48 * MIN, "in", "refund"))),
    ("closing", ((23 * HOUR + 40 * MIN, "ad", "order"), (23 * HOUR + 20 * MIN, "in", "audio"),
                 (23 * HOUR, "out", "read"))),
    ("closing", ((23 * HOUR + 35 * MIN, "in", "delivery"), (23 * HOUR + 30 * MIN, "in", "thanks"),
                 (23 * HOUR + 10 * MIN, "out", "read"))),
    ("closed", ((4 * DAY + 2 * HOUR, "in", "order"), (4 * DAY + HOUR + 58 * MIN, "out", "failed"),
                (4 * DAY + HOUR + 55 * MIN, "out", "delivered"), (4 * DAY + HOUR + 50 * MIN, "in", "thanks"),
                (4 * DAY + HOUR + 45 * MIN, "out", "read"))),
    ("closed", ((5 * DAY + 6 * HOUR, "ad", "refund"), (5 * DAY + 5 * HOUR, "out", "read"),
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
_ADS = (
    Referral(source_url="https://fb.me/3cr4Wqqkv", source_type="ad", source_id="120226305854810726",
             headline="Chat with us", body="Summer Succulents are here!", media_type="image",
             ctwa_clid="Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4_0NiNhEgpGo0AHemvuSoifXayt"),
    Referral(source_url="https://fb.me/9xQ2mZpLd", source_type="ad", source_id="120226305854810981",
             headline="Free delivery this week", body="Order by Friday, get it Monday.", media_type="video",
             ctwa_clid="Aff-q1WcX0bR7ZLm3vN5pH8sK2dF6gT9yU4iO0eA1rB3nC5mD7jE9kG2lH4pJ6"),
)
"""The ads the "ad" steps come from, in turn (Meta's example first, §6.4)."""
_HOSTILE_SCRIPT, _USERNAME_SCRIPT = 1, 4
"""Which scripts the hostile and the username-only customers play: both must be in the history."""
_WITH_OLDER_EXCHANGES = {"answered", "next_due", "closing", "closed", "resolved"}
"""States that may have older, long-closed exchanges before them (a new or a never-answered
conversation must not: its first reply is still owed)."""
_MAX_MESSAGES = 12


def build_history(seed: int, now: datetime, people: list[Person], numbers: list[BusinessNumber],
                  threads: Threads) -> list[Event]:
    """Every history event, oldest first: the scripts played, their messages written into `threads`.
    `people` starts with the hostile and the username-only customers (people.make_people)."""
    rng = random.Random(f"{seed}:history")
    base = whole(now)
    events: list[Event] = []
    for script_index, (person, number) in enumerate(_cast(rng, people, numbers)):
        state, steps = _SCRIPTS[script_index]
        steps = _with_older_exchanges(rng, state, steps)
        events.extend(_play(rng, threads, base, number, person, steps))
    events.sort(key=_event_time)  # stable: same-time events keep their script order
    return events


def _cast(rng: random.Random, people: list[Person], numbers: list[BusinessNumber]) -> list[tuple[Person, BusinessNumber]]:
    """Who plays each script on which number: the specials in their scripts, some customers on
    both numbers, each (number, customer) pair once."""
    hostile, username, *others = people
    rng.shuffle(others)
    cast = others[:]
    for index, person in sorted(((_HOSTILE_SCRIPT, hostile), (_USERNAME_SCRIPT, username))):
        cast.insert(index, person)
    n = len(numbers)
    home = [(p, numbers[i % n]) for i, p in enumerate(cast)]
    away = [(p, numbers[(i + 1) % n]) for i, p in enumerate(cast)] if n > 1 else []
    # Three customers also appear on their other number early, so that case is always present.
    ordered = home[:15] + away[:3] + home[15:] + away[3:]
    return ordered[: len(_SCRIPTS)]


def _with_older_exchanges(rng: random.Random, state: str, steps: tuple[_Step, ...]) -> tuple[_Step, ...]:
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


def _play(rng: random.Random, threads: Threads, base: datetime, number: BusinessNumber, person: Person,
          steps: tuple[_Step, ...]) -> list[Event]:
    thread = threads.open(number.id, person.id)
    events: list[Event] = []
    replies = 0
    last_failed: str | None = None
    for ago, who, what in steps:
        at = base - ago
        if who in ("in", "ad"):
            kind = what if what not in TOPICS else "text"
            topic = what if what in TOPICS else "delivery"
            quote = thread.last_out if kind in ("reaction", "reply") else None
            referral = _ADS[threads.serial % len(_ADS)] if who == "ad" else None
            message = threads.inbound(rng, thread, person, at, kind, topic, quote, referral)
        elif who == "out":
            # A failed reply is resent word for word, as an agent would.
            text = last_failed or person.agent_lines[min(replies, len(person.agent_lines) - 1)]
            status = MessageStatus(what)
            message = threads.outbound(rng, thread, at, text, status)
            last_failed = text if status is MessageStatus.FAILED else None
            replies += status is not MessageStatus.FAILED
        else:
            events.append(ConversationStatusChanged(number.id, person.id, ConversationStatus.RESOLVED, at))
            continue
        events.append(MessageReceived(number.id, person.customer, message))
    return events


def _event_time(event: Event) -> datetime:
    """When a history event happened (history holds only messages and resolutions)."""
    if isinstance(event, MessageReceived):
        return event.message.timestamp
    assert isinstance(event, ConversationStatusChanged)
    return event.at
