"""The embedded store: TinyDB files under the data directory (layout in docs/storage.md)."""

from desk.store.tiny.facade import INDEX_VERSION, TinyStore

__all__ = ["INDEX_VERSION", "TinyStore"]
