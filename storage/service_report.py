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
from storage import experts, hazard_record, parties
from storage.admin import AdminError
from storage.models import (
    Attendance,
    Hazard,
    Project,
    RiskEntry,
    ServiceReport,
    TrainingSession,
    Visit,
    VisitExpert,
)
from storage.parties import name_of


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
    found_parties = await parties.of_project(s, project.id)
    ids = list((await s.execute(select(VisitExpert.person_id).where(VisitExpert.visit_id == visit.id))).scalars())
    library = await experts.library(s, ids)
    staff = []
    for pid in ids:
        q = library.get(pid)
        certs = "; ".join(f"{c.name} {c.number}" for c in q.certificates) if q else ""
        what = " · ".join(x for x in (",".join(sorted(q.specialities)) if q else "", certs) if x)
        staff.append((await name_of(s, pid), q.title if q else "", what))
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
        (
            "insured",
            await name_of(s, report.insured_by),
            report.insured_at.astimezone(tz) if report.insured_at else None,
        ),
        (
            "agency",
            await name_of(s, report.submitted_by),
            report.submitted_at.astimezone(tz) if report.submitted_at else None,
        ),
        (
            "insurer",
            await name_of(s, report.insurer_by),
            report.insurer_at.astimezone(tz) if report.insurer_at else None,
        ),
    )
    return ServiceReportRecord(
        insured=found_parties.unit(OrgKind.CONSTRUCTION),
        project=project.name,
        address=project.address,
        policy=found_parties.policy.number if found_parties.policy else "",
        insurer=found_parties.insurer,
        agency=found_parties.unit(OrgKind.AGENCY),
        service_on=visit.scheduled_on,
        kind=visit.kind,
        summary=visit.summary or "",
        staff=tuple(staff),
        leader=await name_of(s, visit.leader_id),
        risks=risks,
        hazards=hazards,
        trainings=tuple(trainings),
        signoffs=signoffs,
    )
