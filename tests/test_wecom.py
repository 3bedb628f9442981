"""The WeCom channel: encrypted callbacks posted to the real route, outbound calls to a fake WeCom API."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import time_machine
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, text

from bot.app import App
from bot.channels.wecom import split_utf8
from bot.config import Settings
from storage import admin, demo
from storage.models import Hazard, Identity, ProcessedUpdate
from tests.conftest import PG_URL, START
from tests.fakes.recorder import expect
from tests.fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, Call, Callbacks, FakeWeCom
from tests.harness import jpeg, unique_jpeg

USERS = {"王建国": "wangjg", "陈经理": "chenjl", "刘安全": "liuaq", "孙监理": "sunjl", "周保险": "zhoubx"}
ROBOT = "robot:5f2c-robot-key"


@dataclass
class World:
    app: App
    fake: FakeWeCom
    client: TestClient
    cb: Callbacks
    clock: Any
    answered: dict[str, int] = field(default_factory=dict)

    async def post(self, callback: tuple[str, bytes]) -> int:
        path, body = callback
        r = await self.client.post(path, data=body)
        assert await r.text() == "" or r.status != 200
        return r.status

    async def expect(self, predicate: Callable[[], bool], what: str) -> None:
        """Paced messages (30/min per member) fall due as the controlled clock moves on."""
        await expect(
            self.fake,
            predicate,
            self.clock,
            self.app.dispatcher.kick,
            2.5,
            what,
            lambda: [(c.text[:25], c.buttons) for c in self.fake.sent()][-6:],
            self.app.idle,
        )

    async def said(self, user: str, fragment: str, after: int = 0) -> Call:
        """A message to `user` whose text or buttons contain `fragment`."""

        def has(c: Call) -> bool:
            return fragment in c.text or any(fragment in label for _, label in c.buttons)

        await self.expect(lambda: any(has(c) for c in self.fake.sent(user)[after:]), fragment)
        return next(c for c in self.fake.sent(user)[after:] if has(c))

    async def choose(self, user: str, label: str) -> None:
        """Press the card button with this label, or type the number of a numbered option (more than six).
        Only what came after this person's last answer counts: older buttons are stale."""
        start = self.answered.get(user, 0)

        def offered() -> Call | None:
            for call in reversed(self.fake.sent(user)[start:]):
                numbered = re.search(rf"^\d+\. .*{re.escape(label)}", call.text, re.M)
                if any(label in t for _, t in call.buttons) or numbered:
                    return call
            return None

        await self.expect(lambda: offered() is not None, f"option {label!r}")
        call = offered()
        assert call is not None
        self.answered[user] = len(self.fake.sent(user))
        if call.buttons:
            await self.post(self.cb.card_press(user, call, label))
        else:
            number = re.search(rf"^(\d+)\. .*{re.escape(label)}", call.text, re.M)
            assert number is not None
            await self.post(self.cb.text(user, number.group(1)))

    def mark(self, user: str) -> int:
        return len(self.fake.sent(user))


