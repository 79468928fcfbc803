"""What every Graph endpoint of the emulator shares: the refusal, Graph's error object, the bearer
token check and reading a JSON body.

Errors are Graph error objects (../shared/reference/whatsapp-cloud-api.md §8.1), `{"error":
{"message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047,
"error_data": {"messaging_product": "whatsapp", "details": ...}, "fbtrace_id": ...}}`, with the
HTTP status of backends.errors (400 unless the table says otherwise).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from aiohttp import web

from backends.cloud.jsonload import loads
from backends.errors import error_for, title

__all__ = ["Refused", "authorized", "error_response", "read_json", "select_fields", "unknown_object"]

INVALID_TOKEN = "Invalid OAuth access token - Cannot parse access token"


class Refused(Exception):
    """A request the emulator answers with a Graph error."""

    def __init__(self, code: int, details: str, http_status: int | None = None) -> None:
        super().__init__(details)
        self.code, self.details = code, details
        self.http_status = http_status or error_for(code).http_status


def unknown_object(object_id: str, method: str) -> Refused:
    """Graph's answer for an id that names nothing this endpoint serves."""
    return Refused(
        100,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation.",
    )


def error_response(code: int, details: str, http_status: int, seq: int) -> web.Response:
    """The error object for `code`; `seq` makes its fbtrace_id (distinct per answer, deterministic)."""
    trace = base64.urlsafe_b64encode(hashlib.sha256(f"fbtrace:{seq}".encode()).digest()[:15]).decode()
    error: dict[str, Any] = {"message": f"(#{code}) {title(code)}", "type": "OAuthException", "code": code}
    if code == 190:
        error["message"] = details
    elif code == 2635:
        error["message"] = f"(#{code}) {details}"
    else:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = trace
    headers = {}
    if http_status == 401:
        headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{details}"'
    return web.json_response({"error": error}, status=http_status, headers=headers)


def authorized(request: web.Request, token: str) -> bool:
    """Whether the request carries `Authorization: Bearer <token>`."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; Graph error 100 when it is not one."""
    try:
        body = loads(await request.read())
    except ValueError:
        raise Refused(100, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Refused(100, "The request body must be a JSON object.")
    return body


def select_fields(document: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """`document` as Graph answers `?fields=a,b`: those fields it has, in that order, and its `id`
    (always). No `fields`: the document as it is (the endpoint's default fields). A nested
    selection (`components{type,text}`) is read as the whole field."""
    if not fields:
        return document
    names = [name.split("{")[0].strip() for name in fields.split(",")]
    picked = {name: document[name] for name in names if name in document}
    if "id" in document:
        picked.setdefault("id", document["id"])
    return picked
