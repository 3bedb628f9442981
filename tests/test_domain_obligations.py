from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.domain.obligations import (
    Expert,
    add_months,
    expert_group_problems,
    obligations,
    quarter_end,
    quarters,
    visit_deadlines,
)
from bot.domain.workdays import WorkCalendar

D = dt.date
CAL = WorkCalendar()


@pytest.mark.parametrize(
    ("closed", "expected"),
    [
        # A visit closed on 2026-09-30, just before National Day (10-01…07 off; Saturday 10-10 worked).
        (
            D(2026, 9, 30),
            {
                "material": D(2026, 10, 9),
                "report": D(2026, 10, 13),
                "revisit": D(2026, 10, 20),
                "archive": D(2026, 11, 3),
            },
        ),
        # And one closed before National Day 2025 (Sunday 09-28 and Saturday 10-11 worked).
        (
            D(2025, 9, 26),
            {
                "material": D(2025, 9, 29),
                "report": D(2025, 10, 10),
                "revisit": D(2025, 10, 16),
                "archive": D(2025, 10, 30),
            },
        ),
        # Spring Festival 2026: Saturdays 02-14 and 02-28 worked, 02-15…23 off.
        (
            D(2026, 2, 12),
            {"material": D(2026, 2, 14), "report": D(2026, 2, 26), "revisit": D(2026, 3, 4), "archive": D(2026, 3, 18)},
        ),
    ],
)
def test_visit_deadlines(closed: dt.date, expected: dict[str, dt.date]) -> None:
    assert visit_deadlines(closed, CAL) == expected


def test_months_and_quarters() -> None:
    assert add_months(D(2026, 11, 30), 3) == D(2027, 2, 28)
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert quarter_end(2026, 4) == D(2026, 12, 31) and quarter_end(2026, 1) == D(2026, 3, 31)
    assert quarters(D(2026, 11, 17), D(2027, 5, 1)) == [(2026, 4), (2027, 1), (2027, 2)]


def test_obligations_by_premium() -> None:
    start, end = D(2026, 3, 2), D(2027, 3, 1)
    small = {o.key for o in obligations(start, end, Decimal("9000"), [], CAL)}
    assert "onsite-1" not in small and "first-inspection" in small
    one = {o.key: o for o in obligations(start, end, Decimal("15000"), [], CAL)}
    assert one["onsite-1"].due_by == end and "onsite-2" not in one
    two = {o.key: o for o in obligations(start, end, Decimal("100000"), [D(2026, 3, 10)], CAL)}
    assert two["onsite-1"].due_by == D(2026, 6, 2) and two["onsite-1"].done_on == D(2026, 3, 10)
    assert two["onsite-2"].done_on is None and two["onsite-2"].status(D(2026, 12, 1)) == "due"
    assert two["first-inspection"].due_by == D(2026, 3, 16) and two["first-inspection"].status(D(2026, 4, 1)) == "done"


def test_quarterly_inspection_and_its_warning() -> None:
    obs = {o.key: o for o in obligations(D(2026, 11, 17), D(2027, 5, 1), Decimal("50000"), [D(2027, 1, 5)], CAL)}
    q4 = obs["quarter-2026Q4"]
    assert q4.due_by == D(2026, 12, 31) and q4.warn_from == D(2026, 12, 16) and q4.done_on is None
    assert q4.status(D(2027, 1, 2)) == "late"
    assert obs["quarter-2027Q1"].done_on == D(2027, 1, 5)
    assert obs["quarter-2027Q2"].due_by == D(2027, 5, 1)  # the term ends inside the quarter


def test_expert_groups() -> None:
    civil, mech, elec = Expert(1, "civil"), Expert(2, "mechanical"), Expert(3, "electrical", frozenset({77}))
    assert expert_group_problems([civil, mech, elec], 1, [10, 11]) == []
    assert expert_group_problems([civil, mech], 1, []) == ["too_few", "missing_speciality:electrical"]
    assert expert_group_problems([civil, mech, Expert(4, "civil")], 9, []) == [
        "missing_speciality:electrical",
        "no_leader",
    ]
    assert expert_group_problems([civil, mech, elec], 1, [77]) == ["conflict:3"]
