"""The risk register (风险辨识清单: 000 §14(二)1; 001 §二(一); 004 附件4 三2): an expert enters risks in chat by
dangerous work with a photo, type, basis, measures and LEC; the level-1/2 sources are checked each quarter; a stage
change asks for a refresh; /plan counts all three; only the register's keepers write in it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.domain.obligations import Obligation
from bot.domain.risks import Source, register_obligations
from bot.domain.workdays import WorkCalendar
from storage import admin
from storage.models import AuditEvent, Project, RiskCheck, RiskEntry
from tests.harness import Harness, texts

D = dt.date
CAL = WorkCalendar()


def _by_key(obs: list[Obligation]) -> dict[str, Obligation]:
    return {o.key: o for o in obs}


def test_the_register_owes_a_quarterly_refresh_a_full_check_of_its_sources_and_a_stage_refresh() -> None:
    sources = [Source(D(2026, 10, 10), (D(2026, 11, 5),)), Source(D(2026, 12, 1), ())]
    obs = _by_key(
        register_obligations(
            D(2026, 9, 18), D(2027, 3, 1), [D(2026, 10, 10), D(2026, 12, 1)], sources, None, CAL, 10, 15
        )
    )
    assert obs["risks-2026Q3"].done_on is None and obs["risks-2026Q3"].due_by == D(2026, 9, 30)
    assert obs["risks-2026Q4"].done_on == D(2026, 10, 10)
    # Two sources stood by the end of Q4; one was never checked: the 100 % check is not done.
    assert obs["sources-2026Q4"].done_on is None and "sources-2026Q3" not in obs
    checked = [Source(D(2026, 10, 10), (D(2026, 11, 5),)), Source(D(2026, 12, 1), (D(2026, 12, 20),))]
    obs = _by_key(register_obligations(D(2026, 9, 18), D(2027, 3, 1), [], checked, D(2026, 11, 2), CAL, 10, 15))
    assert obs["sources-2026Q4"].done_on == D(2026, 12, 20)
    assert obs["sources-2027Q1"].done_on is None  # every quarter again
    assert obs["risks-stage"].due_by == D(2026, 11, 16) and obs["risks-stage"].done_on is None


async def test_an_expert_keeps_the_register_in_chat(h: Harness, clock: object) -> None:
    expert, manager = await h.login("王建国"), await h.login("陈经理")
    r = await h.say(manager, "/risk")
    assert "没有此操作权限" in texts(r)  # the register is the experts' and the agency's
    r = await h.say(expert, "/risk")
    r = await h.pick(expert, "锦城花园", r)
    r = await h.pick(expert, "高大模板工程", r)
    r = await h.say(expert, "高支模立杆间距超方案")
    assert "照片" in texts(r)
    r = await h.photo(expert)
    r = await h.pick(expert, "完成", r)
    r = await h.pick(expert, "坍塌", r)
    r = await h.say(expert, "JGJ 162 第 6.9 条")
    r = await h.say(expert, "按专项方案加密立杆，浇筑前验收")
    r = await h.pick(expert, "相当可能", r)
    r = await h.pick(expert, "每天工作时间内暴露", r)
    r = await h.pick(expert, "严重，重伤", r)
    assert "请核对风险信息" in texts(r) and "D = 252" in texts(r)
    r = await h.pick(expert, "录入", r)
    assert "已录入 锦城花园二期 3#–6# 楼 的风险辨识清单" in texts(r) and "较大风险" in texts(r)
    await h.app.dispatcher.drain()
    told = texts(h.inbox(manager))
    assert "新增2级风险源：高支模立杆间距超方案（高大模板工程）" in told  # a level-2 source: the site knows

    r = await h.say(manager, "/risks")
    register = texts(r)
    assert "高大模板工程 · 高支模立杆间距超方案（坍塌）· D 252，较大风险" in register and "尚未检查" in register
    assert not [o for m in r for o in m.message.offers]  # the site reads it; only keepers check
    r = await h.say(expert, "/risks")
    r = await h.pick(expert, "已检查：高支模立杆间距超方案", r)
    assert "今日已现场检查" in texts(r)

    out = texts(await h.say(manager, "/plan"))
    assert "2026Q4 季度风险辨识清单更新：截止 2026-12-31 · 已完成" in out
    assert "2026Q4 季度一、二级风险源 100% 检查：截止 2026-12-31 · 已完成" in out

    async with h.app.readonly() as s:
        entry = (await s.execute(select(RiskEntry))).scalar_one()
        assert (entry.work, entry.accident_type, entry.rank, entry.lec_d) == ("高大模板工程", "collapse", 2, 252)
        assert entry.stage == "主体结构" and len(entry.photo) == 64
        assert (await s.execute(select(RiskCheck.risk_id))).scalars().all() == [entry.id]
        actions = (await s.execute(select(AuditEvent.action).order_by(AuditEvent.id))).scalars().all()
        assert "risk.recorded" in actions and "risk.checked" in actions


async def test_a_stage_change_asks_for_a_refresh(h: Harness, clock: object) -> None:
    async with h.app.sessions() as s, s.begin():
        await admin.grant(s, person=str(await h.person_id("Emma Clark")), project="XC-P001", role="agency_admin")
    agency, manager = await h.login("Emma Clark"), await h.login("陈经理")
    r = await h.say(manager, "/stage")
    assert "没有此操作权限" in texts(r)
    r = await h.say(agency, "/stage")
    r = await h.pick(agency, "锦城花园二期 3#–6# 楼: 装饰装修", r)
    assert "装饰装修" in texts(r)
    await h.app.dispatcher.drain()
    assert "is now at the stage “装饰装修”: refresh its risk register" in texts(h.inbox(agency))
    async with h.app.readonly() as s:
        project = (await s.execute(select(Project).where(Project.code == "XC-P001"))).scalar_one()
        assert project.stage == "装饰装修" and project.stage_changed_at is not None
    out = texts(await h.say(manager, "/plan"))
    assert "按新施工阶段更新风险辨识清单：截止 2026-12-01 · 待完成" in out  # 10 working days after 11-17
    r = await h.say(agency, "/stage XC-P001 竣工收尾")
    assert "竣工收尾" in texts(r)
