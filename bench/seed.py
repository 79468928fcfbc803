"""Shared bench code: seeded stores, a desk on the mock, frame timestamps, statistics.

A seeded store holds N conversations of 20 messages each, written in bulk with the store's own
helpers (desk.store.tiny.files.shard_path, desk.store.document.meta_to_doc, desk.codec.message_to_doc, desk.summary.summarize,
desk.codec.conversation_to_row): one TinyDB file per conversation, exactly what `Shard.commit()`
writes, but without the per-file fsync. The index is written by the store itself
(`TinyStore.flush()`), and so is the search index (`TinyStore.reindex()`). Seeded stores are
cached under /tmp/wadesk-bench/<size>/.

Mix of conversations (deterministic, seed 7): 10 % waiting on us (last message from the customer,
some unread), 30 % answered and open, 60 % resolved; first message spread over the 90 days before
NOW, 20 messages 1-30 minutes apart, alternating customer / agent.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import shutil
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

import tui  # noqa: E402,F401  (first: it sets the app's TEXTUAL_FPS before Textual is imported)
from desk.atomic_storage import fsync_dir  # noqa: E402
from desk.codec import conversation_to_row, message_to_doc  # noqa: E402
from desk.models import ConversationStatus, Customer, Direction, Message, MessageStatus  # noqa: E402
from desk.store.document import meta_to_doc  # noqa: E402
from desk.store.tiny.files import shard_path  # noqa: E402
from desk.summary import ConversationMeta, summarize  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
"""The benches' frozen clock (the tests' NOW)."""
CACHE = Path(os.environ.get("WADESK_BENCH_DIR", "/tmp/wadesk-bench"))
SEED_VERSION = "2"  # 2: with the search index (search.sqlite)
MESSAGES = 20
NUMBERS = ("100000000000001", "100000000000002")  # the default mock's business numbers
COUNTRIES = (("30", "GR", 10), ("49", "DE", 11), ("1", "US", 10), ("34", "ES", 9), ("44", "GB", 10))
FIRST = ("Maria", "Γιώργος", "José", "Anna", "Mohammed", "Li", "Olivia", "Ahmet", "Sofía", "Nikos", "Emma", "Jan")
LAST = ("Papadopoulou", "Müller", "García", "Smith", "Yılmaz", "Wang", "Rossi", "Novak", "Kowalski", "Silva")
WORDS = (
    "hello order delivery refund invoice please thanks when tomorrow package address payment card "
    "problem size colour return exchange tracking number store open today help question price"
).split()


def sentence(rng: random.Random, low: int = 8, high: int = 24) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).capitalize() + "."


def conversation_data(i: int, rng: random.Random) -> tuple[ConversationMeta, list[Message]]:
    """Conversation number i: its meta and its 20 messages, oldest first."""
    code, country, digits = COUNTRIES[i % len(COUNTRIES)]
    wa_id = f"{code}{(7_000_000_000 + i * 7919) % 10**digits:0{digits}d}"
    customer = Customer(wa_id, f"{rng.choice(FIRST)} {rng.choice(LAST)}", "+" + wa_id, None, country)
    bn = NUMBERS[i % len(NUMBERS)]
    cid = f"{bn}~{wa_id}"
    kind = rng.random()  # < .1 waiting on us, < .4 answered and open, else resolved
    start = NOW - timedelta(days=90) + timedelta(seconds=rng.uniform(0, 89.5 * 86400))
    ts = start.replace(microsecond=0)
    messages = []
    for k in range(MESSAGES):
        inbound = k % 2 == 0 if kind >= 0.1 else k % 2 == 1  # waiting: the customer wrote last
        wamid = f"wamid.B{i:07d}{k:02d}{rng.getrandbits(40):010x}"
        if inbound:
            messages.append(Message(wamid, cid, Direction.INBOUND, "text", ts, MessageStatus.RECEIVED, sentence(rng)))
        else:
            messages.append(
                Message(
                    f"out-{i}-{k}", cid, Direction.OUTBOUND, "text", ts, MessageStatus.READ, sentence(rng),
                    wamid=wamid, status_at=ts + timedelta(seconds=40), agent="bench",
                )
            )
        ts += timedelta(seconds=rng.randint(60, 1800))
    last_in = max(m.timestamp for m in messages if m.direction is Direction.INBOUND)
    if kind < 0.1:
        meta = ConversationMeta(cid, bn, customer, read_upto=last_in - timedelta(seconds=1800) if rng.random() < 0.5 else None)
    elif kind < 0.4:
        meta = ConversationMeta(cid, bn, customer, read_upto=last_in)
    else:
        meta = ConversationMeta(cid, bn, customer, ConversationStatus.RESOLVED, messages[-1].timestamp, last_in)
    return meta, messages


def _write_store(size: int, target: Path) -> None:
    from desk.store.tiny import TinyStore

    # An empty store first: lock, journal, drafts, templates, an empty index.
    store = TinyStore(target)
    store.open()
    store.close()
    conversations = target / "conversations"
    rng = random.Random(7)
    rows = {}
    dirs: set[Path] = set()
    for i in range(size):
        meta, messages = conversation_data(i, rng)
        path = shard_path(conversations, meta.id)
        if path.parent not in dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            dirs.add(path.parent)
        data = {
            "conversation": {"1": meta_to_doc(meta)},
            "messages": {str(n): message_to_doc(m) for n, m in enumerate(messages, 1)},
        }
        path.write_bytes(orjson.dumps(data))  # what Shard.commit() writes, without the fsync
        rows[meta.id] = conversation_to_row(summarize(meta, messages))
    os.sync()
    fsync_dir(conversations)
    # The index, written by the store itself (so its format is the store's).
    store = TinyStore(target)
    store.open()
    store._index.rows = rows  # private: the bulk equivalent of N x _refresh()
    store._index.all_built = False
    store.flush()
    store.reindex()  # the search index, as a store that wrote every message itself has it
    store.close()


def _verify(size: int, target: Path) -> None:
    """Reopen through the public API; a sample of shards must load and summarise to the index."""
    from desk.store.tiny import TinyStore
    from desk.store.tiny.shard import Shard

    store = TinyStore(target)
    store.open()
    try:
        convs = {c.id: c for c in store.conversations()}
        assert len(convs) == size, (len(convs), size)
        meta, messages = conversation_data(0, random.Random(7))  # regenerated: must match
        assert convs[meta.id] == summarize(meta, messages)
        sample = random.Random(1).sample(sorted(convs), min(25, size))
        for cid in sample:
            shard = Shard(shard_path(target / "conversations", cid), cid)
            assert summarize(shard.meta, shard.transcript) == convs[cid], cid
            assert store.messages(cid) == list(shard.transcript)
    finally:
        store.close()


def seeded(size: int, *, quiet: bool = False) -> Path:
    """The cached seeded store for `size` conversations (built when missing). Do not mutate it:
    use `fresh_copy()` for measurements that write."""
    target = CACHE / str(size)
    marker = target / ".bench-seeded"
    if marker.exists() and marker.read_text() == SEED_VERSION:
        if not quiet:
            print(f"[seed] {size:>7} conversations: cached at {target}", flush=True)
        return target
    building = CACHE / f"{size}.building"
    shutil.rmtree(building, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    building.mkdir(parents=True)
    t0 = time.perf_counter()
    _write_store(size, building)
    t1 = time.perf_counter()
    _verify(size, building)
    (building / ".bench-seeded").write_text(SEED_VERSION)
    building.rename(target)
    print(
        f"[seed] {size:>7} conversations x {MESSAGES} messages: written in {t1 - t0:.1f} s, "
        f"verified in {time.perf_counter() - t1:.1f} s -> {target}",
        flush=True,
    )
    return target


def fresh_copy(source: Path, name: str) -> Path:
    """A private copy of a seeded store for a measurement that writes. Shards are hard links (the
    store only ever replaces a shard with os.replace, never writes one in place); every other file
    (journal, appended in place; index; drafts; templates; lock) is a real copy."""
    target = CACHE / "work" / name
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    conversations = str(source / "conversations")

    def copy(src: str, dst: str) -> None:
        if src.startswith(conversations + os.sep) and src.endswith(".json"):
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=copy, ignore=shutil.ignore_patterns(".bench-seeded"))
    return target


def drop(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --- a desk on the mock ---------------------------------------------------------------------------


def make_context(data_dir: Path):
    """What tests/conftest.py builds: quiet mock config, MockBackend without state, a frozen clock,
    the TinyStore opened (not the mock's history: the seeded data is the history)."""
    from backends.mock import MockBackend
    from desk.clock import FrozenClock
    from desk.config import Config, MockConfig
    from desk.store.tiny import TinyStore
    from engine.context import DeskContext

    clock = FrozenClock(NOW)
    config = Config(mock=dataclasses.replace(MockConfig(inbound_per_minute=0.0, failure_rate=0.0)))
    backend = MockBackend(config.mock, clock, state_path=None)
    store = TinyStore(data_dir, clock=clock)
    store.open()
    return DeskContext(config, store, backend, clock, data_dir)


class Frames:
    """Timestamps every frame the app produces. The headless driver writes nothing, so (as in
    perf-baseline.md) each CompositorUpdate is still turned into terminal output with
    `render_segments`, and the frame is stamped when that is done."""

    def __init__(self, app, *, keep_text: bool = False) -> None:
        from textual._compositor import CompositorUpdate

        self.times: list[float] = []
        self.texts: list[str] = []
        self.screens: list[object] = []
        self.waiter = None
        """An asyncio.Event to set at the next frame (no polling on the app's loop)."""
        original = app._display
        keep = keep_text

        def display(screen, renderable):
            original(screen, renderable)
            if renderable is None or app._batch_count or not isinstance(renderable, CompositorUpdate):
                return
            text = renderable.render_segments(app.console)
            self.times.append(time.perf_counter())
            self.screens.append(screen)
            if keep:
                self.texts.append(text)
            if self.waiter is not None:
                self.waiter.set()

        app._display = display

    async def next_after(self, t: float, timeout: float = 10.0) -> int:
        """Wait for the first frame stamped after `t`; returns its index."""
        import asyncio

        deadline = time.perf_counter() + timeout
        while True:
            for i in range(len(self.times) - 1, -1, -1):
                if self.times[i] <= t:
                    break
                if i == 0 or self.times[i - 1] <= t:
                    return i
            self.waiter = asyncio.Event()
            try:
                await asyncio.wait_for(self.waiter.wait(), max(deadline - time.perf_counter(), 0.001))
            except asyncio.TimeoutError:
                raise TimeoutError(f"no frame after t={t}") from None
            finally:
                self.waiter = None


class GcPauses:
    """Records how long each garbage collection of `generation` took (gc.callbacks)."""

    def __init__(self, generation: int = 2) -> None:
        import gc

        self.generation = generation
        self.pauses: list[float] = []
        self._start = 0.0

        def callback(phase: str, info: dict) -> None:
            if info["generation"] != self.generation:
                return
            if phase == "start":
                self._start = time.perf_counter()
            else:
                self.pauses.append((time.perf_counter() - self._start) * 1000)

        self._callback = callback
        gc.callbacks.append(callback)

    def stop(self) -> None:
        import gc

        gc.callbacks.remove(self._callback)

    def summary(self) -> str:
        if not self.pauses:
            return "no gen2 GC"
        return f"{len(self.pauses)} gen2 GC, max {max(self.pauses):.0f} ms"


# --- statistics and arguments -----------------------------------------------------------------------


FOREVER = ("events", "changes")
"""Worker groups that run as long as the app: the event pump and the store's change feed (the
tests' conftest knows them too)."""


async def settled(app) -> None:
    """Wait until the app's finite workers are done (the inbox's load among them), not those that
    never end: `app.workers.wait_for_complete()` waited on the change feed too, and never
    returned once the app followed the store's changes."""
    while busy := [w for w in app.workers if not w.is_finished and w.group not in FOREVER]:
        await app.workers.wait_for_complete(busy)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def stored_ids(data_dir: Path) -> list[str]:
    """Every message id in the store at `data_dir` (opened and closed again), once per copy."""
    from desk.store.tiny import TinyStore

    store = TinyStore(data_dir)
    store.open()
    try:
        return [m.id for c in store.conversations() for m in store.messages(c.id)]
    finally:
        store.close()


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    """median [min-max] of per-run figures."""
    return f"{fmt.format(median(values))} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def arguments(description: str, **extra: tuple[type, object, str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--sizes", default="1000,10000,100000", help="conversation counts, comma separated")
    p.add_argument("--runs", type=int, default=3, help="runs per size (each prints its own median)")
    for name, (kind, default, help_) in extra.items():
        if kind is bool:  # a flag
            p.add_argument(f"--{name.replace('_', '-')}", action="store_true", help=help_)
        else:
            p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=help_)
    args = p.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    return args


def ratio_line(label: str, by_size: dict[int, float], unit: str = "ms") -> None:
    sizes = sorted(by_size)
    if len(sizes) >= 2 and by_size[sizes[0]] > 0:
        print(f"{label}: {sizes[-1]}/{sizes[0]} = {by_size[sizes[-1]] / by_size[sizes[0]]:.2f}x "
              f"({by_size[sizes[-1]]:.2f} {unit} vs {by_size[sizes[0]]:.2f} {unit})")


if __name__ == "__main__":
    a = arguments("Seed (or show) the cached bench stores.")
    for n in a.sizes:
        seeded(n)
