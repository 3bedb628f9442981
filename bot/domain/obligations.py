"""What the insurer owes a project: visits by premium and policy term, the quarterly full-coverage inspection,
the first inspection after the policy starts (001 §二(一); 004 §5), the first service of every agreement (004
附件2 二(一)), the deadlines a visit owes (002 §14, 004 §6.2e, 003/004 §6.3), and the rules for an expert group (002
§10, §12). Pure; the thresholds are the deployment's rules (bot/domain/rules.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bot.domain.experts import Qualification, can_lead, can_serve
from bot.domain.rules import ExpertGroups, Visits
from bot.domain.workdays import WorkCalendar

VISIT_MILESTONES = ("material", "report", "revisit", "archive")
VISIT_KINDS = ("inspection", "deep", "campaign")  # a regular one; the yearly deep one; a special campaign
SEEDS_VISITS = Visits()
SEEDS_GROUPS = ExpertGroups()


def visit_deadlines(service_on: dt.date, cal: WorkCalendar, limits: Visits = SEEDS_VISITS) -> dict[str, dt.date]:
    """What a visit owes, counted from the day of the service (002 §14, 004 §6.2e, §6.3), not from when its
    leader pressed close."""
    return {
        "material": cal.add_working_days(service_on, limits.material_working_days),
        "report": cal.add_working_days(service_on, limits.report_working_days),
        "revisit": cal.add_working_days(service_on, limits.revisit_working_days),
        "archive": cal.add_working_days(service_on, limits.archive_working_days),
    }


@dataclass(frozen=True)
class Obligation:
    key: str  # stable: first-inspection, first-service, onsite-1, onsite-2, quarter-2026Q4 …
    due_by: dt.date
    done_on: dt.date | None
    warn_from: dt.date | None = None  # remind from this day if still not done or scheduled
    since: dt.date | None = None  # a periodic one: the first day of its period
    kinds: tuple[str, ...] = ()  # a periodic one: the kinds of visit that meet it

    def status(self, today: dt.date) -> str:
        """done | done_late (met after its day: still a breach for the analyses) | due | late."""
        if self.done_on is not None:
            return "done_late" if self.done_on > self.due_by else "done"
        return "late" if today > self.due_by else "due"

    @property
    def days_late(self) -> int:
        return max(0, (self.done_on - self.due_by).days) if self.done_on is not None else 0


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


def windows(start: dt.date, end: dt.date, months: int) -> list[tuple[dt.date, dt.date]]:
    """The policy term cut into periods of `months` from its start (first day, last day); a last period shorter
    than half of one is folded into the one before, so a 13-month policy owes one yearly inspection, not two."""
    out: list[tuple[dt.date, dt.date]] = []
    at = start
    while at <= end:
        nxt = add_months(start, months * (len(out) + 1))
        out.append((at, min(nxt - dt.timedelta(days=1), end)))
        at = nxt
    if len(out) > 1 and (out[-1][1] - out[-1][0]).days + 1 < (out[-2][1] - out[-2][0]).days // 2:
        last = out.pop()
        out[-1] = (out[-1][0], last[1])
    return out


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
    t: Visits = SEEDS_VISITS,
    trainings: Iterable[dt.date] = (),
    deep: Iterable[dt.date] = (),
    campaigns: Iterable[dt.date] = (),
    first_service_by: dt.date | None = None,
) -> list[Obligation]:
    """The services a policy calls for, each matched with what was done (dates, any order): `inspections` are
    the days of on-site visits, `trainings` the days of offline trainings held for the project, which count as
    on-site services where the rules say so (004 §5: 现场服务（含线下培训）). `deep` and `campaigns` are the
    days of the yearly deep inspections and the special campaigns (000 §14(二)2): a deep one is a full-coverage
    inspection too; a campaign is an on-site service but covers one kind of accident, not the whole site.
    Inspections alone meet the first inspection and the quarters' full-coverage inspections. `first_service_by`:
    a first-service date agreed in writing in the service agreement, instead of the 3 (or 6) months."""

    def within(days: Iterable[dt.date]) -> list[dt.date]:
        return sorted(d for d in days if policy_start <= d <= policy_end)

    deep_days, campaign_days = within(deep), within(campaigns)
    visits = sorted([*within(inspections), *deep_days])
    onsite = sorted([*visits, *campaign_days, *(within(trainings) if t.offline_training_is_onsite else [])])
    out: list[Obligation] = []
    first_due = cal.add_working_days(policy_start, t.first_inspection_working_days)
    out.append(Obligation("first-inspection", first_due, visits[0] if visits else None))
    # Every agreement: the first service within 3 months of the policy's start, up to 6 when pooled (004 附件2 二(一)).
    # The insured may agree another date in writing (004 附件2 二(三)).
    months = t.first_service_months_pooled if t.pooled else t.first_service_months
    first_service = first_service_by or min(add_months(policy_start, months), policy_end)
    out.append(Obligation("first-service", first_service, onsite[0] if onsite else None))
    required = 2 if premium >= t.two_visits_premium else 1 if premium >= t.one_visit_premium else 0
    for n in range(1, required + 1):
        due = first_service if n == 1 and required == 2 else policy_end  # 004 §5: the first of two in 3 months
        out.append(Obligation(f"onsite-{n}", due, onsite[n - 1] if len(onsite) >= n else None))
    for n, (w_start, w_end) in enumerate(windows(policy_start, policy_end, t.deep_inspection_months), 1):
        done = [d for d in deep_days if w_start <= d <= w_end]
        warn = w_end - dt.timedelta(days=t.quarter_warning_days)
        out.append(Obligation(f"deep-{n}", w_end, done[0] if done else None, warn, w_start, ("deep",)))
    for n, (w_start, w_end) in enumerate(windows(policy_start, policy_end, t.campaign_months), 1):
        done = [d for d in campaign_days if w_start <= d <= w_end]
        warn = w_end - dt.timedelta(days=t.quarter_warning_days)
        out.append(Obligation(f"campaign-{n}", w_end, done[0] if done else None, warn, w_start, ("campaign",)))
    for year, q in quarters(policy_start, policy_end):
        q_start, q_end = max(dt.date(year, 3 * q - 2, 1), policy_start), min(quarter_end(year, q), policy_end)
        in_quarter = [d for d in visits if q_start <= d <= q_end]
        out.append(
            Obligation(
                f"quarter-{year}Q{q}",
                q_end,
                in_quarter[0] if in_quarter else None,
                warn_from=q_end - dt.timedelta(days=t.quarter_warning_days),
                since=q_start,
                kinds=("inspection", "deep"),
            )
        )
    return out


@dataclass(frozen=True)
class Expert:
    person_id: int
    speciality: str | None  # civil | mechanical | electrical (the person's own field)
    conflicts: frozenset[int] = field(default_factory=frozenset)  # organisations the expert is tied to
    library: Qualification | None = None  # the expert library's record (002 §8–9); None: not in it

    @property
    def specialities(self) -> set[str]:
        return {*(self.library.specialities if self.library else ()), *((self.speciality,) if self.speciality else ())}


def expert_group_problems(
    experts: Sequence[Expert],
    leader_id: int | None,
    project_orgs: Iterable[int],
    rules: ExpertGroups = SEEDS_GROUPS,
    today: dt.date | None = None,
) -> list[str]:
    """Why a proposed expert group cannot serve the project (empty when it can): ≥ 3 experts mixing civil,
    mechanical and electrical, a leader among them (002 §10), nobody tied to the project's units (002 §12), each
    in the expert library with the title and years of a member, the leader with those of a leader (002 §8–9),
    and no certificate on record expired by `today`."""
    problems = []
    if len(experts) < rules.min_experts:
        problems.append("too_few")
    covered = {s for e in experts for s in e.specialities}
    missing = [s for s in rules.specialities if s not in covered]
    if missing:
        problems.append("missing_speciality:" + ",".join(missing))
    if rules.leader_required and (leader_id is None or leader_id not in {e.person_id for e in experts}):
        problems.append("no_leader")
    orgs = set(project_orgs)
    conflicted = sorted(e.person_id for e in experts if e.conflicts & orgs)
    if rules.no_ties and conflicted:
        problems.append("conflict:" + ",".join(str(p) for p in conflicted))
    if rules.library_required:
        outside = sorted(e.person_id for e in experts if e.library is None)
        if outside:
            problems.append("not_in_library:" + ",".join(str(p) for p in outside))
        listed = [e for e in experts if e.library is not None]
        unqualified = sorted(
            e.person_id
            for e in listed
            if e.library is not None and not can_serve(e.library, rules.member_title, rules.member_years)
        )
        if unqualified:
            problems.append("unqualified:" + ",".join(str(p) for p in unqualified))
        leader = next((e.library for e in listed if e.person_id == leader_id), None)
        if leader is not None and not can_lead(leader, rules.leader_title, rules.leader_years):
            problems.append(f"leader_unqualified:{leader_id}")
        if today is not None:
            expired = sorted(e.person_id for e in listed if e.library is not None and e.library.expired(today))
            if expired:
                problems.append("certificate_expired:" + ",".join(str(p) for p in expired))
    return problems
