"""The risk register (风险辨识清单): the experts of a project enter its risks by dangerous work and stage, with a
photo, the accident type, the basis, the control measures and an LEC score; they check the level-1/2 sources on
site each quarter; the agency (or the operator: `anzebot project stage`) records a stage change, after which the
register is refreshed. What it owes is counted with the plan's obligations (storage/plans.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.lec import score
from bot.domain.risks import ACCIDENT_TYPES, SOURCE_RANKS, Source
from bot.domain.roles import Role
from bot.notices import risks as notices
from bot.ports import AccessDenied, NotFound, PersonInfo, RiskDraft, RiskInfo, ServiceError
from storage import audit, members
from storage.admin import AdminError, find_project
from storage.models import MediaFile, Project, RiskCheck, RiskEntry
from storage.outbox_store import notify_person
from storage.turn import Area

KEEPERS = frozenset({Role.EXPERT, Role.AGENCY_ADMIN})  # who keeps the register
MAX_TEXT = 1000


async def change_stage(s: AsyncSession, project: Project, stage: str, now: dt.datetime, actor: int | None) -> None:
    """The one place a stage changes (chat and CLI): dated, audited, and the register's keepers told."""
    stage = stage.strip()
    if not stage or len(stage) > 40:
        raise ServiceError("stage")
    old, project.stage, project.stage_changed_at = project.stage, stage, now
    await audit.append(
        s,
        actor_id=actor,
        action="project.stage_changed",
        object_type="project",
        object_id=project.id,
        at=now,
        data={"from": old, "to": stage},
    )


async def set_stage_cli(s: AsyncSession, *, project: str, stage: str, now: dt.datetime) -> Project:
    p = await find_project(s, project)
    try:
        await change_stage(s, p, stage, now, None)
    except ServiceError:
        raise AdminError("a stage is 1 to 40 characters") from None
    for pid in await members.plan_people(s, p.id):
        await notify_person(s, pid, f"p{p.id}:stage:{now:%Y%m%d%H%M}", [notices.stage_changed(p.name, p.stage)])
    return p


async def sources_of(s: AsyncSession, project_id: int, tz: dt.tzinfo) -> tuple[list[dt.date], list[Source]]:
    """(the days entries were made, the level-1/2 sources with their check days), local days."""
    entries = (await s.execute(select(RiskEntry).where(RiskEntry.project_id == project_id))).scalars().all()
    checks: dict[int, list[dt.date]] = {}
    if entries:
        rows = await s.execute(
            select(RiskCheck.risk_id, RiskCheck.at).where(RiskCheck.risk_id.in_([e.id for e in entries]))
        )
        for risk_id, at in rows.all():
            checks.setdefault(risk_id, []).append(at.astimezone(tz).date())
    entered = [e.created_at.astimezone(tz).date() for e in entries]
    sources = [
        Source(e.created_at.astimezone(tz).date(), tuple(sorted(checks.get(e.id, ()))))
        for e in entries
        if e.rank in SOURCE_RANKS
    ]
    return entered, sources


class Risks(Area):
    async def _keeper(self, person: PersonInfo, project_id: int) -> Project:
        if not KEEPERS & await members.roles_in(self.s, person.id, project_id):
            raise AccessDenied("risks")
        project = await self.s.get(Project, project_id)
        if project is None:
            raise NotFound("project")
        return project

    async def works(self, person: PersonInfo, project_id: int) -> list[str]:
        """The project's dangerous works (危大工程), to enter risks under."""
        project = await self._keeper(person, project_id)
        return [str(w) for w in project.dangerous_works or ()]

    async def _info(self, e: RiskEntry, project: Project) -> RiskInfo:
        last = (
            await self.s.execute(
                select(RiskCheck.at).where(RiskCheck.risk_id == e.id).order_by(RiskCheck.at.desc()).limit(1)
            )
        ).scalar_one_or_none()
        tz = self.t.tz
        return RiskInfo(
            e.id,
            project.name,
            e.stage,
            e.work,
            e.name,
            e.accident_type,
            e.basis,
            e.measures,
            e.lec_d,
            e.rank,
            e.created_at.astimezone(tz).date(),
            last.astimezone(tz).date() if last else None,
        )

    async def record(self, person: PersonInfo, draft: RiskDraft) -> RiskInfo:
        project = await self._keeper(person, draft.project_id)
        if draft.accident_type not in ACCIDENT_TYPES:
            raise ServiceError("risk_incomplete")
        texts = (draft.work, draft.name, draft.basis, draft.measures)
        if any(not x.strip() for x in texts) or any(len(x) > MAX_TEXT for x in texts):
            raise ServiceError("risk_incomplete")
        if await self.s.get(MediaFile, draft.photo) is None:
            raise ServiceError("photo_missing")
        try:
            result = score(*draft.lec)
        except ValueError:
            raise ServiceError("risk_incomplete") from None
        e = RiskEntry(
            project_id=project.id,
            stage=project.stage or "",
            work=draft.work.strip()[:100],
            name=draft.name.strip()[:200],
            photo=draft.photo,
            accident_type=draft.accident_type,
            basis=draft.basis.strip(),
            measures=draft.measures.strip(),
            lec_l=result.L,
            lec_e=result.E,
            lec_c=result.C,
            lec_d=result.D,
            rank=result.rank,
            created_by=person.id,
            created_at=self.now,
        )
        self.s.add(e)
        await self.s.flush()
        await self.t.audit(
            "risk.recorded",
            "project",
            project.id,
            actor=person.id,
            data={"risk": e.id, "name": e.name, "work": e.work, "stage": e.stage, "d": e.lec_d, "rank": e.rank},
        )
        info = await self._info(e, project)
        if e.rank in SOURCE_RANKS:  # a level-1/2 source: the site's managers know what to watch
            site = await members.with_roles(self.s, project.id, {Role.PROJECT_MANAGER, Role.SAFETY_OFFICER})
            self.t.notify(site, f"risk{e.id}:source", [notices.source_entered(info)], skip=person.id)
        return info

    async def register(self, person: PersonInfo, project_id: int) -> list[RiskInfo]:
        if not await members.is_member(self.s, person.id, project_id):
            raise AccessDenied("risks")
        project = await self.s.get(Project, project_id)
        assert project is not None
        rows = await self.s.execute(
            select(RiskEntry).where(RiskEntry.project_id == project_id).order_by(RiskEntry.rank, RiskEntry.id)
        )
        return [await self._info(e, project) for e in rows.scalars()]

    async def check(self, person: PersonInfo, risk_id: int) -> RiskInfo:
        e = await self.s.get(RiskEntry, risk_id)
        if e is None:
            raise NotFound("risk")
        project = await self._keeper(person, e.project_id)
        self.s.add(RiskCheck(risk_id=e.id, person_id=person.id, at=self.now))
        await self.s.flush()
        await self.t.audit("risk.checked", "project", project.id, actor=person.id, data={"risk": e.id})
        return await self._info(e, project)

    async def set_stage(self, person: PersonInfo, project_id: int, stage: str) -> str:
        project = await self._keeper(person, project_id)
        await change_stage(self.s, project, stage, self.now, person.id)
        keepers = await members.plan_people(self.s, project.id)
        self.t.notify(
            keepers, f"p{project.id}:stage:{self.now:%Y%m%d%H%M}", [notices.stage_changed(project.name, stage)]
        )
        return project.name
