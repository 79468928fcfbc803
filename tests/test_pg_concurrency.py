"""What only a shared store does: several PgStore instances (hub replicas) on one database at
once, each from its own thread, never a mock. Two agents claiming one conversation at the same
moment: exactly one wins, 100 times; one webhook applied by two replicas at once: one message."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("psycopg")

from desk.clock import FrozenClock  # noqa: E402
from desk.models import Customer  # noqa: E402
from desk.store.audit import ASSIGNED  # noqa: E402
from desk.store.pg import PgStore  # noqa: E402
from desk.store.pg.migrate import migrate  # noqa: E402
from tests.store_contract.builders import NOW, cid, inbound  # noqa: E402

ROUNDS = 100


@pytest.fixture
def replicas(pg_url: str) -> Iterator[tuple[PgStore, PgStore]]:
    migrate(pg_url)
    clock = FrozenClock(NOW)
    one, two = PgStore(pg_url, clock=clock), PgStore(pg_url, clock=clock)
    one.open()
    two.open()
    yield one, two
    one.close()
    two.close()


def at_once(first: Callable[[], object], second: Callable[[], object]) -> tuple[object, object]:
    """Both calls, each on its own thread, let go at the same moment (a barrier)."""
    barrier = threading.Barrier(2)

    def run(call: Callable[[], object]) -> object:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(run, first), pool.submit(run, second)
        return a.result(), b.result()


def test_two_agents_claiming_one_conversation_at_once_one_wins_each_time(replicas: tuple[PgStore, PgStore]) -> None:
    one, two = replicas
    for n in range(ROUNDS):
        customer = Customer(f"1555000{n:04d}", f"Customer {n}")
        conversation = cid(customer)
        one.apply(inbound(f"wamid.{n}", 0, customer=customer))
        ana, ben = at_once(lambda: one.claim(conversation, "ana"), lambda: two.claim(conversation, "ben"))
        assert ana == ben, f"round {n}: both think they hold it ({ana}, {ben})"
        assert ana in ("ana", "ben")
        assert [(e.action, e.detail) for e in one.audit(conversation)] == [(ASSIGNED, ana)], f"round {n}"
        summary = two.conversation(conversation)
        assert summary is not None and summary.assignee == ana


def test_one_webhook_applied_by_two_replicas_at_once_is_one_message(replicas: tuple[PgStore, PgStore]) -> None:
    one, two = replicas
    for n in range(20):
        event = inbound(f"wamid.dup-{n}", n, f"message {n}")
        first, second = at_once(lambda: one.apply(event), lambda: two.apply(event))
        assert sorted([first, second], key=str) == sorted([cid(), None], key=str), f"round {n}: {first}, {second}"
    assert [m.id for m in one.messages(cid())] == [f"wamid.dup-{n}" for n in range(20)]
    summary = two.conversation(cid())
    assert summary is not None and summary.message_count == 20


def test_writes_to_many_conversations_from_both_replicas_all_land_in_order(replicas: tuple[PgStore, PgStore]) -> None:
    """Batches that lock rows in different orders never deadlock (rows are locked by id)."""
    one, two = replicas
    customers = [Customer(f"4477009{n:05d}", f"C{n}") for n in range(10)]
    forwards = [inbound(f"wamid.f{n}", n, customer=c) for n, c in enumerate(customers)]
    backwards = [inbound(f"wamid.b{n}", n, customer=c) for n, c in reversed(list(enumerate(customers)))]
    for _ in range(5):
        at_once(lambda: one.apply_each(forwards), lambda: two.apply_each(backwards))
    for n, customer in enumerate(customers):
        assert sorted(m.id for m in one.messages(cid(customer))) == [f"wamid.b{n}", f"wamid.f{n}"]
