"""The rectification notice (风险隐患整改提示单) and the re-inspection record (复查记录单) as PDF, read back with pypdf
and compared with the database: Chinese text as text (the CJK font embedded), hostile user text printed as written,
the chat confirmations printed where the forms are signed, "未签字" where nobody confirmed."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path
from typing import Any

import docx
import docx.oxml.ns
import pytest
from pypdf import PdfReader

from bot.cli import main
from bot.documents import pdf, word
from bot.documents.pdf import DocumentError, Form
from bot.domain.levels import Level
from tests.harness import Harness
from tests.test_ledger import HOSTILE, rectify_and_close, report

TZ = dt.timezone(dt.timedelta(hours=8))


async def cli(
    args: list[str], h: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> tuple[int, str]:
    monkeypatch.setenv("ANZEBOT_DATABASE_URL", h.app.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ANZEBOT_MEDIA_DIR", str(h.app.settings.media_dir))
    monkeypatch.chdir(tmp_path)
    code = await asyncio.to_thread(main, args)
    out, err = capsys.readouterr()
    return code, out + err


def text_and_fonts(data: bytes) -> tuple[str, set[str]]:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    fonts = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            fonts.add(str(font.get_object().get("/BaseFont")))
    return text.replace(" ", ""), fonts


async def test_the_notice_prints_the_hazard_and_who_signed_for_it(
    rich: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, clock: Any
) -> None:
    h = rich
    first = await report(h, "XC-P001", HOSTILE, "1#楼5层", Level.TWO)
    await report(h, "XC-P001", "塔吊限位失效", "3#塔吊", Level.THREE)
    code, printed = await cli(
        ["report", "notice", "XC-2026-000002", "--out", "n.pdf"], h, tmp_path, monkeypatch, capsys
    )
    assert code == 0, printed
    text, fonts = text_and_fonts((tmp_path / "n.pdf").read_bytes())
    assert "风险隐患整改提示单" in text and "塔吊限位失效" in text and "3#塔吊" in text
    assert "签收人未签字" in text  # nobody has pressed 签收
    assert any("NotoSansCJK" in f for f in fonts)  # embedded: no boxes anywhere it is opened

    clock.move_to(dt.datetime(2026, 11, 18, 9, 0, tzinfo=TZ))
    await rectify_and_close(h, first)
    code, _ = await cli(["report", "notice", "XC-2026-000001", "--out", "n1.pdf"], h, tmp_path, monkeypatch, capsys)
    text, _ = text_and_fonts((tmp_path / "n1.pdf").read_bytes())
    assert HOSTILE.replace(" ", "") in text  # <, &, quotes, =SUM, the emoji: printed as written
    assert "签收人陈经理" in text and "签收时间2026-11-1809:00" in text and "整改时限2026-11-20（3个工作日）" in text

    code, _ = await cli(["report", "recheck", "XC-2026-000001", "--out", "r.pdf"], h, tmp_path, monkeypatch, capsys)
    text, _ = text_and_fonts((tmp_path / "r.pdf").read_bytes())
    assert "隐患复查记录单" in text and "第1次整改复查" in text and "复查结论通过" in text and "复查人王建国" in text
    assert "整改后照片1" in text and "整改前照片1" in text
    code, _ = await cli(["report", "recheck", "XC-2026-000002", "--out", "r2.pdf"], h, tmp_path, monkeypatch, capsys)
    text, _ = text_and_fonts((tmp_path / "r2.pdf").read_bytes())
    assert "尚未提交整改" in text

    code, _ = await cli(
        ["report", "notice", "XC-2026-000001", "--out", "en.pdf", "--locale", "en"], h, tmp_path, monkeypatch, capsys
    )
    text, _ = text_and_fonts((tmp_path / "en.pdf").read_bytes())
    assert "Hazardrectificationnotice" in text and "Signedforby陈经理" in text

    code, printed = await cli(
        ["report", "notice", "XC-2026-999999", "--out", "x.pdf"], h, tmp_path, monkeypatch, capsys
    )
    assert code == 1 and "no hazard" in printed.strip().splitlines()[-1]
    code, printed = await cli(
        ["report", "notice", "XC-2026-000001", "--out", "x.odt"], h, tmp_path, monkeypatch, capsys
    )
    assert code == 1 and ".pdf or .docx" in printed

    # The same forms as .docx, read back with python-docx: the text as written, the photos inline.
    code, _ = await cli(["report", "recheck", "XC-2026-000001", "--out", "r.docx"], h, tmp_path, monkeypatch, capsys)
    assert code == 0
    word = docx.Document(str(tmp_path / "r.docx"))
    cells = [c.text for t in word.tables for row in t.rows for c in row.cells]
    assert HOSTILE in cells and "复查结论" in cells and "通过" in cells and "王建国" in cells
    assert word.paragraphs[0].text == "隐患复查记录单"
    assert len(word.inline_shapes) == 2  # the before photo and the after photo
    east_asian = word.styles["Normal"].element.rPr.rFonts.get(docx.oxml.ns.qn("w:eastAsia"))
    assert east_asian == "Noto Sans CJK SC"


def test_the_same_facts_print_the_same_bytes() -> None:
    form = Form("标题", "", (("项目", "1#楼"),), "footer", "zh")
    at = dt.datetime(2026, 11, 17, 9, 0, tzinfo=TZ)
    assert pdf.render(form, at) == pdf.render(form, at)


def test_no_cjk_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pdf, "FONT_DIRS", (tmp_path,))
    with pytest.raises(DocumentError, match="install Debian's fonts-noto-cjk"):
        pdf.render(Form("标题", "", (), "", "zh"), dt.datetime(2026, 11, 17, tzinfo=TZ))


async def test_the_forms_come_to_the_chat_from_the_hazard_card(h: Harness, clock: Any) -> None:
    first = await report(h, "XC-P001", "临边无防护", "1#楼5层", Level.TWO)
    other = await report(h, "XC-P002", "基坑临边无防护", "基坑东侧", Level.THREE)
    manager = await h.login("陈经理")
    r = await h.say(manager, "/hazard XC-2026-000001")
    labels = [label for m in r for _, label in m.message.offers]
    assert "整改通知单（PDF）" in labels and "复查记录单（PDF）" not in labels  # nothing re-inspected yet
    r = await h.pick(manager, "整改通知单（PDF）", r)
    [sent] = [m for m in r if m.message.document]
    document = sent.message.document
    assert document is not None and document[1] == "XC-2026-000001-notice.pdf"
    text, _ = text_and_fonts(h.app.media.read(document[0]))
    assert "风险隐患整改提示单" in text and "临边无防护" in text
    r = await h.press(manager, f"pdf:{other}:notice")  # another project's hazard: as if it did not exist
    assert not [m for m in r if m.message.document] and "未找到" in "".join(m.text for m in r)
    await rectify_and_close(h, first)
    await h.app.dispatcher.drain()  # the approval's notices first: the card below is then the latest message
    r = await h.say(manager, "/hazard XC-2026-000001")
    r = await h.pick(manager, "复查记录单（PDF）", r)
    [sent] = [m for m in r if m.message.document]
    assert sent.message.document is not None
    text, _ = text_and_fonts(h.app.media.read(sent.message.document[0]))
    assert "隐患复查记录单" in text and "复查结论通过" in text


def test_a_deployment_replaces_the_docx_template(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    own = docx.Document()
    own.add_paragraph("{{ title }}（本地模板）")
    own.save(str(tmp_path / "form.docx"))
    form = Form("整改通知单 <b>&", "", (("项目", "1#楼"),), "footer", "zh")
    assert docx.Document(io.BytesIO(word.render(form))).paragraphs[0].text == "整改通知单 <b>&"
    monkeypatch.setenv("ANZEBOT_TEMPLATES_DIR", str(tmp_path))
    assert docx.Document(io.BytesIO(word.render(form))).paragraphs[0].text == "整改通知单 <b>&（本地模板）"
