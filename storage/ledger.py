"""The hazard ledger's facts (隐患排查台账, 000 §14(二)2): every hazard of a scope — a project, an insurer's projects,
a region — found in a period, closed ones included, with its rectification, re-inspection, receipt and every
status change from the audit chain. Plain rows for bot/documents to lay out; who may ask is the caller's check."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.levels import Status
from bot.domain.roles import OrgKind, Role
from bot.domain.workdays import WorkCalendar
from bot.ports import Ledger, LedgerEvent, LedgerRow
from storage.admin import AdminError, find_org, find_project
from storage.models import (
    AuditEvent,
    Hazard,
    HazardPhoto,
    Membership,
    Organisation,
    Person,
    Policy,
    Project,
    ProjectUnit,
    Rectification,
)

STATUS_ACTIONS = (
    "hazard.reported",
    "hazard.received",
    "hazard.rectification_submitted",
    "hazard.approved",
    "hazard.rejected",
    "hazard.reopened",
    "hazard.escalated",
    "hazard.objection",
)


async def scope_projects(s: AsyncSession, *, project: str | None, insurer: str | None, region: str | None) -> list[int]:
    """The projects of exactly one scope: a project, an insurer's (any policy of theirs), or a region's prefix."""
    if sum(x is not None for x in (project, insurer, region)) != 1:
        raise AdminError("name exactly one of --project, --insurer, --region")
    if project is not None:
        return [(await find_project(s, project)).id]
    if insurer is not None:
        org = await find_org(s, insurer)
        if org.kind != OrgKind.INSURER:
            raise AdminError(f"{org.name} is not an insurer")
        return sorted(
            set((await s.execute(select(Policy.project_id).where(Policy.insurer_org_id == org.id))).scalars())
        )
    assert region is not None
    if not region.strip():
        raise AdminError("a region names at least one character")
    rows = await s.execute(select(Project.id).where(Project.region.startswith(region.strip(), autoescape=True)))
    return sorted(rows.scalars())


async def read(
    s: AsyncSession,
    project_ids: list[int],
    start: dt.date,
    end: dt.date,
    tz: ZoneInfo,
    cal: WorkCalendar,
    today: dt.date,
    scope: str,
) -> Ledger:
    """Every hazard of these projects found from `start` to `end` (local days, inclusive)."""
    if end < start:
        raise AdminError("the period ends before it starts")
    since = dt.datetime.combine(start, dt.time(), tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    hazards = (
        (
            await s.execute(
                select(Hazard)
                .where(Hazard.project_id.in_(project_ids), Hazard.created_at >= since, Hazard.created_at < until)
                .order_by(Hazard.created_at, Hazard.id)
            )
        )
        .scalars()
        .all()
    )
    if not hazards:
        return Ledger(scope, start, end, ())
    ids = [h.id for h in hazards]
    names = dict((await s.execute(select(Person.id, Person.name))).all())
    projects = dict((await s.execute(select(Project.id, Project.name).where(Project.id.in_(project_ids)))).all())
    units = dict(
        (
            await s.execute(
                select(ProjectUnit.project_id, Organisation.name)
                .join(Organisation, Organisation.id == ProjectUnit.org_id)
                .where(ProjectUnit.project_id.in_(project_ids), ProjectUnit.kind == OrgKind.CONSTRUCTION.value)
            )
        ).all()
    )
    managers: dict[int, list[str]] = defaultdict(list)
    for project_id, person_id in (
        await s.execute(
            select(Membership.project_id, Membership.person_id)
            .where(
                Membership.project_id.in_(project_ids),
                Membership.role == Role.PROJECT_MANAGER.value,
                Membership.active.is_(True),
            )
            .order_by(Membership.person_id)
        )
    ).all():
        managers[project_id].append(names.get(person_id, ""))
    photos: dict[tuple[int, bool], list[str]] = defaultdict(list)
    for hazard_id, rect_id, sha in (
        await s.execute(
            select(HazardPhoto.hazard_id, HazardPhoto.rectification_id, HazardPhoto.sha256)
            .where(HazardPhoto.hazard_id.in_(ids))
            .order_by(HazardPhoto.hazard_id, HazardPhoto.rectification_id, HazardPhoto.position)
        )
    ).all():
        photos[(hazard_id, rect_id is not None)].append(sha)
    rects: dict[int, list[Rectification]] = defaultdict(list)
    for r in (
        await s.execute(select(Rectification).where(Rectification.hazard_id.in_(ids)).order_by(Rectification.id))
    ).scalars():
        rects[r.hazard_id].append(r)

    rows = []
    for h in hazards:
        last = rects[h.id][-1] if rects[h.id] else None
        approved = next((r for r in reversed(rects[h.id]) if r.decision == "approved"), None)
        closed_on = h.closed_at.astimezone(tz).date() if h.closed_at and h.status == Status.CLOSED.value else None
        done_on = approved.submitted_at.astimezone(tz).date() if approved else None
        reference = done_on or today
        overdue = cal.working_days_between(h.deadline, reference) if reference > h.deadline else 0
        received = ""
        if h.received_at is not None and h.received_by is not None:
            received = f"{names.get(h.received_by, '')} {h.received_at.astimezone(tz):%Y-%m-%d %H:%M}"
        rows.append(
            LedgerRow(
                number=h.number,
                project=projects.get(h.project_id, ""),
                found_on=h.created_at.astimezone(tz).date(),
                reporter=names.get(h.reporter_id, ""),
                location=h.location,
                group_id=h.group_id,
                basis=h.basis,
                description=h.description,
                level=h.level,
                major_id=h.major_id,
                suggestion=h.suggestion,
                responsible_unit=units.get(h.project_id, ""),
                responsible="、".join(managers.get(h.project_id, [])),
                received=received,
                deadline=h.deadline,
                rectified_on=done_on,
                reviewer=names.get(last.decided_by, "") if last and last.decided_by else "",
                result=(last.decision or "") if last else "",
                status=h.status,
                overdue_working_days=overdue,
                on_time=(done_on <= h.deadline) if closed_on and done_on else None,
                before=tuple(photos[(h.id, False)]),
                after=tuple(photos[(h.id, True)]),
            )
        )
    events = []
    numbers = {str(h.id): h.number for h in hazards}
    for e in (
        await s.execute(
            select(AuditEvent)
            .where(
                AuditEvent.object_type == "hazard",
                AuditEvent.object_id.in_(list(numbers)),
                AuditEvent.action.in_(STATUS_ACTIONS),
            )
            .order_by(AuditEvent.id)
        )
    ).scalars():
        data = json.loads(e.data or "{}")
        note = data.get("note") or data.get("reason") or data.get("milestone") or data.get("answer") or ""
        events.append(
            LedgerEvent(
                numbers[e.object_id],
                e.at.astimezone(tz),
                names.get(e.actor_id, "") if e.actor_id else "",
                e.action,
                str(note),
                e.id,
            )
        )
    return Ledger(scope, start, end, tuple(rows), tuple(events))
