"""Writing a long reply in the agent's own editor ($VISUAL, else $EDITOR): the composer's text
goes to a private temporary file, the editor runs on it, and what it holds afterwards comes back
into the composer, to be read and sent with enter (never sent from here).

The variable is split like a shell would (`shlex`, so "code --wait" works) but run without one:
nothing in it is interpreted. The file is made by `tempfile.mkstemp` (mode 0600: the reply may
hold a customer's details) and removed afterwards whatever happens. If the editor cannot start or
exits with an error, the composer keeps the text it had.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping

from desk.text import safe


class EditorProblem(Exception):
    """The editor could not be used; the message is the sentence for the agent."""


def editor_command(environ: Mapping[str, str]) -> list[str]:
    """The editor's command line from $VISUAL, else $EDITOR; EditorProblem when neither is set or
    the value cannot be read as a command."""
    value = (environ.get("VISUAL") or "").strip() or (environ.get("EDITOR") or "").strip()
    if not value:
        raise EditorProblem("No editor is set: set $VISUAL or $EDITOR (for example EDITOR=nano) to write replies in it.")
    try:
        command = shlex.split(value)
    except ValueError as exc:
        raise EditorProblem(f"The editor's command ({value}) cannot be read: {exc}.") from None
    return command


def edit(text: str, command: list[str]) -> str:
    """Run `command` on a temporary file holding `text` and return what the file holds after, with
    its line ends made \\n, the final new lines an editor adds taken off, and control characters
    made visible (desk.text.safe), as a paste is. EditorProblem when the editor cannot start or
    fails: the caller keeps `text`. Blocks until the editor exits."""
    fd, name = tempfile.mkstemp(prefix="wadesk-reply-", suffix=".txt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        try:
            done = subprocess.run([*command, name], check=False)
        except OSError as exc:
            raise EditorProblem(f"The editor {command[0]} could not be started: {exc.strerror or exc}.") from None
        if done.returncode != 0:
            raise EditorProblem(f"The editor exited with status {done.returncode}; the composer keeps its text.")
        try:
            with open(name, encoding="utf-8", errors="replace") as file:
                edited = file.read()
        except OSError as exc:
            raise EditorProblem(f"The editor left no text to read ({exc.strerror or exc}); the composer keeps its text.") from None
    finally:
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass  # the editor deleted it: nothing to clean up
    return safe(edited.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n"))
