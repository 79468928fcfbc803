"""Configuration: a TOML file read into a strict, typed model.

Every key has a default (config.example.toml documents them all); an unknown key, a wrong type or a
bad time zone is a `ConfigError` whose message is one sentence naming the key.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from desk.models import BusinessNumber
from desk.quick_replies import QuickReply

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""The days of the week as the config names them, Monday first (`date.weekday()` indexes it)."""


class ConfigError(Exception):
    """A config problem, as one sentence that names the key."""


@dataclass(frozen=True)
class BusinessHoursConfig:
    days: tuple[str, ...] = WEEKDAYS
    """Days the SLA clocks run on: mon..sun."""
    start: str = "00:00"
    """Opening time, HH:MM in `timezone`."""
    end: str = "24:00"
    """Closing time, HH:MM in `timezone`; 24:00 is midnight at the end of the day."""
    timezone: str = "UTC"
    holidays: tuple[str, ...] = ()
    """Dates (YYYY-MM-DD) on which the SLA clocks do not run."""
    holidays_country: str = ""
    """A country's public holidays (ISO 3166 code, "GB"), from the `holidays` library; "" for none."""
    holidays_subdivision: str = ""
    """The region within `holidays_country` whose holidays also count ("ENG", "CA"); "" for the
    country's national ones only."""


@dataclass(frozen=True)
class SlaBudgets:
    """A priority's own budgets (`[sla.priorities.urgent]`): each key absent keeps the policy's."""

    first_response_minutes: int | None = None
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    warn_before_minutes: int | None = None


@dataclass(frozen=True)
class SlaConfig:
    first_response_minutes: int = 60
    """0: no first-response clock."""
    next_response_minutes: int = 60
    """0: no next-response clock."""
    resolution_minutes: int = 0
    """From the episode's first question to resolving it; 0 (the default): no resolution clock."""
    warn_before_minutes: int = 15
    business_hours: BusinessHoursConfig = field(default_factory=BusinessHoursConfig)
    priorities: dict[str, SlaBudgets] = field(default_factory=dict)
    """Budgets per priority (low, normal, high, urgent) that differ from the ones above."""


@dataclass(frozen=True)
class NumberConfig:
    id: str
    display: str
    department: str
    sla: SlaConfig | None = None
    """This number's own SLA policy; the top-level [sla] when absent."""
    greeting: str = ""
    """Sent by itself on a customer's first message of an episode (desk.autoreply); "" is off."""
    away: str = ""
    """Sent by itself on a customer's message outside this number's business hours; "" is off."""


@dataclass(frozen=True)
class MockConfig:
    seed: int = 7
    speed: float = 1.0
    """How many times faster than real time the mock's world moves (`--speed`)."""
    customers: int = 48
    inbound_per_minute: float = 2.0
    """Average new customer messages a minute while the desk runs (0 for none)."""
    failure_rate: float = 0.05
    """Share of our messages that fail with 131026 (undeliverable)."""
    numbers: tuple[NumberConfig, ...] = (
        NumberConfig("100000000000001", "+1 555-0100", "Sales"),
        NumberConfig("100000000000002", "+1 555-0199", "Support"),
    )


@dataclass(frozen=True)
class CloudNumberConfig:
    phone_number_id: str
    """WhatsApp's id of the business phone number (webhooks are routed by it)."""
    department: str
    display: str = ""
    """The number as customers see it; shown beside the department."""
    sla: SlaConfig | None = None
    greeting: str = ""
    """As NumberConfig.greeting."""
    away: str = ""
    """As NumberConfig.away."""


@dataclass(frozen=True)
class CloudConfig:
    graph_url: str = "https://graph.facebook.com"
    api_version: str = "v24.0"
    waba_id: str = ""
    """The WhatsApp Business Account whose templates the desk uses."""
    access_token_env: str = "WHATSAPP_ACCESS_TOKEN"
    """Names of environment variables, never the secrets themselves."""
    app_secret_env: str = "WHATSAPP_APP_SECRET"
    verify_token_env: str = "WHATSAPP_VERIFY_TOKEN"
    numbers: tuple[CloudNumberConfig, ...] = ()
    template_sync_minutes: int = 15
    timeout_seconds: float = 15.0
    """How long a Graph request may take; a send that times out is marked unknown, not resent."""


@dataclass(frozen=True)
class WebhookConfig:
    host: str = "127.0.0.1"
    port: int = 8787
    path: str = "/webhook"
    process: bool = True
    """Run the receiver in a process of its own, on a core of its own (backends/cloud/inlet.py)."""


