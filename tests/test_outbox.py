"""Delivery: once per key, retries with back-off honouring retry_after, blocked chats, partial failures,
and a crash between commit and send."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.base import ChannelError
from bot.channels.memory import MemoryChannel
from bot.i18n import T
from bot.messages import Photo, Text
from bot.outbox import Dispatcher
from bot.render import RICH, Rendered
from storage import admin, outbox_store
from storage.db import make_engine, migrate, sessions
from storage.media import MediaStore
from storage.models import Identity, OutboxMessage, Person
from tests.harness import jpeg

T0 = dt.datetime(2026, 11, 17, 1, 0, tzinfo=dt.UTC)


class FlakyChannel(MemoryChannel):
    """Stands in for a platform that fails on command."""

    def __init__(self) -> None:
        super().__init__("flaky", RICH)
        self.failures: list[ChannelError] = []
        self.calls = 0

    async def send(self, chat_id: str, message: Rendered, media: bytes | None) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return await super().send(chat_id, message, media)


ENGINES: list[AsyncEngine] = []


@pytest.fixture(autouse=True)
async def dispose_engines() -> AsyncIterator[None]:
    yield
    while ENGINES:
        await ENGINES.pop().dispose()


async def setup(tmp_path: Path, db_url: str) -> tuple[Dispatcher, FlakyChannel, object]:
    engine = make_engine(db_url)
    ENGINES.append(engine)
    await migrate(engine)
    factory = sessions(engine)
    channel = FlakyChannel()
    media = MediaStore(tmp_path / "media", 10_000_000, ZoneInfo("Asia/Shanghai"))
    return Dispatcher(factory, {"flaky": channel}, media, "zh_CN"), channel, factory


async def enqueue(factory: object, key: str, items: list, chat: str = "c1") -> None:
    async with factory() as s, s.begin():  # type: ignore[operator]
        await outbox_store.enqueue(s, key=key, channel="flaky", chat_id=chat, items=items)


async def row(factory: object, key: str) -> OutboxMessage:
    async with factory() as s:  # type: ignore[operator]
        return (await s.execute(select(OutboxMessage).where(OutboxMessage.key == key))).scalar_one()


async def test_one_key_is_one_message(tmp_path: Path, db_url: str) -> None:
    dispatcher, channel, factory = await setup(tmp_path, db_url)
    await enqueue(factory, "k1", [Text(T("Nothing to cancel."))])
    await enqueue(factory, "k1", [Text(T("Nothing to cancel."))])  # same key again: ignored
    # Two dispatchers (two processes) drain at once: the claim lets only one send.
    other = Dispatcher(dispatcher.sessions, dispatcher.channels, dispatcher.media, "zh_CN")
    await asyncio.gather(dispatcher.drain(), other.drain())
    assert [m.text for m in channel.sent] == ["当前没有可取消的操作。"]
    assert (await row(factory, "k1")).status == "sent"


async def test_rate_limit_answers_are_honoured(tmp_path: Path, db_url: str) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        dispatcher, channel, factory = await setup(tmp_path, db_url)
        channel.failures = [ChannelError("Too Many Requests", retry_after=30)]
        await enqueue(factory, "k", [Text(T("Nothing to cancel."))])
        assert await dispatcher.drain() == 0
        r = await row(factory, "k")
        assert r.status == "pending" and r.next_attempt_at == T0 + dt.timedelta(seconds=30)
        clock.shift(29)
        assert await dispatcher.drain() == 0 and channel.calls == 1  # not before retry_after
        clock.shift(2)
        assert await dispatcher.drain() == 1
        assert len(channel.sent) == 1


async def test_server_errors_back_off_then_the_circuit_opens_and_nothing_is_given_up(
    tmp_path: Path, db_url: str
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        dispatcher, channel, factory = await setup(tmp_path, db_url)
        channel.failures = [ChannelError("502 Bad Gateway")] * 20
        await enqueue(factory, "k", [Text(T("Nothing to cancel."))])
        delays = []
        for _ in range(10):
            await dispatcher.drain()
            r = await row(factory, "k")
            assert r.status == "pending"
            delays.append((r.next_attempt_at - dt.datetime.now(dt.UTC)).total_seconds())
            clock.shift(dt.timedelta(seconds=delays[-1] + 1))
        # Four back-offs, then the channel's circuit opens: a probe every 30 s, the row's tries frozen.
        assert delays == [2, 4, 8, 16, 30, 30, 30, 30, 30, 30]
        assert r.attempts == 4 and channel.calls == 10 and not channel.sent
        assert dispatcher.circuits["flaky"].open
        assert any("keeps failing" in line for line in dispatcher.operator.reports)
        channel.failures = []  # the platform is back: the next probe goes through and the circuit closes
        await dispatcher.drain()
        assert [m.text for m in channel.sent] == ["当前没有可取消的操作。"] and not dispatcher.circuits["flaky"].open
        assert any("answers again" in line for line in dispatcher.operator.reports)


async def test_a_long_outage_loses_nothing(tmp_path: Path, db_url: str) -> None:
    """5.5 minutes of 502s and timeouts with 30 rows queued: none fails, all go out once it is back."""
    with time_machine.travel(T0, tick=False) as clock:
        dispatcher, channel, factory = await setup(tmp_path, db_url)
        channel.failures = [ChannelError("502 Bad Gateway")] * 10_000
        for i in range(30):
            await enqueue(factory, f"k{i}", [Text(T("Nothing to cancel."))], chat=f"c{i}")
        end = T0 + dt.timedelta(minutes=5, seconds=30)
        while dt.datetime.now(dt.UTC) < end:
            await dispatcher.drain()
            clock.shift(5)
        async with factory() as s:
            statuses = (await s.execute(select(OutboxMessage.status))).scalars().all()
        assert set(statuses) == {"pending"}
        assert channel.calls < 60  # probes, not a storm
        channel.failures = []
        for _ in range(4):
            clock.shift(31)
            await dispatcher.drain()
        assert len(channel.sent) == 30
        async with factory() as s:
            assert set((await s.execute(select(OutboxMessage.status))).scalars().all()) == {"sent"}


async def test_only_age_gives_a_waiting_row_up(tmp_path: Path, db_url: str) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        dispatcher, channel, factory = await setup(tmp_path, db_url)
        dispatcher.max_age = dt.timedelta(hours=72)
        channel.failures = [ChannelError("timeout")] * 100_000
        await enqueue(factory, "old", [Text(T("Nothing to cancel."))])
        clock.shift(dt.timedelta(hours=71))
        await dispatcher.drain()
        assert (await row(factory, "old")).status == "pending"
        clock.shift(dt.timedelta(hours=2))
        await dispatcher.drain()
        r = await row(factory, "old")
        assert r.status == "failed" and "expired" in (r.last_error or "")
        assert any("could not be delivered within 72 h" in line for line in dispatcher.operator.reports)


async def test_a_stuck_level_1_notice_goes_to_the_other_accounts(tmp_path: Path, db_url: str) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        dispatcher, channel, factory = await setup(tmp_path, db_url)
        other = MemoryChannel("other", RICH)
        dispatcher.channels = {"flaky": channel, "other": other}  # type: ignore[assignment]
        async with factory() as s, s.begin():
            await admin.add_org(s, "insurer", "保险")
            person = await admin.add_person(s, name="周保险", org="保险")
            s.add(Identity(channel="other", user_id="o", chat_id="co", person_id=person.id, last_seen_at=T0))
            flaky = Identity(channel="flaky", user_id="f", chat_id="cf", person_id=person.id)
            s.add(flaky)
            flaky.last_seen_at = T0 + dt.timedelta(seconds=1)  # the account used last
            await s.flush()
            await outbox_store.notify_person(
                s, person.id, "hz1:sameday", [Text(T("Nothing to cancel."))], priority=outbox_store.URGENT
            )
            await outbox_store.notify_person(s, person.id, "hz2:plain", [Text(T("Nothing to cancel."))])
        channel.failures = [ChannelError("timeout")] * 1000  # the account used last is unreachable
        await dispatcher.drain()
        clock.shift(dt.timedelta(minutes=9))
        await dispatcher.drain()
        assert not other.sent
        clock.shift(dt.timedelta(minutes=2))
        await dispatcher.drain()
        assert [m.chat_id for m in other.sent] == ["co"]  # the urgent one only, and once
        clock.shift(dt.timedelta(minutes=20))
        await dispatcher.drain()
        assert [m.chat_id for m in other.sent] == ["co"]
        assert any("level-1 notice to 周保险" in line for line in dispatcher.operator.reports)


@time_machine.travel(T0, tick=False)
async def test_a_missing_photo_file_does_not_hold_up_the_message(tmp_path: Path, db_url: str) -> None:
    dispatcher, channel, factory = await setup(tmp_path, db_url)
    async with factory() as s, s.begin():
        photo = await dispatcher.media.store(s, jpeg())
    dispatcher.media.path(photo.sha256).unlink()  # the file is gone from the media folder
    await enqueue(factory, "k", [Photo(photo.sha256, T("Hazard photo")), Text(T("Nothing to cancel."))])
    assert await dispatcher.drain() == 1
    assert [m.text for m in channel.sent] == ["隐患照片\n（照片缺失）", "当前没有可取消的操作。"]
    assert not channel.sent[0].message.photo
    assert any(photo.sha256 in line for line in dispatcher.operator.reports)


async def test_a_blocked_chat_is_marked_inactive_not_retried(tmp_path: Path, db_url: str) -> None:
    dispatcher, channel, factory = await setup(tmp_path, db_url)
    async with factory() as s, s.begin():
        await admin.add_org(s, "construction", "建工")
        person = await admin.add_person(s, name="陈经理", org="建工")
        s.add(Identity(channel="flaky", user_id="u1", chat_id="c1", person_id=person.id))
    channel.failures = [ChannelError("Forbidden: bot was blocked by the user", forbidden=True)]
    await enqueue(factory, "k", [Text(T("Nothing to cancel."))])
    await dispatcher.drain()
    assert (await row(factory, "k")).status == "failed" and channel.calls == 1
    async with factory() as s:
        assert (await s.execute(select(Identity.active))).scalar_one() is False


@time_machine.travel(T0, tick=False)
async def test_parts_already_sent_are_not_sent_again(tmp_path: Path, db_url: str) -> None:
    dispatcher, channel, factory = await setup(tmp_path, db_url)
    async with factory() as s, s.begin():
        photo = await dispatcher.media.store(s, jpeg())
    items = [Photo(photo.sha256, T("Hazard photo")), Text(T("Nothing to cancel."))]
    channel.failures = []
    await enqueue(factory, "k", items)

    original = channel.send
    calls = {"n": 0}

    async def fail_second(chat_id: str, message: Rendered, media: bytes | None) -> str:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ChannelError("timeout")
        return await original(chat_id, message, media)

    channel.send = fail_second  # type: ignore[method-assign]
    await dispatcher.drain()
    assert [m.text for m in channel.sent] == ["隐患照片"]
    with time_machine.travel(T0 + dt.timedelta(seconds=60), tick=False):
        await dispatcher.drain()
    assert [m.text for m in channel.sent] == ["隐患照片", "当前没有可取消的操作。"]
    r = await row(factory, "k")
    assert r.status == "sent" and len(r.message_ids or []) == 2


async def test_a_crash_between_commit_and_send_loses_nothing(tmp_path: Path, db_url: str) -> None:
    """The change committed with its outbox row, then the process died before sending: the next process sends
    it once. A process that died mid-send leaves a lease that runs out, and the row is sent again once."""
    with time_machine.travel(T0, tick=False) as clock:
        _, _, factory = await setup(tmp_path, db_url)
        await enqueue(factory, "committed", [Text(T("Nothing to cancel."))])
        await enqueue(factory, "claimed", [Text(T("Nothing to cancel."))])
        async with factory() as s, s.begin():  # a dispatcher claimed a row, then its process died
            r = (await s.execute(select(OutboxMessage).where(OutboxMessage.key == "claimed"))).scalar_one()
            assert await outbox_store.claim_many(s, [r.id], T0, dt.timedelta(minutes=2)) == {r.id}

        restarted, channel, _ = await setup(tmp_path, db_url)
        assert await restarted.drain() == 1
        assert (await row(factory, "claimed")).status == "sending"
        clock.shift(dt.timedelta(minutes=3))
        assert await restarted.drain() == 1
        assert len(channel.sent) == 2
        assert await restarted.drain() == 0


async def test_the_recipient_language_is_chosen_at_send_time(tmp_path: Path, db_url: str) -> None:
    dispatcher, channel, factory = await setup(tmp_path, db_url)
    async with factory() as s, s.begin():
        await admin.add_org(s, "insurer", "保险")
        person = await admin.add_person(s, name="Emma", org="保险")
        s.add(Identity(channel="flaky", user_id="e", chat_id="ce", person_id=person.id))
        await s.flush()
        await outbox_store.notify_person(s, person.id, "n1", [Text(T("Nothing to cancel."))])
        (await s.get(Person, person.id)).locale = "en"  # type: ignore[union-attr]
    await dispatcher.drain()
    assert [m.text for m in channel.sent] == ["Nothing to cancel."]


async def claimed_reply(factory: object, dispatcher: Dispatcher, key: str) -> OutboxMessage:
    """A reply as the router writes it: taken for sending right after its turn commits."""
    async with factory() as s, s.begin():  # type: ignore[operator]
        reply = outbox_store.add_new(
            s,
            key=key,
            channel="flaky",
            chat_id="c1",
            items=[Text(T("Nothing to cancel."))],
            person_id=None,
            locale="zh_CN",
            priority=outbox_store.REPLY,
            lease_until=dispatcher.lease_until(T0),
        )
    return reply


async def test_a_reply_sent_at_once_is_sent_once_and_a_crash_before_it_is_sent_loses_nothing(
    tmp_path: Path, db_url: str
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        dispatcher, channel, factory = await setup(tmp_path, db_url)
        dispatcher.send(await claimed_reply(factory, dispatcher, "re:at-once"))
        await dispatcher.settle()
        assert len(channel.sent) == 1 and (await row(factory, "re:at-once")).status == "sent"
        assert await dispatcher.drain() == 0  # no pass sends it again

        await claimed_reply(factory, dispatcher, "re:died")  # committed, then the process died before sending
        restarted, channel, _ = await setup(tmp_path, db_url)
        assert await restarted.drain() == 0  # its lease still holds
        clock.shift(dispatcher.lease + dt.timedelta(seconds=1))
        assert await restarted.drain() == 1
        assert len(channel.sent) == 1


async def test_a_reply_the_platform_turns_down_at_once_is_retried_by_the_passes(tmp_path: Path, db_url: str) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        dispatcher, channel, factory = await setup(tmp_path, db_url)
        channel.failures = [ChannelError("HTTP 502")]
        dispatcher.send(await claimed_reply(factory, dispatcher, "re:retry"))
        await dispatcher.settle()
        waiting = await row(factory, "re:retry")
        assert waiting.status == "pending" and waiting.attempts == 1 and not channel.sent
        clock.shift(dt.timedelta(minutes=5))
        assert await dispatcher.drain() == 1
        assert len(channel.sent) == 1 and (await row(factory, "re:retry")).status == "sent"
