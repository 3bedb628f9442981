"""No secret at any log level: the service runs with every channel configured (Telegram by webhook, WeCom with a
group robot, the web chat behind a password, PostgreSQL's password where it runs there) through a flow that also
fails — server errors, an expired token, a refused robot — and the whole captured log, DEBUG included, is searched
for each secret."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import time_machine
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url

from bot.app import App
from bot.config import Settings
from bot.i18n import T
from bot.logs import redact
from bot.messages import Text
from storage import admin, demo, outbox_store
from tests.conftest import START
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, TOKEN, Callbacks, FakeWeCom
from tests.fakes.wecom_api import SECRET as WECOM_SECRET

HOOK_SECRET = "hook-Secret_77"
PASSWORD = "pw-Wh1sper-9"
ROBOT_KEY = "5f2c1d3e-robot-key-0042"


async def test_no_secret_reaches_the_log(db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tg, wc = FakeTelegram(), FakeWeCom()
    tg_url, wc_url = await tg.start(), await wc.start()
    with time_machine.travel(START, tick=False) as clock:
        app = App(
            Settings(
                database_url=db_url,
                media_dir=tmp_path / "media",
                webchat_password=PASSWORD,
                telegram_token=tg.token,
                telegram_api_url=tg_url,
                telegram_webhook_url="https://bot.example.org/telegram/webhook",
                telegram_webhook_secret=HOOK_SECRET,
                wecom_corp_id=CORP_ID,
                wecom_agent_id=AGENT_ID,
                wecom_secret=WECOM_SECRET,
                wecom_token=TOKEN,
                wecom_aes_key=AES_KEY,
                wecom_api_url=wc_url,
                _env_file=None,
            )
        )  # type: ignore[call-arg]
        await app.prepare()
        async with app.sessions() as s, s.begin():
            await demo.seed(s, channel="wecom", groups={"XC-P001": f"robot:{ROBOT_KEY}"})
            people = {p.name: p.id for p, _, _ in await admin.people(s)}
            await admin.link_account(s, "telegram", "11", "11", people["王建国"], app.now())
            await admin.link_account(s, "wecom", "chenjl", "chenjl", people["陈经理"], app.now())
        await app.start(serve=False)
        client = TestClient(TestServer(app.web_app(), host="127.0.0.1"))
        await client.start_server()
        try:
            tg.fail("sendMessage", 500, "Internal Server Error", times=2)
            wc.expire_tokens()
            wc.fail("webhook/send", errcode=93000)  # the robot was removed: refused for good
            expert = tg.user(11, "王建国")
            hook = {"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}
            for text in ("/whoami", "/hazards", "/help"):
                assert (await client.post("/telegram/webhook", json=tg.text(expert, text), headers=hook)).status == 200
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
            assert (await client.post("/telegram/webhook", json=tg.text(expert, "x"), headers=wrong)).status == 403
            cb = Callbacks()
            path, body = cb.text("chenjl", "/whoami")
            assert (await client.post(path, data=body)).status == 200
            async with app.sessions() as s, s.begin():  # a project notice to the group robot, which is gone
                project = await admin.find_project(s, "XC-P001")
                await outbox_store.notify_project_groups(s, project.id, "secrets-test", [Text(T("Nothing to cancel."))])
            await client.get("/")
            await client.get("/healthz")
            for _ in range(40):  # let every channel send, fail and retry
                for _ in range(3000):  # the service first finishes what it has in hand (a busy machine is slow)
                    if app.idle():
                        break
                    await asyncio.sleep(0.01)
                clock.shift(3)
                app.dispatcher.kick()
                await app.dispatcher.run_once()
                robot = [c for c in wc.calls if c.path == "webhook/send"]
                telegram = any("您是" in c.text for c in tg.sent(11))
                if telegram and robot and any("您是" in c.text for c in wc.sent("chenjl")):
                    break
            assert any("您是" in c.text for c in tg.sent(11)), "the Telegram flow did not complete"
            assert any("您是" in c.text for c in wc.sent("chenjl")), "the WeCom flow did not complete"
            assert [c for c in wc.calls if c.path == "webhook/send"], "the robot was not tried"
        finally:
            await client.close()
            await app.stop()
            await tg.close()
            await wc.close()
    log = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    secrets = [tg.token, tg.token.split(":", 1)[1], HOOK_SECRET, PASSWORD, ROBOT_KEY, WECOM_SECRET, TOKEN, AES_KEY]
    password = make_url(db_url).password
    if password:
        secrets.append(str(password))
    leaked = [secret for secret in secrets if secret in log]
    assert not leaked
    assert len(caplog.records) > 20  # the flow logged plenty: this is not a quiet log passing by luck


def test_token_shapes_are_redacted_whatever_logs_them() -> None:
    line = (
        "GET https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0/getMe "
        "gettoken?corpid=ww1&corpsecret=abc&x=1 webhook/send?key=99ff-robot sent to wecom:robot:99ff-robot "
        "postgresql+asyncpg://anzebot:pa55w0rd@db/x"
    )
    out = redact(line)
    for secret in ("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0", "corpsecret=abc", "99ff-robot", "pa55w0rd"):
        assert secret not in out
    assert "corpid=ww1" in out and "getMe" in out
