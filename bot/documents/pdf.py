"""PDF with typst (the `typst` package: 0.1 s a page, Noto Sans CJK embedded as a subset, PDF/A-2a): the shipped
template reads its data from a JSON file beside it — user text never becomes markup (a location like "1#楼"
would) — and its photos from files beside it, downscaled. No CJK font on the machine is a clear error, never a
document of boxes."""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import typst
from PIL import Image

FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype/noto"))
CJK_FONT = "NotoSansCJK-Regular.ttc"
PHOTO_PIXELS = (640, 480)  # a copy for a half-page-wide figure (~190 dpi); the original stays in the media store


class DocumentError(RuntimeError):
    pass


@dataclass(frozen=True)
class PhotoIn:
    data: bytes | None  # None: the original is gone (the caption says so)
    caption: str
    alt: str


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[tuple[str, str], ...]
    photos: tuple[PhotoIn, ...] = ()


@dataclass(frozen=True)
class Form:
    title: str
    subtitle: str
    fields: tuple[tuple[str, str], ...]
    footer: str
    lang: str  # zh | en
    photos: tuple[PhotoIn, ...] = ()
    sections: tuple[Section, ...] = field(default=())


def font_dirs() -> list[str]:
    dirs = [d for d in FONT_DIRS if d.is_dir()]
    if not any((d / CJK_FONT).exists() for d in dirs):
        raise DocumentError(
            f"no CJK font found ({CJK_FONT} in {', '.join(str(d) for d in FONT_DIRS)}): install Debian's fonts-noto-cjk"
        )
    return [str(d) for d in dirs]


def downscaled(data: bytes) -> bytes | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", PHOTO_PIXELS)  # a JPEG decodes straight at a reduced scale
            img.thumbnail(PHOTO_PIXELS)
            out = io.BytesIO()
            img.convert("RGB").save(out, "JPEG", quality=82)
            return out.getvalue()
    except (OSError, ValueError):
        return None


def render(form: Form, timestamp: dt.datetime) -> bytes:
    """The form's PDF; the same form and `timestamp` give the same bytes."""
    fonts = font_dirs()
    template = resources.files("bot.documents").joinpath("templates/form.typ").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="anzebot-doc-") as tmp:
        root = Path(tmp)
        (root / "form.typ").write_text(template, encoding="utf-8")
        counter = iter(range(1, 10_000))

        def photos(items: tuple[PhotoIn, ...]) -> list[dict[str, str]]:
            out = []
            for p in items:
                small = downscaled(p.data) if p.data is not None else None
                if small is None:
                    continue  # the section's fields say which photos are missing
                name = f"p{next(counter)}.jpg"
                (root / name).write_bytes(small)
                out.append({"file": name, "caption": p.caption, "alt": p.alt})
            return out

        data = {
            "title": form.title,
            "subtitle": form.subtitle,
            "footer": form.footer,
            "lang": form.lang,
            "fields": [list(f) for f in form.fields],
            "photos": photos(form.photos),
            "sections": [
                {"title": s.title, "fields": [list(f) for f in s.fields], "photos": photos(s.photos)}
                for s in form.sections
            ],
        }
        (root / "data.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        try:
            pdf: bytes = typst.compile(
                str(root / "form.typ"),
                root=str(root),
                font_paths=fonts,
                ignore_system_fonts=True,
                pdf_standards=["a-2a"],
                timestamp=int(timestamp.timestamp()),
            )
        except typst.TypstError as exc:
            raise DocumentError(f"the PDF could not be made: {exc}") from None
        return pdf
