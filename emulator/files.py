"""The emulator's media files: what was uploaded, and small deterministic files of the right kind
for the media customers send (a PNG, a JPEG, a PDF, an Ogg ...), so a download matches the
SHA-256 its webhook gave. Limits: ../shared/reference/whatsapp-cloud-api.md §5.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

__all__ = ["MEDIA_URL_SECONDS", "UPLOAD_LIMITS", "MediaFile", "fake_file"]

MEDIA_URL_SECONDS = 300
"""A media URL is valid for 5 minutes (§5)."""

UPLOAD_LIMITS = {
    "audio/aac": 16_000_000, "audio/amr": 16_000_000, "audio/mpeg": 16_000_000, "audio/mp4": 16_000_000,
    "audio/ogg": 16_000_000,
    "text/plain": 100_000_000, "application/pdf": 100_000_000, "application/msword": 100_000_000,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100_000_000,
    "application/vnd.ms-excel": 100_000_000,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100_000_000,
    "application/vnd.ms-powerpoint": 100_000_000,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100_000_000,
    "image/jpeg": 5_000_000, "image/png": 5_000_000,
    "image/webp": 500_000,
    "video/mp4": 16_000_000, "video/3gpp": 16_000_000,
}
"""Uploadable types and their size limits (§5); anything else is 131053."""


@dataclass(frozen=True, slots=True)
class MediaFile:
    data: bytes
    mime_type: str
    number_id: str
    """The business number it belongs to: a lookup with another phone_number_id finds nothing."""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def fake_file(media_id: str, mime_type: str) -> bytes:
    """A small, deterministic file of the right kind for an inbound media id."""
    base = mime_type.split(";")[0].strip().lower()
    tag = f"wadesk emulator media {media_id}".encode()
    if base == "image/png":
        return _png(tag)
    if base == "image/jpeg":
        # SOI, a comment segment, EOI: what a sniffer calls a JPEG, with no picture in it.
        return b"\xff\xd8\xff\xfe" + struct.pack(">H", len(tag) + 2) + tag + b"\xff\xd9"
    if base == "application/pdf":
        return b"%PDF-1.4\n% " + tag + b"\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    if base == "audio/ogg":
        return b"OggS\x00\x02" + bytes(20) + tag
    if base == "audio/mpeg":
        return b"ID3\x03\x00\x00\x00\x00\x00\x00" + tag
    return tag


def _png(text: bytes) -> bytes:
    """A 1x1 white PNG carrying `text` in a tEXt chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"tEXt", b"Comment\x00" + text) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
