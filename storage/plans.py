"""Service plans (一项目一方案): the operator proposes a project's plan with its expert group, the insurer
confirms it in chat, and `/plan` counts what the plan owes — the first inspection, on-site services by premium,
a full inspection each quarter. The clock flags a quarter whose full inspection is not yet scheduled."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.documents import forms
from bot.domain import escalation
from bot.domain.obligations import (
    SEEDS_GROUPS,
    VISIT_KINDS,
    Expert,
    Obligation,
    expert_group_problems,
    obligations,
)
from bot.domain.risks import register_obligations
from bot.domain.roles import OrgKind, Role
from bot.domain.rules import ExpertGroups
from bot.domain.service_plan import PARTS, services_problem
from bot.notices import visits as notices
from bot.ports import AccessDenied, Conflict, NotFound, ObligationInfo, PersonInfo, PlanInfo
from storage import agreements, audit, experts, members, parties, plan_record, risks, schedule
from storage.admin import AdminError, find_person, find_project
from storage.models import (
    Attendance,
    Person,
    PlanExpert,
    Project,
    ProjectUnit,
    ServicePlan,
    TrainingSession,
    Visit,
)
from storage.outbox_store import notify_person
from storage.people import People
from storage.reminder_log import Ledger
from storage.schedule import Swept
from storage.turn import Area, Turn

INSURED = frozenset({Role.PROJECT_MANAGER})  # the insured's representative on the project (项目负责人)
TIED_UNITS = (OrgKind.CONSTRUCTION.value, OrgKind.SUPERVISION.value, OrgKind.OWNER.value)


def _readable(problem: str, names: dict[int, str], rules: ExpertGroups) -> str:
    """One problem code of `expert_group_problems` in the operator's words, people by name."""
    code, _, rest = problem.partition(":")
    who = ", ".join(names.get(int(x), x) for x in rest.split(",") if x.isdigit())
    return {
        "too_few": f"fewer than {rules.min_experts} experts",
        "missing_speciality": f"nobody for {rest.replace(',', ', ')}",
        "no_leader": "the leader is not one of the experts",
        "conflict": f"{who} tied to the project's construction, supervision or owner unit",
        "not_in_library": f"{who} not in the expert library (anzebot expert set)",
        "unqualified": f"{who} below a member's title or {rules.member_years} years",
        "leader_unqualified": f"{who} cannot lead: needs a {rules.leader_title} title or a registered safety engineer, "
        f"and {rules.leader_years} years",
        "certificate_expired": f"{who}: a certificate has expired",
    }.get(code, problem)


async def refuse_group(
    s: AsyncSession, project_id: int, people: list[Person], leader_id: int, rules: ExpertGroups, today: dt.date
) -> None:
    """AdminError naming, in words, every reason the group cannot serve the project (002 §8–12)."""
    problems = await group_problems(s, project_id, people, leader_id, rules, today)
    if problems:
        names = {p.id: p.name for p in people}
        readable = "; ".join(_readable(p, names, rules) for p in problems)
        raise AdminError(f"the expert group cannot serve this project: {readable}")


async def group_problems(
    s: AsyncSession, project_id: int, people: list[Person], leader_id: int, rules: ExpertGroups, today: dt.date
) -> list[str]:
    """Why these experts cannot serve the project as a group (002 §10, §12), empty when they can: the one check
    of a plan, a visit the operator schedules, and a re-inspection a revisit books."""
    tied = set(
        (
            await s.execute(
                select(ProjectUnit.org_id).where(ProjectUnit.project_id == project_id, ProjectUnit.kind.in_(TIED_UNITS))
            )
        ).scalars()
    )
    found = await experts.library(s, [x.id for x in people])
    group = [Expert(x.id, x.speciality, frozenset({x.org_id}), found.get(x.id)) for x in people]
    return expert_group_problems(group, leader_id, tied, rules, today)


