"""The clock end to end, with controlled time: reminders, the escalation chain, digests and quiet hours, the
level-1 same-day report repeated until acknowledged — once each, across restarts and racing sweeps."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import event, func, select, text

from bot.domain.levels import Level
from bot.ports import HazardDraft
from bot.render import RICH
from scheduler.jobs import Jobs
from storage.models import RECONSIDER, Hazard, OutboxMessage, Person, Reminder
from storage.people import person_info
from storage.services import SqlServices
from tests.conftest import make_harness
from tests.harness import Harness, jpeg, texts

TZ = ZoneInfo("Asia/Shanghai")
PEOPLE = ("王建国", "陈经理", "刘安全", "孙监理", "周保险", "吴监管")


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


async def report(h: Harness, level: Level, deadline: dt.date, signed: bool = True) -> int:
    """A hazard reported by the expert; `signed`: the project manager signs for the notice at once (the receipt
    reminder is then out of the way of what a test is about)."""
    expert = await h.person_id("王建国")
    async with h.app.work() as turn:
        s = turn.s
        photo = await h.app.media.store(s, jpeg())
        svc = SqlServices(turn)
        me = await person_info(s, expert)
        project = (await svc.people.projects(me))[0]
        hazard = await svc.hazards.report(
            me,
            HazardDraft(
                project_id=project.id,
                group_id="height",
                description="临边无防护",
                location="1#楼5层",
                suggestion="设置防护栏杆",
                deadline=deadline,
                level=level,
                photos=[photo.sha256],
            ),
        )
        if signed:
            await svc.hazards.receive(await person_info(s, await h.person_id("陈经理")), hazard.id)
    await h.app.dispatcher.drain()
    return hazard.id


async def tick(h: Harness) -> None:
    """What the scheduler does each minute and at 08:30, run by hand at the controlled time."""
    await h.app.jobs.sweep()
    await h.app.jobs.digest()
    await h.app.dispatcher.drain()


async def test_a_level2_hazard_walks_the_chain_once_across_a_restart(db_url: str, tmp_path: Path) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 30), tick=False) as clock:
        h = await make_harness(db_url, tmp_path, RICH)
        users = {name: await h.login(name) for name in PEOPLE}
        await report(h, Level.TWO, dt.date(2026, 11, 20))
        for name in ("陈经理", "刘安全"):
            assert "隐患整改通知单" in texts(h.inbox(users[name]))
        seen = {name: len(h.inbox(u)) for name, u in users.items()}

        def new(name: str) -> str:
            out = texts(h.inbox(users[name])[seen[name] :])
            seen[name] = len(h.inbox(users[name]))
            return out

        clock.move_to(at(2026, 11, 19, 8, 30))
        await asyncio.gather(h.app.jobs.sweep(), h.app.jobs.sweep())  # two sweeps racing
        await tick(h)
        for name in ("陈经理", "刘安全"):
            out = new(name)
            assert out.count("今日提醒（1 条）") == 1 and "整改明天到期" in out, out
        assert not new("周保险") and not new("吴监管")

        clock.move_to(at(2026, 11, 20, 8, 30))
        await tick(h)
        assert "整改今天到期" in new("陈经理")

        await h.app.engine.dispose()  # the service restarts
        h = await make_harness(db_url, tmp_path, RICH, seed=False)
        h.channel.sent.clear()
        seen = {name: 0 for name in PEOPLE}
        await tick(h)  # nothing is due again after the restart
        assert all(not new(name) for name in PEOPLE)

        clock.move_to(at(2026, 11, 23, 8, 30))  # Monday: overdue
        await tick(h)
        assert "整改已逾期" in new("陈经理") and "整改已逾期" in new("刘安全")
        clock.move_to(at(2026, 11, 24, 8, 30))
        await tick(h)
        assert "逾期隐患：报送给您" in new("周保险") and not new("吴监管") and not new("孙监理")
        clock.move_to(at(2026, 11, 25, 8, 30))
        await tick(h)
        assert "逾期隐患：报送给您" in new("吴监管")
        clock.move_to(at(2026, 11, 26, 8, 30))
        await tick(h)
        await tick(h)
        assert all(not new(name) for name in PEOPLE)

        async with h.app.readonly() as s:
            keys = (await s.execute(select(Reminder.key).order_by(Reminder.id))).scalars().all()
            assert [k.split(":")[1] for k in keys] == ["due-1", "due-0", "overdue", "esc-1", "esc-2"]
        r = await h.say(users["陈经理"], "/hazard XC-2026-000001")
        history = texts(r)
        assert "已报送（逾期隐患：报送给您）" in history and "已提醒（整改明天到期）" in history
        await h.app.engine.dispose()


async def test_reminders_missed_while_down_are_sent_once_in_one_digest(db_url: str, tmp_path: Path) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 30), tick=False) as clock:
        h = await make_harness(db_url, tmp_path, RICH)
        manager = await h.login("陈经理")
        await report(h, Level.THREE, dt.date(2026, 11, 19))
        before = len(h.inbox(manager))
        clock.move_to(at(2026, 11, 23, 10, 0))  # down since Tuesday
        await tick(h)
        out = texts(h.inbox(manager)[before:])
        assert out.count("今日提醒") == 1 and "整改已逾期" in out and "整改今天到期" not in out
        async with h.app.readonly() as s:
            statuses = dict((await s.execute(select(Reminder.milestone, Reminder.status))).all())
        assert statuses == {"due-1": "superseded", "due-0": "superseded", "overdue": "digest", "esc-1": "digest"}
        await h.app.engine.dispose()


async def test_a_digest_waits_for_the_end_of_a_persons_quiet_hours(db_url: str, tmp_path: Path) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 30), tick=False) as clock:
        h = await make_harness(db_url, tmp_path, RICH)
        manager = await h.login("陈经理")
        assert "请这样发送" in texts(await h.say(manager, "/quiet 25:00-07:00"))  # no such hour
        r = await h.say(manager, "/quiet 20:00-09:15")
        assert "20:00 至 09:15 不再发送非紧急提醒" in texts(r)
        async with h.app.readonly() as s:
            person = await s.get(Person, await h.person_id("陈经理"))
            assert person is not None and (person.quiet_start, person.quiet_end) == ("20:00", "09:15")
        await report(h, Level.FOUR, dt.date(2026, 11, 19))
        before = len(h.inbox(manager))
        clock.move_to(at(2026, 11, 18, 8, 30))
        await tick(h)
        assert len(h.inbox(manager)) == before  # still quiet for this person
        async with h.app.readonly() as s:
            row = (await s.execute(select(OutboxMessage).where(OutboxMessage.key.like("digest:%")))).scalar_one()
            assert row.next_attempt_at == at(2026, 11, 18, 9, 15).astimezone(dt.UTC)
        clock.move_to(at(2026, 11, 18, 9, 15))
        await h.app.dispatcher.drain()
        assert "整改明天到期" in texts(h.inbox(manager)[before:])
        await h.app.engine.dispose()


async def test_level1_same_day_report_repeats_until_both_sides_acknowledge(db_url: str, tmp_path: Path) -> None:
    with time_machine.travel(at(2026, 11, 17, 22, 30), tick=False) as clock:  # late at night: quiet hours
        h = await make_harness(db_url, tmp_path, RICH)
        insurer, authority = await h.login("周保险"), await h.login("吴监管")
        await h.login("陈经理")
        await report(h, Level.ONE, dt.date(2026, 11, 18))
        # Level 1 ignores quiet hours: the same-day report is out at once.
        report_card = next(m for m in h.inbox(insurer) if "当日报告" in m.text)
        assert "确认收到" in [label for _, label in report_card.message.offers]
        assert any("当日报告" in m.text for m in h.inbox(authority))

        clock.move_to(at(2026, 11, 18, 0, 31))
        await tick(h)
        assert "尚未确认" in texts(h.inbox(insurer)[-1:]) and "尚未确认" in texts(h.inbox(authority)[-1:])

        r = await h.pick(insurer, "确认收到", [report_card])
        assert "已确认收到 XC-2026-000001" in texts(r)
        n_insurer, n_authority = len(h.inbox(insurer)), len(h.inbox(authority))
        clock.move_to(at(2026, 11, 18, 2, 31))
        await tick(h)
        assert len(h.inbox(insurer)) == n_insurer  # the insurer's side has acknowledged
        assert "尚未确认" in texts(h.inbox(authority)[n_authority:])

        authority_card = next(
            m for m in reversed(h.inbox(authority)) if "确认收到" in [label for _, label in m.message.offers]
        )
        await h.pick(authority, "确认收到", [authority_card])
        n_authority = len(h.inbox(authority))
        clock.move_to(at(2026, 11, 18, 6, 31))
        await tick(h)
        assert len(h.inbox(authority)) == n_authority
        async with h.app.readonly() as s:
            repeats = (
                await s.execute(select(func.count()).select_from(Reminder).where(Reminder.milestone.like("sameday-%")))
            ).scalar_one()
        assert repeats == 2
        # The site manager cannot acknowledge for the insurer.
        r = await h.press(await h.login("陈经理"), report_card.message.offers[0][0])
        assert "没有此操作权限" in texts(r)
        await h.app.engine.dispose()


def test_due_lists_what_is_late(db_url: str, tmp_path: Path, monkeypatch: object, capsys: object) -> None:
    from bot.cli import main

    async def setup() -> None:
        h = await make_harness(db_url, tmp_path, RICH)
        await report(h, Level.ONE, dt.date(2026, 11, 18))
        await h.app.engine.dispose()

    with time_machine.travel(at(2026, 11, 17, 10, 0), tick=False) as clock:
        asyncio.run(setup())
        clock.move_to(at(2026, 11, 20, 10, 0))
        monkeypatch.setenv("ANZEBOT_DATABASE_URL", db_url)  # type: ignore[attr-defined]
        monkeypatch.chdir(tmp_path)  # type: ignore[attr-defined]
        assert main(["due"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "XC-2026-000001  XC-P001  L1  rectifying" in out
    assert "late 2 wd" in out and "not acknowledged by: authority, insurer" in out


class Loads:
    """Counts the hazard rows the ORM builds (each row a query returns becomes one)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: object) -> None:
        self.count += 1


