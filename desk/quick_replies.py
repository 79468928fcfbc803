"""Quick replies: canned answers the agent calls up by typing /shortcut in the composer.

A quick reply only ever fills the composer, to be read and edited before the agent sends it (a seed
article: 29% of customers are put off by scripted answers), and is offered only while the 24-hour
window is open (`matches`). The library is the config's `[[quick_replies]]` with the store's own on
top: one saved in the store replaces a configured one with the same shortcut (`library`).

Variables are written in double braces, `{{name}}`, `{{first_name}}`, `{{agent}}` and
`{{department}}` (spaces inside the braces allowed): the syntax of WhatsApp's own templates, which
no customer's name or everyday text is written in. They are filled in one pass, so a value (a
customer called "{{agent}}") is never read as a variable; a customer's name is neutralised as the
desk shows it (desk.text.display_name). A variable with no value (`{{order}}`, or `{{first_name}}`
for a customer known only by number) stays as written, for the agent to fill in.

Shortcuts are letters, digits, - and _, at most SHORTCUT_MAX characters, and compared in lower case:
"/Thanks" and "/thanks" are one quick reply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from desk.limits import TEXT_MAX
from desk.models import Customer
from desk.text import display_name, flatten, safe

SHORTCUT_MAX = 32
VARIABLES = ("name", "first_name", "agent", "department")
"""Every variable a quick reply (or a greeting or away message) may hold."""

_SHORTCUT = re.compile(r"[\w-]+")
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_TYPING = re.compile(r"[\w-]*\Z")
"""The shortcut being typed: the word characters just before the cursor."""


@dataclass(frozen=True, slots=True)
class QuickReply:
    shortcut: str
    """Lower case: letters, digits, - and _."""
    text: str


def shortcut_problem(shortcut: str) -> str | None:
    """Why `shortcut` cannot name a quick reply, as the end of a sentence; None when it can."""
    if not shortcut:
        return "is empty"
    if len(shortcut) > SHORTCUT_MAX:
        return f"is longer than {SHORTCUT_MAX} characters"
    if not _SHORTCUT.fullmatch(shortcut):
        return "may hold only letters, digits, - and _"
    return None


def text_problem(text: str) -> str | None:
    """Why `text` cannot be a quick reply (or an automatic message), as the end of a sentence."""
    if not text.strip():
        return "is empty"
    if len(text) > TEXT_MAX:
        return f"has {len(text):,} characters; WhatsApp takes at most {TEXT_MAX:,}"
    return None


def quick_reply(shortcut: str, text: str) -> QuickReply:
    """A quick reply as every store and the config keep it (shortcut in lower case); ValueError,
    with a sentence, for a shortcut that cannot be typed after "/" or a text that is empty or
    longer than WhatsApp takes."""
    problem = shortcut_problem(shortcut)
    if problem:
        raise ValueError(f"The shortcut {flatten(shortcut, 40)!r} {problem}.")
    problem = text_problem(text)
    if problem:
        raise ValueError(f"The text of /{shortcut.lower()} {problem}.")
    return QuickReply(shortcut.lower(), text)


def library(configured: Iterable[QuickReply], stored: Iterable[QuickReply]) -> list[QuickReply]:
    """Every quick reply the agent can call up, by shortcut: the store's over the config's."""
    merged = {reply.shortcut: reply for reply in configured}
    merged.update((reply.shortcut, reply) for reply in stored)
    return [merged[shortcut] for shortcut in sorted(merged)]


def matches(replies: Iterable[QuickReply], typed: str, *, window_open: bool) -> list[QuickReply]:
    """The quick replies whose shortcut begins with `typed` (what follows the "/"; "" for all),
    in order. None while the window is closed: free text cannot go then, so nothing is offered."""
    if not window_open:
        return []
    prefix = typed.lower()
    return [reply for reply in replies if reply.shortcut.startswith(prefix)]


def typing_shortcut(line: str, column: int) -> tuple[int, str] | None:
    """The "/shortcut" being typed at `column` of `line`: (the column of its "/", what follows it
    up to the cursor), or None. The "/" must begin a word (start of line or after a space), so a
    URL ("https://"), a date ("3/4") or "and/or" never opens the list."""
    before = line[:column]
    word = _TYPING.search(before)
    assert word is not None  # the pattern matches the empty string at the end
    slash = word.start() - 1
    if slash < 0 or before[slash] != "/" or (slash > 0 and not before[slash - 1].isspace()):
        return None
    return slash, word.group()


def customer_names(customer: Customer) -> tuple[str, str]:
    """(name, first name) as a reply may call the customer, neutralised; ("", "") when WhatsApp
    gave no name and the desk knows them only by number, username or id."""
    if customer.name in (customer.phone, customer.username, customer.id, ""):
        return "", ""
    name = display_name(customer.name)
    return name, name.split(" ", 1)[0]


def fill(text: str, values: dict[str, str], keep_missing: bool = True) -> str:
    """`text` with each variable replaced by its value, in one pass; a variable without a value
    stays as written (`keep_missing`) or goes (an automatic message: no agent reads it first)."""

    def value(match: re.Match[str]) -> str:
        found = values.get(match.group(1), "")
        return found or (match.group() if keep_missing else "")

    return _VARIABLE.sub(value, text)


def unknown_variables(text: str) -> list[str]:
    """The variables in `text` that no reply can fill (a typo: {{frist_name}})."""
    return [name for name in dict.fromkeys(_VARIABLE.findall(text)) if name not in VARIABLES]


def values(customer: Customer, agent_name: str, department: str) -> dict[str, str]:
    """What each variable stands for in a reply to `customer`."""
    name, first_name = customer_names(customer)
    return {"name": name, "first_name": first_name, "agent": flatten(agent_name), "department": flatten(department)}


def expand(reply: QuickReply, customer: Customer, agent_name: str, department: str) -> str:
    """The text the composer gets for `reply`: variables filled, control characters made visible
    (desk.text.safe; new lines kept)."""
    return safe(fill(reply.text, values(customer, agent_name, department)))
