"""A customer's file downloaded from WhatsApp: named for its media id and MIME type, written
atomically (a temporary file, fsync'd, then renamed), and kept only when it matches the sha256
WhatsApp gave for it. `Graph.download_media` streams the answer into `save_media`."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import re
import tempfile
from base64 import b64encode
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "text/plain": ".txt",
    "application/pdf": ".pdf",
}


class MediaIntegrityError(ValueError):
    """A downloaded file does not match the sha256 WhatsApp gave for it; nothing was kept."""


def extension_for(mime_type: str) -> str:
    """".jpg" for "image/jpeg", ".ogg" for "audio/ogg; codecs=opus", ".bin" when unknown."""
    mime = mime_type.split(";")[0].strip().lower()
    return _EXTENSIONS.get(mime) or mimetypes.guess_extension(mime) or ".bin"


def _sha256_matches(digest: bytes, expected: str) -> bool:
    """WhatsApp gives the sha256 as hex (media URL) or base64 (some webhooks): accept either."""
    expected = expected.strip()
    return expected.lower() == digest.hex() or expected == b64encode(digest).decode()


async def save_media(response: httpx.Response, dest_dir: Path, media_id: str, mime: str, sha256: str) -> Path:
    """Stream `response` into dest_dir as "<media id><extension>"; MediaIntegrityError (nothing
    kept) when `sha256` is given and the file does not match it."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", media_id).lstrip(".") or "media"
    final = dest_dir / f"{name}{extension_for(mime)}"
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=f".{name}.", suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            async for chunk in response.aiter_bytes():
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if sha256 and not _sha256_matches(digest.digest(), sha256):
            raise MediaIntegrityError(
                f"The file for media {media_id} does not match the checksum WhatsApp gave for it; "
                "it was not saved. Try downloading it again."
            )
        if not sha256:
            log.warning("media %s: WhatsApp gave no sha256; saved unchecked", media_id)
        os.replace(tmp, final)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return final
