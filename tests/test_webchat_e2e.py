"""The web chat over real HTTP on loopback, as a new user of `make run` would use it: the expert reports a
level-3 hazard with a photo, the site manager rectifies, the supervision engineer approves, /hazard shows the
history, and the archive check passes — then fails after one audit row is edited by hand."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text as sql

from bot.app import App
from bot.config import Settings
from storage import audit, demo
from tests.conftest import START
from tests.harness import jpeg

H = {"X-Anzebot-Webchat": "1"}


class Browser:
    def __init__(self, client: TestClient, app: App) -> None:
        self.client = client
        self.app = app
        self.after: dict[str, int] = {}

    async def people(self) -> list[dict[str, Any]]:
        return (await (await self.client.get("/api/people")).json())["people"]

    async def login(self, name: str) -> str:
        person = next(p for p in await self.people() if p["name"] == name)
        r = await self.client.post("/api/login", json={"person": person["id"]}, headers=H)
        assert r.status == 200
        user = (await r.json())["user"]
        await self.read(user)  # skip what is already there
        return user

    async def read(self, chat: str, wait: float = 0) -> list[dict[str, Any]]:
        params = {"chat": chat, "after": self.after.get(chat, 0), "wait": wait}
        r = await self.client.get("/api/messages", params=params)
        messages = (await r.json())["messages"]
        if messages:
            self.after[chat] = max(m["seq"] for m in messages)
        return messages

    async def expect(self, chat: str, fragment: str) -> list[dict[str, Any]]:
        """Long-poll as the page does until a bot message contains `fragment`. The server answers as soon as
        something arrives; the bound only stops a broken run."""
        seen: list[dict[str, Any]] = []
        for _ in range(20):
            seen += [m for m in await self.read(chat, wait=5) if m["from"] == "bot"]
            if any(fragment in m["text"] for m in seen):
                return seen
        raise AssertionError(f"{fragment!r} never came; saw {[m['text'][:40] for m in seen]}")

    async def say(self, user: str, text: str, chat: str | None = None) -> None:
        r = await self.client.post("/api/send", json={"user": user, "chat": chat or user, "text": text}, headers=H)
        assert r.status == 200

    async def press(self, user: str, messages: list[dict[str, Any]], label: str, chat: str | None = None) -> None:
        for m in reversed(messages):
            for row in m["buttons"]:
                for value, text in row:
                    if label in text:
                        r = await self.client.post(
                            "/api/send",
                            headers=H,
                            json={"user": user, "chat": chat or user, "choice": value, "label": text},
                        )
                        assert r.status == 200
                        return
        raise AssertionError(f"no button {label!r}")

    async def upload(self, user: str, data: bytes, caption: str = "") -> None:
        form = FormData()
        form.add_field("file", data, filename="site.jpg", content_type="image/jpeg")
        form.add_field("user", user)
        form.add_field("chat", user)
        form.add_field("caption", caption)
        r = await self.client.post("/api/upload", data=form, headers=H)
        assert r.status == 200


@pytest.fixture
async def browser(db_url: str, tmp_path: Path) -> AsyncIterator[Browser]:
    with time_machine.travel(START, tick=True):
        app = App(Settings(database_url=db_url, media_dir=tmp_path / "media", _env_file=None))  # type: ignore[call-arg]
        await app.prepare()
        async with app.sessions() as s, s.begin():
            await demo.seed(s)
        await app.start(serve=False)
        client = TestClient(TestServer(app.web_app(), host="127.0.0.1"))
        await client.start_server()
        try:
            yield Browser(client, app)
        finally:
            await client.close()
            await app.stop()


async def test_done_means(browser: Browser, db_url: str) -> None:
    b = browser
    page = await b.client.get("/")
    assert page.status == 200 and "anzebot" in await page.text()

    expert = await b.login("王建国")
    await b.say(expert, "/report")
    m = await b.expect(expert, "哪个项目")
    await b.press(expert, m, "锦城花园")
    await b.expect(expert, "隐患现场照片")
    await b.upload(expert, jpeg(exif_time="2026:11:17 09:12:00"))
    m = await b.expect(expert, "已收到第 1 张照片")
    await b.press(expert, m, "完成")
    m = await b.expect(expert, "隐患属于哪一类")
    await b.press(expert, m, "脚手架")
    m = await b.expect(expert, "重大事故隐患")
    await b.press(expert, m, "均不符合")
    m = await b.expect(expert, "JGJ 59")
    await b.press(expert, m, "架体与建筑结构拉结")
    await b.expect(expert, "描述问题")
    await b.say(expert, "3#楼外架连墙件缺失约 6 处")
    await b.expect(expert, "隐患位置")
    await b.say(expert, "3#楼北侧 12–15 层")
    m = await b.expect(expert, "隐患级别？")
    await b.press(expert, m, "三级")
    m = await b.expect(expert, "整改要求")
    await b.press(expert, m, "标准表述")
    m = await b.expect(expert, "整改期限")
    await b.press(expert, m, "7 个工作日")
    m = await b.expect(expert, "LEC")
    await b.press(expert, m, "跳过")
    m = await b.expect(expert, "请核对上报内容")
    await b.press(expert, m, "提交")
    await b.expect(expert, "隐患 XC-2026-000001 已上报")

    group = await b.expect("g-XC-P001", "XC-2026-000001")
    assert any(m["photo"] for m in group)
    photo = await b.client.get(next(m["photo"] for m in group if m["photo"]))
    assert photo.status == 200 and photo.headers["Content-Type"] == "image/jpeg"

    manager = await b.login("陈经理")
    b.after[manager] = 0  # the notice came before the manager opened the page
    notice = await b.expect(manager, "隐患整改通知单")
    await b.press(manager, notice, "提交整改")
    await b.expect(manager, "整改完成后的照片")
    await b.upload(manager, jpeg((20, 160, 40)))
    m = await b.expect(manager, "已收到第 1 张照片")
    await b.press(manager, m, "完成")
    await b.expect(manager, "说明整改情况")
    await b.say(manager, "已补设连墙件 6 处")
    m = await b.expect(manager, "申请复查")
    await b.press(manager, m, "提交")
    await b.expect(manager, "等待复查")

    engineer = await b.login("孙监理")
    b.after[engineer] = 0
    review = await b.expect(engineer, "复查申请")
    await b.press(engineer, review, "复查通过")
    await b.expect(engineer, "已关闭")

    await b.say(expert, "/hazard XC-2026-000001")
    history = await b.expect(expert, "复查通过，已关闭")
    text = "\n".join(m["text"] for m in history)
    assert "上报隐患（3 级" in text and "提交整改：已补设连墙件 6 处" in text

    async with b.app.readonly() as s:
        assert (await audit.verify(s)).ok
    # A manual edit of one audit row, as someone with database access might try.
    async with b.app.sessions() as s, s.begin():
        await s.execute(
            sql(
                "update audit_events set data = replace(data, '6 处', '8 处') "
                "where action = 'hazard.rectification_submitted'"
            )
        )
    async with b.app.readonly() as s:
        result = await audit.verify(s)
    assert not result.ok and result.reason == "content does not match its hash"
    async with b.app.readonly() as s:
        edited = (
            await s.execute(sql("select id from audit_events where action = 'hazard.rectification_submitted'"))
        ).scalar_one()
    assert result.first_bad_id == edited


async def test_the_page_refuses_requests_without_its_header(browser: Browser) -> None:
    r = await browser.client.post("/api/send", json={"user": "p1", "text": "/help"})
    assert r.status == 403
    r = await browser.client.post("/api/send", json={"user": "p1"}, headers=H)
    assert r.status == 400
    r = await browser.client.post("/api/send", json={"user": "p1", "chat": "p2", "text": "x"}, headers=H)
    assert r.status == 400  # nobody writes into another person's private chat
    r = await browser.client.get("/media/../../etc/passwd")
    assert r.status == 404


def test_the_web_chat_is_off_on_a_public_interface_without_a_password(tmp_path: Path) -> None:
    base = {"database_url": f"sqlite+aiosqlite:///{tmp_path}/x.db", "_env_file": None}
    assert Settings(**base).webchat_enabled  # type: ignore[arg-type]
    assert not Settings(http_host="0.0.0.0", **base).webchat_enabled  # type: ignore[arg-type]
    assert Settings(http_host="0.0.0.0", webchat_password="s3cret", **base).webchat_enabled  # type: ignore[arg-type]
    assert not Settings(webchat=False, **base).webchat_enabled  # type: ignore[arg-type]


async def test_a_password_protects_the_page_elsewhere(db_url: str, tmp_path: Path) -> None:
    app = App(
        Settings(
            database_url=db_url,
            media_dir=tmp_path / "m",
            http_host="0.0.0.0",
            webchat_password="s3cret",
            _env_file=None,
        )
    )  # type: ignore[call-arg]
    await app.prepare()
    async with TestClient(TestServer(app.web_app(), host="127.0.0.1")) as client:
        assert (await client.get("/")).status == 401

        def basic(password: str) -> dict[str, str]:
            return {"Authorization": "Basic " + base64.b64encode(f"anyone:{password}".encode()).decode()}

        assert (await client.get("/", headers=basic("s3cret"))).status == 200
        assert (await client.get("/", headers=basic("wrong"))).status == 401
        assert (await client.get("/healthz")).status == 200
        metrics = await (await client.get("/metrics")).text()
        assert "anzebot_outbox_pending 0" in metrics
    await app.stop()


def test_a_webhook_without_its_secret_refuses_to_start(tmp_path: Path) -> None:
    from bot.config import ConfigError

    with pytest.raises((ConfigError, ValueError)):
        Settings(telegram_token="1:x", telegram_webhook_url="https://example.org/telegram/webhook", _env_file=None)  # type: ignore[call-arg]


async def test_message_ids_stay_unique_across_restarts() -> None:
    from bot.channels.webchat import WebChat

    first, second = WebChat(), WebChat()
    a = await first.user_said("p1", "p1", "王建国", "/start")
    b = await second.user_said("p1", "p1", "王建国", "/start")
    assert a != b  # the second process must not look like a duplicate of the first
