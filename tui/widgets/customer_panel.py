"""The customer beside the chat: who they are (name, number as their country writes it, language),
where they came from (the click-to-WhatsApp ad or post of their latest message that carried one),
their conversation with each business number (department, last message, where it stands), and the
agents' notes and custom attributes about them (desk.customer; kept per customer by the store).

f4 on the conversation shows it beside the transcript when the terminal is at least WIDE columns
wide, and over the conversation (CustomerScreen) when it is narrower; beside the transcript it
stays open from conversation to conversation for the session (`WadeskApp.customer_panel`). In the
panel, enter opens the conversation under the cursor and e edits the notes and attributes. Every
text here (the customer's, the ad's, the agents') is plain text, neutralised (desk.text).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from desk.contacts import format_number, handle
from desk.customer import CustomerProfile, conversations_of, latest_referral
from desk.models import Conversation, ConversationStatus, Customer, Referral, conversation_id
from desk.text import display_name, flatten, safe
from tui.labels import language_name, local_time, queue_status
from tui.messages import ConversationsChanged
from tui.screens.base import DeskModal, OnTheDesk
from tui.screens.customer_edit import EditCustomerProfile

if TYPE_CHECKING:
    from tui.screens.conversation import ConversationScreen

log = logging.getLogger(__name__)

WIDE = 100
"""From this many columns the panel fits beside the transcript (40 columns, the transcript 60)."""
BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]
"""The conversation screen's classes by width (Textual's breakpoints): the panel shows only -wide."""
HINT = "e edits · enter opens · f4 closes"
LABEL = 9
"""The width of the labels before the facts ("Language ")."""


def _fact(text: Text, label: str, value: str, style: str = "") -> None:
    text.append(f"{label:<{LABEL}}", style="bold")
    text.append(f"{value}\n", style=style)


def facts(customer: Customer, language: str | None, referral: Referral | None) -> Text:
    """Name, number, language and where they came from, as labelled lines of plain text."""
    text = Text()
    _fact(text, "Name", display_name(customer.name, 60))
    if customer.phone:
        _fact(text, "Number", format_number(customer.phone))
    else:
        _fact(text, "Number", f"none; known as {display_name(handle(customer), 40)}")
    _fact(text, "Language", language_name(language) if language else "not known yet")
    if referral is None:
        _fact(text, "From", "directly, not from an ad")
    else:
        kind = {"ad": "an ad", "post": "a post"}.get(referral.source_type or "", "an ad or post")
        headline = f": {flatten(referral.headline, 80)}" if referral.headline else ""
        _fact(text, "From", f"{kind}{headline}")
        if referral.source_url:
            _fact(text, "", flatten(referral.source_url, 200), "underline")
    text.rstrip()
    return text


def outcome(conv: Conversation, now: datetime, zone: ZoneInfo) -> str:
    """Where a conversation stands: "resolved Sun 14:05", "waiting", "open", "pending"..."""
    if conv.status is ConversationStatus.RESOLVED and conv.resolved_at is not None:
        return f"resolved {local_time(conv.resolved_at, zone, now)}"
    return queue_status(conv, now, zone)


def profile_text(profile: CustomerProfile, now: datetime, zone: ZoneInfo) -> tuple[Text, Text]:
    """The notes (with who wrote them and when) and the attributes, as plain text."""
    notes = Text("Notes", style="bold")
    if profile.updated_at is not None:
        who = f"{display_name(profile.updated_by, 30)}, " if profile.updated_by else ""
        notes.append(f" · {who}{local_time(profile.updated_at, zone, now)}", style="dim")
    notes.append("\n")
    notes.append(safe(profile.notes) if profile.notes else "none yet", style="" if profile.notes else "dim")
    attributes = Text("Attributes\n", style="bold")
    if not profile.attributes:
        attributes.append("none yet", style="dim")
    for n, (key, value) in enumerate(profile.attributes):
        attributes.append(("\n" if n else "") + f"{flatten(key, 40)}: ", style="bold")
        attributes.append(flatten(value, 200))
    return notes, attributes


class CustomerPanel(OnTheDesk, VerticalScroll):
    """The customer of conversation `conversation_id`; `show()` reads it all from the store."""

    BINDINGS = [
        Binding("e", "edit", "Edit notes", tooltip="Edit the notes and attributes about the customer (in the panel).", id="customer.edit"),
    ]

    def __init__(self, conversation_id: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.conversation_id = conversation_id

    @property
    def customer_id(self) -> str:
        conv = self.ctx.store.conversation(self.conversation_id)
        return conv.customer.id if conv is not None else ""

    def _their_ids(self) -> set[str]:
        """The id their conversation with each business number has, or would have."""
        return {conversation_id(number.id, self.customer_id) for number in self.ctx.numbers()} | {self.conversation_id}

    def compose(self) -> ComposeResult:
        yield Static(id="customer-facts")
        yield Static(Text("Conversations", style="bold"), classes="customer-heading")
        yield OptionList(id="customer-conversations")
        yield Static(id="customer-notes")
        yield Static(id="customer-attributes")
        yield Static(Text(HINT), classes="muted customer-hint")

    def on_mount(self) -> None:
        self.border_title = Text("customer")
        self.show()

    @property
    def conversations(self) -> OptionList:
        return self.query_one("#customer-conversations", OptionList)

    def show(self) -> None:
        """Read the customer again: their conversations, the referral, the notes."""
        ctx = self.ctx
        conv = ctx.store.conversation(self.conversation_id)
        if conv is None:
            return
        now, zone = ctx.clock.now(), ctx.zone
        referral = latest_referral(ctx.store.messages(self.conversation_id))
        self.query_one("#customer-facts", Static).update(facts(conv.customer, conv.language, referral))
        theirs = conversations_of(self.customer_id, [n.id for n in ctx.numbers()], ctx.store.conversation)
        if conv not in theirs:
            theirs.insert(0, conv)  # on a business number the desk no longer has
        options = self.conversations
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(self._option(c, now, zone) for c in theirs)
        options.highlighted = min(highlighted or 0, len(theirs) - 1)
        try:
            profile = ctx.store.customer_profile(self.customer_id)
        except Exception as error:  # noqa: BLE001 - a damaged customers.json: said here, and logged
            log.error("the notes about %s cannot be read", self.customer_id, exc_info=error)
            self.query_one("#customer-notes", Static).update(Text(f"The notes cannot be read: {safe(str(error))}"))
            self.query_one("#customer-attributes", Static).update("")
            return
        notes, attributes = profile_text(profile, now, zone)
        self.query_one("#customer-notes", Static).update(notes)
        self.query_one("#customer-attributes", Static).update(attributes)

    def _option(self, conv: Conversation, now: datetime, zone: ZoneInfo) -> Option:
        department = display_name(self.ctx.number(conv.business_number_id).department, 24)
        last = local_time(conv.last_message_at, zone, now) if conv.last_message_at else "no messages"
        this = " (this one)" if conv.id == self.conversation_id else ""
        line = Text(f"{department}{this}", style="bold")
        line.append(f"\n  {last} · {outcome(conv, now, zone)}")
        return Option(line, id=conv.id)

    def changed(self, conversation_ids: Iterable[str]) -> None:
        """The store changed these conversations: read again if one of them is the customer's."""
        if not self.has_class("-closed") and not self._their_ids().isdisjoint(conversation_ids):
            self.show()

    def focus_list(self) -> None:
        self.conversations.focus()

    @on(OptionList.OptionSelected, "#customer-conversations")
    def _open(self, event: OptionList.OptionSelected) -> None:
        chosen = event.option.id
        if chosen is None or chosen == self.conversation_id:
            if isinstance(self.screen, CustomerScreen):
                self.screen.dismiss()
            return
        if isinstance(self.screen, CustomerScreen):
            self.app.pop_screen()  # the conversation opens in place of the one under this modal
        self.desk.open_conversation(chosen)

    def action_edit(self) -> None:
        conv = self.ctx.store.conversation(self.conversation_id)
        name = display_name(conv.customer.name, 40) if conv else self.customer_id
        self.app.push_screen(EditCustomerProfile(name, self.ctx.store.customer_profile(self.customer_id)), self._save)

    def _save(self, profile: CustomerProfile | None) -> None:
        if profile is not None:
            self._write(profile)

    @work(group="customer", exit_on_error=False)
    async def _write(self, profile: CustomerProfile) -> None:
        try:
            await self.desk.engine.writer.save_customer_profile(self.customer_id, profile)
        except ValueError as refused:  # checked by the editor already; a store may bound it tighter
            self.notify(str(refused), severity="warning", markup=False)
            return
        except Exception as error:  # noqa: BLE001 - a full disk: told in a sentence and logged, in one place
            self.desk.report_failure("Saving the notes about the customer", error)
            return
        self.show()
        self.notify("Notes and attributes saved.", markup=False)


