"""The drill: `anzebot run` (a real process, Telegram by webhook against the fake Bot API on loopback) answers
200 to six updates — one of them a photo, still to be downloaded — and is SIGKILLed the moment the last 200 is
read. Started again, it processes every one of them: each update changes the database once, and every person
gets their answer."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from bot.app import App
from bot.config import Settings
from storage import admin, demo
from storage.models import ProcessedUpdate
from tests.fakes.process import run_service, wait_healthy
from tests.fakes.telegram_api import FakeTelegram
from tests.harness import jpeg

SECRET = "drill-Secret_1"
PEOPLE = {"王建国": 11, "陈经理": 12, "刘安全": 13, "孙监理": 14, "周保险": 15}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(db_url: str, tmp_path: Path, port: int, api: str, token: str) -> dict[str, str]:
    return {
        **os.environ,
        "ANZEBOT_DATABASE_URL": db_url,
        "ANZEBOT_MEDIA_DIR": str(tmp_path / "media"),
        "ANZEBOT_HTTP_PORT": str(port),
        "ANZEBOT_WEBCHAT": "false",
        "ANZEBOT_TELEGRAM_TOKEN": token,
        "ANZEBOT_TELEGRAM_API_URL": api,
        "ANZEBOT_TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/webhook",
        "ANZEBOT_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "ANZEBOT_OUTBOX_LEASE_SECONDS": "2",  # a send cut off by the kill is tried again soon, not in 2 min
        "ANZEBOT_INBOX_POLL_SECONDS": "0.5",
    }


async def test_killed_after_its_200s_and_started_again_nothing_is_lost(db_url: str, tmp_path: Path) -> None:
    fake = FakeTelegram()
    api = await fake.start()
    seeding = App(Settings(database_url=db_url, media_dir=tmp_path / "media", webchat=False, _env_file=None))  # type: ignore[call-arg]
    await seeding.prepare()
    async with seeding.sessions() as s, s.begin():
        await demo.seed(s, channel="telegram")
        ids = {p.name: p.id for p, _, _ in await admin.people(s)}
        for name, uid in PEOPLE.items():
            await admin.link_account(s, "telegram", str(uid), str(uid), ids[name], seeding.now())
    await seeding.dispose()

    port = free_port()
    env = env_for(db_url, tmp_path, port, api, fake.token)
    log = tmp_path / "service.log"
    first = run_service(env, log)
    try:
        await wait_healthy(port, first, log)
        updates = [fake.text(fake.user(uid, name), "/whoami") for name, uid in PEOPLE.items()]
        updates.append(fake.photo(fake.user(11, "王建国"), jpeg(), caption="四级 临边防护缺失 位置：1#楼5层"))
        async with aiohttp.ClientSession() as http:
            for update in updates:
                async with http.post(
                    f"http://127.0.0.1:{port}/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                ) as r:
                    assert r.status == 200
        first.send_signal(signal.SIGKILL)  # at once: most of the six are still being processed
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()

    dead = App(Settings(database_url=db_url, media_dir=tmp_path / "media", webchat=False, _env_file=None))  # type: ignore[call-arg]
    kept = await dead.inbox.counts()
    await dead.dispose()
    assert sum(kept.values()) == len(updates)  # every 200 was an update on disk (most still pending)

    second = run_service(env, log)
    try:
        await wait_healthy(port, second, log)

        def answered() -> bool:
            whoami = [uid for _, uid in PEOPLE.items() if any("您是" in c.text for c in fake.sent(uid))]
            photo = any("哪个项目" in c.text or "隐患属于哪一类" in c.text for c in fake.sent(11))
            return len(whoami) == len(PEOPLE) and photo

        assert await fake.wait_for(answered, 30), [c.text[:20] for c in fake.sent()]
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
        await fake.close()

    checking = App(Settings(database_url=db_url, media_dir=tmp_path / "media", webchat=False, _env_file=None))  # type: ignore[call-arg]
    async with checking.readonly() as s:
        assert (await s.execute(select(func.count()).select_from(ProcessedUpdate))).scalar_one() == len(updates)
    assert await checking.inbox.counts() == {"done": len(updates)}
    await checking.dispose()
    # Each answer at most once more than asked: only a send in flight at the kill can be repeated.
    sent = [c for c in fake.sent() if "您是" in c.text]
    assert len(PEOPLE) <= len(sent) <= len(PEOPLE) + 8
