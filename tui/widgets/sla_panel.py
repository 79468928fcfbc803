"""The conversation's SLA: the policy it is held to and every clock's due time, in words.

Two lines under the header, fitted to the width like it (tui.header.fit_line): the effective
policy (the department's, or its priority's own budgets), then each running clock with its due
time in the agent's zone and its state as words and symbols ("✖ breached 12m"), or the
resolution time once resolved. Nothing here reads colour to be understood.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.widgets import Static

from desk.config import WEEKDAYS
from desk.durations import short_duration
from desk.models import Conversation, ConversationStatus
from desk.sla import BusinessHours, SlaPolicy, resolution_time, sla_clocks
from tui.header import Part, fit_line
from tui.labels import local_time, sla_forms


class SlaPanel(Static):
    DEFAULT_CSS = """
    SlaPanel {
        height: 2;
        padding: 0 1;
        color: $text-muted;
    }
    """

    def show(self, conv: Conversation, policy: SlaPolicy, department: str, zone: ZoneInfo, now: datetime) -> None:
        # Before the first layout the panel has no size yet: the screen's, less its padding.
        width = self.content_region.width or self.app.size.width - 2
        self.update(sla_panel(conv, policy, department, zone, now, width))


def sla_panel(conv: Conversation, policy: SlaPolicy, department: str, zone: ZoneInfo, now: datetime, width: int) -> Text:
    """The panel's two lines for `conv` under its number's `policy` (its priority picks its own)."""
    return Text("\n").join([_policy_line(conv, policy, department, width), _clocks_line(conv, policy, zone, now, width)])


def _budget(name: str, short: str, budget: timedelta | None) -> Part:
    value = short_duration(budget) if budget is not None else "off"
    return Part([f"{name} {value}", f"{short} {value}"])


def _policy_line(conv: Conversation, number_policy: SlaPolicy, department: str, width: int) -> Text:
    policy = number_policy.for_priority(conv.priority)
    priority = conv.priority.value
    own = policy.priority is not None  # the priority has budgets of its own
    warn = short_duration(policy.warn_before)
    parts = [
        Part([f"({department}, {priority} priority{'’s own' if own else ''})", f"({priority}{' own' if own else ''})", ""]),
        _budget("first response", "1st", policy.first_response),
        _budget("next response", "next", policy.next_response),
        _budget("resolution", "resol.", policy.resolution),
        Part([f"warn {warn} before", f"warn {warn}"] if policy.warn_before else ["no warning", "no warn"]),
        Part(hours_forms(policy.hours)),
    ]
    # The hours first (the longest), then the words of the warning and the budgets, whose last.
    return fit_line(parts, [5, 5, 4, 5, 1, 2, 3, 5, 0, 0], width, lead=Text("SLA ", style="bold"))


def _clock(at: time | None) -> str:
    return "24:00" if at is None else f"{at.hour:02d}:{at.minute:02d}"


def _days(days: frozenset[int]) -> str:
    """"Mon-Fri", "Mon-Sun", "Mon,Wed,Sun"."""
    ordered = sorted(days)
    names = [WEEKDAYS[d].capitalize() for d in ordered]
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{names[0]}-{names[-1]}"
    return ",".join(names)


def hours_forms(hours: BusinessHours) -> list[str]:
    """Business hours in words, longest first: "Mon-Fri 09:00-17:00 Europe/London, holidays GB
    and 2 dates" ... "Mon-Fri 09:00-17:00"."""
    if hours.is_always:
        return ["hours: around the clock", "24/7"]
    if not hours.weekdays:
        return ["no business hours: never due", "no hours"]
    span = f"{_days(hours.weekdays)} {_clock(hours.start)}-{_clock(hours.end)}"
    off = []
    if hours.public is not None:
        off.append(f"{hours.public.name} public holidays")
    if hours.holidays:
        off.append(f"{len(hours.holidays)} date{'' if len(hours.holidays) == 1 else 's'}")
    holidays = f", closed on {' and '.join(off)}" if off else ""
    short = f" +{hours.public.name}" if hours.public is not None else (" +hol." if hours.holidays else "")
    return [f"hours {span} {hours.tz.key}{holidays}", f"{span} {hours.tz.key}{holidays}", f"{span} {hours.tz.key}{short}",
            f"{span}{short}", span]


def _clocks_line(conv: Conversation, policy: SlaPolicy, zone: ZoneInfo, now: datetime, width: int) -> Text:
    if conv.status is ConversationStatus.RESOLVED:
        took = resolution_time(conv, policy)
        if took is None:
            return Text("✔ resolved: no clock runs")
        return fit_line([Part([f"✔ resolved in {short_duration(took)} of business time", f"✔ resolved in {short_duration(took)}"])],
                        [0], width)
    parts = []
    for state in sla_clocks(conv, policy, now):
        words = sla_forms(state, zone, now)
        if state.due_at is None:
            parts.append(Part([f"{state.clock} never due", f"{state.clock} {words[-1]}"]))
            continue
        due = local_time(state.due_at, zone, now)
        verb = "was due" if state.overdue else "due"
        parts.append(Part([f"{state.clock} {verb} {due} ({words[0]})", f"{state.clock} {due} ({words[-1]})", f"{state.clock} {words[-1]}"]))
    if not parts:
        return Text("no SLA clock runs: nothing waits on us")
    return fit_line(parts, [0, 1, 0, 1], width)
