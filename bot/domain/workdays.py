"""Working days on the official Chinese calendar, including swapped working weekends (调休).

chinese-calendar carries the State Council's yearly notices; for a year it has no data for, the operator's
own list (holidays / working weekends) is used, and failing that Monday–Friday — never a crash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import chinese_calendar


@dataclass(frozen=True)
class WorkCalendar:
    extra_holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()
    operator_years: frozenset[int] = field(default=frozenset())

    def has_official_data(self, year: int) -> bool:
        try:
            chinese_calendar.is_workday(dt.date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def is_workday(self, day: dt.date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        if day.year not in self.operator_years:
            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                pass
        return day.weekday() < 5

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The day that is `days` working days after `start` (start itself does not count)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        remaining = days
        while remaining:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end`."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_workday(day)
        return count


def calendar_from_lists(
    holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = (), years: Iterable[int] = ()
) -> WorkCalendar:
    return WorkCalendar(frozenset(holidays), frozenset(workdays), frozenset(years))