@pytest.fixture
async def world(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    fake = FakeWeCom()
    api = await fake.start()
    with time_machine.travel(getattr(request, "param", START), tick=False) as clock:
        app = App(
            Settings(
                database_url=db_url,
                media_dir=tmp_path / "media",
                webchat=False,
                wecom_corp_id=CORP_ID,
                wecom_agent_id=AGENT_ID,
                wecom_secret=SECRET,
                wecom_token=TOKEN,
                wecom_aes_key=AES_KEY,
                wecom_api_url=api,
                _env_file=None,
            )
        )  # type: ignore[call-arg]
        await app.prepare()
        async with app.sessions() as s, s.begin():
            await demo.seed(s, channel="wecom", groups={"XC-P001": ROBOT})
            people = {p.name: p.id for p, _, _ in await admin.people(s)}
            for name, userid in USERS.items():
                await admin.link_account(s, "wecom", userid, userid, people[name], app.now())
        await app.start(serve=False)
        client = TestClient(TestServer(app.web_app(), host="127.0.0.1"))
        await client.start_server()
        try:
            yield World(app, fake, client, Callbacks(), clock)
        finally:
            await client.close()
            await app.stop()
            await fake.close()


async def test_url_verification_with_tencents_published_vector(world: World) -> None:
    # Vector B of PLATFORMS.md §4 (Tencent's weworkapi sample): the same token, key and corp id as the fixture.
    query = (
        "msg_signature=012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb&timestamp=1476416373&nonce=47744683&echostr="
        "fsi1xnbH4yQh0%2BPJxcOdhhK6TDXkjMyhEPA7xB2TGz6b%2Bg7xyAbEkRxN%2F3cNXW9qdqjnoVzEtpbhnFyq6SVHyA%3D%3D"
    )
    r = await world.client.get(f"/wecom/callback?{query}")
    assert r.status == 200 and await r.text() == "1288432023552776189"
    r = await world.client.get(f"/wecom/callback?{query.replace('47744683', '47744684')}")
    assert r.status == 403


# Tencent signed the vector in 2016: the world runs then, or the callback would be a replay (tested below).
@pytest.mark.parametrize("world", [dt.datetime.fromtimestamp(1476422779 + 3, dt.UTC)], indirect=True)
async def test_the_published_message_vector_decrypts_and_is_answered(world: World) -> None:
    body = (
        "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA[Kl7kjoSf6DMD1zh7rtrHjFa"
        "DapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0"
        "WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEb"
        "jbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082"
        "f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
    )
    r = await world.client.post(
        "/wecom/callback?msg_signature=0c3914025cb4b4d68103f6bfc8db550f79dcf48e&timestamp=1476422779&nonce=1597212914",
        data=body.encode(),
    )
    assert r.status == 200
    # "你好" from ChenJiaShun, who has not joined yet: asked for an invite code.
    await world.said("ChenJiaShun", "邀请码")


async def test_invite_redemption(world: World) -> None:
    async with world.app.sessions() as s, s.begin():
        worker = next(p for p, _, _ in await admin.people(s) if p.name == "张班长")
        code, _ = await admin.invite(s, project="XC-P001", person=str(worker.id), role="worker", now=world.app.now())
    await world.post(world.cb.text("zhangbz", code))
    await world.said("zhangbz", "欢迎，张班长")
    async with world.app.readonly() as s:
        ident = (
            await s.execute(select(Identity).where(Identity.channel == "wecom", Identity.user_id == "zhangbz"))
        ).scalar_one()
        assert ident.person_id == worker.id


async def test_full_lifecycle_with_images_and_a_card_approval(world: World) -> None:
    w, fake, cb = world, world.fake, world.cb
    expert, manager, engineer = USERS["王建国"], USERS["陈经理"], USERS["孙监理"]
    await w.post(cb.image(expert, fake.add_media(unique_jpeg())))  # a photo with no caption starts a report
    for label in ("锦城花园", "完成"):
        await w.choose(expert, label)
    await w.choose(expert, "脚手架")  # 13 kinds: numbered text, answered with the number
    await w.choose(expert, "均不符合")
    await w.choose(expert, "跳过")
    await w.said(expert, "描述问题")
    await w.post(cb.text(expert, "3#楼外架连墙件缺失"))
    await w.said(expert, "隐患位置")
    await w.post(cb.text(expert, "3#楼北侧"))
    for label in ("三级", "使用标准表述", "7 个工作日", "跳过", "提交"):
        await w.choose(expert, label)
    await w.said(expert, "XC-2026-000001")

    robot = await w.said(ROBOT.removeprefix("robot:"), "XC-2026-000001")
    assert "应用私聊" in robot.text  # the group is told where to act
    notice = await w.said(manager, "提交整改")  # the card that carries the notice's buttons
    await w.post(cb.card_press(manager, notice, "提交整改", response_code="rc-notice"))
    await w.said(manager, "整改完成后的照片")
    await w.post(cb.image(manager, fake.add_media(jpeg((1, 250, 1)))))
    await w.choose(manager, "完成")
    await w.said(manager, "说明整改情况")
    await w.post(cb.text(manager, "已补设连墙件"))
    await w.choose(manager, "提交")
    await w.said(manager, "等待复查")

    review = await w.said(engineer, "复查通过")
    await w.post(cb.card_press(engineer, review, "复查通过", response_code="rc-review"))
    await w.said(engineer, "已关闭")

    def marked() -> bool:
        return any(
            c.path == "message/update_template_card"
            and c.body.get("response_code") == "rc-review"
            and c.body["button"]["replace_name"].startswith("✓")
            for c in fake.calls
        )

    await w.expect(marked, "the pressed card updated")
    uploads = [c for c in fake.calls if c.path == "media/upload"]
    assert uploads and all(c.params["type"] == "image" for c in uploads)
    async with w.app.readonly() as s:
        assert (await s.execute(select(Hazard.status))).scalar_one() == "closed"


async def test_duplicate_callbacks_are_processed_once(world: World) -> None:
    callback = world.cb.text(USERS["周保险"], "/whoami", msg_id=424242)
    for _ in range(3):  # WeCom retries a callback it thinks was not answered
        assert await world.post(callback) == 200
    await world.said(USERS["周保险"], "您是 周保险")
    await world.app.dispatcher.drain()
    assert len([c for c in world.fake.sent(USERS["周保险"]) if "您是" in c.text]) == 1


async def test_forged_and_malformed_callbacks_change_nothing(world: World) -> None:
    w = world
    path, body = w.cb.text(USERS["周保险"], "/whoami")
    assert (await w.client.post(path.replace("msg_signature=", "msg_signature=0"), data=body)).status == 403
    foreign = Callbacks(corp_id="wwSomeOtherCorp000")  # right keys, wrong corp id inside
    assert await w.post(foreign.text(USERS["周保险"], "/whoami")) == 403
    assert (await w.client.post(path, data=b"<xml><Encrypt>not base64 at all")).status in (400, 403)
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b"<xml><Encrypt>&lol2;</Encrypt></xml>"
    )
    assert (await w.client.post(path, data=bomb)).status == 400
    assert (await w.client.post(path, data=b"<xml>" + b"a" * 70_000 + b"</xml>")).status == 413
    assert (await w.client.post("/wecom/callback", data=body)).status == 400  # no signature at all
    async with w.app.readonly() as s:
        assert (await s.execute(select(func.count()).select_from(ProcessedUpdate))).scalar_one() == 0
    assert not w.fake.sent()