class CustomerScreen(DeskModal[None]):
    """The panel over the conversation, on a terminal narrower than WIDE columns."""

    BINDINGS = [Binding("escape,f4", "dismiss", "Close", tooltip="Close the customer panel.", id="customer.close")]

    def __init__(self, conversation_id: str) -> None:
        super().__init__()
        self.conversation_id = conversation_id

    def compose(self) -> ComposeResult:
        yield CustomerPanel(self.conversation_id, id="customer-modal-panel")

    def on_mount(self) -> None:
        self.query_one(CustomerPanel).focus_list()

    def on_conversations_changed(self, event: ConversationsChanged) -> None:
        self.query_one(CustomerPanel).changed(event.conversation_ids)


def toggle(screen: ConversationScreen) -> None:
    """f4 on the conversation: over it when the terminal is narrow; else beside the transcript,
    open or closed, remembered for the session."""
    desk = screen.desk
    if screen.app.size.width < WIDE:
        screen.app.push_screen(CustomerScreen(screen.conversation_id))
        return
    desk.customer_panel = not desk.customer_panel
    show_beside(screen)
    panel = screen.query_one(CustomerPanel)
    if desk.customer_panel:
        panel.focus_list()
    elif not screen.composer.disabled:
        screen.composer.focus()  # out of the closed panel, back to typing
    else:
        screen.query_one("#transcript").focus()


def show_beside(screen: ConversationScreen) -> None:
    """Show the panel beside the transcript or hide it, as the agent left it this session."""
    panel = screen.query_one(CustomerPanel)
    panel.set_class(not screen.desk.customer_panel, "-closed")
    if screen.desk.customer_panel:
        panel.show()
