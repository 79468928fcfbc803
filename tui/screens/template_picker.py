"""The template picker: the only way to reach a customer whose 24-hour window has closed.

Lists the business number's templates, those in the customer's language first (as detected,
Conversation.language: "es" is es, es_MX, es_ES...), then the rest, each group approved first and by
name; only APPROVED ones can be chosen (the others are shown dimmed with their status, so the agent
knows why). Before anything goes, it says in words what sending the highlighted template costs
and why (desk.pricing). Every parameter must be filled; the preview shows the message as the
customer will see it, updating as the agent types.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from backends.base import Capability
from backends.errors import error_sentence
from desk.models import Conversation, Message, Template, TemplateChoice
from desk.pricing import entry_point, template_cost
from desk.search import fold
from desk.text import display_name, safe
from tui.labels import language_name, local_time
from tui.messages import TemplatesSynced
from tui.plain import plain
from tui.screens.base import DeskModal


def _label(key: str) -> str:
    """A parameter as the agent reads it: "{{1}}", "{{first_name}}", "{{1}} in the header"."""
    component, _, name = key.rpartition(".")
    return f"{{{{{name}}}}}" + (f" in the {component}" if component else "")


def in_language(template: Template, language: str | None) -> bool:
    """Whether the template is in this language (ISO 639-1): "es" is es, es_MX, es-ES..."""
    return language is not None and template.language.replace("-", "_").split("_")[0].lower() == language.lower()


def _ordered(templates: list[Template], language: str | None) -> list[Template]:
    """The customer's language first, then the rest; in each, approved ones first (the ones that
    can be sent), then by name and language."""
    return sorted(templates, key=lambda t: (not in_language(t, language), not t.sendable, t.name, t.language))


class TemplatePicker(DeskModal[TemplateChoice | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", tooltip="Back to the list from the parameters; else close without sending.", id="picker.cancel"),
        Binding("ctrl+s", "send", "Send", tooltip="Send the chosen template with its parameters.", id="picker.send"),
        Binding("ctrl+r", "sync", "Sync", tooltip="Fetch the templates again from WhatsApp.", id="picker.sync"),
        Binding("f1", "help", "Help", tooltip="Show every key of the template picker.", id="picker.help"),
    ]

    def __init__(self, templates: list[Template], conversation: Conversation, transcript: Sequence[Message]) -> None:
        super().__init__()
        self.conversation = conversation
        self.language = conversation.language
        self.templates = _ordered(templates, self.language)
        self.customer_name = conversation.customer.name
        self.business_number_id = conversation.business_number_id
        self.entry = entry_point(transcript)
        """The free entry point state, from the transcript as it was when the picker opened."""
        self.chosen: Template | None = None
        self._shown: list[Template] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Input(placeholder="type to filter templates by name", id="picker-filter", compact=True)
            yield OptionList(id="picker-list")
            with VerticalScroll(id="picker-detail"):
                # Parameters above the preview: at 80x24 the fields must be on screen.
                yield Vertical(id="picker-params")
                yield Static(id="picker-preview")
            yield Static(id="picker-cost")
            yield Static(id="picker-status", classes="hidden")
            yield Static(
                Text("↑↓ move · enter choose / next field · ctrl+s send · ctrl+r sync · escape back"), id="picker-hint"
            )

    def on_mount(self) -> None:
        title = f"templates for {display_name(self.customer_name, 40)}"
        if any(in_language(t, self.language) for t in self.templates):
            title += f" · {language_name(self.language or '')} first"
        self.query_one("#picker").border_title = plain(title)
        self._show_synced()
        self._fill("")
        self.query_one("#picker-filter").focus()
        # A sync that fails in the background (the backend retries it) shows up while the picker is open.
        self.set_interval(5.0, self._show_synced)

    # --- the list ----------------------------------------------------------------------------------
    def _fill(self, query: str) -> None:
        needle = fold(query.strip())
        self._shown = [t for t in self.templates if needle in fold(t.name)]
        options = self.query_one(OptionList)
        options.clear_options()
        for t in self._shown:
            label = Text()
            label.append(t.name, style="bold" if t.sendable else "dim")
            label.append(f"  {t.language}  {t.category.lower()}", style="" if t.sendable else "dim")
            if not t.sendable:
                label.append(f"  {t.status_name} (cannot be sent)", style="dim italic")
            options.add_option(Option(label))
        if not self._shown:
            empty = "no template matches" if self.templates else "no templates fetched yet"
            options.add_option(Option(Text(empty, style="dim italic"), disabled=True))
        else:
            options.highlighted = 0
        self._preview()

    @property
    def highlighted(self) -> Template | None:
        index = self.query_one(OptionList).highlighted
        return self._shown[index] if index is not None and index < len(self._shown) else None

    @on(Input.Changed, "#picker-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_key(self, event: events.Key) -> None:
        # Arrow keys move the list even while the filter has focus: type, then pick.
        if event.key in ("up", "down") and self.focused is self.query_one("#picker-filter"):
            options = self.query_one(OptionList)
            options.action_cursor_up() if event.key == "up" else options.action_cursor_down()
            event.stop()

    @on(OptionList.OptionHighlighted)
    def _highlighted(self) -> None:
        self._preview()

    @on(Input.Submitted, "#picker-filter")
    @on(OptionList.OptionSelected)
    def _choose(self) -> None:
        template = self.highlighted
        if template is None:
            return
        if not template.sendable:
            self.notify(f"{template.name} is {template.status_name}: only approved templates can be sent.", severity="warning", markup=False)
            return
        self.chosen = template
        # The list makes way for the parameters; escape brings it back.
        self.query_one("#picker-filter").add_class("hidden")
        self.query_one(OptionList).add_class("hidden")
        params = self.query_one("#picker-params", Vertical)
        params.remove_children()
        names = template.parameters()
        widgets: list[Widget] = []
        for name in names:
            label = _label(name)
            widgets.append(Label(Text(label)))
            widgets.append(Input(placeholder=f"value for {label} (required)", classes="param", name=name, compact=True))
        params.mount_all(widgets)
        self._preview()
        if names:
            self.call_after_refresh(lambda: self.query(".param").first().focus())
        else:
            self.notify("This template has no parameters: ctrl+s sends it.", markup=False)

    # --- parameters and preview --------------------------------------------------------------------
    def _values(self) -> dict[str, str]:
        return {i.name: i.value for i in self.query(".param").results(Input) if i.name}

    @on(Input.Changed, ".param")
    def _param_changed(self) -> None:
        self._preview()

    @on(Input.Submitted, ".param")
    def _param_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(".param").results(Input))
        index = inputs.index(event.input)
        if index + 1 < len(inputs):
            inputs[index + 1].focus()
        else:
            self.action_send()

    def _preview(self) -> None:
        template = self.chosen or self.highlighted
        preview = self.query_one("#picker-preview", Static)
        self._show_cost(template)
        if template is None:
            preview.update("")
            return
        values = self._values() if template is self.chosen else {}
        text = Text()
        text.append(f"{template.name} · {template.language} · {template.category} · {template.status_name}\n\n", style="bold")
        text.append(safe(template.render(values, missing="{{{{{}}}}}")))
        preview.update(text)

    def _show_cost(self, template: Template | None) -> None:
        """What sending `template` now costs, and why, in words (desk.pricing)."""
        cost = self.query_one("#picker-cost", Static)
        if template is None:
            cost.update("")
            return
        price = template_cost(template, self.conversation.last_inbound_at, self.entry, self.ctx.clock.now())
        cost.update(plain(f"This send {'is' if template.sendable else 'would be'} {price}"))

    def action_send(self) -> None:
        template = self.chosen
        if template is None:
            self._choose()
            return
        values = self._values()
        for name in template.parameters():
            if not values.get(name, "").strip():
                self.notify(f"Fill in every parameter: {_label(name)} is empty.", severity="warning", markup=False)
                for i in self.query(".param").results(Input):
                    if i.name == name:
                        i.focus()
                return
        self.dismiss(TemplateChoice(template, values))

    # --- sync ----------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sync":
            return Capability.TEMPLATE_SYNC in self.ctx.backend.capabilities
        return True

    def action_sync(self) -> None:
        self.query_one(OptionList).loading = True  # the progress indicator, until the catalogue arrives
        self._sync()

    @work(group="template-sync", exclusive=True, exit_on_error=False)
    async def _sync(self) -> None:
        try:
            await self.ctx.backend.sync_templates()
        except Exception as exc:  # noqa: BLE001 - told to the agent, the list stays as it was
            self.query_one(OptionList).loading = False
            self._show_synced()
            self.notify(f"Could not fetch the templates: {error_sentence(exc)}", severity="error", markup=False)

    def _show_synced(self) -> None:
        """When the cached catalogue was last fetched, and whether the last try failed, so the
        agent knows how fresh the list is and why it may be empty."""
        ctx = self.ctx
        now = ctx.clock.now()
        synced = ctx.store.templates_synced_at(self.business_number_id)
        failure = ctx.backend.sync_failure
        if failure is not None and synced is not None and synced >= failure.at:
            failure = None  # an older failure, since mended
        when = local_time(synced, ctx.zone, now) if synced else "never"
        status = self.query_one("#picker-status", Static)
        if failure is None:
            self.query_one("#picker").border_subtitle = plain(f"fetched {when}")
            status.add_class("hidden")
            return
        failed = local_time(failure.at, ctx.zone, now)
        self.query_one("#picker").border_subtitle = plain(f"fetched {when} · last fetch failed {failed}")
        status.update(plain(f"✖ last fetch failed {failed}: {failure.sentence} ctrl+r tries again."))
        status.remove_class("hidden")

    def on_templates_synced(self, event: TemplatesSynced) -> None:
        if event.business_number_id != self.business_number_id:
            return
        self._show_synced()
        self.templates = _ordered(self.ctx.store.templates(self.business_number_id), self.language)
        options = self.query_one(OptionList)
        if options.loading:
            options.loading = False
            self.notify(f"{len(self.templates)} templates, fetched just now.", markup=False)
        if self.chosen is None:
            self._fill(self.query_one("#picker-filter", Input).value)

    def action_cancel(self) -> None:
        if self.chosen is None:
            self.dismiss(None)
            return
        self.chosen = None
        self.query_one("#picker-params", Vertical).remove_children()
        self.query_one("#picker-filter").remove_class("hidden")
        self.query_one(OptionList).remove_class("hidden")
        self.query_one("#picker-filter").focus()
        self._preview()

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, describe_keys

        self.app.push_screen(HelpScreen("template picker", describe_keys(self)))
