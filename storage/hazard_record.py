"""One hazard's facts for its printed forms: the rectification notice (风险隐患整改提示单, 000 附件3; 001 附件 item
6: responsibility, measures, time limit, contingency) and the re-inspection record (复查记录单)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.roles import OrgKind, Role
from bot.domain.workdays import WorkCalendar
from bot.ports import HazardRecord, PhotoRef, RectRecord
from storage import members, parties
from storage.admin import AdminError
from storage.models import (
    Hazard,
    HazardPhoto,
    MediaFile,
    Project,
    Rectification,
)
from storage.parties import name_of


async def _photos(s: AsyncSession, hazard_id: int, rect_id: int | None, tz: ZoneInfo) -> tuple[PhotoRef, ...]:
    rows = await s.execute(
        select(HazardPhoto.sha256, MediaFile.taken_at, MediaFile.created_at)
        .join(MediaFile, MediaFile.sha256 == HazardPhoto.sha256)
        .where(
            HazardPhoto.hazard_id == hazard_id,
            HazardPhoto.rectification_id == rect_id if rect_id is not None else HazardPhoto.rectification_id.is_(None),
        )
        .order_by(HazardPhoto.position)
    )
    return tuple(
        PhotoRef(sha, taken.astimezone(tz) if taken else None, received.astimezone(tz))
        for sha, taken, received in rows.all()
    )


async def record(s: AsyncSession, number: str, tz: ZoneInfo, cal: WorkCalendar) -> HazardRecord:
    h = (await s.execute(select(Hazard).where(Hazard.number == number.strip().upper()))).scalar_one_or_none()
    if h is None:
        raise AdminError(f"no hazard {number!r}")
    project = await s.get(Project, h.project_id)
    assert project is not None
    found_parties = await parties.of_project(s, project.id)
    managers = [await name_of(s, pid) for pid in await members.with_roles(s, project.id, {Role.PROJECT_MANAGER})]
    found = h.created_at.astimezone(tz)
    rects = []
    for r in (
        await s.execute(select(Rectification).where(Rectification.hazard_id == h.id).order_by(Rectification.id))
    ).scalars():
        rects.append(
            RectRecord(
                await name_of(s, r.submitted_by),
                r.submitted_at.astimezone(tz),
                r.note,
                await _photos(s, h.id, r.id, tz),
                r.decision,
                await name_of(s, r.decided_by),
                r.decided_at.astimezone(tz) if r.decided_at else None,
                r.reason or "",
            )
        )
    return HazardRecord(
        number=h.number,
        project=project.name,
        address=project.address,
        insurer=found_parties.insurer or found_parties.unit(OrgKind.INSURER),
        agency=found_parties.unit(OrgKind.AGENCY),
        construction_unit=found_parties.unit(OrgKind.CONSTRUCTION),
        responsible="、".join(managers),
        reporter=await name_of(s, h.reporter_id),
        found_at=found,
        level=h.level,
        group_id=h.group_id,
        basis=h.basis,
        description=h.description,
        location=h.location,
        suggestion=h.suggestion,
        deadline=h.deadline,
        deadline_working_days=cal.working_days_between(found.date(), h.deadline),
        stop_work=h.stop_work,
        received_by=await name_of(s, h.received_by),
        received_at=h.received_at.astimezone(tz) if h.received_at else None,
        status=h.status,
        photos=await _photos(s, h.id, None, tz),
        rectifications=tuple(rects),
    )
