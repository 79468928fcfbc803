"""The conversation header and the inbox bar, fitted to the width they have.

Each is a line of parts, and each part has forms from the longest (most explicit) to the shortest.
When the line is too wide its labels are shortened first (the separators, then words such as
"window" or "filter:"), part by part in a fixed order, so that at 80 columns no value is ever cut
in half ("closes Tue 11:" or a breached count lost off the edge). A customer's name, the one value
with no short form, is ellipsised ("…") as the last resort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.text import Text

from desk.models import Priority
from desk.sla import SlaState
from desk.window import WindowState
from tui.labels import PRIORITY_MARKS, local_time, sla_forms, window_label

LONG_SEP, SHORT_SEP = "  ·  ", " · "
MIN_NAME = 16
"""A name is not ellipsised below this many cells while the phone number can make room."""


@dataclass
class Part:
    """One value of a line, with its forms, longest first ("" drops the part)."""

    forms: Sequence[str]
    style: str = ""
    level: int = 0

    @property
    def text(self) -> str:
        return self.forms[min(self.level, len(self.forms) - 1)]

    def shorten(self) -> bool:
        if self.level + 1 >= len(self.forms):
            return False
        self.level += 1
        return True


def _join(parts: Sequence[Part], sep: str, lead: Text | None = None) -> Text:
    line = lead.copy() if lead is not None else Text()
    first = True
    for part in parts:
        if not part.text:
            continue
        if not first:
            line.append(sep)
        line.append(part.text, part.style)
        first = False
    return line


def fit_line(
    parts: Sequence[Part], order: Sequence[int], width: int, lead: Text | None = None, sep: str = LONG_SEP
) -> Text:
    """`parts` joined by `sep`, shortened step by step until the line fits in `width` cells: first
    the separators, then at each step the part `order` names (its next form; indices past the end
    are skipped). The shortest line when nothing fits."""
    line = _join(parts, sep, lead)
    if line.cell_len <= width:
        return line
    for index in order:
        line = _join(parts, SHORT_SEP, lead)
        if line.cell_len <= width:
            return line
        if index < len(parts):
            parts[index].shorten()
    return _join(parts, SHORT_SEP, lead)


def conversation_header(
    *,
    name: str,
    handle: str,
    department: str,
    number: str,
    status: str,
    owner: str,
    win: WindowState,
    priority: Priority = Priority.NORMAL,
    labels: str = "",
    language: str = "",
    sla: SlaState,
    waited: str,
    zone: ZoneInfo,
    now: datetime,
    width: int,
) -> Text:
    """The two lines above a transcript: who, where and whose; then the window and the SLA clock.

    `name` is the customer's name already made safe to show (desk.text); `owner` says whose the
    conversation is in words ("mine", "unassigned", an agent's id made safe to show); `status` its
    status in words (tui.labels.queue_status; "open" and "waiting" are not shown); `labels` its
    labels as text; `language` the customer's language in words."""
    tail = [Part([owner])]
    if status == "resolved":
        tail.append(Part(["✔ resolved", "✔"]))
    elif status not in ("open", "waiting"):
        tail.append(Part([status, status.split(" ")[0]]))
    if priority is not Priority.NORMAL:
        mark = PRIORITY_MARKS[priority]
        tail.append(Part([f"{mark} {priority.value}".strip(), mark or priority.value]))
    if labels:
        tail.append(Part([labels, ""]))
    if language:
        tail.append(Part([language, ""]))
    who = _who(name, handle, department, number, tail, width)
    return Text("\n").join([who, _timers(win, sla, waited, zone, now, width)])


def _who(name: str, handle: str, department: str, number: str, after: list[Part], width: int) -> Text:
    # The name and the phone number are two spaces apart (one "who"); the rest separated by dots.
    tail = [Part([f"{department} ({number})", department]), *after]
    phone = f"  {handle}" if handle else ""
    # Shortened first: the department's number, the labels, the status's time, the priority.
    line = fit_line([Part([name + phone], "bold"), *tail], [1, len(tail), 3, 4, len(tail) - 1], width)
    if line.cell_len <= width:
        return line
    # Too long even so: ellipsise the name, and drop the phone number if the name would be left
    # unreadable. (The tail is at its shortest by now.)
    rest = line.cell_len - cell_len(name + phone)
    if width - rest - cell_len(phone) < MIN_NAME:
        phone = ""
    short = Text(name)
    short.truncate(max(width - rest - cell_len(phone), 1), overflow="ellipsis")
    return fit_line([Part([short.plain + phone], "bold"), *tail], [], width)


def _timers(win: WindowState, sla: SlaState, waited: str, zone: ZoneInfo, now: datetime, width: int) -> Text:
    state = window_label(win)
    if win.closes_at is not None:
        when = local_time(win.closes_at, zone, now)
        verb = "closes" if win.open else "closed"
        window_forms = [f"window {state} ({verb} {when})", f"{state} ({verb} {when})", f"{state} ({when})", state]
    else:
        window_forms = [f"window {state}", state]
    if sla.clock:
        forms = sla_forms(sla, zone, now)
        sla_part = Part([f"{sla.clock} {forms[0]}", *forms])
    else:
        sla_part = Part(["nothing waiting on us", "nothing waiting"])
    parts = [Part(window_forms), sla_part, Part([waited, ""] if waited else [""])]
    # Labels first: "window", the clock's name; then the window's time, the SLA's long words,
    # how long the customer waited, and the rest.
    return fit_line(parts, [0, 1, 0, 1, 1, 2, 0, 1, 1], width)


def inbox_bar(
    *,
    backend: str,
    shown: str,
    breached: int,
    owner_words: str | None,
    owned: tuple[int, int],
    holding: tuple[int, int],
    filter_words: str,
    department: str | None,
    query: str,
    width: int,
) -> Text:
    """The inbox's top line: what is shown, how many breached, whose (and how many are mine and
    nobody's), how many open ones I hold against my capacity, the filter, the department, the
    search.

    `shown` is the count's long form ("24 conversations"); `owner_words` None and `department`
    None mean all of them (then the owner counts are the first thing to go)."""
    count, _, noun = shown.partition(" ")
    mine, unassigned = owned
    words = owner_words or "everyone's"
    owner_forms = [
        f"{words}: mine {mine}, unassigned {unassigned}",
        f"{words}: mine {mine}, unass. {unassigned}",
        f"{words} (m {mine}, u {unassigned})",  # the keys that show them
        words,
    ]
    parts = [
        Part([backend, ""]),
        Part([shown, f"{count} conv." if noun else shown]),
        Part([f"✖ {breached} breached"] if breached else [""], "bold"),
        Part(owner_forms + ([""] if owner_words is None else [])),
        Part(_holding_forms(*holding)),
        Part([f"filter: {filter_words}", filter_words]),
        Part([department] if department else ["all departments", "all depts"]),
        Part(_search_forms(query) if query else [""]),
    ]
    lead = Text(" wadesk ", style="reverse bold")
    lead.append(" ")
    return fit_line(parts, [5, 6, 7, 4, 3, 3, 3, 1, 0, 3, 4, 4, 7, 7, 7], width, lead, sep=SHORT_SEP)


def _holding_forms(held: int, capacity: int) -> list[str]:
    """How many open conversations I hold: against my capacity, and "full" once it is reached."""
    if not capacity:
        return [f"holding {held}", f"{held} held", ""]
    full = " full" if held >= capacity else ""
    return [f"holding {held} of {capacity}{full}", f"{held}/{capacity}{full}", f"{held}/{capacity}", ""]


def _search_forms(query: str) -> list[str]:
    quoted = repr(query)
    forms = [f"search: {quoted}", quoted]
    for keep in (20, 10, 4):
        if len(query) > keep:
            forms.append(repr(query[:keep]) + "…")
    return forms
