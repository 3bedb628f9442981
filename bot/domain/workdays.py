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
class Year:
    """One year's working days as a table: `flags[i]` is 1 when day i of the year (1 January is 0) is worked,
    `before[i]` how many working days come before it in the year."""

    first: dt.date
    flags: bytes
    before: tuple[int, ...]

    @property
    def total(self) -> int:
        return self.before[-1] + self.flags[-1]

    def worked(self, day: dt.date) -> bool:
        return bool(self.flags[(day - self.first).days])

    def up_to(self, day: dt.date) -> int:
        """Working days from 1 January up to and including `day`."""
        i = (day - self.first).days
        return self.before[i] + self.flags[i]


@dataclass(frozen=True)
class WorkCalendar:
    extra_holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()
    operator_years: frozenset[int] = field(default=frozenset())
    # Each year is worked out once, day by day, then read as a table: the calendar package validates its input
    # against its whole holiday table on every call, which made the clock's arithmetic its hot spot.
    _years: dict[int, Year] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def has_official_data(self, year: int) -> bool:
        try:
            chinese_calendar.is_workday(dt.date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def _decide(self, day: dt.date, official: bool) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        if official:
            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5

    def year(self, year: int) -> Year:
        table = self._years.get(year)
        if table is None:
            first = dt.date(year, 1, 1)
            official = year not in self.operator_years and self.has_official_data(year)
            days = (dt.date(year + 1, 1, 1) - first).days
            flags = bytes(self._decide(first + dt.timedelta(days=i), official) for i in range(days))
            before, count = [], 0
            for flag in flags:
                before.append(count)
                count += flag
            table = self._years[year] = Year(first, flags, tuple(before))
        return table

    def is_workday(self, day: dt.date) -> bool:
        return self.year(day.year).worked(day)

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
        if end <= start:
            return 0
        if start.year == end.year:
            table = self.year(start.year)
            return table.up_to(end) - table.up_to(start)
        count = self.year(start.year).total - self.year(start.year).up_to(start)
        count += sum(self.year(y).total for y in range(start.year + 1, end.year))
        return count + self.year(end.year).up_to(end)


def calendar_from_lists(
    holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = (), years: Iterable[int] = ()
) -> WorkCalendar:
    return WorkCalendar(frozenset(holidays), frozenset(workdays), frozenset(years))
