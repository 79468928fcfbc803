"""Customer text is hostile input: neutralise what a terminal would obey.

The UI shows text only as plain text (never as Textual/Rich markup). On top of that, `safe()`
replaces what would reach the terminal as a command: C0/C1 control characters (ESC starts ANSI
CSI and OSC sequences) become visible control pictures, and bidirectional overrides/isolates
(which can make a line read backwards, e.g. U+202E) become a visible <U+202E> tag.
"""

from __future__ import annotations

import re

# Bidirectional embedding, override and isolate controls; the plain marks (LRM, RLM, ALM) are kept:
# they affect only neighbouring neutral characters and Arabic/Hebrew text needs them.
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f{_BIDI}]")
_SPACES = re.compile(r"\s+")


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


def flatten(text: str, limit: int | None = None) -> str:
    """`safe(text)` on one line: runs of whitespace (newlines too) become one space."""
    line = safe(_SPACES.sub(" ", text)).strip()
    if limit is not None and len(line) > limit:
        line = line[: max(limit - 1, 0)] + "…"
    return line