async def add_plan(
    s: AsyncSession,
    *,
    project: str,
    experts: list[str],
    leader: str,
    services: list[str],
    content: dict[str, str],
    now: dt.datetime,
    rules: ExpertGroups = SEEDS_GROUPS,
) -> ServicePlan:
    """The agency's proposal (CLI) with its content (000 §13: `service_plan.parse_content`); the insured's
    representative (the project manager) agrees to it in chat, then the insurer confirms it."""
    p = await find_project(s, project)
    missing = [k for k in PARTS if not content.get(k, "").strip()]
    if missing:
        raise AdminError(f"the plan's content lacks {', '.join(missing)} (000 §13)")
    problem = services_problem(services)
    if problem:
        raise AdminError(problem)
    people = [await find_person(s, ref) for ref in experts]
    leader_row = await find_person(s, leader)
    await refuse_group(s, p.id, people, leader_row.id, rules, now.date())
    for old in (
        await s.execute(select(ServicePlan).where(ServicePlan.project_id == p.id, ServicePlan.status != "replaced"))
    ).scalars():
        old.status = "replaced"
    plan = ServicePlan(
        project_id=p.id, services=services, leader_id=leader_row.id, status="draft", created_at=now, content=content
    )
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
        data={
            "plan": plan.id,
            "services": services,
            "experts": [x.id for x in people],
            "leader": leader_row.id,
            "content": content,
        },
    )
    card = notices.plan_to_agree(plan.id, p.name, services, [x.name for x in people], leader_row.name, content)
    for pid in await members.with_roles(s, p.id, INSURED):
        await notify_person(s, pid, f"plan{plan.id}:proposed", [card])
    return plan


