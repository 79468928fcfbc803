"""How a customer is written down: the number as its owner's country writes it, or the username."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from desk.models import Customer


@lru_cache(maxsize=4096)
def format_number(e164: str) -> str:
    """+306912345678 -> "+30 691 234 5678". Parsing costs ~50 µs, so results are cached and only
    visible rows ask for it."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def handle(customer: Customer) -> str:
    """The customer's number, formatted, or their username when WhatsApp gave no number."""
    if customer.phone:
        return format_number(customer.phone)
    if customer.username:
        return customer.username if customer.username.startswith("@") else f"@{customer.username}"
    return customer.id
