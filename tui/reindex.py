"""`wadesk reindex`: rebuild the search index (search.sqlite) from the conversations.

The index is a cache: the desk rebuilds it by itself when it is missing, damaged or behind. This
does it now, e.g. after copying a data directory by hand. It takes the data directory's lock, so
it never runs beside a desk or `wadesk serve`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

from desk.store import StoreLocked
from desk.store.tiny import TinyStore


def main(data_dir: Path, out: TextIO | None = None) -> int:
    """Rebuild; 0 when done, 1 when the store could not be opened."""
    out = out or sys.stdout
    store = TinyStore(Path(data_dir))
    try:
        store.open()
    except StoreLocked as exc:
        print(f"{exc} Stop it, then reindex again.", file=out)
        return 1
    try:
        total = len(store.conversations())
        print(f"Rebuilding the search index of {total} conversation(s)…", file=out, flush=True)
        start = time.monotonic()
        count = store.reindex()
        print(f"The search index was rebuilt: {count} conversation(s) in {time.monotonic() - start:.1f} s.", file=out)
        return 0
    finally:
        store.close()
