"""What only the PostgreSQL store does: its database unreachable or not migrated, told in a
sentence without the password; a replica's send in flight never touched by another that opens,
and settled as unknown once that replica is gone; the event log trimmed, and a consumer from
before what is kept resynchronised."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest

pytest.importorskip("psycopg")

from desk.clock import FrozenClock  # noqa: E402
from desk.models import MessageStatus  # noqa: E402
from desk.store.contract import ChangeKind, StoreUnavailable  # noqa: E402
from desk.store.pg import PgStore  # noqa: E402
from desk.store.pg.migrate import migrate  # noqa: E402
from tests.store_contract.builders import BOB, NOW, at, cid, inbound, message, outgoing  # noqa: E402
from tests.store_contract.changes import first  # noqa: E402


@pytest.fixture
def url(pg_url: str) -> str:
    migrate(pg_url)
    return pg_url


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def store(url: str, clock: FrozenClock) -> Iterator[PgStore]:
    with PgStore(url, clock=clock) as opened:
        yield opened


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_database_is_a_sentence_without_the_password(caplog: pytest.LogCaptureFixture) -> None:
    conninfo = f"host=127.0.0.1 port={_closed_port()} user=ana password=s3cret-Pa55 dbname=team connect_timeout=2"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StoreUnavailable) as raised:
        PgStore(conninfo).open()
    sentence = str(raised.value)
    assert sentence.startswith("The team database cannot be reached (PostgreSQL at 127.0.0.1:")
    assert "database team" in sentence and "nothing was stored" in sentence
    assert "s3cret-Pa55" not in sentence + caplog.text
    assert raised.value.fault.kind == "database"


def test_a_url_with_a_password_is_never_told_either(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StoreUnavailable) as raised:
        PgStore(f"postgresql://ana:s3cret-Pa55@127.0.0.1:{_closed_port()}/team?connect_timeout=2").open()
    assert "s3cret-Pa55" not in str(raised.value) + caplog.text


def test_a_database_never_migrated_is_refused_with_what_to_run(pg_url: str) -> None:
    with pytest.raises(RuntimeError, match="wadesk hub migrate"):
        PgStore(pg_url).open()


def test_a_replica_opening_never_touches_a_live_replicas_send_and_settles_it_once_that_one_is_gone(
    url: str, clock: FrozenClock
) -> None:
    sender = PgStore(url, clock=clock)
    sender.open()
    sender.apply(inbound("wamid.in", 0))
    sender.record_outgoing(outgoing("local-1", 1))
    sender.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(1))
    with PgStore(url, clock=clock) as other:
        assert message(other, "local-1").status is MessageStatus.SENDING  # its sender is alive
        assert other.retry() == set() and message(other, "local-1").status is MessageStatus.SENDING
        sender.close()  # gone with the send under way (a stop mid-send; a kill: the contract suite)
        other.retry()
        settled = message(other, "local-1")
        assert settled.status is MessageStatus.UNKNOWN and settled not in other.queued()


def test_a_send_settled_by_its_own_replica_leaves_nothing_to_settle(url: str, clock: FrozenClock) -> None:
    with PgStore(url, clock=clock) as sender:
        sender.apply(inbound("wamid.in", 0))
        sender.record_outgoing(outgoing("local-1", 1))
        sender.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(1))
        sender.update_outgoing(cid(), "local-1", MessageStatus.SENT, at=at(1), wamid="wamid.out")
    with PgStore(url, clock=clock) as other:
        assert message(other, "local-1").status is MessageStatus.SENT


async def test_trimmed_events_resync_a_consumer_from_before_them_and_not_one_after(store: PgStore, clock: FrozenClock) -> None:
    start = store.last_change()
    for n in range(5):
        store.apply(inbound(f"wamid.{n}", n))
    newest = store.last_change()
    assert store.trim_events(clock.now() + timedelta(days=1)) == 4  # the newest stays: where consumers start
    behind = store.changes(start)
    (resync,) = await first(behind, 1)
    assert (resync.kind, resync.seq) == (ChangeKind.RESYNC, newest)
    caught_up = store.changes(newest)
    store.apply(inbound("wamid.b", 6, customer=BOB))
    [after] = await first(behind, 1)
    assert await first(caught_up, 1) == [after]
    assert after.kind is ChangeKind.CONVERSATION and after.conversation_id == cid(BOB) and after.seq > newest
    await behind.aclose()  # type: ignore[attr-defined]
    await caught_up.aclose()  # type: ignore[attr-defined]


def test_change_numbers_are_never_given_twice_after_a_trim(store: PgStore, clock: FrozenClock) -> None:
    store.apply(inbound("wamid.1", 0))
    store.apply(inbound("wamid.2", 1))
    last = store.last_change()
    store.trim_events(clock.now() + timedelta(days=1))
    store.apply(inbound("wamid.3", 2))
    assert store.last_change() == last + 1
