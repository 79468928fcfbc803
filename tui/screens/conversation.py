"""One conversation: header with the window and SLA timers, the transcript, and the composer.

The 24-hour rule is enforced here before anything is sent (desk.window), and again by WhatsApp
(and the mock), which answers free text outside the window with 131047.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Static

from backends.base import Capability
from backends.errors import error_sentence
from desk.clock import tick_seconds
from desk.config import agent_key
from desk.contacts import handle
from desk.models import ConversationStatus, Direction, Message, MessageStatus, TemplateChoice, awaiting_retry
from desk.sla import sla_state
from desk.store.contract import ConversationUnavailable
from desk.summary import one_line
from desk.text import display_name
from desk.views import Owner, owner
from desk.window import window
from tui.header import conversation_header
from tui.labels import labels_text, language_name, local_time, owner_words, queue_status, waited_label
from tui.messages import ConversationsChanged
from tui.queue import carry_out
from tui.screens.attach import AttachScreen
from tui.screens.base import reports_failure
from tui.screens.confirm import ConfirmScreen
from tui.screens.media import MediaScreen
from tui.screens.message_actions import MessageActions
from tui.screens.queue_menu import QueueChoice, QueueMenu
from tui.screens.quick_reply_save import quick_reply_commands
from tui.shared import REDRAW_EVERY, VIEWING_EVERY, PresenceTeller, hub_line, shared, show_line
from tui.widgets import customer_panel
from tui.widgets.composer import Composer
from tui.widgets.quick_replies import QuickReplyMenu
from tui.widgets.reply_quote import ReplyQuote
from tui.widgets.sla_panel import SlaPanel
from tui.widgets.tab_bar import TabBar
from tui.widgets.transcript import Transcript


class ConversationScreen(MessageActions):
    HORIZONTAL_BREAKPOINTS = customer_panel.BREAKPOINTS
    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="Back to the inbox; the draft is kept.", id="conversation.back"),
        Binding("ctrl+t", "templates", "Template", tooltip="Pick an approved template to send.", id="conversation.template"),
        Binding("t", "templates", "Template", tooltip="Pick an approved template (when not typing).", id="conversation.template-key", show=False),
        Binding("ctrl+r", "retry", "Retry", tooltip="Send the failed or unknown message under the cursor again, else the latest.", id="conversation.retry"),
        Binding("ctrl+o", "toggle_resolved", "Resolve", tooltip="Resolve the conversation, or reopen it.", id="conversation.resolve"),
        Binding("ctrl+s", "queue", "Status", tooltip="Status, snooze, priority and labels of the conversation.", id="conversation.queue", show=False),
        Binding("ctrl+b", "toggle_note", "Note", tooltip="Switch the composer between a reply and an internal note (never sent to the customer).", id="conversation.note", show=False),
        Binding("ctrl+l", "toggle_mine", "Take", tooltip="Take the conversation (it becomes mine), or give it back to nobody.", id="conversation.take", show=False),
        Binding("ctrl+g", "edit_failed", "Edit", tooltip="Take the failed or unknown text under the cursor (else the latest) back into the composer to edit and send again.", id="conversation.edit", show=False),
        Binding("ctrl+n", "attach", "Attach", tooltip="Send a file from this machine (an image or a document).", id="conversation.attach"),
        Binding("ctrl+f", "media", "File", tooltip="Download the customer's file under the cursor (else the latest), then open or save it.", id="conversation.media"),
        Binding("f1", "help", "Help", tooltip="Show every key of this screen.", id="conversation.help"),
        Binding("f4", "customer", "Customer", tooltip="Show or hide the customer: number, language, ad, other conversations, notes.", id="conversation.customer", show=False),
        Binding("question_mark", "help", "Help", tooltip="Show every key (when not typing).", id="conversation.help-key", show=False),
        Binding("j,down", "scroll(1)", "Scroll down", id="conversation.scroll-down", show=False),
        Binding("k,up", "scroll(-1)", "Scroll up", id="conversation.scroll-up", show=False),
    ]

    def __init__(self, conversation_id: str, *, at_message: str | None = None) -> None:
        """`at_message`: a message to show first, highlighted (a search's hit)."""
        super().__init__()
        self.conversation_id = conversation_id
        self.at_message = at_message
        self._draft_saved = ""
        self._draft_pending = ""
        self._draft_saving = False
        self._editing: str | None = None
        """The failed message the composer holds an edit of (ctrl+g), which the next send replaces."""
        self._note = False
        """The composer writes an internal note (ctrl+b): kept, never sent, whatever the window."""

    # --- layout --------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="conversation-header")
        yield Static(id="hub-line", classes="hidden")  # team mode: who else is here, or offline
        yield SlaPanel(id="sla-panel")
        with Horizontal(id="conversation-body"):
            yield Transcript(id="transcript")
            yield customer_panel.CustomerPanel(self.conversation_id, id="customer-panel")
        yield Static(id="window-banner", classes="hidden")
        yield QuickReplyMenu(self.conversation_id)
        yield ReplyQuote(id="reply-quote")
        yield Composer(id="composer")
        # No ctrl+p in this footer: at 80 columns it would push the desk's own keys off the edge
        # (help, f1, says that ctrl+p opens the command palette).
        yield TabBar(id="tab-bar")  # above the footer: the screen's first line stays its own
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        store = self.ctx.store
        draft = store.draft(self.conversation_id)
        self._draft_saved = self._draft_pending = draft
        self.composer.load_text(draft)
        self.composer.move_cursor(self.composer.document.end)
        if self.at_message is not None:
            self.query_one(Transcript).open_at(self.at_message)
        self._refresh_all()
        self._tick()
        customer_panel.show_beside(self)
        (self.composer if not self.composer.disabled else self.query_one(Transcript)).focus()
        self.set_interval(tick_seconds(self.ctx.clock), self._tick)  # countdowns move with the clock (--speed)
        self._mark_read()
        self._team_mount()

    def _refresh_all(self) -> None:
        ctx = self.ctx
        conv = self.conversation
        messages = ctx.store.messages(conv.id)  # first: a reader is what finds a damaged file
        problem = next((f.sentence for f in ctx.store.faults() if f.conversation_id == conv.id), None)
        try:
            log = ctx.store.audit(conv.id) if problem is None else []
        except (KeyError, ConversationUnavailable):
            log = []  # the store tells of its fault (faults()); the messages are what matter
        self.query_one(Transcript).show(messages, conv.customer.name, ctx.zone, ctx.clock.now(), problem, log)

    def _tick(self) -> None:
        """Timers count down; a window that closes while the agent types disables the composer."""
        ctx = self.ctx
        conv = self.conversation
        now = ctx.clock.now()
        win = window(conv.last_inbound_at, now, ctx.closing_soon)
        number = ctx.number(conv.business_number_id)
        name = display_name(conv.customer.name, 60)
        header = self.query_one("#conversation-header", Static)
        header.update(
            conversation_header(
                name=name,
                handle=handle(conv.customer),
                department=number.department,
                number=number.display,
                status=queue_status(conv, now, ctx.zone),
                priority=conv.priority,
                labels=labels_text(conv.labels),
                language=language_name(conv.language) if conv.language else "",
                owner=owner_words(conv.assignee, agent_key(ctx.config)),
                win=win,
                sla=sla_state(conv, ctx.policy(conv.business_number_id), now),
                waited=waited_label(conv, now),
                zone=ctx.zone,
                now=now,
                # Before the first layout the header has no size yet: the screen's, less its padding.
                width=header.content_region.width or self.app.size.width - 2,
            )
        )
        self.query_one(SlaPanel).show(conv, ctx.policy(conv.business_number_id), number.department, ctx.zone, now)
        self._show_window(win.open, win.closes_at, now)

    def on_resize(self) -> None:
        self._tick()  # the header's labels are chosen for the width

    def _show_window(self, is_open: bool, closes_at: datetime | None, now: datetime) -> None:
        banner = self.query_one("#window-banner", Static)
        composer = self.composer
        if is_open or self._note:
            banner.add_class("hidden")
            if composer.disabled:
                composer.disabled = False
            return
        if closes_at is None:
            when = "The customer has not written yet"
        else:
            when = f"The 24-hour window closed {local_time(closes_at, self.ctx.zone, now)}"
        banner.update(Text(f"■ {when}: free text cannot be sent. Press t or ctrl+t to send an approved template."))
        banner.remove_class("hidden")
        if not composer.disabled:
            had_focus = composer.has_focus
            composer.disabled = True  # the text stays: it is the draft
            if had_focus:
                self.query_one(Transcript).focus()

    def on_conversations_changed(self, event: ConversationsChanged) -> None:
        self.query_one(customer_panel.CustomerPanel).changed(event.conversation_ids)
        if self.conversation_id in event.conversation_ids:
            self._refresh_all()
            self._tick()
            self.show_hub_line()

    # --- sending -------------------------------------------------------------------------------------
    @on(Composer.Submitted)
    @reports_failure("Sending")
    async def _submit(self) -> None:
        text = self.composer.text
        if not text.strip():
            return
        if self._note:
            await self.desk.engine.writer.add_note(self.conversation_id, text)
            self.composer.clear()  # the note is in the store, durably
            self.notify("Note kept; the customer never sees it.", markup=False)
            return
        if not self._free_form_allowed():
            return  # refused before anything leaves; the text stays as the draft
        await self.desk.send_text(self.conversation, text, replaces=self._editing, reply_to=self.reply_to)
        # The message is in the outbox, durably: only now may the composer let go of the text.
        self._editing = None
        self.stop_quoting()
        self.composer.clear()

    def _free_form_allowed(self) -> bool:
        """The UI's guard of the 24-hour rule (desk.window): outside the window it says so, shows
        the banner, and refuses. WhatsApp (or the mock) would answer 131047 anyway."""
        if window(self.conversation.last_inbound_at, self.ctx.clock.now()).open:
            return True
        self._tick()
        self.notify("The 24-hour window is closed: only an approved template can be sent (press t).", severity="warning", markup=False)
        return False

    @on(Composer.Changed)
    def _draft_changed(self) -> None:
        self._draft_pending = self.composer.text
        if self._draft_pending != self._draft_saved:
            self._tell_presence("typing")
        if not self._draft_saving and self._draft_pending != self._draft_saved:
            self._save_draft()

    @work(group="draft", exit_on_error=False)
    async def _save_draft(self) -> None:
        """Every change is saved (coalesced: at most one write in flight), so a crash loses nothing typed."""
        self._draft_saving = True
        try:
            while self._draft_pending != self._draft_saved:
                text = self._draft_pending
                await self.desk.engine.writer.save_draft(self.conversation_id, text)
                self._draft_saved = text
        finally:
            self._draft_saving = False

    def action_templates(self) -> None:
        from tui.screens.template_picker import TemplatePicker

        conv = self.conversation
        templates = self.ctx.store.templates(conv.business_number_id)
        transcript = self.ctx.store.messages(conv.id)
        self.app.push_screen(TemplatePicker(templates, conv, transcript), self._send_template)

    @reports_failure("Sending the template")
    async def _send_template(self, choice: TemplateChoice | None) -> None:
        if choice is not None:
            await self.desk.send_template(self.conversation, choice)

    def _latest_unsent(self) -> Message | None:
        return self.to_retry(awaiting_retry(self.ctx.store.messages(self.conversation_id)))

    def action_edit_failed(self) -> None:
        """The latest failed or unknown text back into the composer, to change and send again;
        sent, it replaces that one (which then offers no retry)."""
        message = self._latest_unsent()
        if message is None or message.type != "text":
            self.notify("Nothing to edit: no failed or unknown text message.", markup=False)
            return
        if self.composer.text.strip():
            self.notify("The composer holds a draft: send or clear it first, then ctrl+g again.", severity="warning", markup=False)
            return
        self._editing = message.id
        self.composer.load_text(message.text)
        self.composer.move_cursor(self.composer.document.end)
        if not self.composer.disabled:
            self.composer.focus()

    def action_retry(self) -> None:
        self._retry()

    @work(group="retry", exclusive=True, exit_on_error=False)
    async def _retry(self) -> None:
        message = self._latest_unsent()
        if message is None:
            self.notify("Nothing to retry: no failed or unknown message.", markup=False)
            return
        conv = self.conversation
        choice = None
        if message.type == "template":
            choice = self.desk.outbox.template_choice(conv, message)
            if choice is None:
                self.notify("That template is no longer approved; pick another with t.", severity="warning", markup=False)
                return
        elif not self._free_form_allowed():
            return
        if message.status is MessageStatus.UNKNOWN:
            question = "This message may already have reached the customer. Send it again anyway?"
            if not await self.app.push_screen_wait(ConfirmScreen(question)):
                return
        await self.desk.retry(conv, message, choice)

    # --- files -------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        needs = {
            "media": Capability.MEDIA_DOWNLOAD, "attach": Capability.SEND_FILES, "templates": Capability.TEMPLATES,
            "react": Capability.REACTIONS,
        }.get(action)
        return needs is None or needs in self.ctx.backend.capabilities

    def action_attach(self) -> None:
        if self._free_form_allowed():
            self.app.push_screen(AttachScreen(), self._send_file)

    @reports_failure("Sending the file")
    async def _send_file(self, chosen: tuple[Path, str] | None) -> None:
        if chosen is not None:
            await self.desk.send_file(self.conversation, *chosen)

    def action_media(self) -> None:
        self._download()

    @work(group="media", exclusive=True, exit_on_error=False)
    async def _download(self) -> None:
        message = self.to_download(self.ctx.store.messages(self.conversation_id))
        # (A message found has a media id: the extra tests only tell the type checker so.)
        if message is None or message.media is None or not message.media.media_id:
            self.notify("The customer has sent no file in this conversation.", markup=False)
            return
        self.notify(f"Downloading {one_line(message)}…", markup=False)
        try:
            path = await self.ctx.backend.download_media(message.media.media_id)
        except Exception as exc:  # noqa: BLE001 - said to the agent; nothing else depends on it
            self.notify(f"Could not download the file: {error_sentence(exc)}", severity="error", markup=False)
            return
        self.app.push_screen(MediaScreen(path, one_line(message)))

    # --- other actions -------------------------------------------------------------------------------
    def action_back(self) -> None:
        if not self.stop_quoting():  # escape first lets go of a quote, then leaves
            self.app.pop_screen()

    def action_scroll(self, lines: int) -> None:
        self.query_one(Transcript).scroll_relative(y=lines, animate=False)

    @reports_failure("Resolving")
    async def action_toggle_resolved(self) -> None:
        conv = self.conversation
        new = ConversationStatus.OPEN if conv.status is ConversationStatus.RESOLVED else ConversationStatus.RESOLVED
        await self.desk.engine.writer.set_status(conv.id, new)
        self.notify(f"Conversation {'resolved' if new is ConversationStatus.RESOLVED else 'reopened'}.", markup=False)

    def action_toggle_note(self) -> None:
        self._note = not self._note
        composer = self.composer
        composer.write_note(self._note)
        self._tick()  # a note may be written with the window closed
        if not composer.disabled:
            composer.focus()
        self.notify("Writing an internal note." if self._note else "Writing a reply to the customer.", markup=False)

    def action_queue(self) -> None:
        conv = self.conversation
        self.app.push_screen(QueueMenu(display_name(conv.customer.name, 40), conv.labels), self._queue_chosen)

    @reports_failure("Changing the conversation")
    async def _queue_chosen(self, choice: QueueChoice | None) -> None:
        if choice is not None:
            ctx = self.ctx
            said = await carry_out(self.desk.engine.writer, self.conversation, choice, ctx.clock.now(), ctx.zone)
            self.notify(said, markup=False)

    @reports_failure("Taking the conversation")
    async def action_toggle_mine(self) -> None:
        conv = self.conversation
        me = agent_key(self.ctx.config)
        mine = owner(conv.assignee, me) is Owner.MINE
        if not mine and shared(self.ctx.backend):
            holder = await self.desk.engine.writer.claim(conv.id, me)  # the hub's database picks one
            if holder != me:
                self.notify(f"{display_name(holder or 'Another agent', 40)} has this conversation.", severity="warning", markup=False)
                return
        else:
            await self.desk.engine.writer.assign(conv.id, None if mine else me)
        if mine:
            self.notify("The conversation is nobody's now.", markup=False)
        elif conv.assignee is not None:
            self.notify(f"The conversation is yours now ({owner_words(conv.assignee, me)} before).", markup=False)
        else:
            self.notify("The conversation is yours now.", markup=False)

    def action_customer(self) -> None:
        customer_panel.toggle(self)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, describe_keys

        self.app.push_screen(HelpScreen("conversation", describe_keys(self)))

    @work(group="read", exit_on_error=False)
    async def _mark_read(self) -> None:
        last_in = next(
            (m for m in reversed(self.ctx.store.messages(self.conversation_id)) if m.direction is Direction.INBOUND), None
        )
        await self.desk.mark_read(self.conversation, last_in)

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Conversation: send a template", "Pick an approved template", self.action_templates)
        yield SystemCommand("Conversation: retry the failed message", "Send the latest failed message again", self.action_retry)
        yield SystemCommand("Conversation: edit the failed message", "Take the latest failed text back into the composer", self.action_edit_failed)
        yield SystemCommand("Conversation: resolve or reopen", "Toggle the conversation's status", self.action_toggle_resolved)
        yield SystemCommand("Conversation: status, snooze, priority, labels", "The queue menu", self.action_queue)
        yield SystemCommand("Conversation: write a note or a reply", "Switch the composer (notes are never sent)", self.action_toggle_note)
        yield SystemCommand("Conversation: take it, or give it back", "Make it mine, or nobody's", self.action_toggle_mine)
        yield SystemCommand("Conversation: the customer", "Number, language, ad, other conversations, notes and attributes", self.action_customer)
        yield SystemCommand("Conversation: back to the inbox", "Leave this conversation", self.action_back)
        yield from quick_reply_commands(self, self.composer.text)
        yield from self.message_commands()

    # --- team mode (tui/shared.py) ------------------------------------------------------------------
    def _team_mount(self) -> None:
        self._presence = PresenceTeller()
        self.show_hub_line()
        if shared(self.ctx.backend):
            self._tell_presence("viewing")
            self.set_interval(VIEWING_EVERY, lambda: self._tell_presence("viewing"))
            self.set_interval(REDRAW_EVERY, self.show_hub_line)  # someone's typing fades when they stop

    def show_hub_line(self) -> None:
        """Who else is viewing or typing here, or why the hub cannot be reached; hidden when
        there is nothing to say (and always for the embedded desk)."""
        typing_here = bool(self._draft_pending.strip()) and self.composer.has_focus
        line = hub_line(self.ctx.backend, self.conversation_id, typing_here)
        for widget in self.query("#hub-line").results(Static):  # none before the screen is composed
            show_line(widget, line)

    def _tell_presence(self, state: str) -> None:
        if shared(self.ctx.backend) and getattr(self, "_presence", None) is not None and self._presence.due(state):
            # On the app: "left" is told as the screen goes, after its own workers are gone.
            self.app.run_worker(self.ctx.backend.tell_presence(self.conversation_id, state), group="presence", exit_on_error=False)

    def on_unmount(self) -> None:
        self._tell_presence("left")
