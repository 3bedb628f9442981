"""培训与演练: a session with invitations, reminders the day before and two hours before, sign-in with the venue's
code (valid, early, wrong, reused, expired, not invited), attendance and hours, the organiser's photos and
evaluation; online hours from the operator and a CSV (all rows or none); /training for a person and an insurer."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.domain.training import hours, sign_in_state
from storage import training
from storage.admin import AdminError
from storage.models import Attendance, AuditEvent, LearningHours, TrainingSession
from tests.harness import Harness, texts

TZ = ZoneInfo("Asia/Shanghai")
TOPIC = "高处作业与临边防护专项培训"


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


async def add_session(h: Harness) -> str:
    async with h.app.sessions() as s, s.begin():
        _, code, warnings = await training.add(
            s,
            kind="custom",
            topic=TOPIC,
            place="项目部二楼会议室",
            starts_at=at(2026, 11, 19, 14, 0),
            ends_at=at(2026, 11, 19, 16, 30),
            projects=["XC-P001"],
            roles=["project_manager", "safety_officer"],
            organiser="王建国",
            drill=None,
            tz=TZ,
            now=h.app.now(),
        )
    assert warnings == []
    await h.app.dispatcher.drain()
    return code


async def tick(h: Harness) -> None:
    await h.app.jobs.sweep()
    await h.app.dispatcher.drain()


async def test_a_session_with_invitations_sign_ins_and_attendance(h: Harness, clock: object) -> None:
    manager, safety, supervisor = await h.login("陈经理"), await h.login("刘安全"), await h.login("孙监理")
    organiser, insurer = await h.login("王建国"), await h.login("周保险")
    code = await add_session(h)
    invitation = [m for m in h.inbox(manager) if "邀请：项目培训" in m.text]
    assert invitation and TOPIC in invitation[0].text and "2026-11-19 14:00–16:30" in invitation[0].text
    assert [m for m in h.inbox(safety) if "邀请" in m.text] and not [m for m in h.inbox(supervisor) if TOPIC in m.text]

    clock.move_to(at(2026, 11, 18, 14, 0))  # type: ignore[attr-defined]
    await tick(h)
    await tick(h)
    assert len([m for m in h.inbox(manager) if f"明天：{TOPIC}" in m.text]) == 1
    clock.move_to(at(2026, 11, 19, 12, 0))  # type: ignore[attr-defined]
    await tick(h)
    assert len([m for m in h.inbox(manager) if f"两小时后：{TOPIC}" in m.text]) == 1

    clock.move_to(at(2026, 11, 19, 13, 0))  # type: ignore[attr-defined]
    r = await h.pick(manager, "签到", invitation)
    r = await h.say(manager, code)
    assert "开始前 30 分钟开放" in texts(r)  # too early

    clock.move_to(at(2026, 11, 19, 14, 10))  # type: ignore[attr-defined]
    r = await h.pick(manager, "签到", invitation)
    wrong = "9" + code[1:] if code[0] != "9" else "1" + code[1:]
    r = await h.say(manager, wrong)
    assert "签到码不正确" in texts(r)
    r = await h.say(manager, code)  # still asked: the right one now
    assert f"已签到：{TOPIC}" in texts(r) and "2.5 学时" in texts(r)
    r = await h.pick(manager, "签到", invitation)
    r = await h.say(manager, code)
    assert "已经签到过" in texts(r)  # a code cannot be used twice by one person
    r = await h.press(supervisor, "trs:1")
    r = await h.say(supervisor, code)
    assert "没有此操作权限" in texts(r)  # not invited

    clock.move_to(at(2026, 11, 19, 16, 40))  # type: ignore[attr-defined]
    r = await h.pick(safety, "签到", [m for m in h.inbox(safety) if "邀请" in m.text])
    r = await h.say(safety, code)
    assert "签到已关闭" in texts(r)  # expired

    r = await h.say(organiser, "/training")
    assert "1/2 已签到" in texts(r) and "签到名单：陈经理" in texts(r)
    r = await h.pick(organiser, "照片/评估", r)
    r = await h.photo(organiser)
    r = await h.say(organiser, "讲解清楚，现场提问踊跃；下次增加安全带实操。")
    assert "共 1 张照片" in texts(r) and "评估已记录" in texts(r)

    async with h.app.sessions() as s, s.begin():
        await training.record_hours(s, "陈经理", 2026, 12, "operator", h.app.now())
    r = await h.say(manager, "/training")
    assert "本年度：线下培训 2.5 学时，网络学习 12 学时（目标 30 学时）" in texts(r)
    r = await h.say(insurer, "/training")
    assert "未达网络学习目标：陈经理 12 学时" in texts(r)
    # XC-P001 is high risk: one project training so far; neither project has had a drill.
    assert "锦城花园二期 3#–6# 楼（高风险）：本年度项目培训 1/2 次" in texts(r)
    assert "宛陵湖综合管廊一期：本年度尚未开展应急演练" in texts(r)

    async with h.app.readonly() as s:
        present = (await s.execute(select(Attendance))).scalars().all()
        assert [(a.person_id, a.hours) for a in present] == [(await h.person_id("陈经理"), 2.5)]
        session = (await s.execute(select(TrainingSession))).scalar_one()
        assert len(session.photos) == 1 and session.evaluation and session.code_hash != code
        actions = [
            e.action
            for e in (await s.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars()
            if e.object_type == "training"
        ]
        assert actions == ["training.added", "training.signed_in", "training.recorded"]


async def test_drills_need_a_type_and_csv_imports_are_all_or_nothing(h: Harness) -> None:
    async with h.app.sessions() as s, s.begin():
        for drill, kind in ((None, "drill"), ("fire", "custom")):
            with pytest.raises(AdminError):
                await training.add(
                    s,
                    kind=kind,
                    topic="消防演练",
                    place="工地",
                    starts_at=at(2026, 11, 20, 9),
                    ends_at=at(2026, 11, 20, 10),
                    projects=["XC-P001"],
                    roles=["worker"],
                    organiser=None,
                    drill=drill,
                    tz=TZ,
                    now=h.app.now(),
                )
        _, _, warnings = await training.add(
            s,
            kind="prestart",
            topic="开工前安全交底",
            place="工地",
            starts_at=at(2026, 11, 20, 9),
            ends_at=at(2026, 11, 20, 10),
            projects=["XC-P001"],
            roles=["worker"],
            organiser=None,
            drill=None,
            tz=TZ,
            now=h.app.now(),
        )
        assert warnings and "2 h" in warnings[0]
    with pytest.raises(AdminError, match="line 3"):
        async with h.app.sessions() as s, s.begin():
            await training.import_hours(
                s, "person,year,hours\n陈经理,2026,6\n无此人,2026,4\n", "hours.csv", h.app.now()
            )
    async with h.app.sessions() as s, s.begin():
        assert (await s.execute(select(LearningHours))).scalars().all() == []  # the first row went back too
        assert (
            await training.import_hours(
                s, "person,year,hours\n陈经理,2026,6\n刘安全,2026,4.5\n", "hours.csv", h.app.now()
            )
            == 2
        )


def test_window_and_hours() -> None:
    start, end = at(2026, 11, 19, 14), at(2026, 11, 19, 16, 30)
    assert hours(start, end) == 2.5
    assert sign_in_state(at(2026, 11, 19, 13, 29), start, end) == "early"
    assert sign_in_state(at(2026, 11, 19, 13, 30), start, end) == "open"
    assert sign_in_state(at(2026, 11, 19, 16, 30), start, end) == "open"
    assert sign_in_state(at(2026, 11, 19, 16, 31), start, end) == "closed"


async def test_an_insurer_organises_a_drill_in_chat(h: Harness, clock: object) -> None:
    insurer, manager = await h.login("周保险"), await h.login("陈经理")
    r = await h.say(manager, "/newtraining")
    assert "只有服务机构和保险机构" in texts(r)
    r = await h.say(insurer, "/newtraining")
    r = await h.pick(insurer, "应急演练", r)
    r = await h.pick(insurer, "火灾", r)
    r = await h.say(insurer, "生活区消防疏散演练")
    r = await h.say(insurer, "生活区东门")
    r = await h.say(insurer, "明天下午")
    assert "无法识别" in texts(r)
    r = await h.say(insurer, "2026-11-20 09:00")
    r = await h.pick(insurer, "2 小时", r)
    r = await h.pick(insurer, "锦城花园", r)
    r = await h.pick(insurer, "下一步", r)
    r = await h.pick(insurer, "下一步", r)  # managers and safety officers, as offered
    assert "2026-11-20 09:00 – 11:00" in texts(r)
    r = await h.pick(insurer, "发送邀请", r)
    reply = texts(r)
    assert "已邀请 2 人" in reply and "签到码" in reply
    code = reply.split("签到码：")[1][:6]
    invitation = [m for m in h.inbox(manager) if "邀请：应急演练" in m.text]
    assert invitation and "生活区消防疏散演练" in invitation[0].text
    clock.move_to(at(2026, 11, 20, 9, 5))  # type: ignore[attr-defined]
    r = await h.pick(manager, "签到", invitation)
    r = await h.say(manager, code)
    assert "已签到" in texts(r) and "2 学时" in texts(r)
    async with h.app.readonly() as s:
        session = (await s.execute(select(TrainingSession))).scalar_one()
        assert (
            session.kind == "drill" and session.drill == "fire" and session.organiser_id == await h.person_id("周保险")
        )


async def _session(h: Harness, kind: str, starts_at: dt.datetime) -> None:
    async with h.app.sessions() as s, s.begin():
        await training.add(
            s,
            kind=kind,
            topic=f"{kind} 培训",
            place="项目部",
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(hours=2),
            projects=["XC-P001"],
            roles=["project_manager"],
            organiser="王建国",
            drill=None,
            tz=TZ,
            now=h.app.now(),
        )


async def test_000_14_2_3_prestart_briefings_and_seasonal_trainings_are_project_trainings(
    h: Harness, clock: object
) -> None:
    insurer = await h.login("周保险")
    await _session(h, "prestart", at(2026, 11, 18, 9))
    r = await h.say(insurer, "/training")
    assert "锦城花园二期 3#–6# 楼（高风险）：本年度项目培训 1/2 次" in texts(r)  # before: 0/2
    await _session(h, "citywide", at(2026, 11, 19, 9))  # a city-wide session is no project training
    r = await h.say(insurer, "/training")
    assert "锦城花园二期 3#–6# 楼（高风险）：本年度项目培训 1/2 次" in texts(r)
    await _session(h, "seasonal", at(2026, 11, 20, 9))
    r = await h.say(insurer, "/training")
    assert "锦城花园二期 3#–6# 楼（高风险）：本年度项目培训" not in texts(r)  # two: the target is met


async def test_the_training_year_is_the_local_year(h: Harness, clock: object) -> None:
    insurer = await h.login("周保险")
    # 1 January 2026, 07:00 Beijing time is 2025-12-31 23:00 UTC: before, it counted to 2025.
    await _session(h, "custom", at(2026, 1, 1, 7))
    clock.move_to(at(2026, 12, 31, 20, 0))  # type: ignore[attr-defined]
    r = await h.say(insurer, "/training")
    assert "锦城花园二期 3#–6# 楼（高风险）：本年度项目培训 1/2 次" in texts(r)
    await _session(h, "custom", at(2027, 1, 2, 9))  # next year's does not count to this one
    r = await h.say(insurer, "/training")
    assert "锦城花园二期 3#–6# 楼（高风险）：本年度项目培训 1/2 次" in texts(r)
