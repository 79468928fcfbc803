"""The Graph media endpoints (../shared/reference/whatsapp-cloud-api.md §5):

    POST   /{version}/{phone_number_id}/media   multipart (messaging_product, file, type) -> {"id"}
    GET    /{version}/{media_id}                {messaging_product, url, mime_type, sha256 (hex), file_size, id}
    DELETE /{version}/{media_id}                {"success": true}
    GET    /_media/{media_id}?exp=...           the bytes, with the bearer token only; 404 once the
                                                URL is 5 minutes old (fetch a new one)

Inbound media get small deterministic files (emulator/files.py) whose SHA-256 is in the webhook
(base64, as in Meta's example; the media URL lookup gives it in hex).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING

from aiohttp import web

from desk.models import Media
from emulator.files import MEDIA_URL_SECONDS, UPLOAD_LIMITS, MediaFile, fake_file
from emulator.wire import INVALID_TOKEN, Refused, unknown_object

if TYPE_CHECKING:
    from emulator.server import Emulator

__all__ = ["MediaStore"]


class MediaStore:
    """The files by media id, and the handlers that serve them."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.files: dict[str, MediaFile] = {}

    def __contains__(self, media_id: str) -> bool:
        return media_id in self.files

    def inbound(self, media: Media, number_id: str) -> Media:
        """A customer's media with its file made (once) and its real SHA-256 and size."""
        assert media.media_id is not None
        stored = self.files.get(media.media_id)
        if stored is None:
            mime_type = media.mime_type or "application/octet-stream"
            stored = MediaFile(fake_file(media.media_id, mime_type), mime_type, number_id)
            self.files[media.media_id] = stored
        digest = base64.b64encode(hashlib.sha256(stored.data).digest()).decode()
        return replace(media, sha256=digest, size=len(stored.data))

    # POST /{version}/{phone_number_id}/media
    async def upload(self, request: web.Request) -> web.Response:
        number_id = request.match_info["number_id"]
        if number_id not in self.emu.display_numbers:
            raise unknown_object(number_id, "post")
        try:
            form = await request.post()
        except ValueError:
            raise Refused(100, "Upload media as multipart/form-data.") from None
        if form.get("messaging_product") != "whatsapp":
            raise Refused(100, "The parameter messaging_product is required and must be \"whatsapp\".")
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise Refused(131008, "The parameter file is required.")
        data = upload.file.read()
        declared = form.get("type")
        mime_type = (declared if isinstance(declared, str) and declared else upload.content_type) or ""
        base = mime_type.split(";")[0].strip().lower()
        limit = UPLOAD_LIMITS.get(base)
        if limit is None:
            raise Refused(131053, f"Unsupported file type {mime_type!r}.")
        sent_as = (upload.content_type or "").split(";")[0].strip().lower()
        if sent_as not in ("", "application/octet-stream", base):
            raise Refused(131053, f"The file is {sent_as} but the type says {base}.")
        if len(data) > limit:
            raise Refused(131053, f"{base} files may be at most {limit} bytes; this one has {len(data)}.")
        media_id = str(4_000_000_000_000_000 + self.emu.next_seq())
        self.files[media_id] = MediaFile(data, mime_type, number_id)
        return web.json_response({"id": media_id})

    # GET /{version}/{media_id}
    def lookup(self, request: web.Request, object_id: str) -> web.Response | None:
        media = self.files.get(object_id)
        if media is None:
            return None
        owner = request.query.get("phone_number_id")
        if owner and owner != media.number_id:
            raise unknown_object(object_id, "get")
        expires = int(self.emu.clock.now().timestamp()) + MEDIA_URL_SECONDS
        return web.json_response({
            "messaging_product": "whatsapp",
            "url": f"{request.scheme}://{request.host}/_media/{object_id}?exp={expires}",
            "mime_type": media.mime_type,
            "sha256": media.sha256,
            "file_size": str(len(media.data)),
            "id": object_id,
        })

    # DELETE /{version}/{media_id}
    async def delete(self, request: web.Request) -> web.Response:
        object_id = request.match_info["object_id"]
        media = self.files.get(object_id)
        owner = request.query.get("phone_number_id")
        if media is None or (owner and owner != media.number_id):
            raise unknown_object(object_id, "delete")
        del self.files[object_id]
        return web.json_response({"success": True})

    # GET /_media/{media_id}
    async def download(self, request: web.Request) -> web.Response:
        if not self.emu.authorized(request):
            return self.emu.error(190, INVALID_TOKEN, 401)
        media = self.files.get(request.match_info["media_id"])
        expires = request.query.get("exp", "")
        if media is None or not expires.isdigit() or int(expires) < self.emu.clock.now().timestamp():
            return web.Response(status=404, text="Not found: fetch a new URL from GET /{version}/{media_id}.")
        return web.Response(body=media.data, headers={"Content-Type": media.mime_type})
