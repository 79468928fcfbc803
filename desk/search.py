"""What full-text search reads and how it compares, whichever store answers it: the text of a
message and of a customer, folded for comparison; a query's terms; whether a text matches them;
the snippet of context shown with a hit.

A query is a few words; a text matches when each word is the start of one of its words, compared
folded: case folded and diacritics dropped where they are diacritics (Latin and Greek accents,
Greek tonos and dialytika, Arabic harakat and tatweel, Hebrew points), so that "καλημερα" and
"ΚΑΛΗΜΕΡΑ" find "καλημέρα" and "مرحبا" finds "مَرْحَبًا". The vowel signs and viramas of the Indic
scripts (Gujarati's "ે" in "નમસ્તે") are combining marks too, but they are letters of the word,
not accents on it: they are kept, so "નમસ્તે" is not found by "નમસત". A phone number is found by
any run of its last digits ("1234567" finds +1 555 123 4567).

Query text is hostile input: it is only ever split into terms here and never reaches a store as
query syntax; quotes, NUL, control characters and megabytes of text are only characters.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from desk.models import Customer, Message

MAX_TERMS = 16
"""Words of a query used; the rest are ignored (a pasted paragraph is not a search)."""
MAX_TERM = 64
"""Characters of a word used (its start is what it is matched by)."""
MAX_QUERY = 1024
"""Characters of a query read at all."""
SNIPPET = 100
"""Characters of context in a hit's snippet, around the first match."""
BEFORE = 30
"""Of which at most this many come before the match."""
MIN_DIGITS = 3
"""A phone number is found by any run of its last digits of at least this length."""

_DIACRITICS = (
    (0x0300, 0x036F),  # combining diacritical marks: Latin, Greek (tonos, dialytika), Cyrillic
    (0x1AB0, 0x1AFF),  # their extensions
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),  # combining marks for symbols
    (0xFE20, 0xFE2F),  # combining half marks
    (0x0591, 0x05C7),  # Hebrew points and cantillation
    (0x0610, 0x061A),  # Arabic honorifics and small marks
    (0x064B, 0x065F),  # Arabic harakat: fatha, damma, kasra, tanwin, shadda, sukun, hamza above/below
    (0x0670, 0x0670),  # Arabic superscript alef
    (0x06D6, 0x06ED),  # Arabic Quranic annotation marks
)
_INVISIBLE = (
    (0x0640, 0x0640),  # Arabic tatweel: stretches a word, is no letter of it
    (0x00AD, 0x00AD),  # soft hyphen
    (0x200B, 0x200F),  # zero-width space, joiners, direction marks
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x2064),
    (0x2066, 0x2069),  # bidi isolates
    (0xFEFF, 0xFEFF),
)
_DROP = {code: None for low, high in _DIACRITICS + _INVISIBLE for code in range(low, high + 1)}


def fold(text: str) -> str:
    """`text` for comparison: compatibility forms decomposed, diacritics and invisible characters
    dropped, case folded ("Γιώργος" -> "γιωργοσ", "José" -> "jose", "નમસ્તે" as it is)."""
    if text.isascii():
        return text.lower()  # casefold() of ASCII, and nothing to drop: most text, 10x faster
    return unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold()).translate(_DROP)


@functools.cache
def marks() -> str:
    """Every combining mark that `fold` keeps (Indic vowel signs, viramas ...): a letter of the
    word it is in, so a tokenizer must not split a word at one. The Basic Multilingual Plane's."""
    found = (chr(c) for c in range(0x0300, 0x10000) if not 0xD800 <= c < 0xE000)
    return "".join(c for c in found if unicodedata.category(c)[0] == "M" and ord(c) not in _DROP)


@functools.cache
def _word() -> re.Pattern[str]:
    return re.compile(f"(?:[^\\W_]|[{re.escape(marks())}])+")


def terms(query: str) -> list[str]:
    """The words of a query, folded, at most MAX_TERMS of MAX_TERM characters; every other
    character (punctuation, quotes, controls, NUL) separates words. [] when there is none."""
    found = _word().findall(fold(query[:MAX_QUERY]))
    unique = list(dict.fromkeys(term[:MAX_TERM] for term in found))
    return unique[:MAX_TERMS]


def words(folded: str) -> list[str]:
    """The words of a folded text, as `terms` would find them."""
    return _word().findall(folded)


