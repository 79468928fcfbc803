"""Business-scoped user ids (BSUIDs) for the emulator's customers.

Since 2026 every message and status webhook names the customer by a BSUID, `user_id`, next to the
phone number, `wa_id`, which a customer with a username may not show at all
(../shared/reference/whatsapp-cloud-api.md §11). Format: the ISO 3166 country code, a ".", then
up to 128 alphanumerics, e.g. "US.13491208655302741918". It is scoped to one business portfolio
(the same customer has another BSUID at another business), and stays as long as the number does.

The mock's customers with a phone number are keyed by their wa_id; their BSUID is derived here,
the same every time, from the number and the scope (the WABA). The username-only customer's id
already is a BSUID and is kept.
"""

from __future__ import annotations

import hashlib
import re

import phonenumbers

__all__ = ["BSUID", "bsuid", "is_bsuid"]

BSUID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")
"""The documented format (a parent BSUID has "ENT." after the country)."""

_DIGITS = 20
"""Meta's example has 20 digits after the country code."""


def is_bsuid(customer_id: str) -> bool:
    """Whether the id is a BSUID rather than a wa_id (digits only)."""
    return BSUID.fullmatch(customer_id) is not None


def bsuid(customer_id: str, scope: str) -> str:
    """The customer's BSUID at the business `scope`, derived from a wa_id (digits): its number's
    country, then digits from a hash of (scope, wa_id). Any other id is taken to be one already."""
    if not customer_id.isdigit():
        return customer_id
    digest = int.from_bytes(hashlib.sha256(f"{scope}:{customer_id}".encode()).digest()[:16], "big")
    number = 10 ** (_DIGITS - 1) + digest % (9 * 10 ** (_DIGITS - 1))  # 20 digits, no leading zero
    return f"{_country(customer_id)}.{number}"


def _country(wa_id: str) -> str:
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse("+" + wa_id.lstrip("+")))
    except phonenumbers.NumberParseException:
        region = None
    # A number of no single country (a +800 freephone, a +882 satellite one) has region "001" or none.
    return region if region and region.isalpha() and len(region) == 2 else "US"
