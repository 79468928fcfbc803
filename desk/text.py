"""Customer text is hostile input: neutralise what a terminal would obey.

The UI shows text only as plain text (never as Textual/Rich markup). On top of that, `safe()`
replaces what would reach the terminal as a command: C0/C1 control characters (ESC starts ANSI
CSI and OSC sequences) become visible control pictures, and bidirectional overrides/isolates
(which can make a line read backwards, e.g. U+202E) become a visible <U+202E> tag. `name()` also
marks the invisible characters (zero-width space, joiners, word joiner, BOM, soft hyphen) that make
two names look alike or hide text inside one.
"""

from __future__ import annotations

import re

# Bidirectional embedding, override and isolate controls; the plain marks (LRM, RLM, ALM) are kept:
# they affect only neighbouring neutral characters and Arabic/Hebrew text needs them.
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f{_BIDI}]")
_SPACES = re.compile(r"\s+")
# Invisible in a name, where they impersonate (a "Dora" with a zero-width space is another customer).
# Not marked in message text: emoji sequences (👩‍💻) and Indic and Persian scripts need the joiners.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff]")


def _picture(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # U+2400 block: ␀ ... ␛ ... ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def safe(text: str) -> str:
    """`text` with every control or bidi-override character made visible and harmless."""
    return _UNSAFE.sub(_picture, text)


def _cut(line: str, limit: int | None) -> str:
    if limit is not None and len(line) > limit:
        line = line[: max(limit - 1, 0)] + "…"
    return line


def flatten(text: str, limit: int | None = None) -> str:
    """`safe(text)` on one line: runs of whitespace (newlines too) become one space."""
    return _cut(safe(_SPACES.sub(" ", text)).strip(), limit)


def display_name(text: str, limit: int | None = None) -> str:
    """A customer's name or a file's, as shown anywhere: `flatten()`, with invisible characters
    made visible too (`<U+200B>`)."""
    return _cut(_INVISIBLE.sub(_picture, flatten(text)), limit)


def escaped(text: str) -> str:
    """`text` with every character `safe()` or `display_name()` would make visible written as a
    JSON escape (`\\u202e`) instead: for JSON output, whose reader decodes the exact text while a
    terminal showing the JSON sees none of those characters."""
    return _INVISIBLE.sub(_escape, _UNSAFE.sub(_escape, text))


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"
