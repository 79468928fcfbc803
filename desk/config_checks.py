"""The config's checks: every key that a type alone cannot hold (a range, a word from a list, a
time zone, a shortcut), each refused in one sentence that names the key (desk.config loads and
types it, then calls `check`)."""

from __future__ import annotations

from datetime import date

from desk.config import (
    WEEKDAYS,
    CloudNumberConfig,
    Config,
    ConfigError,
    NumberConfig,
    QuickReplyConfig,
    SlaConfig,
    ViewConfig,
    agent_key,
    clock_time,
    country_holidays,
    zone,
)
from desk.quick_replies import VARIABLES, shortcut_problem, text_problem, unknown_variables


def check(config: Config) -> Config:
    """`config` when every key holds, else a ConfigError naming the first that does not."""
    zone(config.timezone, "timezone")
    if not agent_key(config):
        raise ConfigError("The config key agent_id must be set when agent_name has no letter or digit.")
    _positive(config.mock.speed, "mock.speed")
    _positive(config.cloud.template_sync_minutes, "cloud.template_sync_minutes")
    _positive(config.cloud.timeout_seconds, "cloud.timeout_seconds")
    _not_negative(config.inbox.closing_soon_minutes, "inbox.closing_soon_minutes")
    _not_negative(config.capacity, "capacity")
    _not_negative(config.mock.inbound_per_minute, "mock.inbound_per_minute")
    _positive(config.mock.customers, "mock.customers")
    if not config.mock.numbers:
        raise ConfigError("The config key mock.numbers must list at least one number.")
    if not 0 <= config.mock.failure_rate <= 1:
        raise ConfigError("The config key mock.failure_rate must be between 0 and 1.")
    if config.backend == "cloud":
        if not config.cloud.waba_id:
            raise ConfigError("The config key cloud.waba_id must be set for the cloud backend.")
        if not config.cloud.numbers:
            raise ConfigError("The config key cloud.numbers must list at least one number for the cloud backend.")
    if config.backend == "hub" and not config.hub.url.startswith(("http://", "https://")):
        raise ConfigError("The config key hub.url must be the hub's address, starting with http:// or https://.")
    if not 0 <= config.webhook.port < 65536:
        raise ConfigError("The config key webhook.port must be between 0 (any free port) and 65535.")
    if not config.webhook.path.startswith("/"):
        raise ConfigError("The config key webhook.path must start with /.")
    slas = [("sla", config.sla)]
    slas += [(f"mock.numbers[{i}].sla", n.sla) for i, n in enumerate(config.mock.numbers) if n.sla]
    slas += [(f"cloud.numbers[{i}].sla", n.sla) for i, n in enumerate(config.cloud.numbers) if n.sla]
    for where, sla in slas:
        _check_sla(sla, where)
    departments = {n.department for n in config.numbers()}
    for i, view in enumerate(config.views):
        _check_view(view, f"views[{i}]", departments)
    numbers: list[tuple[str, NumberConfig | CloudNumberConfig]] = [
        (f"mock.numbers[{i}]", n) for i, n in enumerate(config.mock.numbers)
    ]
    numbers += [(f"cloud.numbers[{i}]", n) for i, n in enumerate(config.cloud.numbers)]
    for where, number in numbers:
        _check_automatic(number.greeting, f"{where}.greeting")
        _check_automatic(number.away, f"{where}.away")
    _check_quick_replies(config.quick_replies)
    _not_negative(config.alerts.waiting_minutes, "alerts.waiting_minutes")
    _not_negative(config.alerts.window_minutes, "alerts.window_minutes")
    if config.alerts.command and not config.alerts.command[0]:
        raise ConfigError("The config key alerts.command must start with the program to run, not an empty string.")
    return config


_VIEW_WORDS = {
    "status": ("open", "pending", "snoozed", "resolved"),
    "assignee": ("all", "mine", "unassigned"),
    "priority": ("low", "normal", "high", "urgent"),
    "state": ("all", "waiting", "breached", "closing", "closed"),
}


