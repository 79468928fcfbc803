"""Keys that users can move: every binding has an id in one `area.verb` scheme, and the config's
`[keys]` table maps ids to other keys (Textual's keymap). Help, footer and palette read the
bindings as remapped, so they show the keys the agent actually presses."""

from __future__ import annotations

from collections.abc import Mapping

from textual.binding import Binding

from desk.config import ConfigError


def binding_ids() -> dict[str, str]:
    """Every binding id of the desk -> what it does, from the app's, screens' and widgets' BINDINGS."""
    from tui.app import WadeskApp
    from tui.screens.attach import AttachScreen
    from tui.screens.confirm import ConfirmScreen
    from tui.screens.conversation import ConversationScreen
    from tui.screens.customer_edit import EditCustomerProfile
    from tui.screens.facets import FacetsScreen
    from tui.screens.help import HelpScreen
    from tui.screens.inbox import InboxScreen
    from tui.screens.media import MediaScreen
    from tui.screens.message_actions import MessageActions
    from tui.screens.queue_menu import LabelsScreen, QueueMenu
    from tui.screens.quick_reply_save import SaveQuickReply
    from tui.screens.react import ReactionPicker
    from tui.screens.search import SearchScreen
    from tui.screens.template_picker import TemplatePicker
    from tui.widgets.composer import Composer
    from tui.widgets.customer_panel import CustomerPanel, CustomerScreen
    from tui.widgets.inbox_list import InboxList
    from tui.widgets.quick_replies import QuickReplyMenu
    from tui.widgets.transcript import Transcript

    ids: dict[str, str] = {}
    for owner in (WadeskApp, InboxScreen, InboxList, ConversationScreen, Composer, TemplatePicker, MediaScreen,
                  AttachScreen, ConfirmScreen, HelpScreen, QueueMenu, LabelsScreen, FacetsScreen, QuickReplyMenu,
                  SaveQuickReply, CustomerPanel, CustomerScreen, EditCustomerProfile, SearchScreen, MessageActions,
                  Transcript, ReactionPicker):
        for binding in owner.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                ids.setdefault(binding.id, binding.tooltip or binding.description)
    return ids


def keymap(keys: Mapping[str, str]) -> dict[str, str]:
    """The config's [keys] as Textual's keymap; ConfigError naming an unknown id or an empty key."""
    known = binding_ids()
    for binding_id, key in keys.items():
        if binding_id not in known:
            raise ConfigError(
                f"The config key keys.{binding_id} names no key of the desk; the ids are listed in "
                "config.example.toml under [keys]."
            )
        if not key.strip():
            raise ConfigError(f"The config key keys.{binding_id} is empty: give a key such as \"ctrl+y\".")
    return dict(keys)
