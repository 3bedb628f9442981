"""A broadcast to 300 Telegram chats through the real client against a fake Bot API that enforces Telegram's
flood limits, with injected 429s, blocked and vanished chats, and a process that dies in the middle: every chat
gets the notice exactly once or is reported failed with its reason; the limits are never exceeded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import time_machine
from sqlalchemy import select

from bot.app import App
from bot.domain.broadcast import Scope, Target
from bot.ports import BroadcastDraft
from storage import admin, broadcasts, outbox_store
from storage.models import Identity, OutboxMessage
from storage.people import person_info
from tests.conftest import START, settings_for
from tests.fakes.telegram_api import FakeTelegram

GROUPS, MANAGERS = 240, 60
TEXT = "【防汛】本周五起连续强降雨，请各项目立即排查深基坑和临时用电。"
BLOCKED = [-1002000000003, -1002000000050, -1002000000111]
GONE = [-1002000000007, -1002000000200]
INSURER_UID = 4242


def group_id(i: int) -> int:
    return -1002000000000 - i


async def seed(app: App) -> int:
    async with app.sessions() as s, s.begin():
        await admin.add_org(s, "insurer", "大地安责险", "安徽省")
        await admin.add_org(s, "construction", "某建工")
        insurer = await admin.add_person(s, name="保险甲", org="大地安责险")
        for i in range(GROUPS):
            code = f"P{i:04d}"
            await admin.add_project(s, code=code, name=f"项目{i}", region="安徽省宣城市")
            await admin.add_policy(
                s,
                number=f"POL-{i}",
                project=code,
                insurer="大地安责险",
                premium="20000",
                start=dt.date(2026, 1, 1),
                end=dt.date(2027, 6, 30),
            )
            await admin.bind_chat(s, channel="telegram", chat_id=str(group_id(i)), project=code, title=f"群{i}")
            if i < MANAGERS:
                manager = await admin.add_person(s, name=f"经理{i}", org="某建工")
                await admin.grant(s, person=str(manager.id), project=code, role="project_manager")
                uid = str(600000 + i)
                await admin.link_account(s, "telegram", uid, uid, manager.id, app.now())
        await admin.link_account(s, "telegram", str(INSURER_UID), str(INSURER_UID), insurer.id, app.now())
        person = await person_info(s, insurer.id)
        draft = BroadcastDraft(TEXT, Scope.ALL, "", (Target.GROUP, Target.MANAGER), True)
        return (await broadcasts.Broadcasts(app.turn(s)).send(person, draft)).id


def make_app(db_url: str, tmp_path: Path, url: str, token: str) -> App:
    return App(settings_for(db_url, tmp_path, telegram_token=token, telegram_api_url=url, telegram_poll_timeout=1))


async def statuses(app: App) -> dict[str, int]:
    async with app.readonly() as s:
        rows = (await s.execute(select(OutboxMessage.status).where(OutboxMessage.broadcast_id.is_not(None)))).all()
    counts: dict[str, int] = {}
    for (status,) in rows:
        counts[status] = counts.get(status, 0) + 1
    return counts


async def test_300_chats_with_429s_refusals_and_a_crash(db_url: str, tmp_path: Path) -> None:
    fake = FakeTelegram(limits=True)
    url = await fake.start()
    with time_machine.travel(START, tick=False) as clock:
        first = make_app(db_url, tmp_path, url, fake.token)
        await first.prepare()
        broadcast_id = await seed(first)
        fake.fail("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3, times=2)
        for chat in BLOCKED:
            fake.fail("sendMessage", 403, "Forbidden: bot was kicked from the supergroup chat", chat=chat)
        for chat in GONE:
            fake.fail("sendMessage", 400, "Bad Request: chat not found", chat=chat)
        await first.adapters["telegram"].start(first.router.receive)

        # The first process sends about half, then dies in the middle of a pass: the rows it had claimed
        # are left 'sending' and nothing more of its work is recorded.
        while (await statuses(first)).get("sent", 0) < 150:
            await first.dispatcher.run_once()
            clock.shift(0.25)
        async with first.sessions() as s, s.begin():
            doomed = await outbox_store.due(s, first.now(), 10)
            claimed = await outbox_store.claim_many(s, [r.id for r in doomed], first.now(), dt.timedelta(minutes=2))
        assert len(claimed) == 10
        await first.adapters["telegram"].stop()
        await first.engine.dispose()

        second = make_app(db_url, tmp_path, url, fake.token)  # the restarted process
        await second.prepare()
        await second.adapters["telegram"].start(second.router.receive)
        try:
            for _ in range(400):
                await second.dispatcher.run_once()
                left = await statuses(second)
                if not left.get("pending") and not left.get("sending"):
                    break
                # The claimed rows come back when their lease runs out; the rest go at the platform's pace.
                clock.shift(0.25 if left.get("pending") else 30)
            final = await statuses(second)
            assert final == {"sent": GROUPS + MANAGERS - len(BLOCKED) - len(GONE), "failed": len(BLOCKED) + len(GONE)}

            delivered = [c for c in fake.sent(method="sendMessage") if TEXT in c.text and c not in fake.faulted]
            per_chat: dict[str, int] = {}
            for c in delivered:
                per_chat[c.chat] = per_chat.get(c.chat, 0) + 1
            expected = {str(group_id(i)) for i in range(GROUPS)} | {str(600000 + i) for i in range(MANAGERS)}
            expected -= {str(c) for c in BLOCKED + GONE}
            assert set(per_chat) == expected  # nobody skipped …
            assert set(per_chat.values()) == {1}  # … and nobody twice
            assert fake.limited == []  # the pace kept inside every flood limit
            in_window = [c for c in fake.calls if c.method == "sendMessage" and c not in fake.limited]
            refused_chats = {str(c) for c in BLOCKED + GONE}
            final_refusals = {c.chat: c for c in fake.faulted if c.chat in refused_chats}  # each chat's last one
            rate_limited = [c for c in fake.faulted if c is not final_refusals.get(c.chat)]
            assert len(rate_limited) == 2
            for refused in rate_limited:  # nothing went out while Telegram said to wait
                assert not [c for c in in_window if refused.at < c.at < refused.at + 3]
            by_second: dict[int, int] = {}
            for c in in_window:
                by_second[int(c.at)] = by_second.get(int(c.at), 0) + 1
            assert max(by_second.values()) <= 30

            # Read receipts: two managers confirm by pressing the button.
            for i in (1, 2):
                user = fake.user(600000 + i, f"经理{i}")
                notice = next(c for c in delivered if c.chat == str(600000 + i))
                fake.push(fake.press(user, notice, "请确认已阅"))
            assert await fake.wait_for(lambda: len([c for c in fake.calls if c.method == "answerCallbackQuery"]) >= 2)
            async with second.sessions() as s, s.begin():
                person = await person_info(
                    s,
                    (
                        await s.execute(select(Identity.person_id).where(Identity.user_id == str(INSURER_UID)))
                    ).scalar_one(),
                )
                info = await broadcasts.Broadcasts(second.turn(s)).find(person, broadcast_id)
            assert (info.targets, info.sent, info.failed, info.acked) == (300, 295, 5, 2)
            assert dict(info.failures) == {"blocked": 3, "gone": 2}
            async with second.readonly() as s:
                gone = (await s.execute(select(Identity).where(Identity.active.is_(False)))).scalars().all()
                assert gone == []  # only group chats were refused: their bindings are switched off, not people
        finally:
            await second.adapters["telegram"].stop()
            await second.engine.dispose()
            await fake.close()
