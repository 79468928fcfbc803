"""What the desk knows of a customer beyond one conversation: the agents' notes and custom
attributes about them (a profile, kept per customer, whichever business number they write to),
where they came from (the click-to-WhatsApp ad or post), and their conversation with each of our
business numbers.

Notes and attributes are typed by agents, kept as typed, and shown like a customer's text:
neutralised (desk.text) and never parsed as markup. They are bounded (NOTES_MAX, ATTRIBUTES_MAX,
KEY_MAX, VALUE_MAX) so that a profile stays a small record a store rewrites whole. Every store
checks a profile here on the way in (`customer_profile`); the desk's editor checks it here before
it leaves the screen, so both refuse in the same sentence.

Attributes are written as "key: value" lines (`parse_attributes`, `attributes_text`): the first
":" of a line ends the key, so a key holds none and a value may hold any (a URL, a time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from desk.models import Conversation, Direction, Message, Referral, conversation_id
from desk.text import flatten

NOTES_MAX = 4000
"""Characters of notes about one customer: a page, which the panel shows whole."""
ATTRIBUTES_MAX = 30
KEY_MAX = 40
VALUE_MAX = 200

_LINE_BREAKS = ("\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """The agents' notes and custom attributes about one customer, as a store keeps them."""

    notes: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    """(key, value) pairs in the order the agent wrote them; each key once (in any case)."""
    updated_at: datetime | None = None
    """When an agent last changed it (the store's clock); None for a customer with no profile."""
    updated_by: str | None = None
    """Who changed it last (the agent's name); None when nobody has, or the desk itself did."""

    @property
    def is_empty(self) -> bool:
        return not self.notes and not self.attributes

    def attribute(self, key: str) -> str | None:
        """The value of `key` (compared in any case), or None."""
        folded = key.casefold()
        return next((value for k, value in self.attributes if k.casefold() == folded), None)


def _one_line(text: str) -> bool:
    return not any(mark in text for mark in _LINE_BREAKS)


def _key_problem(key: str) -> str | None:
    if not key:
        return "has no name before its \":\""
    if len(key) > KEY_MAX:
        return f"has a name longer than {KEY_MAX} characters"
    if ":" in key or not _one_line(key):
        return "has a name with a \":\" or a line break in it"
    return None


def _value_problem(value: str) -> str | None:
    if not value:
        return "has no value after its \":\""
    if len(value) > VALUE_MAX:
        return f"has a value of {len(value):,} characters; at most {VALUE_MAX} are kept"
    if not _one_line(value):
        return "has a value on more than one line"
    return None


def customer_profile(notes: str, attributes: Iterable[tuple[str, str]]) -> CustomerProfile:
    """A profile as every store keeps it: the notes with no blank lines around them, each key and
    value without spaces around it. ValueError, with a sentence, for notes longer than NOTES_MAX,
    more than ATTRIBUTES_MAX attributes, an empty or too long key or value, a key with a ":" or a
    line break (or a value with a line break), or a key given twice (in any case)."""
    notes = notes.replace("\r\n", "\n").strip()
    if len(notes) > NOTES_MAX:
        raise ValueError(f"The notes have {len(notes):,} characters; at most {NOTES_MAX:,} are kept.")
    pairs = tuple((key.strip(), value.strip()) for key, value in attributes)
    if len(pairs) > ATTRIBUTES_MAX:
        raise ValueError(f"There are {len(pairs)} attributes; at most {ATTRIBUTES_MAX} are kept.")
    seen: set[str] = set()
    for key, value in pairs:
        problem = _key_problem(key) or _value_problem(value)
        if problem:
            raise ValueError(f"The attribute {flatten(key, KEY_MAX)!r} {problem}.")
        if key.casefold() in seen:
            raise ValueError(f"The attribute {flatten(key, KEY_MAX)!r} is given twice.")
        seen.add(key.casefold())
    return CustomerProfile(notes, pairs)


def parse_attributes(text: str) -> tuple[tuple[str, str], ...]:
    """"plan: gold" lines as (key, value) pairs, blank lines skipped; ValueError naming the line
    for one without a ":". (customer_profile checks the pairs.)"""
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"Line {number} ({flatten(line, 30)!r}) needs a \":\" between the name and the value.")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


def attributes_text(attributes: Sequence[tuple[str, str]]) -> str:
    """The pairs as "key: value" lines, as the editor shows them (parse_attributes reads them back)."""
    return "\n".join(f"{key}: {value}" for key, value in attributes)


def latest_referral(messages: Iterable[Message]) -> Referral | None:
    """The ad or post the customer last came from: the referral of their latest message that
    carried one (a transcript is oldest first); None when they came directly."""
    found = None
    for message in messages:
        if message.direction is Direction.INBOUND and message.referral is not None:
            found = message.referral
    return found


def conversations_of(
    customer_id: str, business_number_ids: Iterable[str], lookup: Callable[[str], Conversation | None]
) -> list[Conversation]:
    """The customer's conversation with each of our business numbers that has one, in the order of
    the numbers. A conversation's id is its number's and its customer's (models.conversation_id),
    so this is one lookup per business number, whatever the size of the store (no scan of 100k
    summaries, no index by customer)."""
    found = (lookup(conversation_id(number, customer_id)) for number in business_number_ids)
    return [conv for conv in found if conv is not None]
