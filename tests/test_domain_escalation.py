from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.domain import escalation
from bot.domain.levels import Level, Status
from bot.domain.roles import Role
from bot.domain.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()


def local(y: int, m: int, d: int, hh: int = 8, mm: int = 30) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


def test_level2_chain_on_ordinary_days() -> None:
    ms = escalation.hazard_milestones(
        Level.TWO, dt.date(2026, 11, 20), local(2026, 11, 17, 9, 30), CAL, TZ, receipt_hours=0
    )
    assert [(m.key, m.due_at, m.roles) for m in ms] == [
        ("due-1", local(2026, 11, 19), escalation.RESPONSIBLE),
        ("due-0", local(2026, 11, 20), escalation.RESPONSIBLE),
        ("overdue", local(2026, 11, 23), escalation.RESPONSIBLE),  # Monday: the weekend does not count
        ("esc-1", local(2026, 11, 24), {Role.INSURER}),
        ("esc-2", local(2026, 11, 25), {Role.AUTHORITY}),
    ]
    assert not any(m.urgent for m in ms)


def test_001_item6_003_6_2_a_delay_of_any_level_reaches_the_insurer_and_the_authority() -> None:
    # Before: levels 3–4 stopped at the supervision engineer.
    for level in (Level.THREE, Level.FOUR):
        ms = escalation.hazard_milestones(level, dt.date(2026, 11, 20), local(2026, 11, 2), CAL, TZ)
        steps = [(m.key, m.due_at, m.roles) for m in ms if m.kind == "escalation"]
        assert steps == [
            ("esc-1", local(2026, 11, 24), {Role.SUPERVISION_ENGINEER, Role.INSURER}),
            ("esc-2", local(2026, 11, 25), {Role.AUTHORITY}),
        ]


def test_level_1_is_urgent() -> None:
    one = escalation.hazard_milestones(Level.ONE, dt.date(2026, 11, 18), local(2026, 11, 17, 15), CAL, TZ)
    assert one[0].key == "unreceived" and one[0].due_at == local(2026, 11, 18, 10, 30) and one[0].urgent
    one = one[1:]
    assert all(m.urgent for m in one)
    # Reported after 08:30 the day before the deadline: no "due tomorrow" reminder in the past.
    assert [m.key for m in one][:2] == ["due-0", "overdue"]


def test_across_national_day() -> None:
    ms = escalation.hazard_milestones(Level.THREE, dt.date(2026, 10, 8), local(2026, 9, 25), CAL, TZ)
    dates = {m.key: m.due_at.date() for m in ms}
    assert dates["due-1"] == dt.date(2026, 9, 30)  # 10-01…07 are off
    assert dates["overdue"] == dt.date(2026, 10, 9)
    assert dates["esc-1"] == dt.date(2026, 10, 10)  # Saturday 10-10 is a working day


def test_custom_chain_steps() -> None:
    chain = (escalation.ChainStep("esc-1", 3, {Level.TWO: frozenset({Role.INSURER})}),)
    ms = escalation.hazard_milestones(Level.TWO, dt.date(2026, 11, 20), local(2026, 11, 17), CAL, TZ, chain)
    assert ms[-1].key == "esc-1" and ms[-1].due_at == local(2026, 11, 26)


def test_only_the_newest_of_missed_reminders_is_sent() -> None:
    ms = escalation.hazard_milestones(Level.TWO, dt.date(2026, 11, 20), local(2026, 11, 17, 9), CAL, TZ)[1:]
    assert escalation.superseded(ms[:2]) == {"due-1"}
    assert escalation.superseded(ms[:3]) == {"due-1", "due-0"}
    assert escalation.superseded(ms[3:]) == set()


def test_same_day_repeats_every_two_hours() -> None:
    created = local(2026, 11, 17, 22, 10)
    assert escalation.same_day_renotify(created, created + dt.timedelta(hours=1)) == []
    keys = [k for k, _ in escalation.same_day_renotify(created, created + dt.timedelta(hours=5))]
    assert keys == ["sameday-1", "sameday-2"]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (local(2026, 11, 17, 22, 0), local(2026, 11, 18, 8, 0)),
        (local(2026, 11, 18, 7, 59), local(2026, 11, 18, 8, 0)),
        (local(2026, 11, 18, 8, 0), local(2026, 11, 18, 8, 0)),
        (local(2026, 11, 18, 12, 0), local(2026, 11, 18, 12, 0)),
    ],
)
def test_quiet_hours(moment: dt.datetime, expected: dt.datetime) -> None:
    assert escalation.quiet_end(moment, dt.time(21), dt.time(8)) == expected
    assert escalation.quiet_end(moment, dt.time(0), dt.time(0)) == moment  # no quiet hours


@pytest.mark.parametrize(
    ("sent", "due"),
    [
        (local(2026, 11, 17, 9, 30), local(2026, 11, 17, 13, 30)),  # inside one working day
        (local(2026, 11, 17, 16, 0), local(2026, 11, 18, 11, 0)),  # 1.5 h today, 2.5 h tomorrow
        (local(2026, 11, 17, 20, 0), local(2026, 11, 18, 12, 30)),  # after hours: from 08:30 next morning
        (local(2026, 11, 20, 16, 0), local(2026, 11, 23, 11, 0)),  # Friday → Monday
        (local(2026, 9, 30, 17, 0), local(2026, 10, 8, 12, 0)),  # National Day: 10-01…07 off
        (local(2026, 11, 17, 6, 0), local(2026, 11, 17, 12, 30)),  # before opening
    ],
)
def test_four_working_hours(sent: dt.datetime, due: dt.datetime) -> None:
    assert escalation.add_working_hours(sent, 4, CAL, TZ) == due


def test_an_unsigned_notice_is_reminded_after_four_working_hours_until_signed() -> None:
    ms = escalation.hazard_milestones(Level.THREE, dt.date(2026, 11, 27), local(2026, 11, 17, 16), CAL, TZ)
    receipt = ms[0]
    assert (receipt.key, receipt.kind, receipt.due_at, receipt.roles) == (
        "unreceived",
        "receipt",
        local(2026, 11, 18, 11, 30),  # reported at 16:30: one hour that day, three the next
        escalation.RESPONSIBLE,
    )
    assert escalation.applies(receipt, Status.RECTIFYING)
    assert not escalation.applies(receipt, Status.RECTIFYING, received=True)
    assert escalation.applies(ms[1], Status.RECTIFYING, received=True)  # the deadline's reminders go on
    assert not escalation.applies(ms[1], Status.SUBMITTED)
    assert "unreceived" not in {
        m.key
        for m in escalation.hazard_milestones(
            Level.THREE, dt.date(2026, 11, 27), local(2026, 11, 17, 16), CAL, TZ, receipt_hours=0
        )
    }
