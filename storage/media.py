"""Content-addressed photo store: files under media_dir/ab/cd/<sha256>, facts about them in the `media` table.

The type is read from the bytes (Pillow), never from a file name; files over the limit or not images are
refused before anything is written.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, UnidentifiedImageError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import StoredMedia
from storage.models import MediaFile

MIME_BY_FORMAT = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_IFD = 0x8769
EXIF_DATETIME = 0x0132


class MediaRejected(Exception):
    def __init__(self, reason: str) -> None:  # too_large | not_image
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ImageFacts:
    mime: str
    width: int
    height: int
    taken_at: dt.datetime | None


def inspect_image(data: bytes, tz: ZoneInfo) -> ImageFacts:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                img.verify()  # structure check; Pillow requires it straight after open
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                width, height = img.size
                exif = img.getexif()
                img.load()  # decode every pixel: a picture cut off in transit is refused, not stored
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
        RuntimeError,
    ) as exc:
        raise MediaRejected("not_image") from exc
    mime = MIME_BY_FORMAT.get(fmt)
    if mime is None:
        raise MediaRejected("not_image")
    raw = exif.get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL) or exif.get(EXIF_DATETIME)
    taken = None
    if isinstance(raw, str):
        try:
            # EXIF time has no zone: it is the camera's local time, taken here as the deployment's.
            taken = dt.datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S").replace(tzinfo=tz)
        except ValueError:
            taken = None
    return ImageFacts(mime, width, height, taken)


class MediaStore:
    def __init__(self, root: Path, max_bytes: int, tz: ZoneInfo) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.tz = tz

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def _write(self, sha256: str, data: bytes) -> None:
        target = self.path(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, target)  # atomic: a reader never sees half a file

    async def store_file(self, session: AsyncSession, data: bytes, mime: str) -> str:
        """A file we made (a ledger, a report): stored as photos are, by its SHA-256, to be sent as a document."""
        sha = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write, sha, data)
        if await session.get(MediaFile, sha) is None:
            session.add(MediaFile(sha256=sha, mime=mime, size=len(data), width=0, height=0, taken_at=None))
        return sha

    def maybe(self, sha256: str) -> bytes | None:
        """An original's bytes, or None when its file is gone (a document then says so instead)."""
        try:
            return self.read(sha256)
        except OSError:
            return None

    async def store(self, session: AsyncSession, data: bytes, caption: str | None = None) -> StoredMedia:
        if len(data) > self.max_bytes:
            raise MediaRejected("too_large")
        facts = await asyncio.to_thread(inspect_image, data, self.tz)
        sha = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write, sha, data)
        if await session.get(MediaFile, sha) is None:
            session.add(
                MediaFile(
                    sha256=sha,
                    mime=facts.mime,
                    size=len(data),
                    width=facts.width,
                    height=facts.height,
                    taken_at=facts.taken_at,
                )
            )
        return StoredMedia(sha, facts.mime, len(data), facts.width, facts.height, caption)
