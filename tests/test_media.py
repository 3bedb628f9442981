from __future__ import annotations

import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.media import MediaRejected, MediaStore, inspect_image
from storage.models import MediaFile
from tests.harness import jpeg

TZ = ZoneInfo("Asia/Shanghai")


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (10, 20), (0, 0, 0, 0)).save(buf, "PNG")
    return buf.getvalue()


def test_type_comes_from_the_bytes_and_exif_time_is_read() -> None:
    facts = inspect_image(jpeg(size=(80, 60), exif_time="2026:11:16 14:05:09"), TZ)
    assert (facts.mime, facts.width, facts.height) == ("image/jpeg", 80, 60)
    assert facts.taken_at is not None and facts.taken_at.isoformat() == "2026-11-16T14:05:09+08:00"
    assert inspect_image(png(), TZ).mime == "image/png"
    assert inspect_image(jpeg(), TZ).taken_at is None


@pytest.mark.parametrize("data", [b"", b"GIF89a-but-not-really", b"%PDF-1.7\n", jpeg()[:200], b"\x00" * 1000])
def test_what_is_not_a_readable_image_is_refused(data: bytes) -> None:
    with pytest.raises(MediaRejected) as err:
        inspect_image(data, TZ)
    assert err.value.reason == "not_image"


async def test_content_addressed_and_stored_once(
    session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    store = MediaStore(tmp_path / "media", 1_000_000, TZ)
    data = jpeg(exif_time="2026:11:16 14:05:09")
    async with session_factory() as s, s.begin():
        first = await store.store(s, data)
        second = await store.store(s, data)
    assert first == second
    assert store.path(first.sha256).read_bytes() == data
    assert store.path(first.sha256).parent.parent.name == first.sha256[:2]
    async with session_factory() as s:
        row = await s.get(MediaFile, first.sha256)
        assert row is not None and row.size == len(data) and row.taken_at is not None
    big = MediaStore(tmp_path / "m2", 100, TZ)
    async with session_factory() as s, s.begin():
        with pytest.raises(MediaRejected) as err:
            await big.store(s, data)
    assert err.value.reason == "too_large" and not (tmp_path / "m2").exists()


def test_a_picture_cut_off_in_transit_is_refused() -> None:
    """A JPEG cut at 18 % opens and has a size; only decoding every pixel shows it is broken."""
    buf = io.BytesIO()
    Image.effect_noise((640, 480), 60).convert("RGB").save(buf, "JPEG")
    whole = buf.getvalue()
    with pytest.raises(MediaRejected):
        inspect_image(whole[: int(len(whole) * 0.18)], ZoneInfo("Asia/Shanghai"))
    assert inspect_image(whole, ZoneInfo("Asia/Shanghai")).mime == "image/jpeg"
