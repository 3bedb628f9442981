"""Working-day arithmetic over real 2025 and 2026 holiday periods (State Council notices), and the fallback."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest

from bot.domain.deadlines import deadline_choices, default_deadline, parse_deadline
from bot.domain.levels import Level
from bot.domain.workdays import WorkCalendar, calendar_from_lists

D = dt.date
CAL = WorkCalendar()


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (D(2025, 9, 28), True),  # Sunday, worked in lieu of National Day
        (D(2025, 10, 1), False),
        (D(2025, 10, 8), False),
        (D(2025, 10, 11), True),  # Saturday worked
        (D(2026, 1, 4), True),  # Sunday worked (New Year)
        (D(2026, 2, 14), True),  # Saturday worked (Spring Festival)
        (D(2026, 2, 16), False),
        (D(2026, 2, 23), False),
        (D(2026, 2, 28), True),
        (D(2026, 5, 9), True),
        (D(2026, 10, 7), False),
        (D(2026, 10, 10), True),
        (D(2026, 11, 21), False),  # an ordinary Saturday
        (D(2026, 11, 23), True),
    ],
)
def test_official_calendar(day: dt.date, workday: bool) -> None:
    assert CAL.is_workday(day) is workday


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # A visit closed on 2025-09-30, just before National Day: the 2-day material upload is due 10-10.
        (D(2025, 9, 30), 2, D(2025, 10, 10)),
        # … and the 5-day service report 10-14 (Saturday 10-11 is worked).
        (D(2025, 9, 30), 5, D(2025, 10, 14)),
        # 10 working days for the revisit from 2025-09-26 (Fri): Sunday 09-28 counts, 10-01..08 do not.
        (D(2025, 9, 26), 10, D(2025, 10, 16)),
        # Spring Festival 2026: 02-13 (Fri) + 1 → 02-14 (Saturday worked); + 2 → 02-24.
        (D(2026, 2, 13), 1, D(2026, 2, 14)),
        (D(2026, 2, 13), 2, D(2026, 2, 24)),
        # National Day 2026: 10-01..07 off; Thursday 10-08 and Saturday 10-10 are worked.
        (D(2026, 9, 30), 1, D(2026, 10, 8)),
        (D(2026, 9, 30), 3, D(2026, 10, 10)),
        (D(2026, 11, 17), 7, D(2026, 11, 26)),
        (D(2026, 11, 20), 0, D(2026, 11, 20)),
    ],
)
def test_add_working_days(start: dt.date, days: int, expected: dt.date) -> None:
    assert CAL.add_working_days(start, days) == expected


def test_working_days_between() -> None:
    assert CAL.working_days_between(D(2025, 9, 29), D(2025, 10, 12)) == 4  # 09-30, 10-09, 10-10, 10-11


def test_year_without_official_data_falls_back_to_weekdays() -> None:
    assert not CAL.has_official_data(2031)
    assert CAL.is_workday(D(2031, 1, 1)) is True  # Wednesday: no data, so Monday–Friday (a warning is logged)
    assert CAL.is_workday(D(2031, 1, 4)) is False  # Saturday
    assert CAL.add_working_days(D(2031, 1, 3), 1) == D(2031, 1, 6)


def test_operator_file_supplies_a_missing_year() -> None:
    cal = calendar_from_lists(holidays=[D(2031, 1, 1)], workdays=[D(2031, 1, 4)], years=[2031])
    assert cal.is_workday(D(2031, 1, 1)) is False
    assert cal.is_workday(D(2031, 1, 4)) is True
    assert cal.add_working_days(D(2030, 12, 31), 1) == D(2031, 1, 2)


def test_default_deadlines_per_level() -> None:
    tue = D(2026, 11, 17)
    assert default_deadline(Level.ONE, tue, CAL) == D(2026, 11, 18)
    assert default_deadline(Level.TWO, tue, CAL) == D(2026, 11, 20)
    assert default_deadline(Level.THREE, tue, CAL) == D(2026, 11, 26)
    assert default_deadline(Level.FOUR, tue, CAL) == D(2026, 12, 8)
    assert default_deadline(Level.THREE, tue, CAL, {lvl: 2 for lvl in Level}) == D(2026, 11, 19)
    choices = deadline_choices(Level.THREE, tue, CAL)
    assert [n for n, _ in choices] == [1, 3, 7, 15]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-30", D(2026, 11, 30)),
        ("2026/12/01", D(2026, 12, 1)),
        ("11-30", D(2026, 11, 30)),
        ("12月5日", D(2026, 12, 5)),
        ("1-5", D(2027, 1, 5)),  # a month-day already past means next year
        ("2026-11-01", None),  # past
        ("2027-12-31", None),  # too far
        ("2026-02-30", None),
        ("tomorrow", None),
        ("", None),
    ],
)
def test_parse_deadline(text: str, expected: dt.date | None) -> None:
    assert parse_deadline(text, D(2026, 11, 17)) == expected


def test_the_year_tables_agree_with_the_calendar_package_day_by_day() -> None:
    cal = calendar_from_lists(holidays=[D(2026, 12, 24)], workdays=[D(2026, 12, 26)])
    day = D(2025, 1, 1)
    while day <= D(2026, 12, 31):
        expected = day != D(2026, 12, 24) and (day == D(2026, 12, 26) or chinese_calendar.is_workday(day))
        assert cal.is_workday(day) is expected, day
        day += dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "end"),
    [(D(2025, 3, 3), D(2025, 3, 3)), (D(2025, 12, 30), D(2026, 1, 5)), (D(2024, 6, 1), D(2031, 2, 1))],
)
def test_working_days_between_counts_as_adding_does(start: dt.date, end: dt.date) -> None:
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += CAL.is_workday(day)
    assert CAL.working_days_between(start, end) == count
    assert CAL.working_days_between(end, start) == 0
    if count:
        assert CAL.add_working_days(start, count) <= end