def _check_view(view: ViewConfig, where: str, departments: set[str]) -> None:
    if not view.name.strip():
        raise ConfigError(f"The config key {where}.name must not be empty.")
    for key, allowed in _VIEW_WORDS.items():
        value = getattr(view, key)
        for word in (value,) if isinstance(value, str) else value:
            if word not in allowed:
                raise ConfigError(f"The config key {where}.{key} has {word!r}; use {', '.join(allowed)}.")
    if view.department and view.department not in departments:
        raise ConfigError(f"The config key {where}.department names no business number's department: {view.department!r}.")


def _check_automatic(text: str, key: str) -> None:
    """A greeting or away message goes out with no agent to read it first: a variable that
    cannot be filled would reach the customer as "{{frist_name}}"."""
    unknown = unknown_variables(text)
    if unknown:
        known = ", ".join("{{" + v + "}}" for v in VARIABLES)
        raise ConfigError(f"The config key {key} has the unknown variable {{{{{unknown[0]}}}}}; the variables are {known}.")
    problem = text_problem(text) if text else None
    if problem:
        raise ConfigError(f"The config key {key} {problem}.")


def _check_quick_replies(replies: tuple[QuickReplyConfig, ...]) -> None:
    """Shortcuts that can be typed and name one reply each; a text that fits in a message. (Any
    {{variable}} may stay in the text: one the desk cannot fill is left for the agent to.)"""
    seen: set[str] = set()
    for i, reply in enumerate(replies):
        problem = shortcut_problem(reply.shortcut)
        if problem:
            raise ConfigError(f"The config key quick_replies[{i}].shortcut {problem}, not {reply.shortcut!r}.")
        if reply.shortcut.lower() in seen:
            raise ConfigError(f"The config key quick_replies[{i}].shortcut repeats /{reply.shortcut.lower()}.")
        seen.add(reply.shortcut.lower())
        problem = text_problem(reply.text)
        if problem:
            raise ConfigError(f"The config key quick_replies[{i}].text {problem}.")


def _positive(value: float, key: str) -> None:
    """A duration or a count: zero would mean a busy loop (a sync every 0 minutes) or a request
    that always times out."""
    if value <= 0:
        raise ConfigError(f"The config key {key} must be greater than 0, not {value!r}.")


def _not_negative(value: float, key: str) -> None:
    """A threshold, a rate or an SLA budget, where 0 means off."""
    if value < 0:
        raise ConfigError(f"The config key {key} must not be negative (0 turns it off), not {value!r}.")


PRIORITIES = ("low", "normal", "high", "urgent")
"""The priorities as `[sla.priorities.*]` names them (desk.models.Priority's values)."""


def _check_sla(sla: SlaConfig, where: str) -> None:
    budgets = [sla.first_response_minutes, sla.next_response_minutes, sla.resolution_minutes, sla.warn_before_minutes]
    for name, value in zip(_BUDGET_KEYS, budgets):
        _not_negative(value, f"{where}.{name}")
    for priority, own in sla.priorities.items():
        if priority not in PRIORITIES:
            raise ConfigError(f"The config key {where}.priorities has {priority!r}; use {', '.join(PRIORITIES)}.")
        for name in _BUDGET_KEYS:
            value = getattr(own, name)
            if value is not None:
                _not_negative(value, f"{where}.priorities.{priority}.{name}")
    hours = sla.business_hours
    zone(hours.timezone, f"{where}.business_hours.timezone")
    for day in hours.days:
        if day not in WEEKDAYS:
            raise ConfigError(f"The config key {where}.business_hours.days has {day!r}; use {', '.join(WEEKDAYS)}.")
    start = clock_time(hours.start, f"{where}.business_hours.start")
    end = clock_time(hours.end, f"{where}.business_hours.end")
    if end is not None and start is not None and end <= start:
        raise ConfigError(f"The config key {where}.business_hours.end must be after business_hours.start.")
    for day in hours.holidays:
        try:
            date.fromisoformat(day)
        except ValueError:
            raise ConfigError(f"The config key {where}.business_hours.holidays has {day!r}, not a YYYY-MM-DD date.") from None
    if hours.holidays_subdivision and not hours.holidays_country:
        raise ConfigError(f"The config key {where}.business_hours.holidays_subdivision needs holidays_country.")
    if hours.holidays_country:
        country_holidays(hours.holidays_country, hours.holidays_subdivision, f"{where}.business_hours")


_BUDGET_KEYS = ("first_response_minutes", "next_response_minutes", "resolution_minutes", "warn_before_minutes")


