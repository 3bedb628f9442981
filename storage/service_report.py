"""A visit's service report facts (事故预防服务报告, 004 附件4; 000 附件2): the insured, the technical staff from the
expert library, the service content — the summary, the trainings and drills held for the project that day, the
project's risk register, the hazards found on the visit with their photos — and the three sign-offs."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.roles import OrgKind
from bot.domain.workdays import WorkCalendar
from bot.ports import ServiceReportRecord
from storage import experts, hazard_record
from storage.admin import AdminError
from storage.models import (
    Attendance,
    Hazard,
    Organisation,
    Person,
    Policy,
    Project,
    ProjectUnit,
    RiskEntry,
    ServiceReport,
    TrainingSession,
    Visit,
    VisitExpert,
)


async def _name(s: AsyncSession, person_id: int | None) -> str:
    person = await s.get(Person, person_id) if person_id is not None else None
    return person.name if person else ""


async def of_visit(s: AsyncSession, visit_id: int, tz: ZoneInfo, cal: WorkCalendar) -> tuple[ServiceReportRecord, bool]:
    """(the report's facts, whether it is final) for the CLI; a visit without a report prints as a draft."""
    visit = await s.get(Visit, visit_id)
    if visit is None:
        raise AdminError(f"no visit {visit_id}")
    report = (await s.execute(select(ServiceReport).where(ServiceReport.visit_id == visit_id))).scalar_one_or_none()
    current = report or ServiceReport(visit_id=visit_id, status="draft")
    return await record(s, visit, current, tz, cal), current.status == "final"


async def record(
    s: AsyncSession, visit: Visit, report: ServiceReport, tz: ZoneInfo, cal: WorkCalendar
) -> ServiceReportRecord:
    project = await s.get(Project, visit.project_id)
    assert project is not None
    units = dict(
        (
            await s.execute(
                select(ProjectUnit.kind, Organisation.name)
                .join(Organisation, Organisation.id == ProjectUnit.org_id)
                .where(ProjectUnit.project_id == project.id)
            )
        ).all()
    )
    policy = (
        (await s.execute(select(Policy).where(Policy.project_id == project.id).order_by(Policy.start_date.desc())))
        .scalars()
        .first()
    )
    insurer = await s.get(Organisation, policy.insurer_org_id) if policy else None
    ids = list((await s.execute(select(VisitExpert.person_id).where(VisitExpert.visit_id == visit.id))).scalars())
    library = await experts.library(s, ids)
    staff = []
    for pid in ids:
        q = library.get(pid)
        certs = "; ".join(f"{c.name} {c.number}" for c in q.certificates) if q else ""
        what = " · ".join(x for x in (",".join(sorted(q.specialities)) if q else "", certs) if x)
        staff.append((await _name(s, pid), q.title if q else "", what))
    risks = tuple(
        (r.work, r.name, r.accident_type, r.basis, r.measures, r.rank)
        for r in (
            await s.execute(
                select(RiskEntry).where(RiskEntry.project_id == project.id).order_by(RiskEntry.rank, RiskEntry.id)
            )
        ).scalars()
    )
    numbers = (await s.execute(select(Hazard.number).where(Hazard.visit_id == visit.id).order_by(Hazard.id))).scalars()
    hazards = tuple([await hazard_record.record(s, n, tz, cal) for n in numbers.all()])
    trainings = []
    for t in (await s.execute(select(TrainingSession).order_by(TrainingSession.starts_at))).scalars():
        if project.id in (t.projects or []) and t.starts_at.astimezone(tz).date() == visit.scheduled_on:
            signed = (
                await s.execute(select(func.count()).select_from(Attendance).where(Attendance.session_id == t.id))
            ).scalar_one()
            trainings.append((t.kind, t.topic, int(signed)))
    signoffs = (
        ("insured", await _name(s, report.insured_by), report.insured_at.astimezone(tz) if report.insured_at else None),
        (
            "agency",
            await _name(s, report.submitted_by),
            report.submitted_at.astimezone(tz) if report.submitted_at else None,
        ),
        ("insurer", await _name(s, report.insurer_by), report.insurer_at.astimezone(tz) if report.insurer_at else None),
    )
    return ServiceReportRecord(
        insured=units.get(OrgKind.CONSTRUCTION.value, ""),
        project=project.name,
        address=project.address,
        policy=policy.number if policy else "",
        insurer=insurer.name if insurer else "",
        agency=units.get(OrgKind.AGENCY.value, ""),
        service_on=visit.scheduled_on,
        kind=visit.kind,
        summary=visit.summary or "",
        staff=tuple(staff),
        leader=await _name(s, visit.leader_id),
        risks=risks,
        hazards=hazards,
        trainings=tuple(trainings),
        signoffs=signoffs,
    )
