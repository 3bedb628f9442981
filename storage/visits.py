"""Service plans (一项目一方案) and visits (服务记录): the operator proposes a plan and schedules visits, the
insurer confirms the plan, the leader starts and closes a visit; a closed visit owes material, report, revisit
and archive by working-day deadlines that the clock reminds of."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.obligations import Expert, Obligation, Thresholds, expert_group_problems, obligations, visit_deadlines
from bot.domain.roles import OrgKind, Role
from bot.domain.workdays import WorkCalendar
from bot.i18n import T
from bot.messages import Card, Option, Text
from bot.ports import AccessDenied, Conflict, NotFound, PersonInfo, ServiceError
from storage import audit, members
from storage.admin import AdminError, _person, _project
from storage.models import (
    Membership,
    PlanExpert,
    Policy,
    ProjectUnit,
    ServicePlan,
    Visit,
    VisitExpert,
    VisitTask,
)
from storage.outbox_store import notify_person

SERVICES = ("inspection", "risk_assessment", "training", "drill", "standardisation", "emergency_plan", "technology")
TIED_UNITS = (OrgKind.CONSTRUCTION.value, OrgKind.SUPERVISION.value, OrgKind.OWNER.value)


async def add_plan(
    s: AsyncSession, *, project: str, experts: list[str], leader: str, services: list[str], now: dt.datetime
) -> ServicePlan:
    p = await _project(s, project)
    unknown = [x for x in services if x not in SERVICES]
    if unknown or not services:
        raise AdminError(f"services must be some of {', '.join(SERVICES)}")
    people = [await _person(s, ref) for ref in experts]
    leader_row = await _person(s, leader)
    tied = set(
        (
            await s.execute(
                select(ProjectUnit.org_id).where(ProjectUnit.project_id == p.id, ProjectUnit.kind.in_(TIED_UNITS))
            )
        ).scalars()
    )
    group = [Expert(x.id, x.speciality, frozenset({x.org_id})) for x in people]
    problems = expert_group_problems(group, leader_row.id, tied)
    if problems:
        raise AdminError("the expert group cannot serve this project: " + "; ".join(problems))
    for old in (
        await s.execute(select(ServicePlan).where(ServicePlan.project_id == p.id, ServicePlan.status != "replaced"))
    ).scalars():
        old.status = "replaced"
    plan = ServicePlan(project_id=p.id, services=services, leader_id=leader_row.id, status="draft", created_at=now)
    s.add(plan)
    await s.flush()
    for x in people:
        s.add(PlanExpert(plan_id=plan.id, person_id=x.id))
    await audit.append(
        s,
        actor_id=None,
        action="plan.proposed",
        object_type="project",
        object_id=p.id,
        at=now,
        data={"plan": plan.id, "services": services, "experts": [x.id for x in people], "leader": leader_row.id},
    )
    card = Card(
        T("Service plan to confirm: {project}", project=p.name),
        (
            (T("Services"), ", ".join(services)),
            (T("Expert group"), "、".join(x.name for x in people)),
            (T("Leader"), leader_row.name),
        ),
        (Option(f"plan:{plan.id}", T("Confirm the plan")),),
    )
    for pid in await members.with_roles(s, p.id, {Role.INSURER}):
        await notify_person(s, pid, f"plan{plan.id}:proposed", [card])
    return plan


async def confirm_plan(s: AsyncSession, person: PersonInfo, plan_id: int, now: dt.datetime) -> str:
    plan = await s.get(ServicePlan, plan_id)
    if plan is None:
        raise NotFound("plan")
    if Role.INSURER.value not in set(
        (
            await s.execute(
                select(Membership.role).where(
                    Membership.person_id == person.id,
                    Membership.project_id == plan.project_id,
                    Membership.active.is_(True),
                )
            )
        ).scalars()
    ):
        raise AccessDenied("confirm_plan")
    if plan.status != "draft":
        raise Conflict(plan.status)
    plan.status, plan.confirmed_by, plan.confirmed_at = "confirmed", person.id, now
    await audit.append(
        s,
        actor_id=person.id,
        action="plan.confirmed",
        object_type="project",
        object_id=plan.project_id,
        at=now,
        data={"plan": plan.id},
    )
    project = await _project(s, str(plan.project_id))
    return project.name


async def add_visit(
    s: AsyncSession,
    *,
    project: str,
    on: dt.date,
    experts: list[str] | None = None,
    leader: str | None = None,
    now: dt.datetime,
) -> Visit:
    p = await _project(s, project)
    plan = (
        await s.execute(select(ServicePlan).where(ServicePlan.project_id == p.id, ServicePlan.status == "confirmed"))
    ).scalar_one_or_none()
    if experts:
        ids = [(await _person(s, ref)).id for ref in experts]
    elif plan is not None:
        ids = list((await s.execute(select(PlanExpert.person_id).where(PlanExpert.plan_id == plan.id))).scalars())
    else:
        raise AdminError("no confirmed service plan for this project: name the experts with --experts")
    leader_id = (await _person(s, leader)).id if leader else (plan.leader_id if plan else ids[0])
    if leader_id not in ids:
        ids.insert(0, leader_id)
    visit = Visit(project_id=p.id, scheduled_on=on, leader_id=leader_id, status="scheduled")
    s.add(visit)
    await s.flush()
    for pid in ids:
        s.add(VisitExpert(visit_id=visit.id, person_id=pid))
    await audit.append(
        s,
        actor_id=None,
        action="visit.scheduled",
        object_type="visit",
        object_id=visit.id,
        at=now,
        data={"project": p.code, "on": on.isoformat(), "experts": ids, "leader": leader_id},
    )
    for pid in ids:
        await notify_person(
            s,
            pid,
            f"visit{visit.id}:scheduled",
            [
                Text(
                    T(
                        "Visit to {project} scheduled on {date}. On the day, the leader starts it with /visit.",
                        project=p.name,
                        date=on.isoformat(),
                    )
                )
            ],
        )
    return visit


async def _visit_for_leader(s: AsyncSession, person: PersonInfo, visit_id: int) -> Visit:
    visit = await s.get(Visit, visit_id)
    if visit is None:
        raise NotFound("visit")
    if visit.leader_id != person.id:
        raise AccessDenied("visit")
    return visit


async def start_visit(s: AsyncSession, person: PersonInfo, visit_id: int, today: dt.date, now: dt.datetime) -> Visit:
    visit = await _visit_for_leader(s, person, visit_id)
    if visit.status != "scheduled":
        raise Conflict(visit.status)
    if visit.scheduled_on != today:
        raise ServiceError("not_today")
    visit.status, visit.started_at = "started", now
    await audit.append(s, actor_id=person.id, action="visit.started", object_type="visit", object_id=visit.id, at=now)
    return visit


async def close_visit(
    s: AsyncSession,
    person: PersonInfo,
    visit_id: int,
    summary: str,
    cal: WorkCalendar,
    today: dt.date,
    now: dt.datetime,
) -> dict[str, dt.date]:
    visit = await _visit_for_leader(s, person, visit_id)
    if visit.status != "started":
        raise Conflict(visit.status)
    visit.status, visit.closed_at, visit.closed_on, visit.summary = "closed", now, today, summary
    due = visit_deadlines(today, cal)
    for milestone, day in due.items():
        s.add(VisitTask(visit_id=visit.id, milestone=milestone, due_on=day))
    from storage.revisits import create_for_visit  # the revisit module builds on this one

    await create_for_visit(s, visit, cal)
    await audit.append(
        s,
        actor_id=person.id,
        action="visit.closed",
        object_type="visit",
        object_id=visit.id,
        at=now,
        data={"summary": summary, "due": {k: v.isoformat() for k, v in due.items()}},
    )
    return due


async def complete_task(s: AsyncSession, person: PersonInfo, visit_id: int, milestone: str, now: dt.datetime) -> None:
    visit = await s.get(Visit, visit_id)
    if visit is None:
        raise NotFound("visit")
    admins = set(await members.with_roles(s, visit.project_id, {Role.AGENCY_ADMIN}))
    if person.id != visit.leader_id and person.id not in admins:
        raise AccessDenied("visit")
    task = (
        await s.execute(select(VisitTask).where(VisitTask.visit_id == visit_id, VisitTask.milestone == milestone))
    ).scalar_one_or_none()
    if task is None:
        raise NotFound("task")
    if task.done_at is not None:
        raise Conflict("done")
    task.done_at, task.done_by = now, person.id
    await audit.append(
        s, actor_id=person.id, action=f"visit.{milestone}_done", object_type="visit", object_id=visit_id, at=now
    )


async def started_visit_of(s: AsyncSession, person_id: int, project_id: int) -> int | None:
    """The visit an expert is on at this project right now, to file their hazards under it."""
    row = (
        await s.execute(
            select(Visit.id)
            .join(VisitExpert, VisitExpert.visit_id == Visit.id)
            .where(Visit.project_id == project_id, Visit.status == "started", VisitExpert.person_id == person_id)
        )
    ).first()
    return row[0] if row else None


async def project_obligations(
    s: AsyncSession, project_id: int, cal: WorkCalendar, t: Thresholds | None = None
) -> list[Obligation]:
    policy = (
        (await s.execute(select(Policy).where(Policy.project_id == project_id).order_by(Policy.start_date.desc())))
        .scalars()
        .first()
    )
    if policy is None:
        return []
    done = (
        (await s.execute(select(Visit.closed_on).where(Visit.project_id == project_id, Visit.status == "closed")))
        .scalars()
        .all()
    )
    return obligations(
        policy.start_date, policy.end_date, Decimal(policy.premium), [d for d in done if d], cal, t or Thresholds()
    )


async def agency_people(s: AsyncSession, visit: Visit) -> list[int]:
    admins = await members.with_roles(s, visit.project_id, {Role.AGENCY_ADMIN})
    return sorted({visit.leader_id, *admins})


async def plan_people(s: AsyncSession, project_id: int) -> list[int]:
    """Who answers for a project's services: the agency's managers and the confirmed plan's experts."""
    people = set(await members.with_roles(s, project_id, {Role.AGENCY_ADMIN}))
    plan = (
        await s.execute(
            select(ServicePlan).where(ServicePlan.project_id == project_id, ServicePlan.status == "confirmed")
        )
    ).scalar_one_or_none()
    if plan is not None:
        people.add(plan.leader_id)
        people.update((await s.execute(select(PlanExpert.person_id).where(PlanExpert.plan_id == plan.id))).scalars())
    return sorted(people)
