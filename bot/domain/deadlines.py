"""Rectification deadlines: default per level in working days, and what an expert may choose instead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from bot.domain.levels import Level
from bot.domain.rules import Rules
from bot.domain.workdays import WorkCalendar

MAX_DEADLINE_DAYS = 180
DEFAULT_DAYS = Rules().deadline_days()  # the seeds' periods; a deployment's come from its rules file


def default_deadline(
    level: Level, today: dt.date, cal: WorkCalendar, days: Mapping[Level, int] = DEFAULT_DAYS
) -> dt.date:
    return cal.add_working_days(today, days[level])


def deadline_choices(
    level: Level, today: dt.date, cal: WorkCalendar, days: Mapping[Level, int] = DEFAULT_DAYS
) -> list[tuple[int, dt.date]]:
    """The default and a few shorter/longer periods, as (working days, date), without duplicates."""
    base = days[level]
    periods = sorted({base, 1, 3, 7, 15} - {0})
    return [(n, cal.add_working_days(today, n)) for n in periods]


DUE_SOON_WORKING_DAYS = 3  # the ledger's amber rows (Aconex's three classes: late, due soon, the rest)


def due_soon(deadline: dt.date, today: dt.date, cal: WorkCalendar) -> bool:
    """Not late yet, and due within three working days."""
    return today <= deadline and cal.working_days_between(today, deadline) <= DUE_SOON_WORKING_DAYS


def parse_deadline(text: str, today: dt.date) -> dt.date | None:
    """A typed date (2026-11-30, 2026/11/30, 11-30, 11月30日); None when it is not a usable future date."""
    cleaned = text.strip().replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日号")
    parts = [p for p in cleaned.split("-") if p]
    try:
        if len(parts) == 3:
            day = dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
        elif len(parts) == 2:
            day = dt.date(today.year, int(parts[0]), int(parts[1]))
            if day < today:
                day = dt.date(today.year + 1, day.month, day.day)
        else:
            return None
    except ValueError:
        return None
    if day < today or (day - today).days > MAX_DEADLINE_DAYS:
        return None
    return day