async def test_a_replayed_callback_is_refused(world: World) -> None:
    """A callback signed more than ten minutes ago (or ahead) is a replay, not WeCom's retry."""
    w = world
    w.clock.shift(-11 * 60)
    old = w.cb.text(USERS["周保险"], "/whoami", msg_id=4242)
    w.clock.shift(11 * 60)
    assert await w.post(old) == 403
    w.clock.shift(11 * 60)
    ahead = w.cb.text(USERS["周保险"], "/whoami", msg_id=4243)
    w.clock.shift(-11 * 60)
    assert await w.post(ahead) == 403
    fresh = w.cb.text(USERS["周保险"], "/whoami", msg_id=4244)
    assert await w.post(fresh) == 200
    await w.said(USERS["周保险"], "您是")
    assert len([c for c in w.fake.sent(USERS["周保险"]) if "您是" in c.text]) == 1


async def test_two_presses_in_one_second_are_two_updates_and_a_retry_is_one(world: World) -> None:
    w = world
    second = int(time.time())
    first = w.cb.press(USERS["周保险"], "lang:zh_CN", "t1", "rc-1", create=second)
    other = w.cb.press(USERS["周保险"], "lang:en", "t2", "rc-2", create=second)  # the same second
    assert await w.post(first) == 200 and await w.post(other) == 200 and await w.post(first) == 200
    await w.said(USERS["周保险"], "语言已设为中文")
    await w.said(USERS["周保险"], "Language set to English.")
    async with w.app.readonly() as s:
        keys = (await s.execute(select(ProcessedUpdate.update_key))).scalars().all()
    assert len(keys) == 2