async def test_a_sweep_reads_only_what_is_due(db_url: str, tmp_path: Path) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 30), tick=False) as clock:
        h = await make_harness(db_url, tmp_path, RICH)
        for day in (20, 24, 26, 27, 30):
            await report(h, Level.THREE, dt.date(2026, 11, day))
        await tick(h)  # the reports themselves put the hazards in front of the clock once
        loads = Loads()
        event.listen(Hazard, "load", loads)
        try:
            clock.move_to(at(2026, 11, 18, 10, 0))
            assert await h.app.jobs.sweep() == 0
            assert loads.count == 0  # nothing due: not one hazard row read
            clock.move_to(at(2026, 11, 19, 8, 30))  # the first one's day-before reminder
            assert await h.app.jobs.sweep() == 1
            assert loads.count == 1
        finally:
            event.remove(Hazard, "load", loads)
        async with h.app.readonly() as s:
            nxt = dict((await s.execute(select(Hazard.deadline, Hazard.next_due_at))).all())
        assert nxt[dt.date(2026, 11, 20)] == at(2026, 11, 20, 8, 30)  # the day itself comes next
        assert nxt[dt.date(2026, 11, 30)] == at(2026, 11, 27, 8, 30)  # the working day before
        await h.app.engine.dispose()


async def test_the_due_query_reads_the_index(db_url: str, tmp_path: Path) -> None:
    h = await make_harness(db_url, tmp_path, RICH)
    async with h.app.readonly() as s:
        query = (
            select(Hazard.id)
            .where(Hazard.next_due_at <= dt.datetime(2026, 11, 18, tzinfo=dt.UTC))
            .order_by(Hazard.next_due_at, Hazard.id)
            .limit(200)
        )
        compiled = query.compile(s.get_bind(), compile_kwargs={"literal_binds": True})
        if s.get_bind().dialect.name == "sqlite":
            plan = " ".join(str(r) for r in (await s.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))).all())
            assert "ix_hazards_next_due_at" in plan and "SCAN hazards" not in plan, plan
        else:
            await s.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: ask whether the index serves
            plan = " ".join(str(r) for r in (await s.execute(text(f"EXPLAIN {compiled}"))).all())
            assert "ix_hazards_next_due_at" in plan, plan
    await h.app.engine.dispose()