@dataclass(frozen=True)
class HubConfig:
    """Team mode (docs/team.md): `wadesk hub` serves, `backend = "hub"` and the CLI connect."""

    listen: str = "127.0.0.1:8788"
    """Where `wadesk hub` listens, host:port: the agents' API and the webhook path ([webhook]
    path) on one address, so one reverse proxy fronts both."""
    database_url_env: str = "WADESK_DATABASE_URL"
    """The environment variable holding the PostgreSQL URL (it carries a password: never a file)."""
    url: str = "http://127.0.0.1:8788"
    """Where a desk (backend = "hub") and the CLI find the hub."""
    token_env: str = "WADESK_HUB_TOKEN"
    """The environment variable holding this agent's token (`wadesk hub add-agent` prints it once)."""
    keep_events_hours: int = 72
    """How long the event log is kept: a client away longer reads everything again (and says so)."""
    client_queue: int = 1000
    """Events held for one connected client; one that stops reading is dropped beyond it."""
    ping_seconds: float = 15.0
    """A comment on each event stream this often, so that proxies keep idle streams open."""


@dataclass(frozen=True)
class InboxConfig:
    closing_soon_minutes: int = 60
    """A window with less than this left is shown as closing soon."""


@dataclass(frozen=True)
class ViewConfig:
    """A saved view of the inbox: every facet empty or "all" admits everything."""

    name: str
    key: str = ""
    """A key that shows it from the inbox ("f5", "alt+v"); empty: palette only."""
    status: tuple[str, ...] = ()
    """open, pending, snoozed, resolved."""
    assignee: str = "all"
    """all, mine, unassigned."""
    priority: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    department: str = ""
    language: str = ""
    state: str = "all"
    """The SLA and window state: all, waiting, breached, closing, closed."""


@dataclass(frozen=True)
class QuickReplyConfig:
    shortcut: str
    """Typed after "/" in the composer: letters, digits, - and _ (desk.quick_replies)."""
    text: str


@dataclass(frozen=True)
class AlertsConfig:
    bell: bool = True
    """Ring the terminal's bell with each alert."""
    command: tuple[str, ...] = ()
    """A program and its arguments, run (without a shell) for each alert, in the desk and in
    `wadesk serve`; () for none."""
    waiting_minutes: int = 240
    """Tell when a customer has waited this long for an answer (0: never)."""
    window_minutes: int = 120
    """Tell when a waiting customer's 24-hour window closes within this long (0: never)."""


