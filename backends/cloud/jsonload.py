"""JSON from the wire (webhook bodies, Graph answers, requests to the emulator), read so that one bad
string never costs the rest of the document.

orjson refuses a lone surrogate escape (`"\\ud800"`) and invalid UTF-8 anywhere in a document; the
standard library accepts the escape but hands back a str that cannot be encoded, so the store's
own write (orjson again) would fail later, far from the cause. Both come from customers (a name, a
text). So: orjson first (fast, the normal case); if it refuses, the standard library on the bytes
decoded with invalid sequences replaced, and every lone surrogate in every string (keys too)
replaced by U+FFFD.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

REPLACEMENT = "\ufffd"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""What json.loads leaves of an escape without its pair (a pair becomes one astral character)."""


def loads(data: bytes | str) -> Any:
    """The document in `data`; ValueError when it is not JSON even to the standard library."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    text = data if isinstance(data, str) else bytes(data).decode("utf-8", "replace")
    try:
        return _clean(json.loads(text))
    except RecursionError:  # orjson stops at 1,024 levels; the standard library at the stack's end
        raise ValueError("JSON nested too deeply") from None


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub(REPLACEMENT, value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    return value