async def test_a_reopened_hazard_comes_back_to_the_clock(db_url: str, tmp_path: Path) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 30), tick=False) as clock:
        h = await make_harness(db_url, tmp_path, RICH)
        hazard_id = await report(h, Level.THREE, dt.date(2026, 11, 19))
        await tick(h)
        async with h.app.sessions() as s, s.begin():
            row = await s.get(Hazard, hazard_id)
            assert row is not None and row.next_due_at == at(2026, 11, 18, 8, 30)
            row.status = "reviewing"  # evidence submitted: the reminders stop …
        clock.move_to(at(2026, 11, 18, 8, 30))
        await tick(h)
        async with h.app.sessions() as s, s.begin():
            row = await s.get(Hazard, hazard_id)
            assert row is not None and row.next_due_at is None
            row.status = "rectifying"  # … and a rejection brings them back
            await s.flush()
            assert row.next_due_at == RECONSIDER
        clock.move_to(at(2026, 11, 20, 10, 0))  # overdue since 08:30
        await tick(h)
        async with h.app.readonly() as s:
            statuses = dict((await s.execute(select(Reminder.milestone, Reminder.status))).all())
        assert statuses == {"due-1": "superseded", "due-0": "superseded", "overdue": "digest"}
        await h.app.engine.dispose()


