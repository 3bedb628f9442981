"""Bad input never crashes a conversation nor loses data; restarts, duplicates and races are safe."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.messages import Choice, Command
from bot.render import RICH
from storage import outbox_store
from storage.models import AuditEvent, Conversation, Hazard, ProcessedUpdate, Rectification
from tests.conftest import make_harness
from tests.harness import Harness, texts
from tests.test_flow_lifecycle import report_level3

REPORT_STEPS = [
    "project",
    "photos",
    "group",
    "major",
    "check",
    "description",
    "location",
    "level",
    "suggestion",
    "deadline",
    "lec",
    "confirm",
]


async def walk_report(h: Harness, user: str, until: str) -> list:
    """Answer the report questions up to (not including) `until`."""
    answers = {
        "project": lambda r: h.pick(user, "锦城花园", r),
        "photos": lambda r: h.photo(user),
        "photos-done": lambda r: h.pick(user, "完成", r),
        "group": lambda r: h.pick(user, "高处作业", r),
        "major": lambda r: h.pick(user, "均不符合", r),
        "check": lambda r: h.pick(user, "跳过", r),
        "description": lambda r: h.say(user, "5 层临边无防护栏杆 😟"),
        "location": lambda r: h.say(user, "1#楼 5 层东侧"),
        "level": lambda r: h.pick(user, "四级", r),
        "suggestion": lambda r: h.say(user, "设置 1.2 m 防护栏杆和挡脚板"),
        "deadline": lambda r: h.pick(user, "15 个工作日", r),
        "lec": lambda r: h.pick(user, "跳过", r),
    }
    r = await h.say(user, "/report")
    for step in REPORT_STEPS:
        if step == until:
            return r
        r = await answers[step](r)
        if step == "photos":
            r = await answers["photos-done"](r)
    return r


@pytest.mark.parametrize("step", REPORT_STEPS)
async def test_cancel_works_at_every_step(h: Harness, step: str) -> None:
    expert = await h.login("王建国")
    await walk_report(h, expert, step)
    r = await h.say(expert, "/cancel")
    assert "已取消隐患上报" in texts(r)
    assert "当前没有可取消的操作" in texts(await h.say(expert, "/cancel"))
    async with h.app.readonly() as s:
        assert (await s.execute(select(func.count()).select_from(Hazard))).scalar_one() == 0
        conv = (await s.execute(select(Conversation).where(Conversation.user_id == expert))).scalar_one()
        assert conv.flow is None and conv.data == {}


async def test_wrong_kinds_of_answer_get_clear_replies(h: Harness) -> None:
    expert = await h.login("王建国")
    r = await walk_report(h, expert, "photos")
    assert "请发送隐患照片" in texts(await h.say(expert, "这里有个洞"))
    r = await h.photo(expert)
    r = await h.pick(expert, "完成", r)
    r = await h.say(expert, "随便打的字")  # text where a category button is expected
    assert "隐患属于哪一类" in texts(r)
    r = await h.pick(expert, "高处作业", r)
    r = await h.pick(expert, "均不符合", r)
    r = await h.pick(expert, "跳过", r)
    r = await h.say(expert, "长" * 20000)
    assert "内容过长：20000 字，最多 1000 字" in texts(r)
    r = await h.say(expert, "🙂")
    assert "内容太短" in texts(r)
    r = await h.say(expert, "🚧 临边防护缺失 🚧")
    assert "隐患位置" in texts(r)
    # A photo sent in the middle is added to the report, and the question is asked again.
    r = await h.photo(expert)
    assert "已添加照片（共 2 张）" in texts(r) and "隐患位置" in texts(r)
    r = await h.say(expert, "/nonsense")
    assert "不认识命令 /nonsense" in texts(r)
    r = await h.say(expert, "/report")
    assert "您有未完成的隐患上报" in texts(r)
    r = await h.pick(expert, "继续", r)
    assert "隐患位置" in texts(r)


async def test_a_deadline_can_be_typed_and_a_bad_one_is_refused(h: Harness) -> None:
    expert = await h.login("王建国")
    await walk_report(h, expert, "deadline")
    assert "无法识别该日期" in texts(await h.say(expert, "下周吧"))
    assert "无法识别该日期" in texts(await h.say(expert, "2026-01-01"))
    r = await h.say(expert, "2026-12-01")
    assert "LEC" in texts(r)
    r = await h.pick(expert, "跳过", r)
    r = await h.pick(expert, "提交", r)
    async with h.app.readonly() as s:
        assert (await s.execute(select(Hazard.deadline))).scalar_one().isoformat() == "2026-12-01"


async def test_non_images_and_oversized_files_are_refused_and_not_stored(h: Harness) -> None:
    expert = await h.login("王建国")
    await walk_report(h, expert, "photos")
    r = await h.photo(expert, data=b"%PDF-1.4 not a picture" * 10)
    assert "无法识别该图片" in texts(r)
    r = await h.photo(expert, data=b"\xff\xd8\xff" + b"0" * (21 * 1024 * 1024))
    assert "文件过大（最大 20 MB）" in texts(r)
    media_dir = h.app.settings.media_dir
    assert not media_dir.exists() or not any(p.is_file() for p in media_dir.rglob("*"))


async def test_a_half_finished_report_survives_a_restart(db_url: str, tmp_path: Path, clock: object) -> None:
    first = await make_harness(db_url, tmp_path, RICH)
    expert = await first.login("王建国")
    await walk_report(first, expert, "location")
    await first.app.engine.dispose()

    second = await make_harness(db_url, tmp_path, RICH, seed=False)  # a new process on the same database
    r = await second.say(expert, "1#楼 5 层东侧")
    assert "隐患级别" in texts(r)
    r = await second.pick(expert, "四级", r)
    r = await second.say(expert, "设置防护栏杆")
    r = await second.pick(expert, "15 个工作日", r)
    r = await second.pick(expert, "跳过", r)
    r = await second.pick(expert, "提交", r)
    assert "XC-2026-000001" in texts(r)
    await second.app.engine.dispose()


async def test_a_duplicate_update_is_processed_once(h: Harness) -> None:
    expert = await h.login("王建国")
    inc = h.incoming(expert, Command("hazards"), message_id="dup-1")
    await asyncio.gather(h.app.router.handle(inc), h.app.router.handle(inc))
    await h.deliver(inc)
    await h.app.dispatcher.drain()
    assert len(h.inbox(expert)) == 1
    assert h.app.router.duplicates == 2
    async with h.app.readonly() as s:
        assert (
            await s.execute(
                select(func.count()).select_from(ProcessedUpdate).where(ProcessedUpdate.update_key == "dup-1")
            )
        ).scalar_one() == 1


async def test_a_stale_button_pressed_twice(rich: Harness) -> None:
    # Only buttons go stale: on a text-only channel a typed number always means the options shown last.
    h = rich
    expert, manager, engineer = [await h.login(n) for n in ("王建国", "陈经理", "孙监理")]
    await report_level3(h, expert)
    r = await h.pick(manager, "提交整改", h.inbox(manager))
    r = await h.photo(manager)
    r = await h.pick(manager, "完成", r)
    r = await h.say(manager, "已整改")
    confirm = r
    await h.pick(manager, "提交", confirm)
    r = await h.pick(manager, "提交", confirm)  # the old confirm button again
    assert "对话已结束" in texts(r) or "不再有效" in texts(r) or "已失效" in texts(r)
    review = [m for m in h.inbox(engineer) if "复查申请" in m.text]
    await h.pick(engineer, "通过", review)
    r = await h.pick(engineer, "通过", review)
    assert "已处理过，当前状态：已关闭" in texts(r)
    r = await h.pick(manager, "提交整改", h.inbox(manager)[:3])
    assert "已处理过，当前状态：已关闭" in texts(r)
    async with h.app.readonly() as s:
        assert (await s.execute(select(func.count()).select_from(Rectification))).scalar_one() == 1


async def test_two_people_submit_at_once_and_one_wins(rich: Harness) -> None:
    h = rich
    expert, manager, safety = [await h.login(n) for n in ("王建国", "陈经理", "刘安全")]
    await report_level3(h, expert)
    confirms = {}
    for person in (manager, safety):
        r = await h.pick(person, "提交整改", h.inbox(person))
        r = await h.photo(person)
        r = await h.pick(person, "完成", r)
        confirms[person] = await h.say(person, f"{person} 已整改")
    value = next(v for m in confirms[manager] for v, label in m.message.offers if label == "提交")
    await asyncio.gather(*(h.app.router.handle(h.incoming(p, Choice(value))) for p in (manager, safety)))
    await h.app.dispatcher.drain()
    outcomes = [texts(h.inbox(p)[-1:]) for p in (manager, safety)]
    assert sum("等待复查" in o for o in outcomes) == 1
    assert sum("已处理过，当前状态：待复查" in o for o in outcomes) == 1
    async with h.app.readonly() as s:
        assert (await s.execute(select(func.count()).select_from(Rectification))).scalar_one() == 1


async def test_a_failure_mid_transaction_leaves_nothing_half_written(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    expert = await h.login("王建国")
    r = await walk_report(h, expert, "confirm")

    async def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox_store, "write_notices", broken)  # the turn's notices: after the hazard's rows
    async with h.app.readonly() as s:
        events_before = (await s.execute(select(func.count()).select_from(AuditEvent))).scalar_one()
    failed = await h.pick(expert, "提交", r)
    assert "处理出错，本次内容未保存" in texts(failed)
    assert "Traceback" not in texts(failed) and "disk full" not in texts(failed)
    async with h.app.readonly() as s:
        assert (await s.execute(select(func.count()).select_from(Hazard))).scalar_one() == 0
        assert (await s.execute(select(func.count()).select_from(AuditEvent))).scalar_one() == events_before
        conv = (await s.execute(select(Conversation).where(Conversation.user_id == expert))).scalar_one()
        assert conv.flow == "report"  # the draft is still there

    monkeypatch.undo()
    r = await h.pick(expert, "提交", r)
    assert "XC-2026-000001" in texts(r)  # the number was not used up by the failed attempt
