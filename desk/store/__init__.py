"""The store: its contract (what every implementation promises), its rules (pure functions every
implementation and the backends share), and the implementations beside each other: `tiny` (the
embedded TinyDB store, the default). A shared one for team mode joins as another subpackage."""

from desk.store.contract import (
    ConversationUnavailable,
    SearchHit,
    Store,
    StoreFault,
    StoreLocked,
    StoreUnavailable,
)

__all__ = ["ConversationUnavailable", "SearchHit", "Store", "StoreFault", "StoreLocked", "StoreUnavailable"]
