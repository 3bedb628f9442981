"""Service plans and visits: the insurer confirms the plan, /plan shows what is owed, a visit closed just before
National Day owes its material, report, revisit and archive on the right working days, and the clock says so."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from pypdf import PdfReader
from sqlalchemy import select

from bot.render import RICH
from storage import admin, agreements, plans, training, visits
from storage.admin import AdminError
from storage.models import Hazard, Reminder, ServicePlan, VisitTask
from tests.conftest import make_harness
from tests.harness import texts

TZ = ZoneInfo("Asia/Shanghai")


CONTENT = {
    "overview": "锦城花园二期 3#–6# 楼，框剪结构，18 层，深基坑与塔吊作业",
    "measures": "按 JGJ 59 每季度全覆盖排查；危大工程专项检查（依据建质规〔2024〕5号）",
    "frequency": "每季度 1 次全覆盖排查，每半年 1 次专项排查",
    "goals": "重大事故隐患动态清零，一般隐患按期整改率 95% 以上",
    "guarantees": "预防费用专款专用；专家组长常驻联系；资料 20 个工作日内归档",
}


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


async def test_plan_is_validated_then_confirmed_by_the_insurer_only(db_url: str, tmp_path: Path) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 30), tick=False):
        h = await make_harness(db_url, tmp_path, RICH)
        insurer, manager = await h.login("周保险"), await h.login("陈经理")
        async with h.app.sessions() as s, s.begin():
            with pytest.raises(AdminError, match="nobody for electrical"):
                await plans.add_plan(
                    s,
                    project="XC-P001",
                    experts=["王建国", "李机电"],
                    leader="王建国",
                    services=["inspection"],
                    content=CONTENT,
                    now=h.app.now(),
                )
        async with h.app.sessions() as s, s.begin():
            with pytest.raises(AdminError, match="lacks goals"):  # 000 §13: every part of the content
                await plans.add_plan(
                    s,
                    project="XC-P001",
                    experts=["王建国", "李机电", "赵电工"],
                    leader="王建国",
                    services=["inspection"],
                    content={k: v for k, v in CONTENT.items() if k != "goals"},
                    now=h.app.now(),
                )
        async with h.app.sessions() as s, s.begin():
            await plans.add_plan(
                s,
                project="XC-P001",
                experts=["王建国", "李机电", "赵电工"],
                leader="王建国",
                services=["inspection", "training"],
                content=CONTENT,
                now=h.app.now(),
            )
        await h.app.dispatcher.drain()
        assert not [m for m in h.inbox(insurer) if "待确认的服务方案" in m.text]  # the insured agrees first
        proposed = [m for m in h.inbox(manager) if "服务方案" in m.text and "同意方案" in str(m.message.offers)]
        assert proposed and "重大事故隐患动态清零" in proposed[-1].text and "按 JGJ 59" in proposed[-1].text
        r = await h.press(insurer, proposed[-1].message.offers[0][0])  # the insurer cannot agree for the insured
        assert "没有此操作权限" in texts(r)
        r = await h.pick(manager, "同意方案", proposed)
        assert "保险机构" in texts(r)
        await h.app.dispatcher.drain()
        card = next(m for m in h.inbox(insurer) if "待确认的服务方案" in m.text)
        assert "陈经理" in card.text and "预防费用专款专用" in card.text
        assert "王建国、李机电、赵电工" in card.text
        r = await h.press(manager, card.message.offers[0][0])
        assert "没有此操作权限" in texts(r)
        r = await h.pick(insurer, "确认方案", [card])
        assert "服务方案已确认" in texts(r)
        await h.app.dispatcher.drain()
        # 000 附件1, 004 附件3: the plan as a document, to both sides.
        for user in (insurer, manager):
            [doc] = [m.message.document for m in h.inbox(user) if m.message.document]
            assert doc is not None and doc[1] == "XC-P001-service-plan.pdf"
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(h.app.media.read(doc[0]))).pages)
        text = text.replace(" ", "")
        assert "事故预防技术服务方案" in text and "重大事故隐患动态清零" in text and "AZX-2026-0001" in text
        assert "投保单位确认人陈经理" in text and "承保机构确认人周保险" in text and "王建国高级工程师" in text
        r = await h.pick(insurer, "确认方案", [card])
        assert "已处理过，当前状态：已确认" in texts(r)
        async with h.app.readonly() as s:
            assert (await s.execute(select(ServicePlan.status))).scalar_one() == "confirmed"

        r = await h.say(manager, "/plan")
        assert "尚未登记服务协议" in texts(r)
        async with h.app.sessions() as s, s.begin():
            await agreements.add_agreement(
                s,
                policy="AZX-2026-0001",
                number="FW-2026-001",
                signed_on=dt.date(2026, 9, 18),
                services=["inspection"],
                fee=None,
                first_service_by=dt.date(2027, 1, 31),  # agreed in writing (004 附件2 二(三))
                contact="陈经理",
                now=h.app.now(),
            )
        r = await h.say(manager, "/plan")
        out = texts(r)
        assert "服务协议 FW-2026-001（2026-09-18 签订）" in out and "起保后首次服务：截止 2027-01-31" in out
        # Demo policy of XC-P001: premium 126,000 (≥100,000: two on-site services, the first within 3 months).
        assert "保险机构已确认" in out and "第 1 次现场服务" in out and "第 2 次现场服务" in out
        assert "保单生效后首次排查" in out and "已逾期" in out  # no inspection yet, 60 days into the policy
        await h.app.engine.dispose()


async def test_a_visit_closed_before_national_day(db_url: str, tmp_path: Path) -> None:
    with time_machine.travel(at(2026, 9, 29, 9, 0), tick=False) as clock:
        h = await make_harness(db_url, tmp_path, RICH)
        leader, expert = await h.login("王建国"), await h.login("赵电工")
        manager = await h.login("陈经理")
        async with h.app.sessions() as s, s.begin():
            await visits.add_visit(
                s,
                project="XC-P001",
                on=dt.date(2026, 9, 30),
                experts=["王建国", "李机电", "赵电工"],
                leader="王建国",
                now=h.app.now(),
            )
        await h.app.dispatcher.drain()
        assert "已安排 2026-09-30" in texts(h.inbox(expert))
        # 000 §13, 002 §12: the insured hears when the experts come.
        assert "服务专家将于 2026-09-30 到 锦城花园二期 3#–6# 楼 开展隐患排查（组长：王建国）" in texts(
            h.inbox(manager)
        )

        r = await h.say(leader, "/visit")
        r = await h.pick(leader, "开始本次服务", r)
        assert "不是安排在今天" in texts(r)

        clock.move_to(at(2026, 9, 30, 9, 0))
        r = await h.say(leader, "/visit")
        r = await h.pick(leader, "开始本次服务", r)
        assert "服务已开始" in texts(r)
        # An expert of the visit reports with a captioned photo: the hazard is filed under the visit.
        r = await h.photo(expert, caption="四级 配电箱门未关 位置：生活区")
        while "请核对上报内容" not in texts(r):
            offers = [label for m in r for _, label in m.message.offers]
            for label in ("锦城花园", "均不符合", "跳过", "使用标准表述", "15 个工作日"):
                if any(label in offer for offer in offers):
                    r = await h.pick(expert, label, r)
                    break
            else:
                raise AssertionError(texts(r))
        await h.pick(expert, "提交", r)
        async with h.app.readonly() as s:
            assert (await s.execute(select(Hazard.visit_id))).scalar_one() == 1

        r = await h.say(leader, "/visit")
        r = await h.pick(leader, "结束本次服务", r)
        r = await h.say(leader, "检查了塔吊与临时用电，发现 1 项四级隐患")
        out = texts(r)
        assert "上传服务资料，截止 2026-10-09" in out and "服务报告，截止 2026-10-13" in out
        assert "回访投保单位，截止 2026-10-20" in out and "记录双方确认并归档，截止 2026-11-03" in out

        before = len(h.inbox(leader))
        clock.move_to(at(2026, 10, 8, 8, 30))  # the working day before the material is due
        await h.app.jobs.sweep()
        await h.app.jobs.digest()
        await h.app.dispatcher.drain()
        digest = texts(h.inbox(leader)[before:])
        assert "今日提醒（1 条）" in digest and "上传服务资料" in digest and "截止 2026-10-09" in digest

        r = await h.say(leader, "/visit")
        r = await h.pick(leader, "已完成：上传服务资料", r)
        assert "已记录：上传服务资料" in texts(r)
        before = len(h.inbox(leader))
        clock.move_to(at(2026, 10, 12, 8, 30))  # report due 10-13: reminded the working day before
        await h.app.jobs.sweep()
        await h.app.jobs.digest()
        await h.app.dispatcher.drain()
        digest = texts(h.inbox(leader)[before:])
        assert "服务报告" in digest and "上传服务资料" not in digest
        async with h.app.readonly() as s:
            done = dict((await s.execute(select(VisitTask.milestone, VisitTask.done_at))).all())
        assert done["material"] is not None and done["report"] is None
        await h.app.engine.dispose()


async def test_an_unscheduled_quarterly_inspection_is_flagged_15_days_before_the_quarter_ends(
    db_url: str, tmp_path: Path
) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 30), tick=False) as clock:
        h = await make_harness(db_url, tmp_path, RICH)
        emma, expert = await h.login("Emma Clark"), await h.login("王建国")  # XC-P002's agency manager
        clock.move_to(at(2026, 12, 15, 9, 0))
        await h.app.jobs.sweep()
        await h.app.jobs.digest()
        await h.app.dispatcher.drain()
        assert not [m for m in h.inbox(emma) if "Nothing is scheduled" in m.text]  # not yet: it starts 12-16
        clock.move_to(at(2026, 12, 16, 9, 0))
        async with h.app.sessions() as s, s.begin():  # XC-P001 schedules its Q4 inspection, XC-P002 does not
            await visits.add_visit(
                s,
                project="XC-P001",
                on=dt.date(2026, 12, 22),
                experts=["王建国", "李机电", "赵电工"],
                leader="王建国",
                now=h.app.now(),
            )
        for _ in range(2):
            await h.app.jobs.sweep()
            await h.app.jobs.digest()
        await h.app.dispatcher.drain()
        warnings = [m for m in h.inbox(emma) if "Nothing is scheduled" in m.text]  # Emma reads English
        assert len(warnings) == 1, texts(h.inbox(emma))
        assert "Nothing is scheduled for 宛陵湖综合管廊一期: Full inspection in 2026Q4" in warnings[0].text
        assert not [m for m in h.inbox(expert) if "锦城花园" in m.text and "尚未安排" in m.text]
        async with h.app.readonly() as s:
            keys = (await s.execute(select(Reminder.key).where(Reminder.object_type == "project"))).scalars().all()
        assert [k for k in keys if "quarter-" in k] == ["p2:quarter-2026Q4:unscheduled"]  # XC-P001's is booked
        # Neither register was refreshed this quarter: both are flagged, in the same sweep (000 §14(二)1).
        assert {k for k in keys if "risks-" in k} == {"p1:risks-2026Q4:unscheduled", "p2:risks-2026Q4:unscheduled"}
        assert "宛陵湖综合管廊一期: Risk register refreshed in 2026Q4 is not done yet" in texts(h.inbox(emma))
        await h.app.engine.dispose()


async def test_002_14_004_6_2e_a_visit_owes_from_the_day_of_the_service_not_the_close(
    db_url: str, tmp_path: Path
) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 0), tick=False) as clock:
        h = await make_harness(db_url, tmp_path, RICH)
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
        r = await h.pick(leader, "开始本次服务", r)
        clock.move_to(at(2026, 11, 19, 18, 0))  # the leader closes it two working days later
        r = await h.say(leader, "/visit")
        r = await h.pick(leader, "结束本次服务", r)
        r = await h.say(leader, "检查了塔吊")
        out = texts(r)
        # Before: counted from 11-19 (material 11-23, report 11-26).
        assert "上传服务资料，截止 2026-11-19" in out and "服务报告，截止 2026-11-24" in out
        assert "回访投保单位，截止 2026-12-01" in out
        await h.app.engine.dispose()


async def test_002_10_12_a_visit_scheduled_with_named_experts_meets_the_group_rules(
    db_url: str, tmp_path: Path
) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 0), tick=False):
        h = await make_harness(db_url, tmp_path, RICH)
        async with h.app.sessions() as s, s.begin():
            with pytest.raises(AdminError, match="fewer than 3 experts; nobody for electrical"):
                await visits.add_visit(
                    s, project="XC-P001", on=dt.date(2026, 11, 18), experts=["王建国", "李机电"], now=h.app.now()
                )
        async with h.app.sessions() as s, s.begin():
            v = await visits.add_visit(
                s, project="XC-P001", on=dt.date(2026, 11, 18), experts=["王建国", "李机电", "赵电工"], now=h.app.now()
            )
            assert v.leader_id == await h.person_id("王建国")
        await h.app.engine.dispose()


async def test_004_5_plan_counts_offline_training_and_shows_what_was_met_late(db_url: str, tmp_path: Path) -> None:
    # The demo policy of XC-P001 started 60 days before 2026-11-17 (2026-09-18); premium 126,000.
    with time_machine.travel(at(2026, 11, 17, 9, 0), tick=False) as clock:
        h = await make_harness(db_url, tmp_path, RICH)
        manager = await h.login("陈经理")
        async with h.app.sessions() as s, s.begin():
            _, code, _ = await training.add(
                s,
                kind="custom",
                topic="临边防护专项培训",
                place="项目部会议室",
                starts_at=at(2026, 11, 17, 14),
                ends_at=at(2026, 11, 17, 16),
                projects=["XC-P001"],
                roles=["project_manager"],
                organiser=None,
                drill=None,
                tz=TZ,
                now=h.app.now(),
            )
        await h.app.dispatcher.drain()
        invitation = [m for m in h.inbox(manager) if "临边防护专项培训" in m.text]
        clock.move_to(at(2026, 11, 17, 14, 5))
        r = await h.pick(manager, "签到", invitation)
        r = await h.say(manager, code)
        assert "已签到" in texts(r)
        clock.move_to(at(2026, 11, 18, 9, 0))
        out = texts(await h.say(manager, "/plan"))
        # An offline training is an on-site service (现场服务（含线下培训）): the first is met, and in time.
        assert "起保后首次服务：截止 2026-12-18 · 已完成" in out, out
        assert "第 1 次现场服务：截止 2026-12-18 · 已完成" in out
        assert "保单生效后首次排查" in out and "已逾期" in out  # a training is no inspection

        async with h.app.sessions() as s, s.begin():
            await visits.add_visit(
                s, project="XC-P001", on=dt.date(2026, 11, 18), experts=["王建国", "李机电", "赵电工"], now=h.app.now()
            )
        leader = await h.login("王建国")
        r = await h.say(leader, "/visit")
        r = await h.pick(leader, "开始本次服务", r)
        r = await h.say(leader, "/visit")
        r = await h.pick(leader, "结束本次服务", r)
        await h.say(leader, "全面排查")
        out = texts(await h.say(manager, "/plan"))
        assert "保单生效后首次排查：截止 2026-10-09 · 已完成，逾期 40 天" in out, out
        await h.app.engine.dispose()


async def test_000_14_2_2_the_yearly_deep_inspection_and_the_campaigns_are_owed_and_flagged(
    db_url: str, tmp_path: Path
) -> None:
    # XC-P002's policy: 2026-10-28 to 2027-10-23. A campaign each six months, a deep inspection in the year.
    with time_machine.travel(at(2026, 11, 17, 9, 30), tick=False) as clock:
        h = await make_harness(db_url, tmp_path, RICH)
        emma, safety = await h.login("Emma Clark"), await h.login("刘安全")
        out = texts(await h.say(safety, "/plan"))
        assert "第 1 次年度深度排查：截止 2027-10-23 · 待完成" in out, out
        assert "第 1 次专项排查行动：截止 2027-04-27 · 待完成" in out
        assert "第 2 次专项排查行动：截止 2027-10-23 · 待完成" in out
        async with h.app.sessions() as s, s.begin():
            with pytest.raises(AdminError, match="--topic"):
                await visits.add_visit(s, project="XC-P002", on=dt.date(2027, 3, 1), kind="campaign", now=h.app.now())
        clock.move_to(at(2027, 4, 12, 9, 0))  # 15 days before the first campaign's period ends
        for _ in range(2):
            await h.app.jobs.sweep()
            await h.app.jobs.digest()
        await h.app.dispatcher.drain()
        flagged = [m for m in h.inbox(emma) if "Special campaign 1" in m.text]
        assert len(flagged) == 1 and "must be done by 2027-04-27" in flagged[0].text

        async with h.app.sessions() as s, s.begin():
            await visits.add_visit(
                s,
                project="XC-P002",
                on=dt.date(2027, 4, 13),
                experts=["王建国", "李机电", "赵电工"],
                kind="campaign",
                topic="脚手架坍塌",
                now=h.app.now(),
            )
        clock.move_to(at(2027, 4, 13, 9, 0))
        leader = await h.login("王建国")
        r = await h.say(leader, "/visit")
        r = await h.pick(leader, "开始本次服务", r)
        r = await h.say(leader, "/visit")
        r = await h.pick(leader, "结束本次服务", r)
        await h.say(leader, "脚手架专项排查")
        out = texts(await h.say(safety, "/plan"))
        assert "第 1 次专项排查行动：截止 2027-04-27 · 已完成" in out
        assert "2027Q2 季度全覆盖排查：截止 2027-06-30 · 待完成" in out  # a campaign is not a full inspection
        await h.app.engine.dispose()


async def test_002_8_9_a_plan_needs_experts_of_the_library_with_a_qualified_leader(db_url: str, tmp_path: Path) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 30), tick=False):
        h = await make_harness(db_url, tmp_path, RICH)
        async with h.app.sessions() as s, s.begin():
            await admin.add_person(s, name="孙新人", org="皖南安全技术服务有限公司", speciality="electrical")
        async with h.app.sessions() as s, s.begin():
            with pytest.raises(AdminError, match="孙新人 not in the expert library"):
                await plans.add_plan(
                    s,
                    project="XC-P001",
                    experts=["王建国", "李机电", "孙新人"],
                    leader="王建国",
                    services=["inspection"],
                    content=CONTENT,
                    now=h.app.now(),
                )
        async with h.app.sessions() as s, s.begin():
            with pytest.raises(
                AdminError, match="李机电 cannot lead: needs a senior title"
            ):  # 8 years, intermediate: a member, no leader
                await plans.add_plan(
                    s,
                    project="XC-P001",
                    experts=["王建国", "李机电", "赵电工"],
                    leader="李机电",
                    services=["inspection"],
                    content=CONTENT,
                    now=h.app.now(),
                )
        await h.app.engine.dispose()


def pdf_text(data: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).replace(" ", "")


async def test_004_annex4_the_service_report_is_drafted_submitted_and_confirmed_by_both_sides(
    db_url: str, tmp_path: Path
) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 0), tick=False):
        h = await make_harness(db_url, tmp_path, RICH)
        leader, expert = await h.login("王建国"), await h.login("赵电工")
        manager, insurer = await h.login("陈经理"), await h.login("周保险")
        async with h.app.sessions() as s, s.begin():
            visit = await visits.add_visit(
                s, project="XC-P001", on=dt.date(2026, 11, 17), experts=["王建国", "李机电", "赵电工"], now=h.app.now()
            )
        r = await h.say(leader, "/visit")
        r = await h.pick(leader, "开始本次服务", r)
        r = await h.photo(expert, caption="四级 配电箱门未关 位置：生活区")
        while "请核对上报内容" not in texts(r):
            offers = [label for m in r for _, label in m.message.offers]
            label = next(
                x
                for x in ("锦城花园", "均不符合", "跳过", "使用标准表述", "15 个工作日")
                if any(x in o for o in offers)
            )
            r = await h.pick(expert, label, r)
        await h.pick(expert, "提交", r)
        r = await h.say(leader, "/visit")
        r = await h.pick(leader, "结束本次服务", r)
        r = await h.say(leader, "检查了临时用电，发现 1 项四级隐患")
        offers = [label for m in r for _, label in m.message.offers]
        assert "已完成：服务报告" not in offers and "服务报告：生成草稿" in offers
        r = await h.press(leader, f"vtask:{visit.id}:report")  # the old button: no longer a way round the report
        assert "服务报告须出具" in texts(r)

        r = await h.pick(leader, "服务报告：生成草稿", await h.say(leader, "/visit"))
        [draft] = [m.message.document for m in r if m.message.document]
        assert draft is not None
        text = pdf_text(h.app.media.read(draft[0]))
        assert "事故预防技术服务报告" in text and "草稿" in text and "XC-2026-000001" in text and "配电箱门未关" in text
        assert "被保险人代表未签字" in text and "承保机构风险管理人员未签字" in text  # 004 附件4: 未签字
        assert "王建国高级工程师" in text and "检查了临时用电" in text

        r = await h.say(leader, "/visit")
        r = await h.pick(leader, "服务报告：提交", r)
        assert "已提交" in texts(r)
        await h.app.dispatcher.drain()
        for user in (manager, insurer):
            assert [m for m in h.inbox(user) if "待确认的服务报告" in m.text]
        r = await h.pick(manager, "确认报告", [m for m in h.inbox(manager) if "待确认的服务报告" in m.text])
        assert "您已确认" in texts(r)
        r = await h.pick(manager, "确认报告", [m for m in h.inbox(manager) if "待确认的服务报告" in m.text])
        assert "已处理过" in texts(r)  # once per side
        async with h.app.readonly() as s:
            task = (await s.execute(select(VisitTask).where(VisitTask.milestone == "report"))).scalar_one()
            assert task.done_at is None  # one side is not both
        r = await h.pick(insurer, "确认报告", [m for m in h.inbox(insurer) if "待确认的服务报告" in m.text])
        await h.app.dispatcher.drain()
        for user in (manager, insurer, leader):
            finals = [m.message.document for m in h.inbox(user) if m.message.document and "双方已确认" in m.text]
            assert len(finals) == 1, user
        final = finals[0]
        assert final is not None
        text = pdf_text(h.app.media.read(final[0]))
        assert "正式版" in text and "被保险人代表陈经理2026-11-1709:00" in text and "承保机构风险管理人员周保险" in text
        assert "服务机构代表王建国" in text
        async with h.app.readonly() as s:
            task = (await s.execute(select(VisitTask).where(VisitTask.milestone == "report"))).scalar_one()
            assert task.done_at is not None
        await h.app.engine.dispose()
