"""Levels 1 and 2: stop-work opinion and same-day report; insurer notice; review by the reporting expert;
rejection with a reason sends the hazard back until a second rectification passes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.render import RICH
from storage.models import AuditEvent, Hazard, Rectification
from tests.conftest import make_harness
from tests.harness import Harness, texts


async def report_major(h: Harness, expert: str) -> list:
    """A lifting hazard matching 建质规〔2024〕5号 — forced to level 1, basis filled in, level never asked."""
    r = await h.say(expert, "/report")
    r = await h.pick(expert, "锦城花园", r)
    r = await h.photo(expert)
    r = await h.pick(expert, "完成", r)
    r = await h.pick(expert, "起重机械", r)
    major = texts(r)
    assert "建质规〔2024〕5号" in major and "第八条" in major
    r = await h.pick(expert, "第八条（一）", r)
    r = await h.say(expert, "2#塔吊未经验收即投入使用")
    r = await h.say(expert, "2#塔吊")
    assert "隐患级别？" not in texts(r)
    r = await h.pick(expert, "标准", r)
    r = await h.pick(expert, "1 个工作日", r)
    r = await h.pick(expert, "LEC", r)
    r = await h.pick(expert, "10 ·", r)
    r = await h.pick(expert, "6 ·", r)
    r = await h.pick(expert, "40 ·", r)
    assert "D 2400" in texts(r) and "重大风险" in texts(r)
    r = await h.pick(expert, "提交", r)
    return r


async def test_level1_stop_work_and_same_day_report(h: Harness) -> None:
    expert, manager, safety, insurer, authority, engineer = [
        await h.login(n) for n in ("王建国", "陈经理", "刘安全", "周保险", "吴监管", "孙监理")
    ]
    r = await report_major(h, expert)
    out = texts(r)
    assert "XC-2026-000001" in out and "一级" in out and "第八条（一）" in out

    for person in (manager, safety):
        inbox = texts(h.inbox(person))
        assert "隐患整改通知单" in inbox and "停工意见" in inbox, person
    for person in (insurer, authority):
        inbox = texts(h.inbox(person))
        assert "当日报告" in inbox and "XC-2026-000001" in inbox, person
    assert "XC-2026-000001" in texts(h.inbox(engineer))
    assert "停工意见" not in texts(h.inbox(engineer))

    async with h.app.readonly() as s:
        hz = (await s.execute(select(Hazard))).scalar_one()
        assert hz.level == 1 and hz.stop_work and hz.major_id and hz.basis.startswith("建质规〔2024〕5号 第八条")
        assert hz.lec_d == 2400
        assert hz.deadline.isoformat() == "2026-11-18"
        same_day = (
            await s.execute(select(AuditEvent).where(AuditEvent.action == "hazard.same_day_report"))
        ).scalar_one()
        assert same_day.at.date() == hz.created_at.date()

    # Level 1: the reporting expert re-inspects; the supervision engineer cannot.
    r = await h.pick(manager, "提交整改", h.inbox(manager))
    r = await h.photo(manager)
    r = await h.pick(manager, "完成", r)
    r = await h.say(manager, "塔吊已停用，报验中")
    r = await h.pick(manager, "提交", r)
    request = [m for m in h.inbox(expert) if "复查申请" in m.text]
    assert request and not [m for m in h.inbox(engineer) if "复查申请" in m.text]
    rid = (await _rect_ids(h))[0]
    r = await h.press(engineer, f"rv:{rid}:ok")
    assert "没有此操作权限" in texts(r)

    # The expert rejects with a reason; the hazard goes back and the site hears why.
    r = await h.pick(expert, "不通过", request)
    assert "原因" in texts(r)
    r = await h.say(expert, "未见检测合格报告")
    assert "已退回" in texts(r)
    assert "未见检测合格报告" in texts(h.inbox(manager)[-1:])

    # Second round passes.
    r = await h.pick(manager, "提交整改", h.inbox(manager))
    r = await h.photo(manager)
    r = await h.pick(manager, "完成", r)
    r = await h.say(manager, "已取得检测合格报告并验收")
    await h.pick(manager, "提交", r)
    second = [m for m in h.inbox(expert) if "复查申请" in m.text][-1]
    r = await h.pick(expert, "通过", [second])
    assert "已关闭" in texts(r)

    async with h.app.readonly() as s:
        rects = (await s.execute(select(Rectification).order_by(Rectification.id))).scalars().all()
        assert [r.decision for r in rects] == ["rejected", "approved"]
        assert rects[0].reason == "未见检测合格报告"

    r = await h.say(expert, "/hazard xc-2026-000001")
    history = texts(r)
    assert history.index("复查不通过：未见检测合格报告") < history.index("复查通过，已关闭")


async def _rect_ids(h: Harness) -> list[int]:
    async with h.app.readonly() as s:
        return list((await s.execute(select(Rectification.id).order_by(Rectification.id))).scalars())


async def _report_level2(h: Harness, expert: str, caption: str, may_cause_accident: str) -> None:
    r = await h.photo(expert, caption=caption)
    r = await h.pick(expert, "锦城花园", r)
    # Caption gave level, category and location: only the rest is asked.
    asked = texts(r)
    assert "对应 JGJ 59" in asked or "重大事故隐患" in asked
    while "请核对上报内容" not in texts(r):
        offers = [label for m in r for _, label in m.message.offers]
        assert not any(q in texts(r) for q in ("隐患级别？", "隐患位置？", "请用一句话描述问题")), texts(r)
        if "均不符合" in offers:
            r = await h.pick(expert, "均不符合", r)
        elif "跳过" in offers:
            r = await h.pick(expert, "跳过", r)
        elif "使用标准表述" in offers:
            r = await h.pick(expert, "标准", r)
        elif "是否可能导致事故" in texts(r):
            assert offers[:2] == ["否", "是：同时报告属地主管部门"]  # the seeds' default first
            r = await h.pick(expert, may_cause_accident, r)
        else:
            r = await h.pick(expert, "3 个工作日", r)
    r = await h.pick(expert, "提交", r)
    assert "二级" in texts(r)


async def test_001_2_2_level2_reaches_the_authority_when_it_may_cause_an_accident(rich: Harness) -> None:
    h = rich
    expert, insurer, authority = [await h.login(n) for n in ("王建国", "周保险", "吴监管")]
    await _report_level2(h, expert, "2级 配电箱未接地 位置：生活区", "否")
    assert "二级隐患报告" in texts(h.inbox(insurer))
    assert not h.inbox(authority)
    async with h.app.readonly() as s:
        hz = (await s.execute(select(Hazard))).scalar_one()
        assert (hz.level, hz.location, hz.group_id, hz.description) == (2, "生活区", "electric", "配电箱未接地")
        assert not hz.may_cause_accident
    # Before: no level-2 hazard ever reached the authority.
    await _report_level2(h, expert, "2级 配电箱漏电保护器失效 位置：钢筋加工区", "是")
    told = [m for m in h.inbox(authority) if "二级隐患报告" in m.text]
    assert len(told) == 1 and "配电箱漏电保护器失效" in told[0].text
    assert len([m for m in h.inbox(insurer) if "二级隐患报告" in m.text]) == 2
    async with h.app.readonly() as s:
        flags = (await s.execute(select(Hazard.may_cause_accident).order_by(Hazard.id))).scalars().all()
        assert flags == [False, True]


async def test_the_rules_file_chooses_the_2022_major_hazard_criteria(
    db_url: str, tmp_path: Path, clock: object
) -> None:
    h = await make_harness(db_url, tmp_path, RICH, rules='[hazards]\nmajor_hazard_edition = "2022"\n')
    try:
        expert = await h.login("王建国")
        r = await h.photo(expert, caption="配电箱未接地 位置：生活区")
        r = await h.pick(expert, "锦城花园", r)
        for _ in range(6):
            if "重大事故隐患" in texts(r):
                break
            r = await h.pick(expert, "二级", r) if "隐患级别" in texts(r) else r
        assert "建质规〔2022〕2号" in texts(r) and "建质规〔2024〕5号" not in texts(r)
    finally:
        await h.app.engine.dispose()
