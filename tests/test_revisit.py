"""回访: asked three working days after the visit, answered with buttons; "not fixed" reopens a hazard and books
a re-inspection, "disagree" opens an objection; the agency confirms the record; no answer → asked again → the
agency is told to phone, inside the 10-working-day limit."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.domain.levels import Level, Status
from bot.domain.revisit import parse_period, satisfaction_rate, schedule
from bot.domain.workdays import WorkCalendar
from storage import admin, visits
from storage.models import Complaint, Hazard, Objection, Revisit, Visit, VisitExpert, VisitTask
from storage.people import person_info
from storage.services import SqlServices
from tests.harness import Harness, jpeg, texts
from tests.test_clock import report

TZ = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


async def visit_with_two_hazards(h: Harness) -> tuple[str, int, int]:
    """A visit today (2026-11-17) with two hazards filed under it, the first one claimed rectified; closed."""
    leader = await h.login("王建国")
    async with h.app.sessions() as s, s.begin():
        await visits.add_visit(
            s,
            project="XC-P001",
            on=dt.date(2026, 11, 17),
            experts=["王建国", "李机电", "赵电工"],
            leader="王建国",
            now=h.app.now(),
        )
    r = await h.say(leader, "/visit")
    await h.pick(leader, "开始本次服务", r)
    first = await report(h, Level.THREE, dt.date(2026, 11, 20))
    second = await report(h, Level.FOUR, dt.date(2026, 11, 27))
    async with h.app.work() as turn:
        s = turn.s
        svc = SqlServices(turn)
        photo = await h.app.media.store(s, jpeg((10, 200, 10)))
        manager = await person_info(s, await h.person_id("陈经理"))
        await svc.hazards.submit_rectification(manager, first, [photo.sha256], "已加装防护栏杆")
    r = await h.say(leader, "/visit")
    r = await h.pick(leader, "结束本次服务", r)
    await h.say(leader, "检查了临边防护与临时用电")
    async with h.app.readonly() as s:
        assert [hz.visit_id for hz in (await s.execute(select(Hazard).order_by(Hazard.id))).scalars()] == [1, 1]
    return leader, first, second


async def tick(h: Harness) -> None:
    await h.app.jobs.sweep()
    await h.app.dispatcher.drain()


async def test_a_revisit_that_reopens_a_hazard_and_objects_to_another(h: Harness, clock: object) -> None:
    leader, first, second = await visit_with_two_hazards(h)
    manager = await h.login("陈经理")
    insurer = await h.login("周保险")

    clock.move_to(at(2026, 11, 19, 17, 0))  # type: ignore[attr-defined]
    await tick(h)
    assert not [m for m in h.inbox(manager) if "服务回访" in m.text]  # not before the third working day
    clock.move_to(at(2026, 11, 20, 8, 30))  # type: ignore[attr-defined]
    await tick(h)
    await tick(h)  # a second sweep asks nothing twice
    invitations = [m for m in h.inbox(manager) if "服务回访" in m.text]
    assert len(invitations) == 1 and "皖南安全技术服务有限公司" in invitations[0].text

    r = await h.pick(manager, "参与回访", invitations)
    assert "服务态度" in texts(r)
    r = await h.pick(manager, "好", r)
    r = await h.pick(manager, "中", r)
    r = await h.pick(manager, "已完成", r)
    r = await h.pick(manager, "非常满意", r)
    assert "是否已整改" in texts(r)
    r = await h.pick(manager, "未整改", r)  # the first hazard, claimed rectified: not true
    r = await h.pick(manager, "有异议", r)  # the second
    r = await h.say(manager, "希望下次提前一天通知")
    record = texts(r)
    for field in (
        "保单号：AZX-2026-0001",
        "投保单位：宣城建工集团有限公司",
        "服务机构：皖南安全技术服务有限公司",
        "现场检查",
        "2026-11-17",
    ):
        assert field in record, field
    r = await h.pick(manager, "提交", r)
    assert "感谢您的回答" in texts(r) and "已重新打开" in texts(r)

    async with h.app.readonly() as s:
        hz = {x.id: x for x in (await s.execute(select(Hazard))).scalars()}
        assert hz[first].status == Status.RECTIFYING.value  # reopened from "awaiting re-inspection"
        booked = (await s.execute(select(Visit).where(Visit.id != 1))).scalar_one()
        assert booked.scheduled_on == dt.date(2026, 11, 25) and booked.leader_id == await h.person_id("王建国")
        # 002 §10, §12: the re-inspection has the group that found the hazards (before: no experts at all).
        group = (await s.execute(select(VisitExpert.person_id).where(VisitExpert.visit_id == booked.id))).scalars()
        names = {await h.person_id(n): n for n in ("王建国", "李机电", "赵电工")}
        assert sorted(names[p] for p in group) == sorted(names.values())
        objection = (await s.execute(select(Objection))).scalar_one()
        assert objection.hazard_id == second and objection.status == "open"
        rv = (await s.execute(select(Revisit))).scalar_one()
        assert rv.status == "answered" and rv.answers is not None and rv.answers["suggestion"] == "希望下次提前一天通知"

    to_confirm = [m for m in h.inbox(leader) if "回访记录待确认" in m.text]
    assert to_confirm and any("重新打开" in m.text for m in h.inbox(leader))
    r = await h.press(manager, "rsvok:1")  # the insured cannot sign the agency's side
    assert "没有此操作权限" in texts(r)
    r = await h.pick(leader, "确认记录", to_confirm)
    assert "双方确认" in texts(r)
    r = await h.pick(leader, "确认记录", to_confirm)
    assert "已处理" in texts(r)  # confirmed once only
    async with h.app.readonly() as s:
        task = (await s.execute(select(VisitTask).where(VisitTask.milestone == "revisit"))).scalar_one()
        assert task.done_at is not None
        assert (await s.execute(select(Revisit.status))).scalar_one() == "confirmed"

    r = await h.say(insurer, "/satisfaction 2026")
    assert "专家 王建国：1 份回答，满意 100%" in texts(r) and "皖南安全技术服务有限公司" in texts(r)
    r = await h.say(insurer, "/satisfaction 2026Q4")
    assert "2026Q4" in texts(r) and "满意 100%" in texts(r)
    r = await h.say(insurer, "/satisfaction 2026Q3")
    assert "2026Q3 年还没有回访答卷" not in texts(r) and "2026Q3" in texts(r) and "满意" not in texts(r)
    r = await h.say(insurer, "/satisfaction 去年")
    assert "2026Q4" in texts(r)  # the example of a valid period
    r = await h.say(manager, "/satisfaction")
    assert "没有此操作权限" in texts(r)


async def test_no_answer_is_asked_again_then_phoned_inside_the_limit(h: Harness, clock: object) -> None:
    leader, _, _ = await visit_with_two_hazards(h)
    manager = await h.login("陈经理")
    for day, expected in ((20, "服务回访"), (24, "提醒：服务回访")):
        clock.move_to(at(2026, 11, day, 8, 30))  # type: ignore[attr-defined]
        await tick(h)
        assert [m for m in h.inbox(manager) if expected in m.text], day
    before = len(h.inbox(leader))
    clock.move_to(at(2026, 11, 26, 8, 30))  # type: ignore[attr-defined]
    await tick(h)
    phone = texts(h.inbox(leader)[before:])
    assert "电话回访" in phone and "2026-12-01" in phone  # the 10th working day after 11-17
    async with h.app.readonly() as s:
        assert (await s.execute(select(Revisit.status))).scalar_one() == "phone"
    clock.move_to(at(2026, 11, 30, 8, 30))  # type: ignore[attr-defined]
    before = len(h.inbox(leader)) + len(h.inbox(manager))
    await tick(h)
    assert len(h.inbox(leader)) + len(h.inbox(manager)) == before  # nothing more is sent


def test_periods() -> None:
    today = dt.date(2026, 11, 17)
    assert parse_period(None, today) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31), "2026")
    assert parse_period("2026q4", today) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31), "2026Q4")
    assert parse_period("2026-Q1", today) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31), "2026Q1")
    assert parse_period("2026Q5", today) is None and parse_period("上个月", today) is None


def test_schedule_stays_inside_the_limit() -> None:
    cal = WorkCalendar()
    plan = schedule(dt.date(2026, 9, 29), cal)  # the National Day holiday follows
    assert plan.ask_on == dt.date(2026, 10, 9) and plan.limit_on == dt.date(2026, 10, 19)  # as /visit says
    assert plan.reask_on <= plan.phone_on <= plan.limit_on
    late = schedule(dt.date(2026, 11, 17), cal, ask_after=30)
    assert late.ask_on == late.reask_on == late.phone_on == late.limit_on
    assert satisfaction_rate(["very", "satisfied", "neutral", "dissatisfied"]) == 0.5
    assert satisfaction_rate([]) is None


async def test_003_6_3_an_objection_at_the_revisit_is_answered_on_the_complaints_clock(
    h: Harness, clock: object
) -> None:
    async with h.app.sessions() as s, s.begin():
        await admin.grant(s, person=str(await h.person_id("Emma Clark")), project="XC-P001", role="agency_admin")
    agency = await h.login("Emma Clark")
    _, _, second = await visit_with_two_hazards(h)
    manager = await h.login("陈经理")
    clock.move_to(at(2026, 11, 20, 8, 30))  # type: ignore[attr-defined]
    await tick(h)
    r = await h.pick(manager, "参与回访", [m for m in h.inbox(manager) if "服务回访" in m.text])
    for label in ("好", "好", "已完成", "基本满意", "已整改", "有异议"):
        r = await h.pick(manager, label, r)
    r = await h.say(manager, "无")
    r = await h.pick(manager, "提交", r)
    await h.app.dispatcher.drain()
    # Before: only recorded. Now numbered and acknowledged, with the complaint's 10 working days.
    told = texts(h.inbox(manager))
    assert "您对隐患 XC-2026-000002 的异议已登记为 TS-2026-0001，服务机构将在 2026-12-04 前答复" in told
    card = [m for m in h.inbox(agency) if "Objection TS-2026-0001 to hazard XC-2026-000002" in m.text]
    assert card and "Answer by：2026-12-04" in card[-1].text
    clock.move_to(at(2026, 12, 3, 8, 30))  # type: ignore[attr-defined]
    await tick(h)
    await h.app.jobs.digest()
    await h.app.dispatcher.drain()
    assert "must be answered by 2026-12-04" in texts(h.inbox(agency))  # reminded as a complaint is
    r = await h.press(agency, "cpa:1")  # the card's Answer button, days later
    r = await h.say(agency, "对隐患判定的异议")
    r = await h.say(agency, "复核现场照片，配电箱确未接地，判定依据 JGJ 46")
    r = await h.say(agency, "维持判定，已向项目说明依据")
    assert "sent to the complainant" in texts(r)
    answer = [m for m in h.inbox(manager) if "对您的投诉 TS-2026-0001 的答复" in m.text]
    r = await h.pick(manager, "接受", answer)
    async with h.app.readonly() as s:
        objection = (await s.execute(select(Objection))).scalar_one()
        complaint = (await s.execute(select(Complaint))).scalar_one()
        assert objection.hazard_id == second and objection.complaint_id == complaint.id
        assert complaint.hazard_id == second and complaint.about == "decision"
        assert objection.status == "accepted" == complaint.status
