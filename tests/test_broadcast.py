"""Broadcasts in chat: compose, audience, preview with counts, send, read receipts, progress, re-notify; who may
send, and that the audience never leaves the sender's insurer or region."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.app import App
from bot.domain.broadcast import Scope, Target, estimate_seconds, in_region, parse_codes
from bot.domain.levels import Level
from bot.messages import parse_text
from bot.ports import BroadcastDraft
from storage import admin, audit, broadcasts, outbox_store
from storage.models import AuditEvent, Broadcast, BroadcastTarget
from storage.people import person_info
from tests.harness import CHANNEL, Harness, texts
from tests.test_clock import report

TYPHOON = "台风“海燕”预计明日登陆，请各项目今晚18:00前完成塔吊锁定和临边加固。"


async def test_an_insurer_broadcasts_and_follows_the_receipts(h: Harness) -> None:
    insurer = await h.login("周保险")
    manager = await h.login("陈经理")
    safety = await h.login("刘安全")
    supervisor = await h.login("孙监理")

    r = await h.say(insurer, "/broadcast")
    assert "请输入通知正文" in texts(r)
    r = await h.say(insurer, TYPHOON)
    assert "发给谁" in texts(r)
    r = await h.pick(insurer, "我的全部项目", r)
    assert "每个项目发给" in texts(r)
    assert "✓ 项目群" in str(r[-1].message.offers) and "☐ 安全员" in str(r[-1].message.offers)
    r = await h.pick(insurer, "安全员", r)
    assert "✓ 安全员" in str(r[-1].message.offers)
    r = await h.pick(insurer, "下一步", r)
    r = await h.pick(insurer, "要求确认已阅", r)
    preview = texts(r)
    # Two projects: their two group chats, the manager and the safety officer (who is in both: once).
    assert "项目数：2" in preview and f"{CHANNEL}：4个会话" in preview and "发送到4个会话" in str(r[-1].message.offers)
    assert "预计送达用时：不到1分钟" in preview
    r = await h.pick(insurer, "发送到4个会话", r)
    assert "群发 #1 正在发送到4个会话" in texts(r)

    for chat in ("g-XC-P001", "g-XC-P002", manager, safety):
        got = [m for m in h.inbox(chat) if TYPHOON in m.text]
        assert len(got) == 1, chat
        assert "【宣城安责险共保体通知】" in got[0].text
        assert any("请确认已阅" in label for _, label in got[0].message.offers)
    assert not [m for m in h.inbox(supervisor) if TYPHOON in m.text]  # not a chosen target

    notice = next(m for m in h.inbox(manager) if TYPHOON in m.text)
    r = await h.pick(manager, "请确认已阅", [notice])
    assert "已确认，谢谢" in texts(r)
    r = await h.pick(manager, "请确认已阅", [notice])
    assert "此前已确认" in texts(r)
    group_notice = next(m for m in h.inbox("g-XC-P001") if TYPHOON in m.text)
    r = await h.pick(supervisor, "请确认已阅", [group_notice], chat="g-XC-P001")  # anyone bound signs for a group
    assert "已确认，谢谢" in texts(r)

    r = await h.say(insurer, "/broadcasts")
    assert "共4个会话：已发4，排队0，失败0 · 2个已确认已阅" in texts(r)
    r = await h.pick(insurer, "#1 详情", r)
    assert "尚未确认（2）" in texts(r) and "宛陵湖管廊项目群" in texts(r) and "刘安全" in texts(r)
    r = await h.pick(insurer, "提醒2个未确认的会话", r)
    assert "正在向2个未确认的会话发送提醒" in texts(r)
    for chat, expected in (("g-XC-P002", 1), (safety, 1), (manager, 0), ("g-XC-P001", 0)):
        reminders = [m for m in h.inbox(chat) if "提醒：请确认您已阅读本通知" in m.text]
        assert len(reminders) == expected, chat

    async with h.app.readonly() as s:
        actions = [e.action for e in (await s.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars()]
        assert actions.count("broadcast.sent") == 1 and actions.count("broadcast.acknowledged") == 2
        assert "broadcast.renotified" in actions
        assert (await audit.verify(s)).first_bad_id is None


async def test_only_insurers_associations_and_authorities_broadcast(h: Harness) -> None:
    for name in ("陈经理", "王建国", "孙监理"):
        user = await h.login(name)
        r = await h.say(user, "/broadcast")
        assert "只有保险机构、协会和主管部门可以群发通知" in texts(r)
        r = await h.say(user, "/broadcasts")
        assert "只有保险机构" in texts(r)
    insurer = await h.login("周保险")
    r = await h.say(insurer, "/broadcast", chat="g-XC-P001")
    assert "请在与我的私聊中操作" in texts(r)
    async with h.app.readonly() as s:
        assert not (await s.execute(select(Broadcast))).scalars().all()


async def _other_insurer_project(h: Harness) -> None:
    """A project insured by someone else, in the same region, with its own group chat and manager."""
    async with h.app.sessions() as s, s.begin():
        await admin.add_org(s, "insurer", "别家保险", "安徽省宣城市")
        await admin.add_project(s, code="XC-P900", name="别家工地", region="安徽省宣城市宣州区", risk="high")
        await admin.add_policy(
            s,
            number="OT-1",
            project="XC-P900",
            insurer="别家保险",
            premium="50000",
            start=dt.date(2026, 1, 1),
            end=dt.date(2027, 12, 31),
        )
        await admin.bind_chat(s, channel=CHANNEL, chat_id="g-XC-P900", project="XC-P900", title="别家群")
        await admin.add_project(s, code="HF-P001", name="合肥工地", region="安徽省合肥市蜀山区", risk="high")
        await admin.add_policy(
            s,
            number="AZX-HF-1",
            project="HF-P001",
            insurer="宣城安责险共保体",
            premium="50000",
            start=dt.date(2026, 1, 1),
            end=dt.date(2027, 12, 31),
        )
        await admin.bind_chat(s, channel=CHANNEL, chat_id="g-HF-P001", project="HF-P001", title="合肥群")


async def _preview(h: Harness, name: str, scope: Scope, value: str = "") -> tuple[int, int, tuple[str, ...]]:
    draft = BroadcastDraft("通知", scope, value, (Target.GROUP,), False)
    async with h.app.sessions() as s, s.begin():
        pid = await h.person_id(name)
        person = await person_info(s, pid)
        p = await broadcasts.Broadcasts(h.app.turn(s)).preview(person, draft)
    return p.projects, p.total, p.unknown_codes


async def test_the_audience_never_leaves_the_senders_insurer_or_region(h: Harness) -> None:
    await _other_insurer_project(h)
    # The insurer: its three insured projects (two in 宣州区, one in 合肥), never the other insurer's.
    assert await _preview(h, "周保险", Scope.ALL) == (3, 3, ())
    assert await _preview(h, "周保险", Scope.RISK, "high") == (2, 2, ())
    assert await _preview(h, "周保险", Scope.REGION, "安徽省宣城市") == (2, 2, ())
    assert await _preview(h, "周保险", Scope.LIST, "xc-p900, XC-P001，HF-P001") == (2, 2, ("XC-P900",))
    # The district authority: every project of its district, whoever insures it, nothing outside it.
    assert await _preview(h, "吴监管", Scope.ALL) == (3, 3, ())
    assert await _preview(h, "吴监管", Scope.LIST, "HF-P001 XC-P900") == (1, 1, ("HF-P001",))

    insurer = await h.login("周保险")
    r = await h.say(insurer, "/broadcast")
    r = await h.say(insurer, "暴雨预警")
    r = await h.pick(insurer, "按地区", r)
    assert "安徽省合肥市蜀山区" in str(r[-1].message.offers)  # the regions of its own projects only
    r = await h.pick(insurer, "安徽省合肥市蜀山区", r)
    r = await h.pick(insurer, "下一步", r)
    r = await h.pick(insurer, "否", r)
    assert f"{CHANNEL}：1个会话" in texts(r)
    r = await h.pick(insurer, "发送到1个会话", r)
    assert [m for m in h.inbox("g-HF-P001") if "暴雨预警" in m.text]
    assert not [m for m in h.inbox("g-XC-P900") + h.inbox("g-XC-P001") if "暴雨预警" in m.text]


async def test_open_serious_hazards_and_typed_lists(h: Harness) -> None:
    assert await _preview(h, "周保险", Scope.OPEN) == (0, 0, ())
    await report(h, Level.TWO, dt.date(2026, 11, 20))  # in XC-P001
    assert await _preview(h, "周保险", Scope.OPEN) == (1, 1, ())

    insurer = await h.login("周保险")
    r = await h.say(insurer, "/broadcast")
    r = await h.say(insurer, "专项检查通知")
    r = await h.pick(insurer, "指定项目编号", r)
    assert "请输入项目编号" in texts(r)
    r = await h.say(insurer, "XC-P002 NOPE-1")
    r = await h.pick(insurer, "下一步", r)
    r = await h.pick(insurer, "否", r)
    assert "已略过：NOPE-1" in texts(r) and "项目数：1" in texts(r)
    r = await h.pick(insurer, "取消", r)
    assert "群发已取消" in texts(r)
    async with h.app.readonly() as s:
        assert not (await s.execute(select(Broadcast))).scalars().all()


async def test_the_draft_survives_a_restart_and_bad_input_is_explained(h: Harness) -> None:
    insurer = await h.login("周保险")
    await h.say(insurer, "/broadcast")
    r = await h.say(insurer, "长" * 1600)
    assert "内容过长：1600 字，最多 1500 字" in texts(r)
    r = await h.photo(insurer, caption="高温预警：11:00–15:00 停止露天高处作业。")
    assert "发给谁" in texts(r)  # a captioned photo is a whole notice
    await h.app.engine.dispose()
    h = Harness(App(h.app.settings, channels={CHANNEL: h.channel}), h.channel)  # the process restarts
    r = await h.pick(insurer, "我的全部项目", r)
    r = await h.pick(insurer, "项目群", r)  # switch the group chats off
    r = await h.pick(insurer, "项目负责人", r)  # and the managers: nothing chosen
    r = await h.pick(insurer, "下一步", r)
    assert "请至少选择一项" in texts(r)
    r = await h.pick(insurer, "项目群", r)
    r = await h.pick(insurer, "下一步", r)
    r = await h.pick(insurer, "否", r)
    assert "附件：图片" in texts(r)
    r = await h.pick(insurer, "发送到2个会话", r)
    for chat in ("g-XC-P001", "g-XC-P002"):
        got = h.inbox(chat)
        assert got[-1].text.endswith("高温预警：11:00–15:00 停止露天高处作业。")
        assert got[-2].message.photo is not None


async def test_estimates_and_parsing() -> None:
    assert estimate_seconds({"telegram": 5000, "wecom": 2000}, {"telegram": 30 / 1.05, "wecom": 20 / 1.05}) == 175
    assert estimate_seconds({"webchat": 10}, {}) == 0
    assert parse_codes("a-1, B-2，c-3、a-1\nd-4") == ["A-1", "B-2", "C-3", "D-4"]
    assert in_region("安徽省宣城市宣州区", "安徽省宣城市") and not in_region("安徽省合肥市", "安徽省宣城市")
    assert not in_region("安徽省宣城市", "")


async def test_broadcast_rows_wait_behind_interactive_messages(h: Harness) -> None:
    manager = await h.login("陈经理")
    async with h.app.sessions() as s, s.begin():
        person = await person_info(s, await h.person_id("周保险"))
        await broadcasts.Broadcasts(h.app.turn(s)).send(
            person, BroadcastDraft("排队测试", Scope.ALL, "", (Target.GROUP, Target.MANAGER), False)
        )
    await h.app.router.handle(h.incoming(manager, parse_text("/whoami")))
    await h.app.dispatcher.settle()  # the reply goes at once, though written last …
    assert "您是" in h.inbox(manager)[0].text
    async with h.app.readonly() as s:
        due = await outbox_store.due(s, h.app.now(), 10)
        assert [r.broadcast_id for r in due] == [1, 1, 1]  # … while the broadcast still waits its turn
        assert len((await s.execute(select(BroadcastTarget))).scalars().all()) == 3
    await h.app.dispatcher.drain()
    assert "您是" in h.inbox(manager)[0].text
