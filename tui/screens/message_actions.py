"""What the conversation screen does with one message, the one under the transcript's cursor:
reply quoting it, react to it, copy it; which failed message retry takes and which file download
takes (that one, else the latest as before); and writing the reply in $EDITOR.

The keys work from the composer too (alt+ keys: a TextArea takes the plain ones and the ctrl+
ones it binds), and as plain keys while the transcript has the focus (tab). None is in the
footer, which has no room at 80 columns: help (f1) lists them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from textual.app import SuspendNotSupported, SystemCommand
from textual.binding import Binding

from desk.models import Conversation, Direction, Message
from desk.quoting import my_reaction, reaction_refusal, reply_refusal, whatsapp_id
from desk.summary import one_line
from desk.text import safe
from tui.editor import EditorProblem, edit, editor_command
from tui.screens.base import DeskScreen, reports_failure
from tui.screens.react import ReactionPicker
from tui.widgets.composer import Composer
from tui.widgets.reply_quote import ReplyQuote
from tui.widgets.transcript import Transcript

CANNOT_SUSPEND = "This terminal cannot hand the screen to another program (Textual cannot suspend here): write the reply in the composer."


class MessageActions(DeskScreen[None]):
    BINDINGS = [
        Binding("alt+up", "cursor(-1)", "Previous message", tooltip="Move the message cursor to the message before (also while typing).", id="message.previous", show=False),
        Binding("alt+down", "cursor(1)", "Next message", tooltip="Move the message cursor to the message after (also while typing).", id="message.next", show=False),
        Binding("alt+r,r", "reply", "Reply", tooltip="Reply quoting the message under the cursor; again: quote nothing.", id="message.reply", show=False),
        Binding("alt+e,e", "react", "React", tooltip="React with an emoji to the customer's message under the cursor.", id="message.react", show=False),
        Binding("alt+y,y", "copy", "Copy", tooltip="Copy the text of the message under the cursor to the clipboard.", id="message.copy", show=False),
        Binding("d", "media", "File", tooltip="Download the file of the message under the cursor (when not typing).", id="message.download", show=False),
        Binding("alt+o", "editor", "Editor", tooltip="Write the reply in $VISUAL or $EDITOR; back here, enter sends it.", id="composer.editor", show=False),
    ]

    conversation_id: str

    @property
    def conversation(self) -> Conversation:
        conv = self.ctx.store.conversation(self.conversation_id)
        assert conv is not None, self.conversation_id
        return conv

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    @property
    def under_cursor(self) -> Message | None:
        return self.transcript.cursor

    def _free_form_allowed(self) -> bool:
        """The conversation screen's guard of the 24-hour rule: says why when it refuses."""
        raise NotImplementedError

    # --- which message an action takes ---------------------------------------------------------------
    def to_retry(self, unsent: Sequence[Message]) -> Message | None:
        """Of the messages offering a retry (desk.models.awaiting_retry): the one under the
        cursor, else the latest."""
        current = self.under_cursor
        if current is not None and any(m.id == current.id for m in unsent):
            return current
        return unsent[-1] if unsent else None

    def to_download(self, messages: Sequence[Message]) -> Message | None:
        """The customer's file under the cursor, else the customer's latest file."""
        files = [m for m in messages if m.direction is Direction.INBOUND and m.media is not None and m.media.media_id]
        current = self.under_cursor
        if current is not None and any(m.id == current.id for m in files):
            return current
        return files[-1] if files else None

    # --- the cursor ---------------------------------------------------------------------------------
    def action_cursor(self, by: int) -> None:
        self.transcript.action_step(by)

    # --- reply ------------------------------------------------------------------------------------------
    @property
    def reply_to(self) -> str | None:
        """WhatsApp's id of the message the next reply quotes, if any."""
        quoted = self.query_one(ReplyQuote).message
        return whatsapp_id(quoted) if quoted is not None else None

    def action_reply(self) -> None:
        message = self.under_cursor
        quote = self.query_one(ReplyQuote)
        if message is None:
            self.notify("There is no message to reply to.", markup=False)
            return
        if quote.message is not None and quote.message.id == message.id:
            self.stop_quoting()
            return
        refusal = reply_refusal(message)
        if refusal:
            self.notify(refusal, severity="warning", markup=False)
            return
        if not self._free_form_allowed():
            return
        quote.quote(message)
        if not self.composer.disabled:
            self.composer.focus()

    def stop_quoting(self) -> bool:
        """The next reply quotes nothing; True if it was quoting a message."""
        quote = self.query_one(ReplyQuote)
        quoting = quote.message is not None
        quote.quote(None)
        return quoting

    # --- react ------------------------------------------------------------------------------------------
    def action_react(self) -> None:
        message = self.under_cursor
        if message is None:
            self.notify("There is no message to react to.", markup=False)
            return
        refusal = reaction_refusal(message, self.ctx.clock.now())
        if refusal:
            self.notify(refusal, severity="warning", markup=False)
            return
        if not self._free_form_allowed():
            return
        mine = my_reaction(self.ctx.store.messages(self.conversation_id), message)

        async def chosen(emoji: str | None) -> None:
            await self._react(message, mine, emoji)

        self.app.push_screen(ReactionPicker(one_line(message), mine), chosen)

    @reports_failure("Reacting")
    async def _react(self, target: Message, mine: str, emoji: str | None) -> None:
        if emoji is None:
            return
        if not emoji and not mine:
            self.notify("You have no reaction on this message to remove.", markup=False)
            return
        if not self._free_form_allowed():  # the window may have closed while the picker was open
            return
        key = whatsapp_id(target)
        assert key is not None  # a customer's message: its id is WhatsApp's
        await self.desk.send_reaction(self.conversation, key, emoji)

    # --- copy -------------------------------------------------------------------------------------------
    def action_copy(self) -> None:
        message = self.under_cursor
        if message is None:
            self.notify("There is no message to copy.", markup=False)
            return
        text = message.media.caption if message.media is not None and message.media.caption else message.text
        # As the transcript shows it: a customer's control characters stay visible marks.
        text = safe(text) or one_line(message)
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {len(text):,} characters (where the terminal lets programs copy: OSC 52).", markup=False)

    # --- $EDITOR ----------------------------------------------------------------------------------------
    def action_editor(self) -> None:
        composer = self.composer
        if composer.disabled:
            self.notify("The composer is closed (the 24-hour window): there is no reply to write.", markup=False)
            return
        try:
            command = editor_command(os.environ)
            # Textual's way: the app stops drawing and reading keys, the editor has the terminal, and
            # the desk waits for it (webhooks wait too: WhatsApp sends them again).
            with self.app.suspend():
                text = edit(composer.text, command)
        except SuspendNotSupported:
            self.notify(CANNOT_SUSPEND, severity="warning", markup=False)
            return
        except EditorProblem as problem:
            self.notify(str(problem), severity="warning", markup=False)
            return
        composer.load_text(text)
        composer.move_cursor(composer.document.end)
        composer.focus()
        self.notify("The editor's text is in the composer: enter sends it.", markup=False)

    def message_commands(self) -> Iterable[SystemCommand]:
        """The palette's commands for the message under the cursor."""
        yield SystemCommand("Message: reply quoting it", "Quote the message under the cursor in the next reply", self.action_reply)
        yield SystemCommand("Message: react", "An emoji on the customer's message under the cursor", self.action_react)
        yield SystemCommand("Message: copy its text", "To the clipboard", self.action_copy)
        yield SystemCommand("Composer: write in $EDITOR", "Your own editor; back here, enter sends", self.action_editor)
