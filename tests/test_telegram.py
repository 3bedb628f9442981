"""The Telegram channel through the real python-telegram-bot client against a fake Bot API on loopback."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import time_machine
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import App
from bot.config import Settings
from storage import admin, demo
from storage.models import ChatBinding, Hazard, Identity, OutboxMessage, ProcessedUpdate
from tests.conftest import START
from tests.fakes.recorder import expect
from tests.fakes.telegram_api import Call, FakeTelegram
from tests.harness import jpeg, unique_jpeg

GROUP = -1001234567890
OTHER_GROUP = -1009876543210
SECRET = "s3cret-Token_1"
PEOPLE = {"王建国": 11, "陈经理": 12, "刘安全": 13, "孙监理": 14, "周保险": 15, "吴监管": 16}


@dataclass
class World:
    app: App
    fake: FakeTelegram
    clock: Any
    users: dict[str, dict[str, Any]]

    async def expect(self, predicate: Callable[[], bool], what: str = "") -> None:
        """Paced messages (1/s per chat, 20/min per group) fall due as the controlled clock moves on."""
        await expect(
            self.fake,
            predicate,
            self.clock,
            self.app.dispatcher.kick,
            1.5,
            what,
            lambda: [c.text[:30] for c in self.fake.sent()][-8:],
            self.app.idle,
        )

    async def said(self, chat: int, fragment: str, after: int = 0) -> Call:
        def found() -> bool:
            return any(fragment in c.text for c in self.fake.sent(chat)[after:])

        await self.expect(found, f"{fragment!r} in {chat}")
        return next(c for c in self.fake.sent(chat)[after:] if fragment in c.text)

    def mark(self, chat: int) -> int:
        return len(self.fake.sent(chat))


@pytest.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    fake = FakeTelegram()
    url = await fake.start()
    with time_machine.travel(START, tick=False) as clock:
        app = App(
            Settings(
                database_url=db_url,
                media_dir=tmp_path / "media",
                webchat=False,
                telegram_token=fake.token,
                telegram_api_url=url,
                telegram_poll_timeout=1,
                _env_file=None,
            )
        )  # type: ignore[call-arg]
        await app.prepare()
        async with app.sessions() as s, s.begin():
            await demo.seed(s, channel="telegram", groups={"XC-P001": str(GROUP), "XC-P002": str(OTHER_GROUP)})
            people = {p.name: p.id for p, _, _ in await admin.people(s)}
            for name, uid in PEOPLE.items():  # as if each had joined by invite already
                await admin.link_account(s, "telegram", str(uid), str(uid), people[name], app.now())
        await app.start(serve=False)
        users = {name: fake.user(uid, name) for name, uid in PEOPLE.items()}
        try:
            yield World(app, fake, clock, users)
        finally:
            await app.stop()
            await fake.close()


async def test_start_up_sets_the_command_menu_in_both_languages(world: World) -> None:
    menus = [c for c in world.fake.calls if c.method == "setMyCommands"]
    by_lang = {(c.params.get("language_code"), c.params["scope"]["type"]): c.params["commands"] for c in menus}
    assert {"command": "report", "description": "report a hazard (or just send a photo with a caption)"} in by_lang[
        ("en", "default")
    ]
    assert {"command": "report", "description": "上报隐患（或直接发送带说明的照片）"} in by_lang[("zh", "default")]
    assert ("zh", "all_group_chats") in by_lang
    assert any(c.method == "deleteWebhook" for c in world.fake.calls)  # polling mode


async def test_invite_by_deep_link(world: World) -> None:
    async with world.app.sessions() as s, s.begin():
        worker = next(p for p, _, _ in await admin.people(s) if p.name == "张班长")
        code, _ = await admin.invite(s, project="XC-P001", person=str(worker.id), role="worker", now=world.app.now())
    newcomer = world.fake.user(77, "张班长")
    world.fake.push(world.fake.text(newcomer, f"/start {code}"))  # what https://t.me/<bot>?start=<code> sends
    await world.said(77, "欢迎，张班长")
    other = world.fake.user(78, "someone", lang="en")
    world.fake.push(world.fake.text(other, f"/start {code}"))
    await world.said(78, "already been used")
    async with world.app.readonly() as s:
        ident = (
            await s.execute(select(Identity).where(Identity.channel == "telegram", Identity.user_id == "77"))
        ).scalar_one()
        assert ident.person_id == worker.id and ident.chat_id == "77"


async def test_binding_a_group(world: World) -> None:
    async with world.app.sessions() as s, s.begin():
        code, _ = await admin.invite(s, project="XC-P002", now=world.app.now())
    new_group = -100555
    world.fake.push(world.fake.text(world.users["刘安全"], f"/bind@anzebot_bot {code}", chat_id=new_group))
    await world.said(new_group, "已绑定「宛陵湖综合管廊一期」")
    world.fake.push(world.fake.text(world.users["刘安全"], "/help@other_bot", chat_id=new_group))
    async with world.app.readonly() as s:
        assert (await s.execute(select(ChatBinding).where(ChatBinding.chat_id == str(new_group)))).scalar_one().active


async def run_lifecycle(w: World, english: bool) -> None:
    fake, users = w.fake, w.users
    expert, manager, engineer = users["王建国"], users["陈经理"], users["孙监理"]
    if english:
        for person in (expert, manager, engineer):
            fake.push(fake.text(person, "/lang"))
            ask = await w.said(person["id"], "选择语言")
            fake.push(fake.press(person, ask, "English"))
            await w.said(person["id"], "Language set to English.")
    t = (lambda zh, en: en) if english else (lambda zh, en: zh)

    # The expert reports in the project group: commands, button presses and replies work with privacy mode on.
    mark = w.mark(GROUP)
    fake.push(fake.text(expert, "/report", chat_id=GROUP))
    await w.said(GROUP, t("隐患现场照片", "photos of the hazard"), mark)
    fake.push(fake.photo(expert, unique_jpeg(), chat_id=GROUP))
    ask = await w.said(GROUP, t("已收到第 1 张照片", "Photo 1 received"), mark)
    for label, prompt in (
        (t("完成", "Done"), t("隐患属于哪一类", "What kind of hazard")),
        (t("脚手架", "Scaffolding"), t("重大事故隐患", "major-hazard criterion")),
        (t("均不符合", "None of these"), "JGJ 59"),
        (t("跳过", "Skip"), t("描述问题", "Describe the problem")),
    ):
        fake.push(fake.press(expert, ask, label))
        ask = await w.said(GROUP, prompt, mark)
    fake.push(fake.text(expert, "3#楼外架连墙件缺失", chat_id=GROUP, reply_to=5000))
    await w.said(GROUP, t("隐患位置", "Where is it"), mark)
    fake.push(fake.text(expert, "3#楼北侧", chat_id=GROUP, reply_to=5000))
    ask = await w.said(GROUP, t("隐患级别？", "Which level"), mark)
    for label, prompt in (
        (t("三级", "Level 3"), t("整改要求", "What must be done")),
        (t("标准表述", "standard wording"), t("整改期限", "Deadline")),
        (t("7 个工作日", "(7 working days)"), "LEC"),
        (t("跳过", "Skip"), t("请核对", "Check the report")),
        (t("提交", "Submit"), "XC-2026-000001"),
    ):
        fake.push(fake.press(expert, ask, label))
        ask = await w.said(GROUP, prompt, mark)

    # The group card (with photo first) and the manager's private notice.
    card = await w.said(GROUP, "隐患整改通知单")
    assert any(c.method == "sendPhoto" for c in fake.sent(GROUP)[mark:])
    notice = await w.said(manager["id"], t("隐患整改通知单", "Rectification notice"))
    assert t("提交整改", "Submit rectification") in [label for _, label in notice.buttons]

    mark_m = w.mark(manager["id"])
    fake.push(fake.press(manager, notice, t("提交整改", "Submit rectification")))
    await w.said(manager["id"], t("整改完成后的照片", "has been fixed"), mark_m)
    # Sent as a file, the photo keeps its EXIF capture time.
    fake.push(fake.document(manager, jpeg((10, 200, 10), exif_time="2026:11:17 08:55:00"), "image/jpeg", "fix.jpg"))
    ask = await w.said(manager["id"], t("已收到第 1 张照片", "Photo 1 received"), mark_m)
    fake.push(fake.press(manager, ask, t("完成", "Done")))
    await w.said(manager["id"], t("说明整改情况", "what was done"), mark_m)
    fake.push(fake.text(manager, "已补设连墙件"))
    ask = await w.said(manager["id"], t("申请复查", "for re-inspection"), mark_m)
    fake.push(fake.press(manager, ask, t("提交", "Submit")))
    await w.said(manager["id"], t("等待复查", "waits for re-inspection"), mark_m)

    review = await w.said(engineer["id"], t("复查申请", "Re-inspection requested"))
    fake.push(fake.press(engineer, review, t("复查通过", "Approve")))
    await w.said(engineer["id"], t("已关闭", "is closed"))

    # One living card: the group message is edited to closed, not posted again.
    def edited_closed() -> bool:
        return any(
            c.method == "editMessageText" and "隐患已闭环" in c.text and c.chat == str(GROUP) for c in fake.calls
        )

    await w.expect(edited_closed, "group card edited to closed")
    cards = [c for c in fake.sent(GROUP, "sendMessage") if "XC-2026-000001" in c.text and "【" in c.text]
    assert len(cards) == 2 and card in cards  # the report's own answer card and the living card
    answers = [c for c in fake.calls if c.method == "answerCallbackQuery"]
    assert answers and all(not c.params.get("text") for c in answers)
    async with w.app.readonly() as s:
        hazard = (await s.execute(select(Hazard))).scalar_one()
        assert hazard.status == "closed"


async def test_full_lifecycle_in_a_group_in_chinese(world: World) -> None:
    await run_lifecycle(world, english=False)


async def test_full_lifecycle_in_english(world: World) -> None:
    await run_lifecycle(world, english=True)


async def test_stale_and_foreign_buttons_get_a_pop_up(world: World) -> None:
    w, fake = world, world.fake
    fake.push(fake.text(w.users["周保险"], "/lec"))
    ask = await w.said(15, "事故发生的可能性")
    fake.push(fake.press(w.users["周保险"], ask, "10 ·"))
    await w.said(15, "暴露")
    fake.push(fake.press(w.users["周保险"], ask, "10 ·"))  # the L question again: an earlier button

    def answered(fragment: str) -> Callable[[], bool]:
        return lambda: any(
            fragment in (c.params.get("text") or "") for c in fake.calls if c.method == "answerCallbackQuery"
        )

    await w.expect(answered("该按钮属于之前的问题"), "a pop-up for the stale button")
    fake.push(fake.text(w.users["周保险"], "/cancel"))
    await w.said(15, "已取消")
    fake.push(fake.callback(w.users["周保险"], ask, "rv:999:ok"))  # a review button that is not theirs
    await w.expect(answered("未找到"), "a pop-up refusal")
    fake.push(fake.callback(w.users["周保险"], ask, "rect:abc"))  # a forged value
    await w.expect(answered("该按钮已失效"), "a pop-up for a forged button")


async def test_oversized_photos_get_a_clear_reply(world: World) -> None:
    fake = world.fake
    fake.push(fake.photo(world.users["王建国"], unique_jpeg(), declared_size=25 * 1024 * 1024))
    await world.said(11, "文件过大（最大 20 MB）")
    async with world.app.readonly() as s:
        assert (await s.execute(select(func.count()).select_from(Hazard))).scalar_one() == 0
    assert not [c for c in fake.calls if c.method == "getFile"]  # refused before downloading


async def test_a_blocked_user_is_reported_to_the_project_admin(world: World) -> None:
    w, fake = world, world.fake
    fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    fake.push(fake.text(w.users["刘安全"], "/help"))
    await w.said(12, "刘安全 已在 telegram 上屏蔽了我")
    async with w.app.readonly() as s:
        ident = (
            await s.execute(select(Identity).where(Identity.user_id == "13", Identity.channel == "telegram"))
        ).scalar_one()
        assert ident.active is False
        failed = (await s.execute(select(OutboxMessage).where(OutboxMessage.status == "failed"))).scalar_one()
        assert failed.chat_id == "13" and failed.attempts == 1


async def test_a_429_storm_delivers_everything_once_and_never_early(world: World) -> None:
    w, fake = world, world.fake
    # One request at a time: requests already in flight when a 429 comes back cannot be recalled (the platform
    # answers them too); what this test holds is that none is *started* inside the retry_after window.
    w.app.dispatcher.in_flight = 1
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 5", retry_after=5, times=3)
    for name in ("王建国", "陈经理", "刘安全", "孙监理", "周保险", "吴监管"):
        for _ in range(3):
            fake.push(fake.text(w.users[name], "/whoami"))
    expected = 18

    def delivered() -> list[Call]:
        return [c for c in fake.sent() if "项目：" in c.text and c not in fake.faulted]

    def all_delivered() -> bool:
        return len(delivered()) >= expected

    await w.expect(all_delivered, "18 answers")
    answers = [c for c in fake.calls if c.method == "sendMessage"]
    successes = delivered()
    assert len(successes) == expected  # none twice
    assert len(fake.faulted) == 3
    for refused in fake.faulted:  # nothing was sent inside a retry_after window
        assert not [c for c in answers if refused.at < c.at < refused.at + 5], (
            [f.at for f in fake.faulted],
            [(c.chat, c.at) for c in answers],
        )
    per_chat: dict[str, list[float]] = {}
    for c in successes:
        per_chat.setdefault(c.chat, []).append(c.at)
    for times in per_chat.values():  # about one message per second per chat
        assert all(b - a >= 1 for a, b in itertools.pairwise(times)), per_chat
    await w.app.dispatcher.run_once()  # let the pass that sent the last answer record it
    async with w.app.readonly() as s:
        unsent = (await s.execute(select(OutboxMessage).where(OutboxMessage.status != "sent"))).scalars().all()
        assert not unsent


@pytest.fixture
async def webhook(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[App, FakeTelegram, TestClient]]:
    fake = FakeTelegram()
    url = await fake.start()
    with time_machine.travel(START, tick=False):
        app = App(
            Settings(
                database_url=db_url,
                media_dir=tmp_path / "media",
                webchat=False,
                telegram_token=fake.token,
                telegram_api_url=url,
                telegram_webhook_url="https://bot.example.org/telegram/webhook",
                telegram_webhook_secret=SECRET,
                _env_file=None,
            )
        )  # type: ignore[call-arg]
        await app.prepare()
        async with app.sessions() as s, s.begin():
            await demo.seed(s, channel="telegram", groups={"XC-P001": str(GROUP)})
        await app.start(serve=False)
        client = TestClient(TestServer(app.web_app(), host="127.0.0.1"))
        await client.start_server()
        try:
            yield app, fake, client
        finally:
            await client.close()
            await app.stop()
            await fake.close()


async def test_webhook_checks_its_secret_and_handles_a_replay_once(
    webhook: tuple[App, FakeTelegram, TestClient],
) -> None:
    app, fake, client = webhook
    hook = next(c for c in fake.calls if c.method == "setWebhook")
    assert hook.params["secret_token"] == SECRET and hook.params["url"].endswith("/telegram/webhook")
    update = fake.text(fake.user(31, "访客", lang="en"), "hello")
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        r = await client.post("/telegram/webhook", json=update, headers=headers)
        assert r.status == 403
    async with app.readonly() as s:
        assert (await s.execute(select(func.count()).select_from(ProcessedUpdate))).scalar_one() == 0
    good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for _ in range(2):  # Telegram redelivers when it did not see a 2xx in time
        r = await client.post("/telegram/webhook", json=update, headers=good)
        assert r.status == 200
    assert await fake.wait_for(lambda: len(fake.sent(31)) >= 1)
    r = await client.post("/telegram/webhook", data=b"{not json", headers=good)
    assert r.status == 400
    async with app.readonly() as s:
        assert (await s.execute(select(func.count()).select_from(ProcessedUpdate))).scalar_one() == 1
    await app.dispatcher.drain()
    assert len(fake.sent(31)) == 1 and "invite code" in fake.sent(31)[0].text


async def test_a_group_that_removed_the_bot_is_reported_and_not_retried(world: World) -> None:
    w, fake = world, world.fake
    for method in ("sendMessage", "sendPhoto"):
        fake.fail(method, 403, "Forbidden: bot was kicked from the supergroup chat", chat=GROUP, times=5)
    expert = w.users["王建国"]
    fake.push(fake.photo(expert, unique_jpeg(), caption="四级 临边防护缺失 位置：1#楼5层"))
    for label in ("锦城花园", "均不符合", "跳过", "标准表述", "15 个工作日", "跳过", "提交"):

        def offered(label: str = label) -> bool:
            return bool(fake.sent(11)) and any(label in b for _, b in fake.sent(11)[-1].buttons)

        await w.expect(offered, label)
        fake.push(fake.press(expert, fake.sent(11)[-1], label))
    await w.said(12, "已无法在「锦城花园二期 3#–6# 楼」的群聊")
    async with w.app.readonly() as s:
        binding = (await s.execute(select(ChatBinding).where(ChatBinding.chat_id == str(GROUP)))).scalar_one()
        assert binding.active is False
    assert len([c for c in fake.calls if c.chat == str(GROUP)]) == 1  # given up at once, not retried


def test_every_button_value_fits_telegrams_64_bytes() -> None:
    from bot.domain.lec import format_score, tables
    from bot.domain.taxonomy import taxonomy

    tax = taxonomy()
    values = [f"f:group:{g.id}" for g in tax.groups]
    values += [f"f:major:{m.id}" for g in tax.groups for m in g.major]
    values += [f"f:check:{c.index}" for g in tax.groups for c in g.checks]
    values += [f"f:lec{k}:{format_score(f.score)}" for k in "LEC" for f in getattr(tables(), k)]
    values += ["f:deadline:2026-11-26", "rv:999999999:ok", "rect:999999999", "ack:999999999", "h:999999999"]
    assert max(len(v.encode()) for v in values) <= 64


async def test_a_group_upgraded_to_a_supergroup_is_followed(world: World) -> None:
    w, fake = world, world.fake
    new_id = -1005555555555
    fake.fail(
        "sendMessage", 400, "Bad Request: group chat was upgraded to a supergroup chat", chat=GROUP, migrate_to=new_id
    )
    async with w.app.sessions() as s, s.begin():
        await admin.move_chat(s, "telegram", "nothing-bound-here", "x")  # unknown chats are left alone
    fake.push(fake.text(w.users["王建国"], "/help", chat_id=GROUP))
    await w.said(new_id, "可用命令")
    async with w.app.readonly() as s:
        binding = (await s.execute(select(ChatBinding).where(ChatBinding.project_id == 1))).scalar_one()
        assert binding.chat_id == str(new_id)
