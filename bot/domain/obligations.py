"""What the insurer owes a project: visits by premium and policy term, the quarterly full-coverage inspection,
the first inspection after the policy starts (001 §二(一); 004 §5), the deadlines a closed visit owes (002 §14,
004 §6.2e, 003/004 §6.3), and the rules for an expert group (002 §10, §12). Pure; thresholds are parameters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bot.domain.workdays import WorkCalendar


@dataclass(frozen=True)
class Thresholds:
    one_visit_premium: Decimal = Decimal("15000")  # ≥ 15,000 CNY: at least one on-site service in the term
    two_visits_premium: Decimal = Decimal("100000")  # ≥ 100,000 CNY: at least two, the first within 3 months
    first_visit_months: int = 3
    first_inspection_working_days: int = 10  # "right after the contract": within this many working days
    quarter_warning_days: int = 15  # remind when the quarter's inspection is not scheduled this close to its end


@dataclass(frozen=True)
class VisitLimits:
    material_working_days: int = 2  # 002 §14
    report_working_days: int = 5  # 004 §6.2e
    revisit_working_days: int = 10  # 003 §6.3, 004 §6.3
    archive_working_days: int = 20  # 003 §6.3, 004 §6.3


VISIT_MILESTONES = ("material", "report", "revisit", "archive")


def visit_deadlines(closed_on: dt.date, cal: WorkCalendar, limits: VisitLimits = VisitLimits()) -> dict[str, dt.date]:
    """What a visit closed on `closed_on` owes, and by when."""
    return {
        "material": cal.add_working_days(closed_on, limits.material_working_days),
        "report": cal.add_working_days(closed_on, limits.report_working_days),
        "revisit": cal.add_working_days(closed_on, limits.revisit_working_days),
        "archive": cal.add_working_days(closed_on, limits.archive_working_days),
    }


@dataclass(frozen=True)
class Obligation:
    key: str  # stable: first-inspection, onsite-1, onsite-2, quarter-2026Q4 …
    due_by: dt.date
    done_on: dt.date | None
    warn_from: dt.date | None = None  # remind from this day if still not done or scheduled

    def status(self, today: dt.date) -> str:
        if self.done_on is not None:
            return "done"
        return "late" if today > self.due_by else "due"


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_end(year: int, quarter: int) -> dt.date:
    return add_months(dt.date(year, 3 * quarter - 2, 1), 3) - dt.timedelta(days=1)


def quarters(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    out = []
    year, q = quarter_of(start)
    while dt.date(year, 3 * q - 2, 1) <= end:
        out.append((year, q))
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return out


def obligations(
    policy_start: dt.date,
    policy_end: dt.date,
    premium: Decimal,
    inspections: Iterable[dt.date],
    cal: WorkCalendar,
    t: Thresholds = Thresholds(),
) -> list[Obligation]:
    """The services a policy calls for, each matched with the on-site inspections done (dates, any order)."""
    done = sorted(d for d in inspections if policy_start <= d <= policy_end)
    out: list[Obligation] = []
    first_due = cal.add_working_days(policy_start, t.first_inspection_working_days)
    out.append(Obligation("first-inspection", first_due, done[0] if done else None))
    required = 2 if premium >= t.two_visits_premium else 1 if premium >= t.one_visit_premium else 0
    if required >= 1:
        first_by = add_months(policy_start, t.first_visit_months) if required == 2 else policy_end
        out.append(Obligation("onsite-1", min(first_by, policy_end), done[0] if done else None))
    if required == 2:
        out.append(Obligation("onsite-2", policy_end, done[1] if len(done) > 1 else None))
    for year, q in quarters(policy_start, policy_end):
        q_start, q_end = max(dt.date(year, 3 * q - 2, 1), policy_start), min(quarter_end(year, q), policy_end)
        in_quarter = [d for d in done if q_start <= d <= q_end]
        out.append(
            Obligation(
                f"quarter-{year}Q{q}",
                q_end,
                in_quarter[0] if in_quarter else None,
                warn_from=q_end - dt.timedelta(days=t.quarter_warning_days),
            )
        )
    return out


@dataclass(frozen=True)
class Expert:
    person_id: int
    speciality: str | None  # civil | mechanical | electrical
    conflicts: frozenset[int] = field(default_factory=frozenset)  # organisations the expert is tied to


SPECIALITIES = ("civil", "mechanical", "electrical")


def expert_group_problems(experts: Sequence[Expert], leader_id: int | None, project_orgs: Iterable[int]) -> list[str]:
    """Why a proposed expert group cannot serve the project (empty when it can): ≥ 3 experts mixing civil,
    mechanical and electrical, a leader among them (002 §10), nobody tied to the project's units (002 §12)."""
    problems = []
    if len(experts) < 3:
        problems.append("too_few")
    missing = [s for s in SPECIALITIES if s not in {e.speciality for e in experts}]
    if missing:
        problems.append("missing_speciality:" + ",".join(missing))
    if leader_id is None or leader_id not in {e.person_id for e in experts}:
        problems.append("no_leader")
    orgs = set(project_orgs)
    conflicted = sorted(e.person_id for e in experts if e.conflicts & orgs)
    if conflicted:
        problems.append("conflict:" + ",".join(str(p) for p in conflicted))
    return problems
