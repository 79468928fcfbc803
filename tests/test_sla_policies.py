"""SLA policies (desk/sla.py) from config: holidays, priorities, overnight, the next-response clock
restarting, the resolution clock, and the config keys' checks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from desk.config import BusinessHoursConfig, ConfigError, SlaBudgets, SlaConfig, load
from desk.models import Conversation, ConversationStatus, Customer, Direction, Message, MessageStatus, Priority
from desk.sla import (
    FIRST_RESPONSE,
    NEXT_RESPONSE,
    RESOLUTION,
    SlaKind,
    SlaPolicy,
    resolution_time,
    sla_clocks,
    sla_state,
)
from desk.summary import ConversationMeta, summarize

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
M = timedelta(minutes=1)
H = timedelta(hours=1)


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """London wall-clock time as the UTC instant the functions take."""
    return datetime(y, mo, d, h, mi, tzinfo=LONDON).astimezone(UTC)


OFFICE = BusinessHoursConfig(days=("mon", "tue", "wed", "thu", "fri"), start="09:00", end="17:00", timezone="Europe/London")


def policy(hours: BusinessHoursConfig = OFFICE, **keys: object) -> SlaPolicy:
    return SlaPolicy.from_config(SlaConfig(business_hours=hours, **keys))  # type: ignore[arg-type]


def conv(**fields: object) -> Conversation:
    return Conversation("b1~c1", "b1", Customer("c1", "Ana"), **fields)  # type: ignore[arg-type]


ENGLAND = BusinessHoursConfig(
    days=OFFICE.days, start="09:00", end="17:00", timezone="Europe/London", holidays_country="GB", holidays_subdivision="ENG"
)
LISTED = BusinessHoursConfig(days=OFFICE.days, start="09:00", end="17:00", timezone="Europe/London", holidays=("2026-06-15",))
URGENT = {"urgent": SlaBudgets(first_response_minutes=15, warn_before_minutes=5), "low": SlaBudgets(first_response_minutes=240)}

# 2026-12-24 is a Thursday: Christmas (Fri 25) and Boxing Day's substitute (Mon 28) are English
# public holidays. 2026-06-12 is a Friday, 2026-06-15 a Monday.
# (policy, conversation, now, kind, clock, due)
CASES = [
    pytest.param(policy(ENGLAND), conv(waiting_since=at(2026, 12, 24, 16, 30)), at(2026, 12, 28, 12),
                 SlaKind.OK, FIRST_RESPONSE, at(2026, 12, 29, 9, 30), id="country-holidays-christmas-to-tuesday"),
    pytest.param(policy(LISTED), conv(waiting_since=at(2026, 6, 12, 16, 30)), at(2026, 6, 15, 12),
                 SlaKind.OK, FIRST_RESPONSE, at(2026, 6, 16, 9, 30), id="a-listed-holiday"),
    pytest.param(policy(OFFICE), conv(waiting_since=at(2026, 6, 12, 16, 30)), at(2026, 6, 15, 12),
                 SlaKind.BREACHED, FIRST_RESPONSE, at(2026, 6, 15, 9, 30), id="same-without-the-holiday-breaches"),
    pytest.param(policy(OFFICE, priorities=URGENT), conv(waiting_since=at(2026, 6, 15, 10), priority=Priority.URGENT),
                 at(2026, 6, 15, 10, 11), SlaKind.DUE_SOON, FIRST_RESPONSE, at(2026, 6, 15, 10, 15), id="urgent-priority-15m"),
    pytest.param(policy(OFFICE, priorities=URGENT), conv(waiting_since=at(2026, 6, 15, 10), priority=Priority.NORMAL),
                 at(2026, 6, 15, 10, 20), SlaKind.OK, FIRST_RESPONSE, at(2026, 6, 15, 11), id="normal-keeps-the-numbers-60m"),
    pytest.param(policy(OFFICE, priorities=URGENT), conv(waiting_since=at(2026, 6, 15, 10), priority=Priority.LOW),
                 at(2026, 6, 15, 13), SlaKind.OK, FIRST_RESPONSE, at(2026, 6, 15, 14), id="low-priority-4h"),
    pytest.param(policy(OFFICE, priorities=URGENT), conv(waiting_since=at(2026, 6, 15, 10), first_reply_at=at(2026, 6, 15, 9),
                 priority=Priority.URGENT), at(2026, 6, 15, 10, 20), SlaKind.OK, NEXT_RESPONSE, at(2026, 6, 15, 11),
                 id="urgent-next-response-inherits-60m"),
    # 16:30 with an hour to answer: at 17:45 the wall clock says late, the business clock says
    # 30 minutes are left, due at 09:30 the next morning, never overnight.
    pytest.param(policy(OFFICE), conv(waiting_since=at(2026, 6, 15, 16, 30)), at(2026, 6, 15, 17, 45),
                 SlaKind.OK, FIRST_RESPONSE, at(2026, 6, 16, 9, 30), id="no-breach-overnight"),
    pytest.param(policy(OFFICE), conv(waiting_since=at(2026, 6, 15, 16, 30)), at(2026, 6, 16, 3),
                 SlaKind.OK, FIRST_RESPONSE, at(2026, 6, 16, 9, 30), id="still-none-at-3am"),
    pytest.param(policy(OFFICE), conv(waiting_since=at(2026, 6, 15, 16, 30)), at(2026, 6, 16, 9, 30),
                 SlaKind.BREACHED, FIRST_RESPONSE, at(2026, 6, 16, 9, 30), id="breached-next-morning"),
    pytest.param(policy(OFFICE, resolution_minutes=8 * 60), conv(opened_at=at(2026, 6, 15, 13), first_reply_at=at(2026, 6, 15, 13, 5)),
                 at(2026, 6, 16, 12), SlaKind.OK, RESOLUTION, at(2026, 6, 16, 13), id="resolution-runs-after-the-answer"),
    pytest.param(policy(OFFICE, resolution_minutes=8 * 60), conv(opened_at=at(2026, 6, 15, 13), first_reply_at=at(2026, 6, 15, 13, 5)),
                 at(2026, 6, 16, 13), SlaKind.BREACHED, RESOLUTION, at(2026, 6, 16, 13), id="resolution-breached"),
    pytest.param(policy(OFFICE, resolution_minutes=8 * 60), conv(opened_at=at(2026, 6, 15, 13), waiting_since=at(2026, 6, 16, 12, 55),
                 first_reply_at=at(2026, 6, 15, 13, 5)), at(2026, 6, 16, 12, 56), SlaKind.DUE_SOON, RESOLUTION,
                 at(2026, 6, 16, 13), id="the-clock-due-first-speaks"),
    pytest.param(policy(OFFICE, first_response_minutes=0), conv(waiting_since=at(2026, 6, 15, 10)), at(2026, 6, 16, 10),
                 SlaKind.NONE, "", None, id="first-response-off"),
    pytest.param(policy(OFFICE, resolution_minutes=60), conv(opened_at=at(2026, 6, 15, 10), status=ConversationStatus.RESOLVED,
                 resolved_at=at(2026, 6, 15, 12)), at(2026, 6, 16, 10), SlaKind.NONE, "", None, id="resolved-stops-every-clock"),
]


@pytest.mark.parametrize("pol, c, now, kind, clock, due", CASES)
def test_policies(pol, c, now, kind, clock, due):
    state = sla_state(c, pol, now)
    assert (state.kind, state.clock, state.due_at) == (kind, clock, due)


def test_every_clock_has_its_due_time_and_the_state_is_the_first():
    pol = policy(OFFICE, resolution_minutes=16 * 60)
    c = conv(opened_at=at(2026, 6, 15, 10), waiting_since=at(2026, 6, 15, 10))
    clocks = sla_clocks(c, pol, at(2026, 6, 15, 10, 30))
    assert [(s.clock, s.due_at, s.kind) for s in clocks] == [
        (FIRST_RESPONSE, at(2026, 6, 15, 11), SlaKind.OK),
        (RESOLUTION, at(2026, 6, 17, 10), SlaKind.OK),
    ]
    assert sla_state(c, pol, at(2026, 6, 15, 10, 30)) == clocks[0]


def test_resolving_keeps_the_resolution_time_in_business_hours():
    pol = policy(OFFICE, resolution_minutes=8 * 60)
    # Friday 16:00 to Monday 10:30: 1 h on Friday and 1 h 30 on Monday.
    done = conv(opened_at=at(2026, 6, 12, 16), status=ConversationStatus.RESOLVED, resolved_at=at(2026, 6, 15, 10, 30))
    assert resolution_time(done, pol) == 2 * H + 30 * M
    assert sla_clocks(done, pol, at(2026, 6, 16, 10)) == []
    assert resolution_time(conv(opened_at=at(2026, 6, 12, 16)), pol) is None  # not resolved
    reopened = conv(opened_at=at(2026, 6, 16, 9), status=ConversationStatus.RESOLVED, resolved_at=at(2026, 6, 15, 10))
    assert resolution_time(reopened, pol) is None  # resolved before this episode began


def _msg(i: int, direction: Direction, ts: datetime) -> Message:
    status = MessageStatus.RECEIVED if direction is Direction.INBOUND else MessageStatus.SENT
    return Message(f"m{i}", "b1~c1", direction, "text", ts, status, text=f"message {i}")


IN, OUT = Direction.INBOUND, Direction.OUTBOUND

# The next-response clock starts again at the first customer message after each reply of ours:
# (messages so far, now, clock, due).
RESTARTS = [
    pytest.param([(IN, 9, 0)], (9, 30), FIRST_RESPONSE, (10, 0), id="first-question"),
    pytest.param([(IN, 9, 0), (IN, 9, 20)], (9, 30), FIRST_RESPONSE, (10, 0), id="a-second-message-moves-nothing"),
    pytest.param([(IN, 9, 0), (OUT, 9, 40)], (9, 50), "", None, id="answered-no-clock"),
    pytest.param([(IN, 9, 0), (OUT, 9, 40), (IN, 11, 0)], (11, 5), NEXT_RESPONSE, (11, 30), id="next-response-from-their-next"),
    pytest.param([(IN, 9, 0), (OUT, 9, 40), (IN, 11, 0), (IN, 11, 10)], (11, 15), NEXT_RESPONSE, (11, 30), id="their-second-keeps-it"),
    pytest.param([(IN, 9, 0), (OUT, 9, 40), (IN, 11, 0), (OUT, 11, 20), (IN, 15, 0)], (15, 1), NEXT_RESPONSE, (15, 30),
                 id="restarts-after-each-reply"),
]


@pytest.mark.parametrize("history, now, clock, due", RESTARTS)
def test_the_next_response_clock_restarts_with_each_customer_message_after_our_reply(history, now, clock, due):
    pol = policy(OFFICE, next_response_minutes=30)
    meta = ConversationMeta("b1~c1", "b1", Customer("c1", "Ana"))
    messages = [_msg(i, d, at(2026, 6, 15, h, mi)) for i, (d, h, mi) in enumerate(history)]
    state = sla_state(summarize(meta, messages), pol, at(2026, 6, 15, *now))
    assert (state.clock, state.due_at) == (clock, at(2026, 6, 15, *due) if due else None)


# --- config ----------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_priority_policies_from_a_file(tmp_path):
    config = load(write(tmp_path, "[sla]\nresolution_minutes = 480\n[sla.priorities.urgent]\nfirst_response_minutes = 15\n"
                                  "resolution_minutes = 0\n[sla.business_hours]\nholidays_country = \"GB\"\n"))
    pol = SlaPolicy.from_config(config.sla)
    urgent = pol.for_priority(Priority.URGENT)
    assert (urgent.first_response, urgent.next_response, urgent.resolution, urgent.priority) == (15 * M, H, None, Priority.URGENT)
    assert pol.for_priority(Priority.HIGH) is pol and pol.resolution == 8 * H
    assert pol.hours.public is not None and pol.hours.public.name == "GB" and urgent.hours is pol.hours


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param("[sla.priorities.asap]\nfirst_response_minutes = 5", r"sla\.priorities has 'asap'; use low, normal, high, urgent",
                     id="unknown-priority"),
        pytest.param("[sla.priorities.urgent]\nfirst_response_minutes = -1", r"sla\.priorities\.urgent\.first_response_minutes must not be negative",
                     id="negative-priority-budget"),
        pytest.param("[sla.priorities.urgent]\nbusiness_hours = {}", r"Unknown config key sla\.priorities\.urgent\.business_hours",
                     id="hours-are-per-number"),
        pytest.param("[sla]\nresolution_minutes = -5", r"sla\.resolution_minutes must not be negative", id="negative-resolution"),
        pytest.param('[sla.business_hours]\nholidays_country = "XX"', r"sla\.business_hours\.holidays_country has 'XX'",
                     id="unknown-country"),
        pytest.param('[sla.business_hours]\nholidays_country = "GB"\nholidays_subdivision = "ZZZ"',
                     r"sla\.business_hours\.holidays_subdivision has 'ZZZ', not a subdivision of GB", id="unknown-subdivision"),
        pytest.param('[sla.business_hours]\nholidays_subdivision = "ENG"', r"holidays_subdivision needs holidays_country",
                     id="subdivision-alone"),
        pytest.param("[alerts]\ncommand = \"notify-send\"", r"alerts\.command must be a list", id="command-is-argv"),
        pytest.param('[alerts]\ncommand = [""]', r"alerts\.command must start with the program", id="command-empty-program"),
        pytest.param("[alerts]\nbell = 1", r"alerts\.bell must be true or false", id="bell-is-bool"),
        pytest.param("[alerts]\nwaiting_minutes = -1", r"alerts\.waiting_minutes must not be negative", id="negative-waiting"),
    ],
)
def test_bad_sla_and_alert_keys_are_named(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as error:
        load(write(tmp_path, text))
    assert str(error.value).endswith(".")


def test_a_numbers_own_policy_has_its_own_priorities(tmp_path):
    config = load(write(tmp_path, '[[mock.numbers]]\nid = "1"\ndisplay = "x"\ndepartment = "VIP"\n'
                                  "[mock.numbers.sla]\nfirst_response_minutes = 30\n"
                                  "[mock.numbers.sla.priorities.urgent]\nfirst_response_minutes = 5\n"))
    pol = SlaPolicy.from_config(config.sla_for("1"))
    assert pol.first_response == 30 * M and pol.for_priority(Priority.URGENT).first_response == 5 * M