@dataclass(frozen=True)
class Config:
    backend: str = "mock"
    agent_name: str = "agent"
    agent_id: str = ""
    """A stable id for this agent: conversations are assigned to it. Empty: made from agent_name
    (`agent_key`), which then must not change."""
    capacity: int = 3
    """How many open conversations this agent holds at once: "next" takes no new one beyond it
    (0: no limit)."""
    timezone: str = "UTC"
    """The agent's time zone: times in the transcript are shown in it."""
    data_dir: str = ""
    """Where the store lives; empty for the platform's user data dir."""
    sla: SlaConfig = field(default_factory=SlaConfig)
    inbox: InboxConfig = field(default_factory=InboxConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    mock: MockConfig = field(default_factory=MockConfig)
    cloud: CloudConfig = field(default_factory=CloudConfig)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    hub: HubConfig = field(default_factory=HubConfig)
    views: tuple[ViewConfig, ...] = ()
    keys: dict[str, str] = field(default_factory=dict)
    """Keys moved: a binding's id ("conversation.template") -> its new key or keys ("f9", or
    "f9,alt+t"); tui/keys.py lists the ids and checks them."""
    quick_replies: tuple[QuickReplyConfig, ...] = ()
    """Canned answers, called up with /shortcut in the composer; the store's own go over these."""

    def numbers(self) -> list[BusinessNumber]:
        """The business numbers of the configured backend."""
        if self.backend == "cloud":
            return [BusinessNumber(n.phone_number_id, n.display or n.phone_number_id, n.department) for n in self.cloud.numbers]
        return [BusinessNumber(n.id, n.display, n.department) for n in self.mock.numbers]

    def sla_for(self, business_number_id: str) -> SlaConfig:
        numbers = self.cloud.numbers if self.backend == "cloud" else self.mock.numbers
        for n in numbers:
            number_id = n.phone_number_id if isinstance(n, CloudNumberConfig) else n.id
            if number_id == business_number_id and n.sla is not None:
                return n.sla
        return self.sla

    def greeting_and_away(self, business_number_id: str) -> tuple[str, str]:
        """The number's automatic messages (desk.autoreply): ("", "") for a number not configured."""
        numbers = self.cloud.numbers if self.backend == "cloud" else self.mock.numbers
        for n in numbers:
            if (n.phone_number_id if isinstance(n, CloudNumberConfig) else n.id) == business_number_id:
                return n.greeting, n.away
        return "", ""

    def configured_quick_replies(self) -> list[QuickReply]:
        """`quick_replies` as the desk's library takes them (checked by `load`)."""
        return [QuickReply(q.shortcut.lower(), q.text) for q in self.quick_replies]


def load(
    path: Path | None, *, backend: str | None = None, seed: int | None = None, speed: float | None = None
) -> Config:
    """Read a config file (None gives the defaults), apply the command line's overrides, then check
    the result: `--backend cloud` gets the same checks as `backend = "cloud"` in the file."""
    config = Config() if path is None else _build(Config, _read(path), "")
    if backend is not None:
        config = dataclasses.replace(config, backend=backend)
    mock = config.mock
    if seed is not None:
        mock = dataclasses.replace(mock, seed=seed)
    if speed is not None:
        mock = dataclasses.replace(mock, speed=speed)
    # The checks' own module reads this one's types: imported here, when both are loaded.
    from desk.config_checks import check

    return check(dataclasses.replace(config, mock=mock))


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"The config file {path} does not exist.") from None
    except IsADirectoryError:
        raise ConfigError(f"The config file {path} is a directory; give the path of a .toml file.") from None
    except OSError as exc:
        raise ConfigError(f"The config file {path} cannot be read: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"The config file {path} is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The config file {path} is not valid TOML: {exc}.") from None


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"The config key {where or 'at the top'} must be a table.")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in names:
            raise ConfigError(f"Unknown config key {where + '.' if where else ''}{key}.")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in raw:
            key = f"{where}.{f.name}" if where else f.name
            values[f.name] = _convert(hints[f.name], raw[f.name], key)
    try:
        return cls(**values)
    except TypeError:
        # Only the keys without a default: an optional one (a number's own sla) is never "needed".
        missing = [
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        raise ConfigError(f"The config key {where} needs {', '.join(missing)}.") from None


def _convert(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(inner[0], value, key)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, key)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"The config key {key} must be a table.")
        kind = typing.get_args(hint)[1]
        return {str(k): _convert(kind, v, f"{key}.{k}") for k, v in value.items()}
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"The config key {key} must be a list.")
        item = typing.get_args(hint)[0]
        return tuple(_convert(item, v, f"{key}[{i}]") for i, v in enumerate(value))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"The config key {key} must be {_TYPE_WORDS.get(hint, hint.__name__)}, not {value!r}.")
    return value


_TYPE_WORDS = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}


def agent_key(config: Config) -> str:
    """The agent's id: `agent_id`, else `agent_name` lowercased with every run of other characters
    than letters and digits made one "-" ("Ana María" -> "ana-maría")."""
    return config.agent_id or "-".join("".join(c if c.isalnum() else " " for c in config.agent_name.lower()).split())


def country_holidays(country: str, subdivision: str, key: str) -> Callable[[int], frozenset[date]]:
    """The public holidays of `country` (and `subdivision`) year by year, from the `holidays`
    library, or a ConfigError naming the key. Each year is asked of the library once, by the
    caller (desk.sla caches them as sets)."""
    import holidays  # ~40 ms to import: only when a country is configured

    try:
        holidays.country_holidays(country, years=())
    except NotImplementedError:
        raise ConfigError(f"The config key {key}.holidays_country has {country!r}, not a country the holidays library knows.") from None
    try:
        holidays.country_holidays(country, subdiv=subdivision or None, years=())
    except NotImplementedError:
        raise ConfigError(f"The config key {key}.holidays_subdivision has {subdivision!r}, not a subdivision of {country}.") from None

    def year(y: int) -> frozenset[date]:
        return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=y).keys())

    return year


def zone(name: str, key: str) -> ZoneInfo:
    """The ZoneInfo for a configured zone name, or a ConfigError naming the key."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"The config key {key} has an unknown time zone {name!r}.") from None


def clock_time(text: str, key: str) -> time | None:
    """HH:MM as a time; "24:00" (the end of the day) as None."""
    if text == "24:00":
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"The config key {key} must be a time of day like 09:00, not {text!r}.") from None