class Plans(Area):
    async def obligations_of(self, project_id: int) -> list[Obligation]:
        """What the project's latest policy owes, met by the days of its closed visits and of the offline trainings
        held for it (ended, someone signed in)."""
        policy = await parties.latest_policy(self.s, project_id)
        if policy is None:
            return []
        visited: dict[str, list[dt.date]] = {kind: [] for kind in VISIT_KINDS}
        for day, kind in (
            await self.s.execute(
                select(Visit.scheduled_on, Visit.kind).where(Visit.project_id == project_id, Visit.status == "closed")
            )
        ).all():
            visited.setdefault(kind, []).append(day)
        held = (
            await self.s.execute(
                select(TrainingSession.starts_at, TrainingSession.projects)
                .where(TrainingSession.ends_at <= self.now)
                .where(exists().where(Attendance.session_id == TrainingSession.id))
            )
        ).all()
        trainings = [at.astimezone(self.t.tz).date() for at, projects in held if project_id in (projects or [])]
        agreement = await agreements.of_policy(self.s, policy.id)
        project = await self.s.get(Project, project_id)
        assert project is not None
        entered, sources = await risks.sources_of(self.s, project_id, self.t.tz)
        changed = project.stage_changed_at.astimezone(self.t.tz).date() if project.stage_changed_at else None
        rules = self.t.setup.rules.visits
        owed = obligations(
            policy.start_date,
            policy.end_date,
            Decimal(policy.premium),
            visited["inspection"],
            self.t.calendar,
            rules,
            trainings,
            deep=visited["deep"],
            campaigns=visited["campaign"],
            first_service_by=agreement.first_service_by if agreement else None,
        )
        return owed + register_obligations(
            policy.start_date,
            policy.end_date,
            entered,
            sources,
            changed,
            self.t.calendar,
            rules.risk_stage_refresh_working_days,
            rules.quarter_warning_days,
        )

    async def mine(self, person: PersonInfo) -> list[PlanInfo]:
        out = []
        for project in await People(self.t).projects(person):
            plan = (
                (
                    await self.s.execute(
                        select(ServicePlan.status).where(
                            ServicePlan.project_id == project.id, ServicePlan.status != "replaced"
                        )
                    )
                )
                .scalars()
                .first()
            )
            obs = await self.obligations_of(project.id)
            today = self.t.today
            policy = await parties.latest_policy(self.s, project.id)
            agreement = await agreements.of_policy(self.s, policy.id) if policy else None
            out.append(
                PlanInfo(
                    project,
                    plan,
                    tuple(ObligationInfo(o.key, o.due_by, o.done_on, o.status(today), o.days_late) for o in obs),
                    (agreement.number, agreement.signed_on) if agreement else None,
                )
            )
        return out

    async def agree(self, person: PersonInfo, plan_id: int) -> str:
        """The insured's representative agrees to the plan (000 §13: 与被保险人沟通协商); the insurer then gets it."""
        plan = await self.s.get(ServicePlan, plan_id)
        if plan is None:
            raise NotFound("plan")
        if not INSURED & await members.seen_by(self.s, person.id, plan.project_id, "plan"):
            raise AccessDenied("agree_plan")
        if plan.status != "draft":
            raise Conflict(plan.status)
        plan.status, plan.agreed_by, plan.agreed_at = "agreed", person.id, self.now
        await self.t.audit("plan.agreed", "project", plan.project_id, actor=person.id, data={"plan": plan.id})
        project = await self.s.get(Project, plan.project_id)
        leader = await self.s.get(Person, plan.leader_id)
        assert project is not None and leader is not None
        names = (
            await self.s.execute(
                select(Person.name)
                .join(PlanExpert, PlanExpert.person_id == Person.id)
                .where(PlanExpert.plan_id == plan.id)
            )
        ).scalars()
        card = notices.plan_to_confirm(
            plan.id, project.name, list(plan.services), list(names), leader.name, dict(plan.content or {}), person.name
        )
        self.t.notify(
            await members.with_roles(self.s, plan.project_id, {Role.INSURER}), f"plan{plan.id}:agreed", [card]
        )
        return project.name

    async def confirm(self, person: PersonInfo, plan_id: int) -> str:
        plan = await self.s.get(ServicePlan, plan_id)
        if plan is None:
            raise NotFound("plan")
        if Role.INSURER not in await members.seen_by(self.s, person.id, plan.project_id, "plan"):
            raise AccessDenied("confirm_plan")
        if plan.status != "agreed":  # a draft waits for the insured's agreement first
            raise Conflict(plan.status)
        plan.status, plan.confirmed_by, plan.confirmed_at = "confirmed", person.id, self.now
        await self.s.flush()
        project = await self.s.get(Project, plan.project_id)
        assert project is not None
        data: dict[str, object] = {"plan": plan.id}
        if self.t.media is not None:  # the plan as a document, to both sides (000 附件1; 004 附件3)
            facts = await plan_record.record(self.s, plan.id, self.t.tz)
            # The copy both sides keep is in Chinese, whoever pressed the button (`anzebot report plan --locale en`).
            pdf = await asyncio.to_thread(forms.plan, facts, "zh_CN", self.now.astimezone(self.t.tz))
            sha = await self.t.media.store_file(self.s, pdf, "application/pdf")
            data["document"] = sha
            both = await members.with_roles(self.s, plan.project_id, {Role.INSURER, *INSURED})
            item = notices.plan_document(sha, f"{project.code}-service-plan.pdf", project.name)
            self.t.notify(both, f"plan{plan.id}:document", [item])
        await self.t.audit("plan.confirmed", "project", plan.project_id, actor=person.id, data=data)
        return project.name

    async def sweep(self, limit: int) -> Swept:
        """The quarter's full-coverage inspection not yet scheduled 15 days before the quarter ends: tell the
        agency and the plan's experts, once per project and quarter. A project is looked at again on the first
        day of its next warning window, or the next morning while a window is open and a visit is planned."""
        today, tz = self.t.today, self.t.tz
        morning = escalation.at_local(today, escalation.REMIND_AT, tz)
        tomorrow = escalation.at_local(today + dt.timedelta(days=1), escalation.REMIND_AT, tz)
        projects = await schedule.due(self.s, Project, self.now, limit)
        done = await schedule.done_keys(self.s, "project", [p.id for p in projects])
        count = 0
        moments: dict[int, dt.datetime | None] = {}
        ledger = Ledger(self.s, "project", self.now)
        for project in projects:
            seen = done.setdefault(project.id, set())
            later: list[dt.datetime] = []
            for o in await self.obligations_of(project.id):
                key = f"p{project.id}:{o.key}:unscheduled"
                if o.since is None or o.done_on is not None or o.warn_from is None:
                    continue
                if key in seen or today > o.due_by:
                    continue
                if today < o.warn_from:
                    later.append(escalation.at_local(o.warn_from, escalation.REMIND_AT, tz))
                elif self.now < morning:
                    later.append(morning)
                elif await self._planned(project.id, o, today):
                    later.append(tomorrow)
                else:
                    entry = notices.unscheduled(project.name, o.key, o.due_by)
                    people = await members.plan_people(self.s, project.id)
                    ledger.digest(key, project.id, o.key, self.now, people, entry)
                    await self.t.audit("project.unscheduled", "project", project.id, data={"obligation": o.key})
                    seen.add(key)
                    count += 1
            moments[project.id] = min(later, default=None)
        await ledger.write()
        await schedule.store(self.s, Project, moments)
        return Swept(len(projects), count)

    async def _planned(self, project_id: int, o: Obligation, today: dt.date) -> bool:
        """A visit that would meet the periodic obligation is scheduled inside its period, from today on."""
        assert o.since is not None
        row = (
            await self.s.execute(
                select(Visit.id).where(
                    Visit.project_id == project_id,
                    Visit.status != "closed",
                    Visit.kind.in_(o.kinds),
                    Visit.scheduled_on >= max(o.since, today),
                    Visit.scheduled_on <= o.due_by,
                )
            )
        ).first()
        return row is not None


async def sweep(t: Turn, limit: int) -> Swept:
    return await Plans(t).sweep(limit)
