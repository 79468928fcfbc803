"""The notes and custom attributes about a customer, edited (e in the customer panel): the notes as
free text, the attributes as "key: value" lines. Checked here by the store's own rule
(desk.customer.customer_profile) before it returns, so a refusal is a sentence in the modal and
nothing typed is lost; the panel saves what it returns through the store's writer."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, Static, TextArea

from desk.customer import ATTRIBUTES_MAX, CustomerProfile, attributes_text, customer_profile, parse_attributes
from desk.text import safe
from tui.screens.base import DeskModal


class EditCustomerProfile(DeskModal[CustomerProfile | None]):
    """Returns the profile as typed and checked (the store stamps it), or None."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", tooltip="Keep the notes and attributes about the customer.", id="profile.save"),
        Binding("escape", "dismiss(None)", "Cancel", tooltip="Close without saving.", id="profile.cancel"),
    ]

    def __init__(self, name: str, profile: CustomerProfile) -> None:
        """`name`: the customer's, neutralised already (desk.text.display_name)."""
        super().__init__()
        self._name = name
        self._profile = profile

    def compose(self) -> ComposeResult:
        with Vertical(id="profile-edit"):
            yield Label(Text("Notes"), classes="profile-label")
            # Shown neutralised here too (a TextArea would pass ESC to the terminal): saved so.
            yield TextArea(safe(self._profile.notes), id="profile-notes", soft_wrap=True, tab_behavior="focus")
            yield Label(Text(f'Attributes: one "key: value" a line, at most {ATTRIBUTES_MAX}'), classes="profile-label")
            yield TextArea(safe(attributes_text(self._profile.attributes)), id="profile-attributes", tab_behavior="focus")
            yield Static(id="profile-problem", classes="hidden")
            yield Static(Text("ctrl+s saves · tab moves · escape cancels"), classes="muted")

    def on_mount(self) -> None:
        self.query_one("#profile-edit").border_title = Text(f"about {self._name}")
        for area in self.query(TextArea):
            area.move_cursor(area.document.end)  # to add to what is there
        self.query_one("#profile-notes", TextArea).focus()

    def action_save(self) -> None:
        notes = self.query_one("#profile-notes", TextArea).text
        try:
            profile = customer_profile(notes, parse_attributes(self.query_one("#profile-attributes", TextArea).text))
        except ValueError as refused:
            problem = self.query_one("#profile-problem", Static)
            problem.update(Text(str(refused)))  # it quotes what the agent typed: never markup
            problem.remove_class("hidden")
            return
        self.dismiss(profile)