async def test_the_clock_commits_in_batches_and_lets_messages_through(db_url: str, tmp_path: Path) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 30), tick=False) as clock:
        h = await make_harness(db_url, tmp_path, RICH)
        manager = await h.login("陈经理")
        for _ in range(6):
            await report(h, Level.THREE, dt.date(2026, 11, 19))
        await tick(h)
        clock.move_to(at(2026, 11, 18, 8, 30))
        seen: list[str] = []

        async def between() -> None:
            # While the clock pauses between batches, a person's message is answered, and what the clock
            # committed so far is there for anyone to read.
            async with h.app.readonly() as s:
                seen.append(f"committed {(await s.execute(select(func.count()).select_from(Reminder))).scalar()}")
            if len(seen) == 1:
                seen.append("answered" if "您是" in texts(await h.say(manager, "/whoami")) else "silent")

        jobs = Jobs(h.app.sessions, h.app.setup, h.app.now, between=between)
        assert await jobs.sweep(batch=2) == 6
        assert seen == ["committed 2", "answered", "committed 4", "committed 6"]
        assert await jobs.sweep(batch=2) == 0
        await h.app.engine.dispose()


async def test_001_item6_a_late_level3_hazard_reaches_supervision_insurer_and_authority(
    db_url: str, tmp_path: Path
) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 30), tick=False) as clock:
        h = await make_harness(db_url, tmp_path, RICH)
        users = {name: await h.login(name) for name in PEOPLE}
        await report(h, Level.THREE, dt.date(2026, 11, 20))
        clock.move_to(at(2026, 11, 23, 8, 30))  # Monday: overdue
        await tick(h)
        before = {name: len(h.inbox(u)) for name, u in users.items()}

        def new(name: str) -> str:
            out = texts(h.inbox(users[name])[before[name] :])
            before[name] = len(h.inbox(users[name]))
            return out

        clock.move_to(at(2026, 11, 24, 8, 30))
        await tick(h)
        assert "逾期隐患：报送给您" in new("孙监理") and "逾期隐患：报送给您" in new("周保险")
        assert not new("吴监管")
        clock.move_to(at(2026, 11, 25, 8, 30))
        await tick(h)
        assert "逾期隐患：报送给您" in new("吴监管")
        await h.app.engine.dispose()


