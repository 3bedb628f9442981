from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.domain.experts import Certificate, Qualification, parse_certificate
from bot.domain.obligations import (
    Expert,
    add_months,
    expert_group_problems,
    obligations,
    quarter_end,
    quarters,
    visit_deadlines,
    windows,
)
from bot.domain.rules import ExpertGroups, Visits
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


SENIOR = Qualification("高级工程师", "senior", False, 12)
MEMBER = Qualification("工程师", "intermediate", False, 6)


def test_expert_groups() -> None:
    civil, mech = Expert(1, "civil", library=SENIOR), Expert(2, "mechanical", library=MEMBER)
    elec = Expert(3, "electrical", frozenset({77}), MEMBER)
    assert expert_group_problems([civil, mech, elec], 1, [10, 11]) == []
    assert expert_group_problems([civil, mech], 1, []) == ["too_few", "missing_speciality:electrical"]
    assert expert_group_problems([civil, mech, Expert(4, "civil", library=MEMBER)], 9, []) == [
        "missing_speciality:electrical",
        "no_leader",
    ]
    assert expert_group_problems([civil, mech, elec], 1, [77]) == ["conflict:3"]


def test_004_met_late_is_done_late_not_done() -> None:
    # Policy from 2026-01-05, first visit 2026-07-01: before, onsite-1 showed "done".
    obs = {o.key: o for o in obligations(D(2026, 1, 5), D(2027, 1, 4), Decimal("120000"), [D(2026, 7, 1)], CAL)}
    assert obs["onsite-1"].due_by == D(2026, 4, 5)
    assert obs["onsite-1"].status(D(2026, 12, 1)) == "done_late" and obs["onsite-1"].days_late == 87
    assert obs["first-inspection"].status(D(2026, 12, 1)) == "done_late"
    assert obs["quarter-2026Q3"].status(D(2026, 12, 1)) == "done" and obs["quarter-2026Q3"].days_late == 0


def test_004_5_offline_training_is_an_onsite_service() -> None:
    start, end = D(2026, 3, 2), D(2027, 3, 1)
    obs = {o.key: o for o in obligations(start, end, Decimal("20000"), [], CAL, trainings=[D(2026, 4, 10)])}
    assert obs["onsite-1"].done_on == D(2026, 4, 10) and obs["first-service"].done_on == D(2026, 4, 10)
    # A training is no inspection: the first inspection and the quarter's full inspection stay open.
    assert obs["first-inspection"].done_on is None and obs["quarter-2026Q2"].done_on is None
    not_onsite = Visits(offline_training_is_onsite=False)
    obs = {o.key: o for o in obligations(start, end, Decimal("20000"), [], CAL, not_onsite, [D(2026, 4, 10)])}
    assert obs["onsite-1"].done_on is None


def test_004_annex2_2_1_every_policy_owes_its_first_service_within_3_months() -> None:
    # Before: only premiums ≥ 100,000 had the 3-month first service.
    for premium in ("9000", "15000", "50000", "100000"):
        obs = {o.key: o for o in obligations(D(2026, 3, 2), D(2027, 3, 1), Decimal(premium), [], CAL)}
        assert obs["first-service"].due_by == D(2026, 6, 2), premium
    pooled = {
        o.key: o for o in obligations(D(2026, 3, 2), D(2027, 3, 1), Decimal("9000"), [], CAL, Visits(pooled=True))
    }
    assert pooled["first-service"].due_by == D(2026, 9, 2)  # 004 §5: at most 6 months when pooled


def test_visit_limits_come_from_the_rules() -> None:
    days = visit_deadlines(D(2026, 11, 17), CAL, Visits(report_working_days=3))
    assert days["report"] == D(2026, 11, 20)


def test_expert_group_rules_come_from_the_rules() -> None:
    civil, mech = Expert(1, "civil"), Expert(2, "mechanical")
    two = ExpertGroups(min_experts=2, specialities=("civil", "mechanical"), library_required=False)
    assert expert_group_problems([civil, mech], 1, [], two) == []


