"""Nothing accepted is lost, nothing hostile gets a traceback, nothing of one project reaches another's chat.

The drills of the reliability issue, on the real service (the App with Telegram in webhook mode against the fake
Bot API, or the flow harness): a database held by another process, an inbox that cannot be written, hostile
bodies, a flood from one account, wrong invite codes, group chats, secrets in the log."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.app import App
from bot.config import Settings
from bot.messages import Command, TextIn
from bot.notices import operator as wording
from storage import admin, demo
from storage.models import AuditEvent, Hazard, OutboxMessage, ProcessedUpdate
from tests.conftest import START
from tests.fakes.recorder import expect
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import Harness, texts
from tests.test_flow_lifecycle import report_level3
from tests.test_webchat_e2e import Browser, browser  # noqa: F401 (the fixture)

SECRET = "hook-Secret_42"
HOOK = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
PEOPLE = {"王建国": 11, "陈经理": 12, "刘安全": 13, "孙监理": 14, "周保险": 15, "吴监管": 16}


async def until(predicate: Callable[[], Any], what: str, rounds: int = 3000) -> None:
    """Wait for something the service does by itself (event loop turns, not a clock); bounded for a broken run."""
    for _ in range(rounds):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


class Service:
    def __init__(self, app: App, fake: FakeTelegram, client: TestClient, clock: Any) -> None:
        self.app, self.fake, self.client, self.clock = app, fake, client, clock

    async def post(self, update: Any, headers: dict[str, str] | None = None) -> int:
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        r = await self.client.post("/telegram/webhook", data=body, headers=HOOK if headers is None else headers)
        return r.status

    async def replies(self, chat: int, fragment: str, count: int = 1) -> None:
        def seen() -> bool:
            return len([c for c in self.fake.sent(chat) if fragment in c.text]) >= count

        await expect(
            self.fake,
            seen,
            self.clock,
            self.app.dispatcher.kick,
            1.5,  # paced replies fall due as the controlled clock moves on
            f"{fragment!r} in {chat}",
            lambda: [c.text[:30] for c in self.fake.sent(chat)],
            self.app.idle,
        )


@pytest.fixture
async def service(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Service]:
    overrides: dict[str, Any] = getattr(request, "param", {})
    fake = FakeTelegram()
    url = await fake.start()
    with time_machine.travel(START, tick=False) as clock:
        settings: dict[str, Any] = {
            "database_url": db_url,
            "media_dir": tmp_path / "media",
            "webchat": False,
            "telegram_token": fake.token,
            "telegram_api_url": url,
            "telegram_webhook_url": "https://bot.example.org/telegram/webhook",
            "telegram_webhook_secret": SECRET,
            "database_wait_ms": 200,
            "inbox_wait_ms": 200,
            "_env_file": None,
        }
        app = App(Settings(**(settings | overrides)))
        await app.prepare()
        async with app.sessions() as s, s.begin():
            await demo.seed(s, channel="telegram", groups={"XC-P001": "-1001234567890"})
            people = {p.name: p.id for p, _, _ in await admin.people(s)}
            for name, uid in PEOPLE.items():
                await admin.link_account(s, "telegram", str(uid), str(uid), people[name], app.now())
        await app.start(serve=False)
        client = TestClient(TestServer(app.web_app(), host="127.0.0.1"))
        await client.start_server()
        try:
            yield Service(app, fake, client, clock)
        finally:
            await client.close()
            await app.stop()
            await fake.close()


@contextlib.asynccontextmanager
async def held(url: str, tables: tuple[str, ...]) -> AsyncIterator[None]:
    """Another process holds the database's write lock (SQLite: BEGIN EXCLUSIVE on the file; PostgreSQL: the
    tables locked) until the block ends."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # In a thread: the service's own transactions must go on meanwhile (the loop is not ours to block).
        conn = sqlite3.connect(str(parsed.database), isolation_level=None, timeout=10, check_same_thread=False)
        await asyncio.to_thread(conn.execute, "BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            await asyncio.to_thread(conn.rollback)
            conn.close()
        return
    import asyncpg

    pg = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    tx = pg.transaction()
    await tx.start()
    await pg.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        await tx.rollback()
        await pg.close()


def inbox_url_of(app: App) -> str:
    return str(app.inbox_engine.url)


# --- durable before the 200 ----------------------------------------------------------------------------------


async def test_updates_taken_while_another_process_holds_the_database(service: Service) -> None:
    """4 of 4 kept (3 messages and a button press) while another process has the write lock: each answered
    200 at once, processed once the lock is gone — and /healthz said 503 meanwhile."""
    w, fake = service, service.fake
    zhou = fake.user(15, "周保险")
    assert await w.post(fake.text(zhou, "/lang")) == 200
    await w.replies(15, "选择语言")
    ask = next(c for c in fake.sent(15) if "选择语言" in c.text)
    before = w.app.router.retried
    async with held(str(w.app.engine.url), ("processed_updates", "outbox", "identities", "heartbeat")):
        assert (await w.client.get("/healthz")).status == 503
        for update in (
            fake.press(zhou, ask, "English"),
            fake.text(fake.user(11, "王建国"), "/whoami"),
            fake.text(fake.user(12, "陈经理"), "/whoami"),
            fake.text(fake.user(13, "刘安全"), "/whoami"),
        ):
            assert await w.post(update) == 200
        await until(lambda: w.app.router.retried >= before + 4, "four turns waiting for the database")
    assert (await w.client.get("/healthz")).status == 200
    w.clock.shift(3)  # their back-off is over
    assert await w.app.router.process_due() == 4
    await w.replies(15, "Language set to English.")
    for uid in (11, 12, 13):
        await w.replies(uid, "您是")
    for uid in (11, 12, 13):
        assert len([c for c in fake.sent(uid) if "您是" in c.text]) == 1
    async with w.app.readonly() as s:
        assert (await s.execute(select(func.count()).select_from(ProcessedUpdate))).scalar_one() == 5
    assert await w.app.inbox.counts() == {"done": 5}


async def test_an_update_that_cannot_be_stored_is_not_acknowledged(service: Service) -> None:
    """The inbox itself cannot take a write: Telegram hears 503 and delivers again; then 200, once."""
    w, fake = service, service.fake
    update = fake.text(fake.user(12, "陈经理"), "/whoami")
    async with held(inbox_url_of(w.app), ("inbox",)):
        assert await w.post(update) == 503
        assert (await w.client.get("/healthz")).status == 503
    assert await w.post(update) == 200  # Telegram's redelivery
    assert await w.post(update) == 200  # and once more: a duplicate, acknowledged, not processed again
    await w.replies(12, "您是")
    assert len([c for c in fake.sent(12) if "您是" in c.text]) == 1


async def test_a_failing_update_is_kept_counted_reported_and_retried(service: Service) -> None:
    w, fake = service, service.fake
    async with held(str(w.app.engine.url), ("processed_updates", "outbox", "identities", "heartbeat")):
        before = w.app.router.retried
        assert await w.post(fake.text(fake.user(12, "陈经理"), "/whoami")) == 200
        await until(lambda: w.app.router.retried > before, "the first try")
        # Every retry finds the database still held: after its ten tries the row is failed, not dropped.
        while await w.app.inbox.counts() != {"failed": 1}:
            w.clock.shift(dt.timedelta(minutes=11))
            assert await w.app.router.process_due() == 1
    rows = await w.app.inbox.listing(failed_only=True)
    assert [(r.status, r.attempts) for r in rows] == [("failed", 10)]
    metrics = await (await w.client.get("/metrics")).text()
    assert 'anzebot_inbox_rows{status="failed"} 1' in metrics
    assert any("could not be processed" in line for line in w.app.operator.reports)
    assert await w.app.inbox.requeue(rows[0].id)  # `anzebot inbox --retry`, once the database is back
    assert await w.app.router.process_due() == 1
    await w.replies(12, "您是")
    assert await w.app.inbox.counts() == {"done": 1}


# --- hostile input -------------------------------------------------------------------------------------------

HOSTILE = [b"null", b"[]", b'"x"', b"123", b'{"update_id":1,"message":"x"}', b"{not json", b"[" * 100_000]


@pytest.mark.parametrize("body", HOSTILE, ids=["null", "list", "string", "number", "bad-message", "broken", "deep"])
async def test_hostile_webhook_bodies_get_400_and_no_traceback(
    service: Service, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert await service.post(body) == 400
    assert "Traceback" not in caplog.text
    assert await service.app.inbox.counts() == {}


async def test_a_chunked_body_over_the_cap_is_cut_off(service: Service) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(15):  # 15 MB without a Content-Length
            yield b" " * 1_000_000

    r = await service.client.post("/telegram/webhook", data=chunks(), headers=HOOK)
    assert r.status == 413


@pytest.mark.parametrize("value", ["h:²", "rect:³", "h:99999999999999999999", "ack:-1", "rv:٣:ok", "h:"])
async def test_odd_button_values_are_refused_plainly(h: Harness, value: str, caplog: pytest.LogCaptureFixture) -> None:
    manager = await h.login("陈经理")
    r = await h.press(manager, value)
    assert "该按钮已失效" in texts(r)
    assert "Traceback" not in caplog.text and "出错" not in texts(r)


@pytest.mark.parametrize("ref", ["²", "XC-2026-00000²", "99999999999999999999999", "-1", "XC-2026-999999"])
async def test_odd_hazard_numbers_are_not_found(h: Harness, ref: str) -> None:
    manager = await h.login("陈经理")
    r = await h.say(manager, f"/hazard {ref}")
    assert "未找到" in texts(r) and "出错" not in texts(r)


# --- leaks between projects and chats ---------------------------------------------------------------------


async def test_a_group_sees_only_its_own_project(rich: Harness) -> None:
    """刘安全 is in both projects. In P001's group, P002's hazard is neither listed nor shown — and asking for it
    is answered like asking for a number that does not exist."""
    h = rich
    expert, safety = await h.login("王建国"), await h.login("刘安全")
    number = await report_level3(h, expert)  # in XC-P001
    async with h.app.sessions() as s, s.begin():
        p2 = (await admin.find_project(s, "XC-P002")).id
        first = (await s.execute(select(Hazard))).scalars().first()
        assert first is not None
        foreign = Hazard(
            number="XC-2026-000099",
            project_id=p2,
            reporter_id=first.reporter_id,
            group_id="excavation",
            description="管廊基坑东侧临边无护栏",
            location="管廊 K1+200",
            level=3,
            suggestion="设置护栏",
            deadline=first.deadline,
            status="rectifying",
        )
        s.add(foreign)
    group = "g-XC-P001"
    listed = texts(await h.say(safety, "/hazards", chat=group))
    assert number in listed and "XC-2026-000099" not in listed
    shown = await h.say(safety, "/hazard XC-2026-000099", chat=group)
    missing = await h.say(safety, "/hazard XC-2026-000777", chat=group)
    assert texts(shown) == texts(missing) and "管廊基坑" not in texts(shown)
    assert "私聊" in texts(shown)
    assert "管廊基坑" in texts(await h.say(safety, "/hazard XC-2026-000099"))  # privately: their own project
    assert "私聊" in texts(await h.say(safety, "/whoami", chat=group))


async def test_a_foreign_number_is_answered_like_a_missing_one(h: Harness) -> None:
    expert = await h.login("王建国")
    number = await report_level3(h, expert)  # XC-P001: Emma Clark (XC-P002 only) has no part in it
    emma = await h.login("Emma Clark")
    assert texts(await h.say(emma, f"/hazard {number}")) == texts(await h.say(emma, "/hazard XC-2026-000777"))


# --- abuse -----------------------------------------------------------------------------------------------------


async def test_wrong_invite_codes_cost_a_growing_wait(h: Harness, clock: Any) -> None:
    async with h.app.sessions() as s, s.begin():
        worker = next(p for p, _, _ in await admin.people(s) if p.name == "张班长")
        code, _ = await admin.invite(s, project="XC-P001", person=str(worker.id), role="worker", now=h.app.now())
    for n in range(4):
        assert "邀请码无效" in texts(await h.say("stranger", f"WRONG{n:04d}"))
    assert "请等待 10 分钟" in texts(await h.say("stranger", "WRONG0004"))
    assert "请等待" in texts(await h.say("stranger", code))  # blocked: even the right code is not tried
    clock.shift(dt.timedelta(minutes=11))
    for n in range(5):
        await h.say("stranger", f"AGAIN{n:04d}")
    assert "请等待" in texts(await h.say("stranger", code))
    clock.shift(dt.timedelta(minutes=15))
    assert "请等待" in texts(await h.say("stranger", code))  # the second wait is twice as long
    clock.shift(dt.timedelta(minutes=6))
    assert "欢迎，张班长" in texts(await h.say("stranger", code))
    async with h.app.readonly() as s:
        throttled = (
            await s.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "invite.throttled"))
        ).scalar_one()
    assert throttled == 2


