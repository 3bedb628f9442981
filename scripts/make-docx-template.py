"""Builds bot/documents/templates/form.docx, the .docx twin of form.typ (run again after changing it; a deployment
may replace the file through ANZEBOT_TEMPLATES_DIR). The East Asian font is set in the styles: python-docx cannot
set it per run (w:eastAsia), and Word would otherwise fall back to a font without Chinese."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

FONT = "Noto Sans CJK SC"
OUT = Path(__file__).resolve().parent.parent / "bot" / "documents" / "templates" / "form.docx"


def east_asian(style: object) -> None:
    rpr = style.element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)


def table(doc: Document, loop: str) -> None:
    t = doc.add_table(rows=3, cols=2)
    t.style = "Table Grid"
    t.cell(0, 0).text = f"{{%tr for f in {loop} %}}"
    t.cell(1, 0).text = "{{ f[0] }}"
    t.cell(1, 1).text = "{{ f[1] }}"
    t.cell(2, 0).text = "{%tr endfor %}"
    for row in t.rows:
        row.cells[0].width, row.cells[1].width = Mm(45), Mm(130)


def main() -> None:
    doc = Document()
    for section in doc.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = section.top_margin = Mm(16)
        section.footer.paragraphs[0].text = "{{ footer }}"
    for name in ("Normal", "Title", "Heading 2", "Table Grid"):
        east_asian(doc.styles[name])
    doc.styles["Normal"].font.size = Pt(10)
    title = doc.add_paragraph("{{ title }}", style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub = doc.add_paragraph("{{ subtitle }}")
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    table(doc, "fields")
    doc.add_paragraph("{%p for p in photos %}")
    doc.add_paragraph("{{ p.image }}")
    doc.add_paragraph("{{ p.caption }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p for s in sections %}")
    doc.add_paragraph("{{ s.title }}", style="Heading 2")
    table(doc, "s.fields")
    doc.add_paragraph("{%p for p in s.photos %}")
    doc.add_paragraph("{{ p.image }}")
    doc.add_paragraph("{{ p.caption }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endfor %}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc.save(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
