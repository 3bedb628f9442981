"""When the clock speaks about a hazard: reminders before the rectification deadline, the overdue notice, and
the escalation chain after it (001 附件 item 6; 003 §6.2; 004 §4.3f: refusal or delay goes to the insurer and
the authority). Pure: given the hazard's facts and a calendar, the milestones and who hears each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.domain.levels import Level, Status
from bot.domain.roles import Role
from bot.domain.rules import Escalation
from bot.domain.workdays import WorkCalendar

REMIND_AT = dt.time(8, 30)  # reminders speak at the start of a working day
SAME_DAY_RENOTIFY = dt.timedelta(hours=2)
SAME_DAY_MAX_RENOTIFY = 12

RESPONSIBLE = frozenset({Role.PROJECT_MANAGER, Role.SAFETY_OFFICER})


@dataclass(frozen=True)
class Milestone:
    key: str  # stable per hazard: the reminder's idempotency key is (hazard, key)
    due_at: dt.datetime
    roles: frozenset[Role]
    kind: str  # receipt | reminder | overdue | escalation
    urgent: bool  # ignores quiet hours and is sent at once instead of in the daily digest


@dataclass(frozen=True)
class ChainStep:
    """After the overdue notice: `days` working days later, tell these roles (by level)."""

    key: str
    days: int
    roles_by_level: Mapping[Level, frozenset[Role]]


def chain_of(steps: Escalation) -> tuple[ChainStep, ...]:
    """The deployment's chain (rules file, `escalation.steps`; the default reaches the insurer and the authority
    at every level: 001 附件 item 6, 003 §6.2)."""
    return tuple(
        ChainStep(
            step.key,
            step.days,
            {Level(level): frozenset(roles) for level, roles in step.levels.items() if roles},
        )
        for step in steps.steps
    )


DEFAULT_CHAIN = chain_of(Escalation())


def at_local(day: dt.date, when: dt.time, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, when, tzinfo=tz)


OFFICE_HOURS = (dt.time(8, 30), dt.time(17, 30))  # the working hours a "4 working hours" limit counts


def add_working_hours(
    moment: dt.datetime, hours: float, cal: WorkCalendar, tz: ZoneInfo, office: tuple[dt.time, dt.time] = OFFICE_HOURS
) -> dt.datetime:
    """`hours` of office time on working days after `moment` (local time): a notice at 16:00 with 4 hours left
    falls due at 11:00 the next working day; one on a Saturday counts from Monday 08:30."""
    opens, closes = office
    left = dt.timedelta(hours=hours)
    at = moment.astimezone(tz)
    while True:
        day = at.date()
        start, end = at_local(day, opens, tz), at_local(day, closes, tz)
        if cal.is_workday(day) and at < end:
            at = max(at, start)
            if at + left <= end:
                return at + left
            left -= end - at
        at = at_local(day + dt.timedelta(days=1), opens, tz)


def previous_working_day(day: dt.date, cal: WorkCalendar) -> dt.date:
    d = day - dt.timedelta(days=1)
    while not cal.is_workday(d):
        d -= dt.timedelta(days=1)
    return d


def due_marks(due_on: dt.date, cal: WorkCalendar, tz: ZoneInfo) -> list[tuple[str, dt.datetime]]:
    """When to remind of something due on a day (a visit's task, a complaint's answer): the working day before,
    the day itself, and the working day after, when it is late."""
    days = (
        ("due-1", previous_working_day(due_on, cal)),
        ("due-0", due_on),
        ("overdue", cal.add_working_days(due_on, 1)),
    )
    return [(key, at_local(day, REMIND_AT, tz)) for key, day in days]


def hazard_milestones(
    level: Level,
    deadline: dt.date,
    created_at: dt.datetime,
    cal: WorkCalendar,
    tz: ZoneInfo,
    chain: tuple[ChainStep, ...] = DEFAULT_CHAIN,
    receipt_hours: float = 4,
) -> list[Milestone]:
    urgent = level == Level.ONE
    out: list[Milestone] = []
    if receipt_hours > 0:  # the notice not signed for (签收) by then: the responsible people are reminded
        unreceived = add_working_hours(created_at, receipt_hours, cal, tz)
        out.append(Milestone("unreceived", unreceived, RESPONSIBLE, "receipt", urgent))
    before = previous_working_day(deadline, cal)
    if at_local(before, REMIND_AT, tz) > created_at:
        out.append(Milestone("due-1", at_local(before, REMIND_AT, tz), RESPONSIBLE, "reminder", urgent))
    if at_local(deadline, REMIND_AT, tz) > created_at:
        out.append(Milestone("due-0", at_local(deadline, REMIND_AT, tz), RESPONSIBLE, "reminder", urgent))
    overdue_day = cal.add_working_days(deadline, 1)
    out.append(Milestone("overdue", at_local(overdue_day, REMIND_AT, tz), RESPONSIBLE, "overdue", urgent))
    for step in chain:
        roles = step.roles_by_level.get(level)
        if roles:
            day = cal.add_working_days(overdue_day, step.days)
            out.append(Milestone(step.key, at_local(day, REMIND_AT, tz), roles, "escalation", urgent))
    return out


def applies(milestone: Milestone, status: Status, received: bool = False) -> bool:
    """Reminders and escalations are about the responsible unit's part: not once evidence is submitted; the
    receipt reminder not once someone responsible has signed for the notice."""
    return status == Status.RECTIFYING and not (milestone.kind == "receipt" and received)


def superseded(due: list[Milestone]) -> set[str]:
    """Of several reminders that fell due at once (the service was down), only the latest is worth sending."""
    reminders = sorted((m for m in due if m.kind == "reminder"), key=lambda m: m.due_at)
    later_family = any(m.kind == "overdue" for m in due)
    drop = {m.key for m in reminders[:-1]}
    if later_family and reminders:
        drop.add(reminders[-1].key)
    return drop


def same_day_marks(created_at: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """Level 1: the same-day report is repeated every two hours until both sides acknowledge it."""
    return [(f"sameday-{n}", created_at + n * SAME_DAY_RENOTIFY) for n in range(1, SAME_DAY_MAX_RENOTIFY + 1)]


def same_day_renotify(created_at: dt.datetime, now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """The repeats that have fallen due by `now`."""
    return [(key, at) for key, at in same_day_marks(created_at) if at <= now]


def in_quiet_hours(local: dt.time, start: dt.time, end: dt.time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # across midnight, e.g. 21:00–08:00


def quiet_end(moment: dt.datetime, start: dt.time, end: dt.time) -> dt.datetime:
    """`moment` itself when it is not in quiet hours, else when they end (same zone as `moment`)."""
    if not in_quiet_hours(moment.timetz().replace(tzinfo=None), start, end):
        return moment
    candidate = moment.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    return candidate if candidate > moment else candidate + dt.timedelta(days=1)