async def test_strangers_are_answered_after_every_notice(rich: Harness) -> None:
    h = rich
    expert = await h.login("王建国")
    await h.app.router.handle(h.incoming("nobody1", TextIn("hello")))
    await h.app.router.handle(h.incoming(expert, Command("whoami")))
    async with h.app.readonly() as s:
        rows = (await s.execute(select(OutboxMessage.chat_id, OutboxMessage.priority))).all()
    assert dict(rows) == {"nobody1": -2, expert: 0}


async def test_one_account_flooding_waits_its_turn_in_order(rich: Harness, clock: Any) -> None:
    h = rich
    expert = await h.login("王建国")
    for n in range(40):
        await h.app.router.receive(h.incoming(expert, TextIn(f"hello {n}"), message_id=f"flood-{n}"))
    await h.app.router.drain()
    async with h.app.readonly() as s:
        done = (await s.execute(select(func.count()).select_from(ProcessedUpdate))).scalar_one()
    assert done == 30  # the rest are stored, not processed yet
    counts = await h.app.inbox.counts()
    assert counts == {"done": 30, "pending": 10}
    clock.shift(61)  # their lease: the worker takes them, oldest first
    assert await h.app.router.process_due() == 10
    async with h.app.readonly() as s:
        keys = (await s.execute(select(ProcessedUpdate.update_key).order_by(ProcessedUpdate.at))).scalars().all()
    assert len(keys) == 40


