"""The HTTP client for Meta's Graph API (WhatsApp Cloud API): every request to WhatsApp goes
through `Graph.request` (binary downloads through the same core, `Graph._call`).

When to retry — this module is the one home of the rule
=========================================================
A request is retried (at most 3 more times, after 0.5 s, 1 s, 2 s; `sleep` is injectable) only when
it cannot have had an effect, or when repeating it is harmless:

1. It never left: `httpx.ConnectError`, `ConnectTimeout`, `PoolTimeout`. After the last try this is
   `Unreachable` (a `TemporaryError`, code 2: "could not reach WhatsApp; nothing was sent"), never
   `OutcomeUnknown`: the request did not leave, so the message was certainly not sent and the
   caller may resend it whenever it likes.
2. WhatsApp turned it away before doing anything: Graph error codes 4, 80007, 130429 (throttling),
   2 and 131016 (temporarily unavailable), or a non-Graph 429/503 answer. After the last try the
   typed error from backends/errors.py is raised (ThrottledError, TemporaryError).
3. It is idempotent (`idempotent=True`: GETs, mark-as-read): any 5xx, timeout or broken connection.

A request that is NOT idempotent (a send, an upload) is never repeated once it may have left:
`ReadTimeout`, `WriteTimeout`, `ReadError`, `RemoteProtocolError` (any transport failure after the
connection was made), a 5xx whose Graph code does not say it was refused, or a 2xx whose body
cannot be read all raise `backends.errors.OutcomeUnknown` — the message may or may not have gone,
and resending could deliver it twice. Nothing else decides this; callers only catch.

Everything else is no retry: a Graph error (any HTTP status) is `error_for(code, details)` from
backends/errors.py — 131047 WindowClosedError, 132xxx TemplateError, 190 AuthError, ... A non-JSON
error body is code 2 for 503 (and 429), code 1 otherwise. 131056 (pair rate limit) is raised at
once: backends/cloud/pacing.py keeps sends under it. A raised WhatsAppError's `http_status` is the
status the server actually answered.

The access token is sent as `Authorization: Bearer`, only to `base_url`'s origin and to media URLs
over https; it is never logged (log lines carry the method and the URL without its query), never
put in an exception (Graph's details are scrubbed of it) and hidden from `repr(Graph)`. Signed
media URLs carry their signature in the query: no log line has a URL's query, httpx's own request
log included (the filter of backends/cloud/redact.py on the "httpx" logger).

Answers are read with backends/cloud/jsonload.py: a lone surrogate escape in a template's text is
neutralised, not carried into the store. A downloaded file is written and checked by
backends/cloud/media_file.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from backends.base import Sent
from backends.cloud import payloads
from backends.cloud.jsonload import loads
from backends.cloud.media_file import save_media
from backends.cloud.redact import without_query
from backends.cloud.templates import template_from_graph
from backends.errors import REFUSED_CODES, OutcomeUnknown, TemporaryError, WhatsAppError, error_for
from desk.clock import Clock
from desk.models import Template

log = logging.getLogger(__name__)

T = TypeVar("T")

BACKOFF = (0.5, 1.0, 2.0)
"""Seconds before each retry; its length is the number of retries."""

TEMPLATE_FIELDS = "name,language,status,category,components,parameter_format,id"
MAX_TEMPLATE_PAGES = 50
"""A WABA holds at most 250 templates (3 pages of 100); more pages means a paging loop."""

_NEVER_LEFT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_NOT_SENDABLE = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


class Unreachable(TemporaryError):
    """WhatsApp could not be reached, or (for an idempotent request) did not answer: nothing was
    done on a send (requests that may have left raise OutcomeUnknown instead). Retryable."""

    def __init__(self, sentence: str, details: str = "") -> None:
        super().__init__(2, details, 503)
        self.sentence = sentence
        self.args = (f"(2) {sentence}",)


class _Retry(Exception):
    """Internal: this attempt failed in a way that is safe to repeat; `error` is raised if the
    retries run out."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class Graph:
    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        api_version: str,
        token: str,
        clock: Clock,
        timeout: float = 15.0,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        backoff: tuple[float, ...] = BACKOFF,
    ) -> None:
        self._client = client
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version.strip("/")
        self.__token = token
        self._clock = clock
        self.timeout = timeout
        self._sleep = sleep
        self._backoff = backoff
        self._origin = _origin(httpx.URL(self.base_url))

    def __repr__(self) -> str:
        return f"Graph({self.base_url!r}, {self.api_version!r}, token=<hidden>)"

    def path(self, *parts: str) -> str:
        """"/v24.0/<part>/<part>": a path under base_url, version pinned."""
        return "/" + "/".join((self.api_version, *parts))

    # --- the one request function -------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        files: Any = None,
        data: dict[str, Any] | None = None,
        idempotent: bool,
    ) -> dict[str, Any]:
        """A Graph call: `path` under base_url ("/v24.0/123/messages") or an absolute URL on the same
        origin (a `paging.next`). Returns the JSON object answered; raises per the module docstring."""
        url = self._url(path)

        async def read_json(response: httpx.Response) -> dict[str, Any]:
            body = await response.aread()
            try:
                doc = loads(body)
            except ValueError:
                doc = None
            if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
                raise self._failure(response.status_code, body, idempotent)
            if not isinstance(doc, dict):
                what = f"WhatsApp answered HTTP {response.status_code} with a body that is not a JSON object"
                if idempotent:
                    raise _Retry(error_for(1, what))
                raise OutcomeUnknown(f"{what}: the request may or may not have taken effect.")
            return doc

        kwargs = {"json": json, "params": params, "files": files, "data": data}
        return await self._call(method, url, idempotent=idempotent, read=read_json, **kwargs)

    async def _call(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool,
        read: Callable[[httpx.Response], Awaitable[T]],
        **kwargs: Any,
    ) -> T:
        """The core: the bearer token, the retries, the error mapping. `read` gets a 2xx response
        (streamed) and returns the result; it is called afresh on every attempt."""
        for attempt in range(len(self._backoff) + 1):
            try:
                return await self._once(method, url, idempotent, read, kwargs)
            except _Retry as retry:
                if attempt == len(self._backoff):
                    raise retry.error from retry.__cause__
                delay = self._backoff[attempt]
                log.info("Graph %s %s: %s; retry %d in %.1f s", method, without_query(url), retry.error, attempt + 1, delay)
                await self._sleep(delay)
        raise AssertionError("unreachable")

    async def _once(
        self,
        method: str,
        url: str,
        idempotent: bool,
        read: Callable[[httpx.Response], Awaitable[T]],
        kwargs: dict[str, Any],
    ) -> T:
        headers = {"Authorization": f"Bearer {self.__token}"}
        shown = without_query(url)
        try:
            async with self._client.stream(method, url, headers=headers, timeout=self.timeout, **kwargs) as response:
                log.debug("Graph %s %s -> HTTP %d", method, shown, response.status_code)
                if response.is_success:
                    return await read(response)
                body = await response.aread()
        except _NEVER_LEFT as exc:
            raise _Retry(Unreachable(
                "Could not reach WhatsApp (network or DNS problem); nothing was sent. Check the connection and retry.",
                f"{type(exc).__name__} on {method} {shown}",
            )) from exc
        except _NOT_SENDABLE as exc:
            raise Unreachable(
                "The desk could not build a request to WhatsApp; nothing was sent.",
                f"{type(exc).__name__} on {method} {shown}",
            ) from exc
        except httpx.RequestError as exc:  # it may have left: timeouts, resets, broken responses
            what = f"{type(exc).__name__} on {method} {shown}"
            if idempotent:
                raise _Retry(Unreachable("WhatsApp did not answer in time; try again shortly.", what)) from exc
            log.warning("Graph %s %s: %s after the request may have left; outcome unknown", method, shown, type(exc).__name__)
            raise OutcomeUnknown(
                f"No answer from WhatsApp ({type(exc).__name__}) after the request may have left: "
                "it may or may not have taken effect."
            ) from exc
        raise self._failure(response.status_code, body, idempotent)

    def _failure(self, status: int, body: bytes, idempotent: bool) -> Exception:
        """What a non-2xx answer (or a 2xx carrying a Graph error) raises: the typed error, a
        _Retry wrapping it, or OutcomeUnknown."""
        code: int | None = None
        details = ""
        try:
            error = loads(body)["error"]
            code = int(error["code"])
            details = str((error.get("error_data") or {}).get("details") or error.get("message") or "")
        except (ValueError, KeyError, TypeError):
            pass
        details = details.replace(self.__token, "<token>") if self.__token else details
        if code is None:
            code = 2 if status in (429, 503) else 1
            details = details or f"HTTP {status} without a Graph error body"
            refused = status in (429, 503)
        else:
            refused = code in REFUSED_CODES
        err = error_for(code, details)
        err.http_status = status
        if refused:
            return _Retry(err)
        if status >= 500:
            if idempotent:
                return _Retry(err)
            log.warning("Graph answered HTTP %d (code %d) to a request that may have taken effect", status, code)
            return OutcomeUnknown(
                f"WhatsApp answered HTTP {status} (error {code}) without saying the request was refused: "
                "it may or may not have taken effect."
            )
        return err

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            url = httpx.URL(path)
            if _origin(url) != self._origin:
                raise ValueError(f"Refusing to send the access token to {url.host}: not the configured Graph host.")
            return str(url)
        return self.base_url + "/" + path.lstrip("/")

    # --- helpers -------------------------------------------------------------------------------------

    async def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> Sent:
        """Send a body from backends/cloud/payloads.py. Accepted, not delivered: statuses follow."""
        doc = await self.request("POST", self.path(phone_number_id, "messages"), json=payload, idempotent=False)
        try:
            wamid = str(doc["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise OutcomeUnknown("WhatsApp accepted the request but gave no message id.") from None
        status = doc["messages"][0].get("message_status")
        if status and status != "accepted":
            log.info("message %s is %s by WhatsApp (template pacing)", wamid, status)
        return Sent(wamid, self._clock.now())

    async def mark_read(self, phone_number_id: str, wamid: str, *, typing: bool = False) -> None:
        """Blue ticks up to `wamid`. Idempotent: marking twice is harmless, so it is retried."""
        await self.request("POST", self.path(phone_number_id, "messages"), json=payloads.read(wamid, typing=typing), idempotent=True)

    async def upload_media(self, phone_number_id: str, path: Path, mime_type: str) -> str:
        """Upload a file for sending; returns its media id (valid 30 days).

        Not idempotent (each upload makes a new id), so a timeout raises OutcomeUnknown; but an
        upload has no effect the customer sees, so the caller may simply upload again later (the
        orphan id expires on its own)."""
        files = {"file": (path.name, path.read_bytes(), mime_type)}
        data = {"messaging_product": "whatsapp", "type": mime_type}
        doc = await self.request("POST", self.path(phone_number_id, "media"), data=data, files=files, idempotent=False)
        return str(doc["id"])

    async def media_url(self, media_id: str, *, phone_number_id: str | None = None) -> dict[str, Any]:
        """{"url", "mime_type", "sha256", "file_size", "id"}; the url is valid for 5 minutes."""
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        return await self.request("GET", self.path(media_id), params=params, idempotent=True)

    async def download_media(self, media_id: str, dest_dir: Path, *, phone_number_id: str | None = None) -> Path:
        """Fetch a customer's file into dest_dir as "<media id><extension>", written atomically and
        checked against WhatsApp's sha256 (MediaIntegrityError, nothing kept, on a mismatch). A 404
        on the (short-lived) URL fetches a fresh URL once."""
        dest_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(2):
            info = await self.media_url(media_id, phone_number_id=phone_number_id)
            url = str(info.get("url") or "")
            if not url:
                raise error_for(1, f"WhatsApp gave no download URL for media {media_id}")
            target = httpx.URL(url)
            if target.scheme != "https" and _origin(target) != self._origin:
                raise ValueError(f"Refusing to send the access token to a media URL over {target.scheme}.")

            async def save(response: httpx.Response) -> Path:
                mime = str(info.get("mime_type") or response.headers.get("content-type") or "")
                return await save_media(response, dest_dir, media_id, mime, str(info.get("sha256") or ""))

            try:
                return await self._call("GET", url, idempotent=True, read=save)
            except WhatsAppError as err:
                if err.http_status == 404 and attempt == 0:
                    log.info("media %s: the download URL expired; fetching a new one", media_id)
                    continue
                raise
        raise AssertionError("unreachable")

    async def list_templates(self, waba_id: str, business_number_ids: list[str]) -> list[Template]:
        """The WABA's whole catalogue (every page, every status), one Template per template per
        business number, numbers in the order given. A document that cannot be read is skipped."""
        docs: list[dict[str, Any]] = []
        url: str | None = self.path(waba_id, "message_templates")
        params: dict[str, Any] | None = {"fields": TEMPLATE_FIELDS, "limit": "100"}
        for _ in range(MAX_TEMPLATE_PAGES):
            if url is None:
                break
            page = await self.request("GET", url, params=params, idempotent=True)
            docs.extend(d for d in page.get("data") or () if isinstance(d, dict))
            after = (page.get("paging") or {}).get("next")
            # The next URL carries the query already; never put a token in a URL (it is in a header).
            url = str(httpx.URL(after).copy_remove_param("access_token")) if after else None
            params = None
        else:
            if url is not None:
                log.warning("template list: stopped after %d pages", MAX_TEMPLATE_PAGES)
        templates = []
        for number_id in business_number_ids:
            for doc in docs:
                try:
                    templates.append(template_from_graph(doc, number_id))
                except (KeyError, TypeError, AttributeError):
                    log.warning("template list: skipped a template without a name or language (id %s)", doc.get("id"))
        return templates


# --- module helpers ------------------------------------------------------------------------------------


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)
