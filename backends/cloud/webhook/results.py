"""What a webhook body comes out as: events, template updates, problems, and how much was skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from desk.models import Event


@dataclass(frozen=True, slots=True)
class TemplateUpdate:
    """A template's review status changed (field `message_template_status_update`, §4.2)."""

    template_id: str
    name: str
    language: str
    """Normalised to the list API's spelling: "en-US" -> "en_US" (Meta's webhook uses a hyphen)."""
    status: str
    """As WhatsApp spells it: APPROVED, REJECTED, PAUSED, DISABLED, FLAGGED, ... (see
    desk.models.TemplateStatus.parse for the ones the desk knows)."""
    reason: str | None
    """Why (rejection reason, pause description); None when WhatsApp gives none or says "NONE"."""
    at: datetime | None
    """The entry's `time`, when it has a valid one."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with the account or the app, not with one message: `value.errors[]` (§6.6)
    and account restrictions, violations and bans (`account_update`)."""

    code: int
    sentence: str
    """backends.errors.describe(code): the same sentence an HTTP error with that code gets."""
    details: str
    business_number_id: str | None
    """The phone_number_id it concerns; None for the whole account."""


@dataclass(frozen=True, slots=True)
class Parsed:
    events: list[Event] = field(default_factory=list)
    """MessageReceived and StatusChanged, in payload order (which is not time order: §6.7)."""
    template_updates: list[TemplateUpdate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: int = 0
    """Parts not turned into anything: malformed, or of a kind the desk does not handle."""
