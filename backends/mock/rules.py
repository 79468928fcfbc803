"""What WhatsApp refuses to send, as the mock applies it: each check raises the typed error that
WhatsApp's error code maps to (backends/errors.py), or returns when the send would be accepted.

The window is judged from the mock's own record of the customer's messages and templates from the
mock's own catalogue, never from the desk's copies: the desk cannot talk the mock into a send that
WhatsApp would refuse.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime

from backends.errors import error_for
from backends.mock.catalogue import find
from desk.limits import TEXT_MAX
from desk.models import Template, TemplateStatus
from desk.window import window


def check_number(business_number_id: str, known: Container[str]) -> None:
    """An unknown phone number id: 100."""
    if business_number_id not in known:
        raise error_for(100, f"Unknown phone number id {business_number_id}")


def check_text(text: str, last_inbound: datetime | None, now: datetime) -> None:
    """Free text: blank 131008, longer than TEXT_MAX 100, outside the 24-hour window that the
    customer's latest message (`last_inbound`) opened 131047."""
    if not text.strip():
        raise error_for(131008, "text.body is required")
    if len(text) > TEXT_MAX:
        raise error_for(100, f"text.body is longer than {TEXT_MAX} characters")
    if not window(last_inbound, now).open:
        raise error_for(131047, "More than 24 hours have passed since the recipient last replied.")


def check_reaction(message_id: str, last_inbound: datetime | None, now: datetime) -> None:
    """A reaction: no message id 131008; outside the 24-hour window 131047 (it is free-form)."""
    if not message_id:
        raise error_for(131008, "reaction.message_id is required")
    if not window(last_inbound, now).open:
        raise error_for(131047, "More than 24 hours have passed since the recipient last replied.")


def check_template(catalogue: tuple[Template, ...], name: str, language: str, values: dict[str, str]) -> None:
    """A template send against the number's catalogue: unknown, unapproved or wrong language 132001;
    PAUSED 132015; DISABLED 132016; values that do not match the placeholders one for one (an empty
    value is a missing one) 132000."""
    template = find(catalogue, name, language)
    if template is None:
        raise error_for(132001, f"template name ({name}) does not exist in {language}")
    if template.status is TemplateStatus.PAUSED:
        raise error_for(132015, f"{name} is paused")
    if template.status is TemplateStatus.DISABLED:
        raise error_for(132016, f"{name} is disabled")
    if template.status is not TemplateStatus.APPROVED:
        raise error_for(132001, f"{name} ({language}) is {template.status_name}, not approved")
    given = {key for key, value in values.items() if value and value.strip()}
    expected = set(template.parameters())
    if len(given) != len(values) or given != expected:
        raise error_for(132000, f"expected {len(expected)} parameters, got {len(given)} filled in")