async def test_token_expiry_in_the_middle_of_a_burst(world: World) -> None:
    w = world
    await w.post(w.cb.text(USERS["周保险"], "/whoami"))
    await w.said(USERS["周保险"], "您是")
    fetched = sum(1 for c in w.fake.calls if c.path == "gettoken")
    # The token the reply went with (not necessarily the first one issued: start-up may have fetched one too).
    old = [c for c in w.fake.calls if c.path == "message/send"][-1].params["access_token"]
    w.fake.expire_tokens()  # WeCom revokes the token early (42001)
    for name in ("王建国", "陈经理", "刘安全", "孙监理"):
        await w.post(w.cb.text(USERS[name], "/whoami"))
    for name in ("王建国", "陈经理", "刘安全", "孙监理"):
        await w.said(USERS[name], "您是")
    assert sum(1 for c in w.fake.calls if c.path == "gettoken") == fetched + 1  # one refresh, not one per send
    refused = [c for c in w.fake.calls if c.path == "message/send" and c.params["access_token"] == old][1:]
    # The sends in flight together were refused (at least one, at most all four), each retried once, new token.
    assert 1 <= len(refused) <= 4
    for name in ("王建国", "陈经理", "刘安全", "孙监理"):
        answers = [c for c in w.fake.sent(USERS[name]) if "您是" in c.text and c.params["access_token"] != old]
        assert len(answers) == 1


async def test_rate_limit_and_server_errors_are_retried(world: World) -> None:
    w = world
    w.fake.fail("message/send", errcode=45009)
    w.fake.fail("message/send", status=502)
    await w.post(w.cb.text(USERS["周保险"], "/whoami"))
    await w.said(USERS["周保险"], "您是")
    assert len([c for c in w.fake.calls if c.path == "message/send"]) == 3


async def test_the_callback_is_acknowledged_before_it_is_processed(world: World) -> None:
    w = world
    callback = w.cb.text(USERS["周保险"], "/whoami", msg_id=777)
    async with w.app.sessions() as s, s.begin():  # the database stalls: another writer holds it
        if PG_URL:
            await s.execute(text("LOCK TABLE processed_updates IN ACCESS EXCLUSIVE MODE"))
        else:
            await s.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: SQLite's write lock is ours
        assert await w.post(callback) == 200
        assert list(w.app.adapters["wecom"].events) == ["ack m777"]  # answered; the work waits for the database
    await w.said(USERS["周保险"], "您是")
    assert list(w.app.adapters["wecom"].events) == ["ack m777", "handled m777"]


def test_text_is_split_at_2048_bytes_on_character_boundaries() -> None:
    text = "隐患" * 1500 + "\n" + "ok"
    parts = split_utf8(text)
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert split_utf8("short") == ["short"]


async def test_appchat_group_from_the_cli(
    world: World, monkeypatch: pytest.MonkeyPatch, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import _main, parser

    args = parser().parse_args(["wecom", "appchat", "--project", "XC-P001", "--name", "锦城花园安全群"])
    assert await _main(args, world.app.settings) == 0
    create = next(c for c in world.fake.calls if c.path == "appchat/create")
    assert set(create.body["userlist"]) == {"chenjl", "liuaq", "sunjl", "wangjg", "zhoubx"}
    assert "created and bound" in capsys.readouterr().out


async def test_files_are_uploaded_then_sent(world: World) -> None:
    from bot.render import Rendered

    mid = await world.app.adapters["wecom"].send(
        "liuaq", Rendered("整改报告", document=("ab" * 32, "report.pdf")), b"%PDF-1.7 x"
    )
    upload = next(c for c in world.fake.calls if c.path == "media/upload")
    assert upload.params["type"] == "file" and upload.files["media"] == b"%PDF-1.7 x"
    sent = [c for c in world.fake.sent("liuaq") if c.body.get("msgtype") == "file"]
    assert len(sent) == 1 and sent[0].body["file"]["media_id"].startswith("MEDIA_") and mid


async def test_a_media_error_answered_as_json_is_a_clear_reply(world: World) -> None:
    await world.post(world.cb.image(USERS["王建国"], "MEDIA_DOES_NOT_EXIST"))  # WeCom answers 200 + errcode
    await world.said(USERS["王建国"], "文件下载失败")
    async with world.app.readonly() as s:
        assert (await s.execute(select(func.count()).select_from(Hazard))).scalar_one() == 0
