"""The hazard ledger (隐患排查台账, 000 §14(二)2) from the CLI, opened with openpyxl and compared with the database:
every hazard of the scope and period and none outside, closed ones with their re-inspection, the status changes on
the second sheet, thumbnails, hostile user text kept as text, English headers, an empty ledger, clear errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from bot.cli import main
from bot.domain.levels import Level
from bot.ports import HazardDraft
from storage.models import Rectification
from storage.people import person_info
from storage.services import SqlServices
from tests.harness import Harness, jpeg, texts

TZ = dt.timezone(dt.timedelta(hours=8))
HOSTILE = '<b>配电箱 & "临时" 线路</b> =SUM(A1) 🙂'


async def report(h: Harness, project: str, description: str, location: str, level: Level) -> int:
    async with h.app.work() as turn:
        s = turn.s
        photo = await h.app.media.store(s, jpeg((10, 120, 200), (320, 240)))
        svc = SqlServices(turn)
        me = await person_info(s, await h.person_id("王建国"))
        target = next(p for p in await svc.people.projects(me) if p.code == project)
        hazard = await svc.hazards.report(
            me,
            HazardDraft(
                project_id=target.id,
                group_id="electric",
                description=description,
                location=location,
                suggestion="更换合格配电箱 & 重新接地",
                deadline=turn.calendar.add_working_days(turn.today, 3),
                level=level,
                photos=[photo.sha256],
            ),
        )
    await h.app.dispatcher.drain()
    return hazard.id


async def rectify_and_close(h: Harness, hazard_id: int) -> None:
    async with h.app.work() as turn:
        s = turn.s
        svc = SqlServices(turn)
        photo = await h.app.media.store(s, jpeg((20, 200, 20), (320, 240)))
        manager = await person_info(s, await h.person_id("陈经理"))
        await svc.hazards.receive(manager, hazard_id)
        await svc.hazards.submit_rectification(manager, hazard_id, [photo.sha256], "已更换")
    async with h.app.readonly() as s:
        rect_id = (await s.execute(select(Rectification.id).order_by(Rectification.id))).scalars().all()[-1]
    async with h.app.work() as turn:
        expert = await person_info(turn.s, await h.person_id("王建国"))
        await SqlServices(turn).hazards.review(expert, rect_id, True, None)


async def cli(
    args: list[str], h: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> tuple[int, str]:
    """The operator's command, in its own thread (it runs its own event loop) against the harness's database."""
    monkeypatch.setenv("ANZEBOT_DATABASE_URL", str(h.app.engine.url.render_as_string(hide_password=False)))
    monkeypatch.setenv("ANZEBOT_MEDIA_DIR", str(h.app.settings.media_dir))
    monkeypatch.chdir(tmp_path)
    code = await asyncio.to_thread(main, args)
    out, err = capsys.readouterr()
    return code, out + err


def rows(path: Path | bytes, sheet: int = 0) -> list[list[Any]]:
    book = openpyxl.load_workbook(io.BytesIO(path) if isinstance(path, bytes) else path)
    return [list(r) for r in book.worksheets[sheet].iter_rows(values_only=True)]


async def test_000_14_2_2_the_ledger_of_a_region_holds_every_hazard_of_the_period(
    rich: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, clock: Any
) -> None:
    h = rich
    clock.move_to(dt.datetime(2026, 10, 30, 10, 0, tzinfo=TZ))
    await report(h, "XC-P001", "上月的隐患", "2#楼", Level.FOUR)  # before the period
    clock.move_to(dt.datetime(2026, 11, 17, 9, 30, tzinfo=TZ))
    first = await report(h, "XC-P001", HOSTILE, "1#楼5层", Level.TWO)
    await report(h, "XC-P002", "基坑临边无防护", "基坑东侧", Level.THREE)
    clock.move_to(dt.datetime(2026, 11, 18, 9, 0, tzinfo=TZ))
    await rectify_and_close(h, first)
    clock.move_to(dt.datetime(2026, 11, 30, 9, 0, tzinfo=TZ))

    out = tmp_path / "ledger.xlsx"
    args = ["report", "ledger", "--region", "安徽省宣城市", "--from", "2026-11-01", "--to", "2026-11-30"]
    code, printed = await cli([*args, "--out", str(out)], h, tmp_path, monkeypatch, capsys)
    assert code == 0 and "2 hazards" in printed
    table = rows(out)
    assert table[0][:4] == ["序号", "编号", "项目", "发现日期"] and table[0][-2:] == ["整改前照片", "整改后照片"]
    body = {r[1]: r for r in table[1:]}
    assert set(body) == {"XC-2026-000002", "XC-2026-000003"}  # the October one is outside the period
    closed = body["XC-2026-000002"]
    assert closed[7] == HOSTILE  # kept as text: no markup, no formula, the emoji intact
    assert closed[5] == "1#楼5层" and closed[11] == "更换合格配电箱 & 重新接地"
    assert closed[14].startswith("陈经理 2026-11-18") and closed[16] == "2026-11-18" and closed[17] == "王建国"
    assert closed[18] == "通过" and closed[19] == "已关闭" and closed[21] == "是"
    late = body["XC-2026-000003"]
    assert late[14] == "未签收" and late[19] == "整改中" and late[20] == 6  # due Friday 11-20: 11-23…27 and 11-30
    assert closed[22].startswith("1: ") and closed[23].startswith("1: ")
    book = openpyxl.load_workbook(out)
    assert len(book.worksheets[0]._images) == 3  # before ×2, after ×1: floating thumbnails
    changes = rows(out, 1)
    assert [r[3] for r in changes[1:] if r[0] == "XC-2026-000002"] == [
        "上报",
        "签收整改通知单",
        "提交整改",
        "复查通过，已关闭",
    ]
    about = dict((r[0], r[1]) for r in rows(out, 2))
    assert about["隐患数"] == "2" and len(about["各行的 SHA-256"]) == 64

    code, _ = await cli([*args, "--out", str(tmp_path / "en.xlsx"), "--locale", "en"], h, tmp_path, monkeypatch, capsys)
    assert code == 0 and rows(tmp_path / "en.xlsx")[0][:3] == ["No.", "Number", "Project"]
    assert rows(tmp_path / "en.xlsx")[1][19] in ("Closed", "Rectifying")

    code, printed = await cli(
        ["report", "ledger", "--project", "XC-P002", "--from", "2026-01-01", "--to", "2026-01-31", "--out", str(out)],
        h,
        tmp_path,
        monkeypatch,
        capsys,
    )
    assert code == 0 and "0 hazards" in printed
    assert rows(out)[1][0] == "此范围和期间内没有隐患。"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "NOPE", "--from", "2026-01-01", "--to", "2026-12-31"], "NOPE"),
        (["--insurer", "宣城建工集团有限公司", "--from", "2026-01-01", "--to", "2026-12-31"], "is not an insurer"),
        (["--project", "XC-P001", "--from", "2026-12-31", "--to", "2026-01-01"], "ends before it starts"),
    ],
)
async def test_ledger_errors_are_one_line(
    rich: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, args: list[str], message: str
) -> None:
    code, printed = await cli(
        ["report", "ledger", *args, "--out", str(tmp_path / "x.xlsx")], rich, tmp_path, monkeypatch, capsys
    )
    assert code == 1 and message in printed.strip().splitlines()[-1]
    code, printed = await cli(
        ["report", "ledger", "--project", "XC-P001", "--from", "2026-01-01", "--to", "2026-12-31", "--out", "x.csv"],
        rich,
        tmp_path,
        monkeypatch,
        capsys,
    )
    assert code == 1 and ".xlsx" in printed


async def test_export_in_chat_sends_the_ledger_of_my_projects_only(h: Harness, clock: Any) -> None:
    await report(h, "XC-P001", "配电箱未接地", "生活区", Level.TWO)
    await report(h, "XC-P002", "基坑临边无防护", "基坑东侧", Level.THREE)  # 陈经理 is not in XC-P002
    manager = await h.login("陈经理")
    r = await h.say(manager, "/export")
    r = await h.pick(manager, "我的全部项目", r)
    r = await h.pick(manager, "本月", r)
    assert "隐患排查台账（.xlsx）" in texts(r)
    r = await h.pick(manager, "生成", r)
    sent = [m for m in r if m.message.document]
    assert len(sent) == 1 and "共 1 条隐患" in sent[0].text
    document = sent[0].message.document
    assert document is not None and document[1] == "ledger-2026-11-01-2026-11-17.xlsx"
    table = rows(h.app.media.read(document[0]))
    assert [r[1] for r in table[1:]] == ["XC-2026-000001"] and table[1][2] == "锦城花园二期 3#–6# 楼"
