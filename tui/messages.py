"""App-level events, past tense: something happened that screens may want to show."""

from __future__ import annotations

from textual.message import Message


class ConversationsChanged(Message):
    """The store changed these conversations (new message, status, draft, read...)."""

    def __init__(self, conversation_ids: frozenset[str]) -> None:
        super().__init__()
        self.conversation_ids = conversation_ids


class TemplatesSynced(Message):
    """A business number's template catalogue was refreshed."""

    def __init__(self, business_number_id: str) -> None:
        super().__init__()
        self.business_number_id = business_number_id


class AlertsTold(Message):
    """The agent was just alerted of these conversations (desk.alerts): their rows stand out."""

    def __init__(self, conversation_ids: frozenset[str]) -> None:
        super().__init__()
        self.conversation_ids = conversation_ids


class HubNews(Message):
    """The hub's link or someone's presence changed, or the hub said something (team mode)."""

    def __init__(self, news: object) -> None:
        super().__init__()
        self.news = news
