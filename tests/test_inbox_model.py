"""The inbox model keeps rows sorted as conversations change and as windows close."""

from datetime import datetime, timedelta, timezone

from desk.inbox import InboxModel
from desk.models import Conversation, Customer
from desk.sla import BusinessHours, SlaPolicy
from desk.urgency import Filter

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
POLICY = SlaPolicy(H, H, timedelta(minutes=15), BusinessHours.always())
# Business hours far away make the SLA due later than the window's close.
LATE = SlaPolicy(timedelta(hours=30), H, timedelta(minutes=15), BusinessHours.always())


def conv(cid, *, waiting=None, last_in=None, last=None, number="n1"):
    return Conversation(
        cid, number, Customer(cid, f"Customer {cid}", f"+3069{abs(hash(cid)) % 10**8:08d}"),
        last_inbound_at=last_in, last_message_at=last or last_in, waiting_since=waiting,
    )


def model(policy=POLICY):
    return InboxModel(lambda _: policy, lambda _: "Sales")


def ids(m):
    return [r.conversation.id for r in m.rows]


def test_waiting_first_by_deadline_then_the_rest_by_activity():
    m = model()
    m.load(
        [
            conv("answered-old", last_in=NOW - 5 * H),
            conv("answered-new", last_in=NOW - H),
            conv("breached", waiting=NOW - 2 * H, last_in=NOW - 2 * H),
            conv("fresh", waiting=NOW - timedelta(minutes=5), last_in=NOW - timedelta(minutes=5)),
        ],
        NOW,
    )
    assert ids(m) == ["breached", "fresh", "answered-new", "answered-old"]
    assert m.breached(NOW) == 1


def test_update_moves_one_row_and_index_of_finds_it():
    m = model()
    m.load([conv(f"c{i}", last_in=NOW - i * H) for i in range(10)], NOW)
    m.update([conv("c9", waiting=NOW, last_in=NOW)], NOW)
    assert ids(m)[0] == "c9" and m.index_of("c9") == 0 and m.index_of("c5") == 6
    assert len(m) == 10


def test_a_closing_window_reorders_without_a_full_resort():
    m = model(LATE)
    closing = conv("closing", waiting=NOW - 23 * H, last_in=NOW - 23 * H)
    other = conv("other", waiting=NOW - 20 * H, last_in=NOW - 20 * H)
    m.load([other, closing], NOW)
    assert ids(m) == ["closing", "other"]  # its window closes first: that is its deadline
    assert not m.rekey_due(NOW + timedelta(minutes=30))
    # Its window closes: only the SLA remains, due later than the other's window.
    assert m.rekey_due(NOW + H)
    assert ids(m) == ["other", "closing"]


def test_filters_and_search_keep_an_index():
    m = model()
    m.load([conv("a", waiting=NOW - 2 * H, last_in=NOW - 2 * H), conv("b", last_in=NOW - 30 * H)], NOW)
    m.set_view(NOW, filter=Filter.CLOSED)
    assert ids(m) == ["b"] and m.index_of("b") == 0 and m.index_of("a") is None
    m.set_view(NOW, filter=Filter.ALL)
    m.search("customer a", m.matching("customer a"), NOW)
    assert ids(m) == ["a"]
    m.search("", None, NOW)
    assert not m.filtered and ids(m) == ["a", "b"]


def test_a_filtered_view_follows_changes_row_by_row():
    m = model()
    m.load([conv("a", waiting=NOW - 2 * H, last_in=NOW - 2 * H), conv("b", last_in=NOW - 3 * H)], NOW)
    m.set_view(NOW, filter=Filter.WAITING)
    assert ids(m) == ["a"]
    m.update([conv("b", waiting=NOW - 5 * H, last_in=NOW - 5 * H)], NOW)  # b writes: now waiting
    assert ids(m) == ["b", "a"] and m.index_of("a") == 1
    m.update([conv("a", last_in=NOW - 2 * H)], NOW)  # a answered: leaves the view
    assert ids(m) == ["b"] and m.index_of("a") is None
    # A search keeps matching rows that change while it is shown.
    m.set_view(NOW, filter=Filter.ALL)
    m.search("customer b", m.matching("customer b"), NOW)
    m.update([conv("b", last_in=NOW)], NOW)
    assert ids(m) == ["b"]


def test_breached_counts_the_rows_shown():
    m = model()
    m.load(
        [
            conv("breached", waiting=NOW - 2 * H, last_in=NOW - 2 * H),
            conv("closed", last_in=NOW - 30 * H),
            conv("other", waiting=NOW - 3 * H, last_in=NOW - 3 * H, number="n2"),
        ],
        NOW,
    )
    assert m.breached(NOW) == 2
    m.set_view(NOW, filter=Filter.CLOSED)
    assert ids(m) == ["closed"] and m.breached(NOW) == 0
    m.set_view(NOW, filter=Filter.ALL, business_number_id="n2")
    assert m.breached(NOW) == 1