# --- the web chat --------------------------------------------------------------------------------------------


@pytest.fixture
async def web(browser: Browser) -> TestClient:  # noqa: F811 (the fixture imported above)
    """The web chat over real HTTP (tests/test_webchat_e2e.py's browser), by its client."""
    browser.client.app_under_test = browser.app  # type: ignore[attr-defined]
    return browser.client


W = {"X-Anzebot-Webchat": "1"}


async def test_a_rebinding_page_cannot_drive_the_web_chat(web: TestClient) -> None:
    for path in ("/api/people", "/api/messages?chat=p1"):
        assert (await web.get(path, headers={"Host": "evil.example"})).status == 403
    r = await web.post("/api/send", json={"user": "p1", "text": "/whoami"}, headers={**W, "Host": "evil.example:8080"})
    assert r.status == 403
    r = await web.post(
        "/api/send", json={"user": "p1", "text": "/whoami"}, headers={**W, "Origin": "http://evil.example"}
    )
    assert r.status == 403
    assert (await web.get("/api/people", headers={"Host": "localhost:8080"})).status == 200


@pytest.mark.parametrize("person", [99999, -1, None, 10**30, [1], "1; drop", True, 1.5])
async def test_odd_logins_get_400(web: TestClient, person: Any) -> None:
    assert (await web.post("/api/login", json={"person": person}, headers=W)).status == 400