CHAIN_FILE = """
[[escalation.steps]]
key = "esc-1"
days = 3
levels = { 2 = ["authority"] }
"""


async def test_the_rules_file_sets_the_chain(db_url: str, tmp_path: Path) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 30), tick=False) as clock:
        h = await make_harness(db_url, tmp_path, RICH, rules=CHAIN_FILE)
        users = {name: await h.login(name) for name in PEOPLE}
        await report(h, Level.TWO, dt.date(2026, 11, 20))
        for day in (23, 24, 25):
            clock.move_to(at(2026, 11, day, 8, 30))
            await tick(h)
        assert "逾期隐患" not in texts(h.inbox(users["周保险"])) and "逾期隐患" not in texts(h.inbox(users["吴监管"]))
        clock.move_to(at(2026, 11, 26, 8, 30))  # three working days after the overdue notice
        await tick(h)
        assert "逾期隐患：报送给您" in texts(h.inbox(users["吴监管"]))
        assert "逾期隐患" not in texts(h.inbox(users["周保险"]))
        await h.app.engine.dispose()


async def test_000_annex3_a_notice_not_signed_for_is_chased_after_four_working_hours(h: Harness, clock: Any) -> None:
    manager, safety = await h.login("陈经理"), await h.login("刘安全")
    clock.move_to(at(2026, 11, 17, 16, 0))
    await report(h, Level.THREE, dt.date(2026, 11, 27), signed=False)
    notice = [m for m in h.inbox(manager) if "整改通知" in m.text]
    assert notice and "签收" in [label for _, label in notice[-1].message.offers]
    clock.move_to(at(2026, 11, 18, 10, 59))
    await tick(h)
    assert not [m for m in h.inbox(manager) if "尚未签收" in m.text]
    clock.move_to(at(2026, 11, 18, 11, 0))  # 1.5 working hours on the 17th, 2.5 on the 18th
    await tick(h)
    for user in (manager, safety):  # at once, not in tomorrow's digest
        assert len([m for m in h.inbox(user) if m.text.startswith("【整改通知单尚未签收】")]) == 1
    r = await h.pick(safety, "签收", h.inbox(safety)[-1:])  # on the reminder itself
    assert "已签收" in texts(r)
    r = await h.pick(manager, "签收", h.inbox(manager)[-1:])
    assert "已处理过，当前状态：已签收" in texts(r)  # signed once: the second press hears it is done
    r = await h.say(manager, "/hazard XC-2026-000001")
    out = texts(r)
    assert "签收：刘安全，2026-11-18 11:00" in out and "刘安全：签收整改通知单" in out
    async with h.app.readonly() as s:
        hz = (await s.execute(select(Hazard))).scalar_one()
        assert hz.received_by == await h.person_id("刘安全")
    clock.move_to(at(2026, 11, 26, 8, 30))  # the deadline's reminders still come
    await tick(h)
    await tick(h)
    assert "整改明天到期" in texts(h.inbox(manager))
    chased = [m for m in h.inbox(manager) if m.text.startswith("【整改通知单尚未签收】")]
    assert len(chased) == 1  # never chased again


async def test_only_the_responsible_unit_signs_for_a_notice(db_url: str, tmp_path: Path) -> None:
    with time_machine.travel(at(2026, 11, 17, 9, 30), tick=False):
        h = await make_harness(db_url, tmp_path, RICH)
        engineer = await h.login("孙监理")
        hazard_id = await report(h, Level.THREE, dt.date(2026, 11, 27), signed=False)
        r = await h.press(engineer, f"rcv:{hazard_id}")
        assert "没有此操作权限" in texts(r)
        async with h.app.readonly() as s:
            assert (await s.execute(select(Hazard.received_at))).scalar_one() is None
        await h.app.engine.dispose()
