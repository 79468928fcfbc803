"""The desk's face in team mode (a SHARED backend: the hub): the line that says who else is in the
conversation or that the hub cannot be reached, claims that can be lost, and this agent's own
presence (viewing, typing, left), throttled. The embedded desk has none of it: each function is a
no-op or says nothing when the backend is not SHARED."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from backends.base import Backend, Capability, Link, Presence
from desk.text import display_name

TYPING_EVERY = 5.0
"""Seconds between two "typing" notices while the agent keeps typing (the hub shows typing for
10 s after the last one)."""
REDRAW_EVERY = 5.0
"""Seconds between two redraws of the team line: another agent's typing fades when they stop."""
VIEWING_EVERY = 30.0
"""Seconds between two "viewing" renewals while the conversation is on screen (a presence not
renewed within 60 s is over on the hub)."""


def shared(backend: Backend) -> bool:
    return Capability.SHARED in backend.capabilities


def _names(people: Sequence[Presence]) -> str:
    names = [display_name(p.agent, 20) for p in people]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def presence_words(others: Sequence[Presence], typing_here: bool) -> str:
    """"Bob is typing…", "Bob and Cy are viewing"; with a collision warning when another agent
    types where this one is typing too."""
    typing = [p for p in others if p.state == "typing"]
    viewing = [p for p in others if p.state != "typing"]
    said = []
    if typing:
        said.append(f"{_names(typing)} {'is' if len(typing) == 1 else 'are'} typing…")
    if viewing:
        said.append(f"{_names(viewing)} {'is' if len(viewing) == 1 else 'are'} viewing")
    line = "; ".join(said)
    if typing and typing_here:
        line += " — careful: two answers to one customer"
    return line


def show_line(widget: Static, line: str) -> None:
    """The team line on screen: plain text (agents' names are the hub's, shown as they are),
    hidden when empty, marked when it warns."""
    widget.update(Text(line))
    widget.set_class(not line, "hidden")
    widget.set_class("careful" in line or line.startswith(("Offline", "The hub")), "hub-line--warning")


def hub_line(backend: Backend, conversation_id: str | None, typing_here: bool = False) -> str:
    """What the desk's team line says now: the link's trouble first, else (in a conversation)
    who else is there; "" for nothing to say."""
    link = backend.link
    if link is not None and link.link is not Link.ONLINE:
        return link.sentence
    if conversation_id is None:
        return ""
    return presence_words(backend.others(conversation_id), typing_here)


class PresenceTeller:
    """This agent's presence in one conversation, told to the hub no more often than needed."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def due(self, state: str, now: float | None = None) -> bool:
        """Whether `state` is worth telling now ("left" always is; the others throttled)."""
        now = time.monotonic() if now is None else now
        every = {"typing": TYPING_EVERY, "viewing": VIEWING_EVERY}.get(state, 0.0)
        last = self._last.get(state)
        if last is not None and now - last < every:
            return False
        self._last[state] = now
        if state == "left":
            self._last.clear()
        return True