@pytest.mark.parametrize(
    "body",
    [
        {"user": "p1", "location": [1]},
        {"user": "p1", "location": ["x", 1]},
        {"user": "p1", "location": [91, 0]},
        {"user": "p1", "location": [float("nan"), 0]},
        {"user": ["p1"], "text": "hi"},
        {"user": "p1", "text": 5},
    ],
)
async def test_odd_messages_get_400(web: TestClient, body: dict[str, Any]) -> None:
    data = json.dumps(body, allow_nan=True)
    r = await web.post("/api/send", data=data, headers={**W, "Content-Type": "application/json"})
    assert r.status == 400


async def test_refused_uploads_leave_nothing_in_memory(web: TestClient) -> None:
    from aiohttp import FormData

    app: App = web.app_under_test  # type: ignore[attr-defined]
    chat = app.adapters["webchat"]
    for _ in range(3):
        form = FormData()
        form.add_field("file", b"\xff\xd8" + b"0" * (21 * 1024 * 1024), filename="big.jpg", content_type="image/jpeg")
        form.add_field("user", "p1")
        assert (await web.post("/api/upload", data=form, headers=W)).status == 413
    assert chat.uploads == {}  # type: ignore[attr-defined]


def test_inbox_file_lives_beside_the_database(tmp_path: Path) -> None:
    from storage.inbox import inbox_url

    assert inbox_url(f"sqlite+aiosqlite:///{tmp_path}/anzebot.db") == f"sqlite+aiosqlite:///{tmp_path}/anzebot.inbox.db"
    assert inbox_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"


# --- the operator ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", [{"operator_chat": "telegram:15"}], indirect=True)
async def test_the_operator_hears_once_an_hour_in_their_chat(service: Service) -> None:
    w = service
    for _ in range(3):  # a storm of the same report is one message
        await w.app.operator.tell("inbox:test", wording.update_failed("telegram", "42", "RuntimeError: test"))
    await w.replies(15, "[anzebot]")
    assert len([c for c in w.fake.sent(15) if "[anzebot]" in c.text]) == 1
    async with w.app.readonly() as s:
        rows = (await s.execute(select(OutboxMessage.priority).where(OutboxMessage.key.like("op:%")))).all()
    assert [p for (p,) in rows] == [10]  # before every notice


