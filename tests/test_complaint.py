"""投诉: filed with a photo, numbered and acknowledged; extended once with a reason the complainant reads; reminded
and escalated to the insurer when late; answered in three parts; referred to the authority."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.domain.complaints import due_on, extended
from bot.domain.workdays import WorkCalendar
from bot.render import RICH, TEXT_ONLY, Capabilities
from storage import admin
from storage.models import AuditEvent, Complaint
from tests.conftest import make_harness
from tests.harness import Harness, texts

TZ = ZoneInfo("Asia/Shanghai")
TEXT = "王建国专家现场态度粗暴，且把合格的临边防护判为隐患，请核实。"


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


async def test_a_complaint_extended_escalated_answered_and_referred(h: Harness, clock: object) -> None:
    async with h.app.sessions() as s, s.begin():
        emma = await h.person_id("Emma Clark")
        await admin.grant(s, person=str(emma), project="XC-P001", role="agency_admin")
    manager, agency = await h.login("陈经理"), await h.login("Emma Clark")
    insurer, authority = await h.login("周保险"), await h.login("吴监管")
    agency_id = emma

    r = await h.say(manager, "/complaint")
    r = await h.pick(manager, "专家", r)
    assert "可以附照片" in texts(r)
    r = await h.photo(manager)
    r = await h.say(manager, TEXT)
    assert "1 张照片" in texts(r)
    r = await h.pick(manager, "提交投诉", r)
    assert "投诉 TS-2026-0001 已受理，服务机构须在 2026-12-01 前答复" in texts(r)

    card = [m for m in h.inbox(agency) if "Complaint TS-2026-0001" in m.text]
    assert card and TEXT in card[-1].text and "Answer by：2026-12-01" in card[-1].text
    assert any(m.message.photo for m in h.inbox(agency))
    r = await h.pick(agency, "Ask for more time", card)
    r = await h.pick(agency, "15 days", r)  # calendar days (003 §6.4.2: 不得超过30日)
    r = await h.say(agency, "需要调取监理日志核实")
    assert "Extended to 2026-12-16" in texts(r)  # the agency's manager is the complaint officer: it stands
    told = texts(h.inbox(manager))
    assert "延长至 2026-12-16" in told and "需要调取监理日志核实" in told
    r = await h.press(agency, "cpx:1")  # the card's button again
    assert "cannot be asked again" in texts(r)

    clock.move_to(at(2026, 12, 15, 8, 30))  # type: ignore[attr-defined]
    await h.app.jobs.sweep()
    await h.app.dispatcher.drain()
    assert "must be answered by 2026-12-16" in texts(h.inbox(agency))
    assert "TS-2026-0001" not in texts(h.inbox(insurer))
    clock.move_to(at(2026, 12, 17, 8, 30))  # type: ignore[attr-defined]
    await h.app.jobs.sweep()
    await h.app.jobs.sweep()
    await h.app.dispatcher.drain()
    late = [m for m in h.inbox(insurer) if "TS-2026-0001" in m.text]
    assert len(late) == 1 and "逾期" in late[0].text

    r = await h.press(agency, "cpa:1")  # the card's 答复 button, days later
    assert "Part 1 of 3" in texts(r)
    r = await h.say(agency, "核实专家态度与隐患判定")
    r = await h.say(agency, "经查监理日志和现场照片，东侧临边防护高度 1.0 米，低于 JGJ 80 要求的 1.2 米，判定无误")
    r = await h.say(agency, "已与专家谈话提醒注意沟通方式；隐患判定维持")
    assert "sent to the complainant" in texts(r)

    answer = [m for m in h.inbox(manager) if "对您的投诉 TS-2026-0001 的答复" in m.text]
    assert answer and "JGJ 80" in answer[-1].text and "已与专家谈话" in answer[-1].text
    r = await h.pick(manager, "提交主管部门", answer)
    assert "已提交主管部门" in texts(r)
    referred = [m for m in h.inbox(authority) if "TS-2026-0001" in m.text]
    assert referred and "JGJ 80" in referred[-1].text
    r = await h.press(manager, "cpok:1")
    assert "已处理过" in texts(r)  # closed once

    async with h.app.readonly() as s:
        c = (await s.execute(select(Complaint))).scalar_one()
        assert c.status == "referred" and c.extended and c.due_on == dt.date(2026, 12, 16)
        assert c.extension_state == "agreed" and c.extension_by == agency_id
        actions = [
            e.action
            for e in (await s.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars()
            if e.object_type == "complaint"
        ]
        assert actions == [
            "complaint.filed",
            "complaint.extended",
            "complaint.reminded",
            "complaint.reminded",
            "complaint.answered",
            "complaint.referred",
        ]


async def test_only_the_agency_answers_and_needs_checking_gives_30_days(h: Harness) -> None:
    async with h.app.sessions() as s, s.begin():
        await admin.grant(s, person=str(await h.person_id("Emma Clark")), project="XC-P001", role="agency_admin")
    manager, agency, expert = await h.login("陈经理"), await h.login("Emma Clark"), await h.login("王建国")
    r = await h.say(manager, "/complaint")
    r = await h.pick(manager, "服务", r)
    r = await h.say(manager, "服务报告迟迟未交")
    r = await h.pick(manager, "提交投诉", r)
    r = await h.press(expert, "cpa:1")
    assert "没有此操作权限" in texts(r)
    r = await h.press(manager, "cpok:1")
    assert "当前状态：待处理" in texts(r)  # not answered yet: nothing to accept
    card = [m for m in h.inbox(agency) if "Complaint TS-2026-0001" in m.text]
    r = await h.pick(agency, "Needs checking", card)
    assert "answer by 2026-12-29" in texts(r)
    assert "2026-12-29" in texts(h.inbox(manager))


def test_deadlines() -> None:
    cal = WorkCalendar()
    assert due_on(dt.date(2026, 11, 17), cal) == dt.date(2026, 12, 1)
    assert due_on(dt.date(2026, 11, 17), cal, needs_check=True) == dt.date(2026, 12, 29)


def test_003_6_4_2_and_004_6_4_an_extension_is_at_most_30_calendar_days() -> None:
    # Before: 30 *working* days, 42 calendar days in a run (2026-12-01 + 30 working days = 2027-01-12).
    assert extended(dt.date(2026, 12, 1), 30) == dt.date(2026, 12, 31)
    assert extended(dt.date(2026, 12, 1), 10) == dt.date(2026, 12, 11)
    for bad in (0, 31):
        with pytest.raises(ValueError):
            extended(dt.date(2026, 12, 1), bad)


COMPLAINANT_AGREES = '[complaints]\nextension_approver = "complainant"\n'


async def ask_for_more_time(h: Harness, days: str, reason: str) -> tuple[str, str, list[Any]]:
    """陈经理 files a complaint; Emma Clark, XC-P001's agency manager, asks him for `days` more with `reason`."""
    async with h.app.sessions() as s, s.begin():
        await admin.grant(s, person=str(await h.person_id("Emma Clark")), project="XC-P001", role="agency_admin")
    manager, agency = await h.login("陈经理"), await h.login("Emma Clark")
    r = await h.say(manager, "/complaint")
    r = await h.pick(manager, "服务", r)
    r = await h.say(manager, "服务报告迟迟未交")
    r = await h.pick(manager, "提交投诉", r)
    card = [m for m in h.inbox(agency) if "Complaint TS-2026-0001" in m.text]
    r = await h.pick(agency, "Ask for more time", card)
    r = await h.pick(agency, days, r)
    return manager, agency, await h.say(agency, reason)


