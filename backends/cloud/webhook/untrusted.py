"""Reading untrusted JSON: every access goes through these, and a wrong type reads as "absent",
never as an exception."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from desk.clock import utc


def as_dict(value: object) -> dict[str, Any] | None:
    """The value when it is a JSON object, else None."""
    return value if isinstance(value, dict) else None


def as_list(value: object) -> list[Any] | None:
    """The value when it is a JSON array, else None."""
    return value if isinstance(value, list) else None


def part_of(msg: dict[str, Any], kind: str) -> dict[str, Any]:
    """The type-specific object (`msg["image"]` for an image), or {} when missing or mistyped."""
    return as_dict(msg.get(kind)) or {}


def as_str(value: object) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def as_ident(value: object) -> str | None:
    """An identifier: a non-blank string, or an integer (Meta sends some ids as numbers)."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def as_number(value: object) -> float | None:
    """A finite number (bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value) if abs(value) < 1e300 else math.inf
    return number if math.isfinite(number) else None


def as_count(value: object) -> int | None:
    """A quantity: a non-negative integer, possibly as a string."""
    if isinstance(value, str) and _digits(value) and len(value) < 10:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9:
        return value
    return None


def as_code(value: object) -> int | None:
    """A WhatsApp error code: an integer, possibly as a string, in a sane range (the store keeps
    it as a 64-bit integer)."""
    if isinstance(value, str) and _digits(value) and len(value) < 12:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**11:
        return value
    return None


def as_time(value: object) -> datetime | None:
    """WhatsApp's epoch seconds (a string in messages and statuses, an int in entry.time)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not _digits(value) or len(value) > 12:
            return None
        value = int(value)
    if not isinstance(value, int) or not 0 < value < 10**11:  # past year 5000: not a timestamp
        return None
    try:
        return utc(value)
    except (OverflowError, OSError, ValueError):
        return None


def _digits(value: str) -> bool:
    """ASCII digits only: str.isdecimal() also accepts "１７５" and "٣"."""
    return value.isascii() and value.isdigit()