def test_002_8_9_the_library_decides_who_serves_and_who_leads() -> None:
    mech, elec = Expert(2, "mechanical", library=MEMBER), Expert(3, "electrical", library=MEMBER)
    outside = Expert(1, "civil")  # not in the library
    assert expert_group_problems([outside, mech, elec], 1, []) == ["not_in_library:1"]
    junior = Expert(1, "civil", library=Qualification("助理工程师", "junior", False, 8))
    assert "unqualified:1" in expert_group_problems([junior, mech, elec], 1, [])
    # A member's title and years do not make a leader: a senior title (or a registered safety engineer) and 10 years.
    assert expert_group_problems([Expert(1, "civil", library=MEMBER), mech, elec], 1, []) == ["leader_unqualified:1"]
    rse = Qualification("工程师", "intermediate", True, 11)
    assert expert_group_problems([Expert(1, "civil", library=rse), mech, elec], 1, []) == []
    young = Qualification("高级工程师", "senior", False, 9)
    assert expert_group_problems([Expert(1, "civil", library=young), mech, elec], 1, []) == ["leader_unqualified:1"]
    # The library's specialities count, fire included.
    fire = Qualification("高级工程师", "senior", False, 12, frozenset({"civil", "fire"}))
    assert expert_group_problems([Expert(1, None, library=fire), mech, elec], 1, []) == []
    lapsed = Qualification(
        "高级工程师", "senior", False, 12, certificates=(Certificate("注册安全工程师", "1", D(2026, 6, 30)),)
    )
    assert expert_group_problems([Expert(1, "civil", library=lapsed), mech, elec], 1, [], today=D(2026, 7, 1)) == [
        "certificate_expired:1"
    ]
    assert parse_certificate("注册安全工程师:ZA-1:2028-06-30") == Certificate("注册安全工程师", "ZA-1", D(2028, 6, 30))
    with pytest.raises(ValueError):
        parse_certificate("注册安全工程师")


def test_000_14_2_2_deep_inspections_and_campaigns_by_period() -> None:
    start, end = D(2026, 3, 2), D(2027, 3, 1)
    obs = {
        o.key: o
        for o in obligations(start, end, Decimal("50000"), [], CAL, deep=[D(2026, 7, 15)], campaigns=[D(2026, 5, 1)])
    }
    assert obs["deep-1"].due_by == end and obs["deep-1"].done_on == D(2026, 7, 15) and "deep-2" not in obs
    assert obs["campaign-1"].due_by == D(2026, 9, 1) and obs["campaign-1"].done_on == D(2026, 5, 1)
    assert obs["campaign-2"].due_by == end and obs["campaign-2"].done_on is None
    assert obs["quarter-2026Q3"].done_on == D(2026, 7, 15)  # a deep inspection covers the whole site
    assert obs["quarter-2026Q2"].done_on is None  # a campaign does not
    assert obs["onsite-1"].done_on == D(2026, 5, 1)  # both are on-site services
    assert obs["campaign-2"].warn_from == D(2027, 2, 14) and obs["campaign-2"].kinds == ("campaign",)


def test_periods_fold_a_short_tail_into_the_one_before() -> None:
    assert windows(D(2026, 3, 2), D(2027, 4, 1), 12) == [(D(2026, 3, 2), D(2027, 4, 1))]
    assert windows(D(2026, 3, 2), D(2027, 9, 30), 12) == [
        (D(2026, 3, 2), D(2027, 3, 1)),
        (D(2027, 3, 2), D(2027, 9, 30)),
    ]


def test_004_annex2_2_3_a_first_service_agreed_in_writing_moves_its_date() -> None:
    obs = {
        o.key: o
        for o in obligations(D(2026, 3, 2), D(2027, 3, 1), Decimal("50000"), [], CAL, first_service_by=D(2026, 8, 31))
    }
    assert obs["first-service"].due_by == D(2026, 8, 31)
