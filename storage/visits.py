"""Visits (服务记录): the operator schedules them, the leader starts one on the day and closes it with a summary;
a closed visit owes material, report, revisit and archive by working-day deadlines, which the clock reminds the
leader and the agency of."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.documents import forms
from bot.domain import escalation
from bot.domain.obligations import SEEDS_GROUPS, VISIT_KINDS, visit_deadlines
from bot.domain.roles import Role
from bot.domain.rules import ExpertGroups
from bot.notices import visits as notices
from bot.ports import AccessDenied, Conflict, ExportInfo, NotFound, PersonInfo, ServiceError, VisitInfo
from storage import audit, members, revisits, schedule, service_report
from storage.admin import AdminError, find_person, find_project
from storage.models import PlanExpert, Project, ServicePlan, ServiceReport, Visit, VisitExpert, VisitTask
from storage.outbox_store import notify_person
from storage.plans import refuse_group
from storage.reminder_log import Ledger
from storage.schedule import Swept
from storage.turn import Area, Turn

REPORT_SIGNERS = frozenset({Role.PROJECT_MANAGER, Role.INSURER})  # the insured's representative, the risk manager


async def add_visit(
    s: AsyncSession,
    *,
    project: str,
    on: dt.date,
    experts: list[str] | None = None,
    leader: str | None = None,
    now: dt.datetime,
    rules: ExpertGroups = SEEDS_GROUPS,
    kind: str = "inspection",
    topic: str | None = None,
) -> Visit:
    """The operator schedules a visit (CLI); the plan's experts by default, else experts named here, who must
    make a group that can serve the project (002 §10, §12) as a plan's must. Each expert hears of it."""
    p = await find_project(s, project)
    if kind not in VISIT_KINDS:
        raise AdminError(f"a visit's kind is one of {', '.join(VISIT_KINDS)}")
    if (kind == "campaign") != bool(topic and topic.strip()):
        raise AdminError("a special campaign names its subject with --topic (and only a campaign has one)")
    plan = (
        await s.execute(select(ServicePlan).where(ServicePlan.project_id == p.id, ServicePlan.status == "confirmed"))
    ).scalar_one_or_none()
    if experts:
        named = [await find_person(s, ref) for ref in experts]
        ids = [x.id for x in named]
        leader_row = await find_person(s, leader) if leader else named[0]
        if leader_row.id not in ids:
            named.insert(0, leader_row)
        await refuse_group(s, p.id, named, leader_row.id, rules, now.date())
    elif plan is not None:
        ids = list((await s.execute(select(PlanExpert.person_id).where(PlanExpert.plan_id == plan.id))).scalars())
    else:
        raise AdminError("no confirmed service plan for this project: name the experts with --experts")
    leader_id = (await find_person(s, leader)).id if leader else (plan.leader_id if plan else ids[0])
    if leader_id not in ids:
        ids.insert(0, leader_id)
    visit = Visit(
        project_id=p.id,
        scheduled_on=on,
        leader_id=leader_id,
        status="scheduled",
        kind=kind,
        topic=topic.strip() if topic else None,
    )
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
        data={
            "project": p.code,
            "on": on.isoformat(),
            "experts": ids,
            "leader": leader_id,
            "kind": kind,
            "topic": topic,
        },
    )
    for pid in ids:
        await notify_person(s, pid, f"visit{visit.id}:scheduled", [notices.visit_scheduled(p.name, on)])
    leader_name = (await find_person(s, str(leader_id))).name
    announce = notices.visit_announced(p.name, on, leader_name, kind)
    for pid in await members.with_roles(s, p.id, {Role.PROJECT_MANAGER, Role.SAFETY_OFFICER}):
        await notify_person(s, pid, f"visit{visit.id}:announced", [announce])
    return visit


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


