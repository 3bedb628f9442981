"""The whole hazard lifecycle as people live it: report → notice → rectify → review, on both channel profiles."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.domain.levels import Status
from storage import audit
from storage.models import AuditEvent, Hazard, OutboxMessage, Rectification
from tests.harness import Harness, texts


async def report_level3(h: Harness, expert: str) -> str:
    """The demo expert reports a level-3 scaffold hazard in project XC-P001 through the guided flow."""
    r = await h.say(expert, "/report")
    r = await h.pick(expert, "锦城花园", r)
    assert "照片" in texts(r)
    r = await h.photo(expert)
    assert "已收到第 1 张照片" in texts(r)
    r = await h.photo(expert)
    r = await h.pick(expert, "完成", r)
    r = await h.pick(expert, "脚手架", r)
    assert "重大事故隐患" in texts(r)
    r = await h.pick(expert, "均不符合", r)
    r = (
        await h.pick(expert, "连墙", r)
        if any("连墙" in label for m in r for _, label in m.message.offers)
        else await h.pick(expert, "架体与建筑结构拉结", r)
    )
    assert "描述" in texts(r)
    r = await h.say(expert, "3#楼外架连墙件缺失约 6 处")
    assert "位置" in texts(r)
    r = await h.say(expert, "3#楼北侧 12–15 层")
    r = await h.pick(expert, "三级", r)
    r = await h.pick(expert, "标准", r)
    assert "期限" in texts(r)
    r = await h.pick(expert, "7 个工作日", r)
    r = await h.pick(expert, "跳过", r)
    assert "请核对" in texts(r)
    r = await h.pick(expert, "提交", r)
    out = texts(r)
    assert "XC-2026-000001" in out, out
    return "XC-2026-000001"


async def test_level3_lifecycle(h: Harness) -> None:
    expert = await h.login("王建国")
    manager = await h.login("陈经理")
    engineer = await h.login("孙监理")
    number = await report_level3(h, expert)

    # The group gets the notice card; the site manager gets the notice with a rectify button.
    group = h.inbox("g-XC-P001")
    assert len([m for m in group if number in m.text]) == 1, texts(group)
    card = next(m for m in group if number in m.text)
    assert "隐患整改通知单" in card.text and "提交整改" in [label for _, label in card.message.offers]
    assert not [m for m in h.inbox("g-XC-P002") if number in m.text]  # the other project's group hears nothing
    notice = h.inbox(manager)
    assert any("整改通知" in m.text and number in m.text for m in notice), texts(notice)

    async with h.app.readonly() as s:
        hazard = (await s.execute(select(Hazard).where(Hazard.number == number))).scalar_one()
        assert hazard.level == 3 and hazard.status == Status.RECTIFYING
        assert hazard.basis.startswith("JGJ 59-2011")
        # 2026-11-17 (Tue) + 7 working days = 2026-11-26
        assert hazard.deadline.isoformat() == "2026-11-26"

    # The site manager submits rectification photos from the notice.
    r = await h.pick(manager, "提交整改", notice)
    assert "照片" in texts(r)
    r = await h.photo(manager)
    r = await h.pick(manager, "完成", r)
    r = await h.say(manager, "已补设连墙件 6 处并经项目部验收")
    r = await h.pick(manager, "提交", r)
    assert "等待复查" in texts(r)

    # Level 3: the supervision engineer reviews (not the expert).
    review = h.inbox(engineer)
    assert any("复查" in m.text and number in m.text for m in review), texts(review)
    assert not any("复查申请" in m.text for m in h.inbox(expert))
    told_before = len(h.inbox(expert))
    r = await h.pick(engineer, "通过", review)
    assert "已关闭" in texts(r)
    # 001 §二(二): closed by the supervision unit, it is handed back to the agency that found it.
    closed = [m for m in h.inbox(expert)[told_before:] if "复查通过：隐患已闭环" in m.text]
    assert len(closed) == 1 and number in closed[0].text

    # One living card per hazard in the group: edited where the channel can, reposted where it cannot.
    group = [m for m in h.inbox("g-XC-P001") if number in m.text]
    if h.channel.capabilities.edit:
        assert len(group) == 1 and group[0].edits == 2 and "已闭环" in group[0].text
    else:
        assert len(group) == 3 and "已闭环" in group[-1].text

    # /hazard shows the full history.
    r = await h.say(expert, f"/hazard {number}")
    out = texts(r)
    for fragment in ("上报", "提交整改", "复查通过", "已关闭"):
        assert fragment in out, (fragment, out)

    async with h.app.readonly() as s:
        hazard = (await s.execute(select(Hazard).where(Hazard.number == number))).scalar_one()
        assert hazard.status == Status.CLOSED and hazard.closed_at is not None
        rect = (await s.execute(select(Rectification))).scalar_one()
        assert rect.decision == "approved"
        assert (await audit.verify(s)).ok
        actions = (await s.execute(select(AuditEvent.action).where(AuditEvent.object_type == "hazard"))).scalars().all()
        assert actions == ["hazard.reported", "hazard.rectification_submitted", "hazard.approved"]
        unsent = (
            await s.execute(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
        ).scalar_one()
        assert unsent == 0
