"""Quick replies from the desk: save the composer's text under a shortcut (this modal asks which),
or delete one saved before; both from the conversation's command palette. Saved ones go to the
store, over a configured one with the same shortcut (desk.quick_replies.library); one from the
config can be replaced that way, not deleted (it is the config file's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from desk.quick_replies import SHORTCUT_MAX, library, shortcut_problem
from desk.text import safe
from tui.screens.base import DeskModal, DeskScreen

PREVIEW_LINES = 6


class SaveQuickReply(DeskModal[str | None]):
    """Asks for the shortcut to save `text` under; returns it (lower case), or None."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="savereply.cancel")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        lines = safe(self.text).split("\n")
        shown = "\n".join(lines[:PREVIEW_LINES]) + (f"\n… {len(lines) - PREVIEW_LINES} more lines" if len(lines) > PREVIEW_LINES else "")
        with Vertical(id="save-reply"):
            yield Static(Text(shown), id="save-reply-text")
            yield Input(placeholder="shortcut: letters, digits, - and _", max_length=SHORTCUT_MAX, id="save-reply-shortcut")
            yield Static(Text("enter saves · escape cancels · then type /shortcut in any composer"), classes="muted")

    def on_mount(self) -> None:
        self.query_one("#save-reply").border_title = "save as a quick reply"
        self.query_one("#save-reply-shortcut").focus()

    @on(Input.Submitted)
    def _submit(self) -> None:
        shortcut = self.query_one("#save-reply-shortcut", Input).value.strip().lstrip("/")
        problem = shortcut_problem(shortcut)
        if problem:
            self.notify(f"The shortcut {problem}.", severity="warning", markup=False)
            return
        self.dismiss(shortcut.lower())


def quick_reply_commands(screen: DeskScreen[Any], composer_text: str) -> Iterator[SystemCommand]:
    """The palette's quick reply commands for a screen with a composer holding `composer_text`."""
    ctx, writer = screen.ctx, screen.desk.engine.writer

    async def save(shortcut: str | None) -> None:
        if shortcut is None:
            return
        known = {r.shortcut for r in library(ctx.config.configured_quick_replies(), ctx.store.quick_replies())}
        try:
            await writer.save_quick_reply(shortcut, composer_text)
        except ValueError as refused:  # a text WhatsApp would not take: said, nothing saved
            screen.notify(str(refused), severity="warning", markup=False)
            return
        except Exception as error:  # noqa: BLE001 - a full disk: told and logged, in one place
            screen.desk.report_failure("Saving the quick reply", error)
            return
        done = "replaced" if shortcut in known else "saved"
        screen.notify(f"Quick reply /{shortcut} {done}: type /{shortcut} in the composer.", markup=False)

    def ask() -> None:
        if not composer_text.strip():
            screen.notify("Type the reply in the composer first, then save it as a quick reply.", markup=False)
            return
        screen.app.push_screen(SaveQuickReply(composer_text), save)

    def deleter(shortcut: str) -> Callable[[], Awaitable[None]]:
        async def delete() -> None:
            try:
                await writer.delete_quick_reply(shortcut)
            except Exception as error:  # noqa: BLE001 - as above
                screen.desk.report_failure("Deleting the quick reply", error)
                return
            screen.notify(f"Quick reply /{shortcut} deleted.", markup=False)

        return delete

    yield SystemCommand("Quick replies: save the composer's text", "Keep what is typed, to call it up with /shortcut", ask)
    for reply in ctx.store.quick_replies():
        yield SystemCommand(f"Quick replies: delete /{reply.shortcut}", "Remove the quick reply saved from the desk",
                            deleter(reply.shortcut))
