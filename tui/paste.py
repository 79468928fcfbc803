"""A bracketed paste keeps its text, in order, even when it holds ESC.

Textual's input parser (8.2.8) takes an ESC inside a bracketed paste for the start of an escape
sequence: `ESC[200~ AAA ESC BBB ESC[201~` comes out as the keys `^ B B B` (ESC turned into `^`)
and only then `Paste("AAA")`. The pasted text lands in the wrong order, and its tail acts as typed
keys: an ESC followed by a CR in the clipboard would press Enter and send the reply. The minimal
reproduction, for the upstream report, is in docs/upstream-paste-order.md.

The work-around is in front of the parser: inside a paste every ESC that does not start the end
marker is replaced by its visible control picture (␛, U+241B), which is what the composer shows
for any control character in a paste anyway (desk.text.safe). The parser then sees a paste with
no ESC in it and delivers it whole, in order, as one `Paste`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from textual._xterm_parser import BRACKETED_PASTE_END, BRACKETED_PASTE_START, XTermParser
from textual.message import Message

ESC = "\x1b"
ESC_PICTURE = "\u241b"


class PasteMask:
    """Masks ESC inside bracketed pastes in a stream of input chunks (a marker may be split
    across chunks: the terminal's reads have no reason to follow them)."""

    def __init__(self) -> None:
        self.in_paste = False
        self._held = ""
        """Inside a paste: an ESC at the end of a chunk that may start the end marker."""
        self._seen = ""
        """Outside a paste: the end of the last chunk, which may be the start marker's beginning."""

    def feed(self, data: str) -> str:
        """`data` as the parser should see it. Outside a paste nothing is held back (a lone ESC is
        the escape key and must reach the parser now); inside one, a possible marker is."""
        data, self._held = self._held + data, ""
        out: list[str] = []
        i = 0
        while i < len(data):
            if not self.in_paste:
                start = self._start_in(data, i)
                if start is None:
                    self._seen = (self._seen + data[i:])[-len(BRACKETED_PASTE_START) :]
                    out.append(data[i:])
                    break
                out.append(data[i:start])
                i, self.in_paste, self._seen = start, True, ""
                continue
            esc = data.find(ESC, i)
            if esc < 0:
                out.append(data[i:])
                break
            out.append(data[i:esc])
            rest = data[esc : esc + len(BRACKETED_PASTE_END)]
            if rest == BRACKETED_PASTE_END:
                out.append(rest)
                i, self.in_paste = esc + len(rest), False
            elif BRACKETED_PASTE_END.startswith(rest):
                self._held = data[esc:]  # the chunk ends inside what may be the end marker
                break
            else:
                out.append(ESC_PICTURE)
                i = esc + 1
        return "".join(out)

    def _start_in(self, data: str, i: int) -> int | None:
        """Where the paste's text starts (just after a start marker) in data[i:], or None. The
        marker's beginning may have come in the previous chunk, already passed on."""
        joined = self._seen + data[i:]
        found = joined.find(BRACKETED_PASTE_START)
        if found < 0:
            return None
        return i + found - len(self._seen) + len(BRACKETED_PASTE_START)

    def flush(self) -> str:
        """At the end of input: whatever was held back."""
        held, self._held = self._held, ""
        return held


class PasteSafeParser(XTermParser):
    """Textual's parser with bracketed pastes masked first (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # whatever Textual's drivers pass (debug)
        super().__init__(*args, **kwargs)
        self._mask = PasteMask()

    def feed(self, data: str) -> Iterable[Message]:
        if not data:
            return self._end()
        masked = self._mask.feed(data)
        # Everything held back (a possible end marker): nothing to parse yet. (An empty feed would
        # tell the parser that the input has ended.)
        return super().feed(masked) if masked else ()

    def _end(self) -> Iterable[Message]:
        # feed("") is the end of input: hand over anything held first.
        held = self._mask.flush()
        if held:
            yield from super().feed(held)
        yield from super().feed("")


_DRIVERS = (
    "textual.drivers.linux_driver",
    "textual.drivers.linux_inline_driver",
    "textual.drivers.win32",
    "textual.drivers.web_driver",
)
"""The modules whose input thread builds an XTermParser by that name."""


def install() -> None:
    """Make Textual's drivers parse input with PasteSafeParser. Idempotent."""
    for name in _DRIVERS:
        try:
            module = importlib.import_module(name)
        except ImportError:  # win32 on anything but Windows
            continue
        if getattr(module, "XTermParser", None) is XTermParser:
            setattr(module, "XTermParser", PasteSafeParser)