def matches(folded: str, query_terms: Sequence[str]) -> bool:
    """Whether each term starts a word of the folded text (and there is a term); a term of one
    letter only is that word ("a" finds "a", not every word starting with it)."""
    if not query_terms:
        return False
    found = set(words(folded))
    return all(term in found if len(term) == 1 else any(w.startswith(term) for w in found) for term in query_terms)


# --- what is searched ------------------------------------------------------------------------------


def message_text(message: Message) -> str:
    """What search reads of a message, as written: its text (body, caption, title), its media's
    caption and file name, a location's name and address, shared contacts, the template's name.
    "" for what holds no words of its own (a reaction)."""
    if message.type == "reaction":
        return ""
    parts = [message.text]
    media = message.media
    if media is not None:
        parts += [media.caption or "", media.filename or ""]
    if message.location is not None:
        parts += [message.location.name or "", message.location.address or ""]
    parts += [*message.contacts, message.template or ""]
    return "\n".join(dict.fromkeys(p for p in parts if p))


def customer_text(customer: Customer) -> str:
    """What search reads of a customer, as written (their name, number and username): one line,
    the snippet of a hit on them."""
    return "  ".join(p for p in (customer.name, customer.phone or "", customer.username or "") if p)


def customer_folded(customer: Customer) -> str:
    """`customer_text` folded, with every run of the number's last digits as a word of its own."""
    digits = "".join(c for c in customer.phone or "" if c.isdigit())
    tails = [digits[i:] for i in range(1, len(digits) - MIN_DIGITS + 1)]
    return " ".join([fold(customer_text(customer)), digits, *tails])


# --- a hit's context ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    """One line of the text as written (whitespace runs made one space), cut with "…"."""
    marks: tuple[tuple[int, int], ...]
    """Where in `text` the query's words matched: (start, end) pairs, in order."""


def snippet(text: str, query_terms: Sequence[str], width: int = SNIPPET) -> Snippet:
    """The context of the first match of `query_terms` in `text` (its start when none matches)."""
    line = " ".join(text.split())
    folded, origin = _folded_with_origin(line)
    pattern = _starts(query_terms)
    spans: list[tuple[int, int]] = []
    if pattern is not None:
        for match in pattern.finditer(folded):
            start, end = origin[match.start()], origin[match.end() - 1] + 1
            spans.append((start, end))
    first = spans[0][0] if spans else 0
    start = 0
    if first > BEFORE:  # from a word's start at most BEFORE characters before the match
        space = line.find(" ", first - BEFORE, first)
        start = space + 1 if space != -1 else first - BEFORE
    end = min(len(line), start + width)
    if end < len(line):
        cut = line.rfind(" ", start, end)
        end = cut if cut > max(first, start) else end
    head = "…" if start > 0 else ""
    tail = "…" if end < len(line) else ""
    shift = len(head) - start
    kept = tuple((s + shift, min(e, end) + shift) for s, e in spans if s < end and s >= start)
    return Snippet(head + line[start:end] + tail, kept)


def _folded_with_origin(line: str) -> tuple[str, list[int]]:
    """`fold(line)` and, for each of its characters, the index in `line` it came from."""
    if line.isascii():
        return line.lower(), list(range(len(line)))
    parts: list[str] = []
    origin: list[int] = []
    for i, char in enumerate(line):
        folded = fold(char)
        parts.append(folded)
        origin.extend([i] * len(folded))
    return "".join(parts), origin


def _starts(query_terms: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern for any of the terms at the start of a word."""
    return _starts_of(tuple(sorted(set(query_terms), key=len, reverse=True)))


@functools.lru_cache(maxsize=64)
def _starts_of(query_terms: tuple[str, ...]) -> re.Pattern[str] | None:
    start, end = _boundaries()
    alternatives = "|".join(re.escape(t) if len(t) > 1 else re.escape(t) + end for t in query_terms if t)
    return re.compile(f"{start}(?:{alternatives})") if alternatives else None


@functools.cache
def _boundaries() -> tuple[str, str]:
    """What comes before a word (no letter) and after a one-letter term (no letter either)."""
    letter = f"[^\\W_]|[{re.escape(marks())}]"
    return f"(?<![^\\W_])(?<![{re.escape(marks())}])", f"(?!{letter})"