@pytest.mark.parametrize("service", [{"operator_chat": "telegram:15"}], indirect=True)
async def test_a_report_the_database_refused_reaches_the_operator_once_it_takes_writes(service: Service) -> None:
    w = service
    async with held(str(w.app.engine.url), ("outbox",)):
        await w.app.operator.tell("inbox:held", wording.update_failed("telegram", "43", "TimeoutError: held"))
        assert list(w.app.operator.unqueued) == [f"op:inbox:held:{w.app.now():%Y%m%d%H}"]
    assert [c for c in w.fake.sent(15) if "[anzebot]" in c.text] == []
    await w.replies(15, "43")  # the next outbox pass queues it
    assert w.app.operator.unqueued == {}
    await w.app.operator.tell("inbox:held", wording.update_failed("telegram", "43", "TimeoutError: held"))
    assert len([c for c in w.fake.sent(15) if "43" in c.text]) == 1  # still once an hour


async def test_the_daily_check_prunes_and_reports_a_broken_audit_chain(h: Harness, clock: Any) -> None:
    expert = await h.login("王建国")
    await h.say(expert, "/whoami")
    clock.shift(dt.timedelta(days=3))
    await h.say(expert, "/whoami")
    async with h.app.sessions() as s, s.begin():
        await s.execute(
            AuditEvent.__table__.update().where(AuditEvent.id == 3).values(data='{"tampered":1}')  # type: ignore[attr-defined]
        )
    await h.app.jobs.daily()
    async with h.app.readonly() as s:
        kept = (await s.execute(select(func.count()).select_from(ProcessedUpdate))).scalar_one()
    assert kept == 1  # the update of three days ago is past the de-duplication window
    assert any("daily audit check failed at event 3" in line for line in h.app.operator.reports)


def test_the_inbox_command_lists_and_retries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    import asyncio as aio

    from bot.cli import main
    from bot.messages import ChatKind, Incoming
    from storage.db import make_engine
    from storage.inbox import Inbox

    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("ANZEBOT_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)

    async def failed_row() -> int:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/cli.inbox.db")
        box = Inbox(engine)
        await box.prepare()
        row_id = await box.accept(Incoming("telegram", "1", ChatKind.PRIVATE, "1", "77", TextIn("hi")))
        assert row_id is not None
        await box.fail(row_id, "RuntimeError: boom")
        await engine.dispose()
        return row_id

    row_id = aio.run(failed_row())
    assert main(["inbox", "--failed"]) == 0
    out = capsys.readouterr().out
    assert "failed: 1" in out and "RuntimeError: boom" in out
    assert main(["inbox", "--retry", str(row_id)]) == 0
    assert "queued again" in capsys.readouterr().out
    assert main(["inbox", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"pending": 1}
    assert main(["inbox", "--retry", "999"]) == 1


async def test_a_refused_big_upload_leaves_no_bytes_behind(web: TestClient) -> None:
    from aiohttp import FormData

    app: App = web.app_under_test  # type: ignore[attr-defined]
    chat = app.adapters["webchat"]
    before = await (await web.post("/api/login", json={"person": 1}, headers=W)).json()
    for _ in range(3):
        form = FormData()
        form.add_field("file", b"%PDF" + b"0" * (16 * 1024 * 1024), filename="a.pdf", content_type="image/jpeg")
        form.add_field("user", before["user"])
        form.add_field("chat", before["user"])
        assert (await web.post("/api/upload", data=form, headers=W)).status == 200
    await until(lambda: not app.router.busy, "the uploads processed")
    assert chat.uploads == {}  # type: ignore[attr-defined]


@pytest.mark.parametrize("service", [{"telegram_webhook_url": None, "telegram_poll_timeout": 1}], indirect=True)
async def test_long_polling_moves_its_offset_only_past_stored_updates(service: Service) -> None:
    w, fake = service, service.fake
    async with held(inbox_url_of(w.app), ("inbox",)):
        update = fake.push(fake.text(fake.user(12, "陈经理"), "/whoami"))
        # Each poll gets the update, cannot store it, and asks again from the same offset after a pause.
        await until(lambda: w.app.router.refused >= 2, "two polls that could not store it")
        assert [u["update_id"] for u in fake.updates] == [update["update_id"]]  # not confirmed to Telegram
    await w.replies(12, "您是")
    await until(lambda: not fake.updates, "the offset moved past it")
    assert len([c for c in fake.sent(12) if "您是" in c.text]) == 1
