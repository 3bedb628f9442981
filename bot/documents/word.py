"""The same forms as .docx (docxtpl): the shipped template `templates/form.docx` (built by
scripts/make-docx-template.py, its East Asian font set in the styles), or a deployment's own of the same name in
ANZEBOT_TEMPLATES_DIR. Always rendered with autoescape: `<` or `&` in user text would otherwise break the file."""

from __future__ import annotations

import io
import os
from importlib import resources
from pathlib import Path
from typing import Any

from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage

from bot.documents.pdf import Form, PhotoIn, downscaled


def template_path() -> Path | None:
    """A deployment's own template, when ANZEBOT_TEMPLATES_DIR names a folder holding form.docx."""
    folder = os.environ.get("ANZEBOT_TEMPLATES_DIR")
    if folder and (Path(folder) / "form.docx").is_file():
        return Path(folder) / "form.docx"
    return None


def render(form: Form) -> bytes:
    own = template_path()
    source = own.read_bytes() if own else resources.files("bot.documents").joinpath("templates/form.docx").read_bytes()
    doc = DocxTemplate(io.BytesIO(source))

    def photos(items: tuple[PhotoIn, ...]) -> list[dict[str, Any]]:
        out = []
        for p in items:
            small = downscaled(p.data) if p.data is not None else None
            if small is not None:
                out.append({"image": InlineImage(doc, io.BytesIO(small), width=Mm(80)), "caption": p.caption})
        return out

    context = {
        "title": form.title,
        "subtitle": form.subtitle,
        "footer": form.footer,
        "fields": [list(f) for f in form.fields],
        "photos": photos(form.photos),
        "sections": [
            {"title": s.title, "fields": [list(f) for f in s.fields], "photos": photos(s.photos)} for s in form.sections
        ],
    }
    doc.render(context, autoescape=True)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
