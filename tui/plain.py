"""The one way a string reaches the screen: as plain text that is never parsed as markup and
cannot command the terminal.

Customer text (names, captions, file names, texts WhatsApp quotes back in its errors) is hostile.
Textual parses a `str` as markup in a `Static`, a border title and a notification: `[/x]` there
raises MarkupError and `[@click=app.quit]` becomes a link that acts. A Rich `Text` is never parsed,
but it passes ESC, BEL and C1 bytes to the terminal (an OSC sequence renames the window). So every
widget, title and notification takes a `Text` made here, from a string neutralised by desk.text.
"""

from __future__ import annotations

from rich.text import Text

from desk.text import safe


def plain(text: str, style: str = "") -> Text:
    """`text` shown literally: no markup, every control or bidi override made visible."""
    return Text(safe(text), style=style)