class Visits(Area):
    async def _info(self, v: Visit) -> VisitInfo:
        project = await self.s.get(Project, v.project_id)
        tasks = (
            await self.s.execute(
                select(VisitTask)
                .where(VisitTask.visit_id == v.id, VisitTask.done_at.is_(None))
                .order_by(VisitTask.due_on)
            )
        ).scalars()
        return VisitInfo(
            v.id,
            project.name if project else "",
            v.scheduled_on,
            v.status,
            tuple((t.milestone, t.due_on) for t in tasks),
        )

    async def mine(self, person: PersonInfo) -> list[VisitInfo]:
        rows = (
            await self.s.execute(select(Visit).where(Visit.leader_id == person.id).order_by(Visit.scheduled_on))
        ).scalars()
        infos = [await self._info(v) for v in rows.all()]
        return [v for v in infos if v.status != "closed" or v.open_tasks]

    async def _led(self, person: PersonInfo, visit_id: int) -> Visit:
        visit = await self.s.get(Visit, visit_id)
        if visit is None or visit.leader_id != person.id:
            raise NotFound("visit")
        return visit

    async def start(self, person: PersonInfo, visit_id: int) -> VisitInfo:
        visit = await self._led(person, visit_id)
        if visit.status != "scheduled":
            raise Conflict(visit.status)
        if visit.scheduled_on != self.t.today:
            raise ServiceError("not_today")
        visit.status, visit.started_at = "started", self.now
        await self.t.audit("visit.started", "visit", visit.id, actor=person.id)
        return await self._info(visit)

    async def close(self, person: PersonInfo, visit_id: int, summary: str) -> VisitInfo:
        visit = await self._led(person, visit_id)
        if visit.status != "started":
            raise Conflict(visit.status)
        today = self.t.today
        visit.status, visit.closed_at, visit.closed_on, visit.summary = "closed", self.now, today, summary
        # From the day of the service (it started on its scheduled day), however late the leader closes it.
        due = visit_deadlines(visit.scheduled_on, self.t.calendar, self.t.setup.rules.visits)
        for milestone, day in due.items():
            self.s.add(VisitTask(visit_id=visit.id, milestone=milestone, due_on=day))
        await revisits.Revisits(self.t).create_for_visit(visit)
        await self.t.audit(
            "visit.closed",
            "visit",
            visit.id,
            actor=person.id,
            data={"summary": summary, "due": {k: v.isoformat() for k, v in due.items()}},
        )
        await self.s.flush()
        return await self._info(visit)

    async def complete_task(self, person: PersonInfo, visit_id: int, milestone: str) -> VisitInfo:
        visit = await self.s.get(Visit, visit_id)
        if visit is None:
            raise NotFound("visit")
        await members.seen_by(self.s, person.id, visit.project_id, "visit")
        admins = set(await members.with_roles(self.s, visit.project_id, {Role.AGENCY_ADMIN}))
        if person.id != visit.leader_id and person.id not in admins:
            raise AccessDenied("visit")
        task = (
            await self.s.execute(
                select(VisitTask).where(VisitTask.visit_id == visit_id, VisitTask.milestone == milestone)
            )
        ).scalar_one_or_none()
        if task is None:
            raise NotFound("task")
        if task.done_at is not None:
            raise Conflict("done")
        if milestone == "report":  # done by issuing it: both sides confirm the report (`confirm_report`)
            raise ServiceError("report_by_issuing")
        task.done_at, task.done_by = self.now, person.id
        await self.t.audit(f"visit.{milestone}_done", "visit", visit_id, actor=person.id)
        await self.s.flush()
        return await self._info(visit)

    # --- the service report (004 附件4) -----------------------------------------------------------------------

    async def _report_pdf(self, visit: Visit, report: ServiceReport, final: bool) -> str:
        facts = await service_report.record(self.s, visit, report, self.t.tz, self.t.calendar)
        media = self.t.media
        assert media is not None
        at = self.now.astimezone(self.t.tz)
        pdf = await asyncio.to_thread(forms.service_report, facts, "zh_CN", media.maybe, at, final)
        return await media.store_file(self.s, pdf, "application/pdf")

    async def _report_of(self, visit: Visit) -> ServiceReport:
        report = (
            await self.s.execute(select(ServiceReport).where(ServiceReport.visit_id == visit.id))
        ).scalar_one_or_none()
        if report is None:
            report = ServiceReport(visit_id=visit.id, status="draft")
            self.s.add(report)
            await self.s.flush()
        return report

    async def draft_report(self, person: PersonInfo, visit_id: int) -> ExportInfo:
        """The leader's draft of the closed visit's report, to check before submitting it."""
        visit = await self._led(person, visit_id)
        if visit.status != "closed":
            raise Conflict(visit.status)
        report = await self._report_of(visit)
        sha = await self._report_pdf(visit, report, final=False)
        await self.t.audit("visit.report_drafted", "visit", visit.id, actor=person.id, data={"sha256": sha})
        return ExportInfo(sha, f"service-report-{visit.id}-draft.pdf", 1, visit.scheduled_on, visit.scheduled_on)

    async def submit_report(self, person: PersonInfo, visit_id: int) -> VisitInfo:
        """The leader, as the agency's representative, submits it: the insured's representative and the
        insurer's risk manager get it to confirm."""
        visit = await self._led(person, visit_id)
        report = await self._report_of(visit)
        if visit.status != "closed" or report.status != "draft":
            raise Conflict(report.status if visit.status == "closed" else visit.status)
        report.status, report.submitted_by, report.submitted_at = "submitted", person.id, self.now
        sha = await self._report_pdf(visit, report, final=False)
        await self.t.audit("visit.report_submitted", "visit", visit.id, actor=person.id, data={"sha256": sha})
        project = await self.s.get(Project, visit.project_id)
        assert project is not None
        both = await members.with_roles(self.s, visit.project_id, REPORT_SIGNERS)
        items = notices.report_to_confirm(
            report.id, project.name, visit.scheduled_on, sha, f"service-report-{visit.id}.pdf"
        )
        self.t.notify(both, f"vr{report.id}:confirm", items)
        return await self._info(visit)

    async def confirm_report(self, person: PersonInfo, report_id: int) -> str:
        """The insured's representative or the insurer's risk manager confirms; with both, the report is final:
        the PDF with its three sign-offs goes to both sides and the leader, and the visit's report task is done."""
        report = await self.s.get(ServiceReport, report_id)
        if report is None:
            raise NotFound("report")
        visit = await self.s.get(Visit, report.visit_id)
        assert visit is not None
        roles = await members.seen_by(self.s, person.id, visit.project_id, "report") & REPORT_SIGNERS
        if not roles:
            raise AccessDenied("report")
        if report.status != "submitted":
            raise Conflict(report.status)
        if Role.INSURER in roles and report.insurer_at is None:
            report.insurer_by, report.insurer_at = person.id, self.now
        elif Role.PROJECT_MANAGER in roles and report.insured_at is None:
            report.insured_by, report.insured_at = person.id, self.now
        else:
            raise Conflict("confirmed")
        await self.t.audit("visit.report_confirmed", "visit", visit.id, actor=person.id)
        project = await self.s.get(Project, visit.project_id)
        assert project is not None
        if report.insured_at is not None and report.insurer_at is not None:
            report.status = "final"
            report.final_sha = await self._report_pdf(visit, report, final=True)
            task = (
                await self.s.execute(
                    select(VisitTask).where(VisitTask.visit_id == visit.id, VisitTask.milestone == "report")
                )
            ).scalar_one_or_none()
            if task is not None and task.done_at is None:
                task.done_at, task.done_by = self.now, report.submitted_by
            await self.t.audit("visit.report_done", "visit", visit.id, data={"sha256": report.final_sha})
            people = [*await members.with_roles(self.s, visit.project_id, REPORT_SIGNERS), visit.leader_id]
            final = notices.report_final(project.name, report.final_sha, f"service-report-{visit.id}.pdf")
            self.t.notify(people, f"vr{report.id}:final", [final])
        return project.name

    async def sweep(self, limit: int) -> Swept:
        """What closed visits still owe: a reminder the working day before, on the day, and when late — to the
        visit's leader and the agency (daily digest)."""
        tasks = await schedule.due(self.s, VisitTask, self.now, limit)
        visits = {v.id: v for v in await self._visits({t.visit_id for t in tasks})}
        done = await schedule.done_keys(self.s, "visit", visits)
        cal, tz, now = self.t.calendar, self.t.tz, self.now
        count = 0
        moments: dict[int, dt.datetime | None] = {}
        ledger = Ledger(self.s, "visit", now)
        for task in tasks:
            visit, seen = visits[task.visit_id], done.setdefault(task.visit_id, set())
            marks = [] if task.done_at is not None else escalation.due_marks(task.due_on, cal, tz)
            keyed = [(f"v{visit.id}:{task.milestone}:{k}", k, at) for k, at in marks]
            due = [(key, k, at) for key, k, at in keyed if at <= now and key not in seen]
            for key, k, at in due[:-1]:
                ledger.record(key, visit.id, f"{task.milestone}:{k}", at, "superseded")
            if due:
                key, k, at = due[-1]
                project = await self.s.get(Project, visit.project_id)
                assert project is not None
                entry = notices.task_due(
                    task.milestone, project.name, visit.closed_on or visit.scheduled_on, task.due_on, k == "overdue"
                )
                people = await members.agency_people(self.s, visit)
                ledger.digest(key, visit.id, f"{task.milestone}:{k}", at, people, entry)
                await self.t.audit("visit.reminded", "visit", visit.id, data={"milestone": f"{task.milestone}:{k}"})
                count += 1
            seen.update(key for key, _, _ in due)
            moments[task.id] = schedule.first_open([(key, at) for key, _, at in keyed], seen)
        await ledger.write()
        await schedule.store(self.s, VisitTask, moments)
        return Swept(len(tasks), count)

    async def _visits(self, ids: set[int]) -> list[Visit]:
        if not ids:
            return []
        return list((await self.s.execute(select(Visit).where(Visit.id.in_(ids)))).scalars())


async def sweep(t: Turn, limit: int) -> Swept:
    return await Visits(t).sweep(limit)