@pytest.mark.parametrize("caps", [RICH, TEXT_ONLY], ids=["rich", "text"])
async def test_004_6_4_an_extension_stands_only_once_the_complainant_agrees(
    db_url: str, tmp_path: Path, clock: object, caps: Capabilities
) -> None:
    h = await make_harness(db_url, tmp_path, caps, rules=COMPLAINANT_AGREES)
    try:
        manager, agency, r = await ask_for_more_time(h, "30 days", "需要调取监理日志核实")
        assert "the complainant decides" in texts(r)
        async with h.app.readonly() as s:
            c = (await s.execute(select(Complaint))).scalar_one()
            assert c.due_on == dt.date(2026, 12, 1) and not c.extended and c.extension_state == "asked"
        ask = [m for m in h.inbox(manager) if "TS-2026-0001" in m.text and "需要调取监理日志核实" in m.text]
        assert ask and "2026-12-31" in ask[-1].text
        r = await h.pick(manager, "不同意", ask)
        assert "2026-12-01" in texts(r)
        assert "did not agree" in texts(h.inbox(agency))
        r = await h.pick(manager, "同意", ask)  # the same card again: answered once
        async with h.app.readonly() as s:
            c = (await s.execute(select(Complaint))).scalar_one()
            assert c.due_on == dt.date(2026, 12, 1) and not c.extended and c.extension_state == "declined"
        r = await h.press(agency, "cpx:1")
        assert "cannot be asked again" in texts(r)
    finally:
        await h.app.engine.dispose()


@pytest.mark.parametrize("caps", [RICH, TEXT_ONLY], ids=["rich", "text"])
async def test_004_6_4_the_complainant_agreeing_moves_the_due_date(
    db_url: str, tmp_path: Path, clock: object, caps: Capabilities
) -> None:
    h = await make_harness(db_url, tmp_path, caps, rules=COMPLAINANT_AGREES)
    try:
        manager, agency, r = await ask_for_more_time(h, "7 days", "专家出差")
        ask = [m for m in h.inbox(manager) if "专家出差" in m.text]
        r = await h.pick(manager, "同意", ask)
        assert "2026-12-08" in texts(r)
        assert "now due 2026-12-08" in texts(h.inbox(agency))
        async with h.app.readonly() as s:
            c = (await s.execute(select(Complaint))).scalar_one()
            assert c.due_on == dt.date(2026, 12, 8) and c.extended and c.extension_by == await h.person_id("陈经理")
    finally:
        await h.app.engine.dispose()
