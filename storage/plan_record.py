"""A service plan's facts for its document (事故预防技术服务方案): the project, the parties, the content the agency
wrote, the expert group from the library, and who agreed and confirmed it in chat."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.roles import OrgKind
from bot.ports import PlanRecord
from storage import experts, parties
from storage.admin import AdminError, find_project
from storage.models import PlanExpert, Project, ServicePlan
from storage.parties import name_of


async def current(s: AsyncSession, project: str) -> int:
    """The project's plan in force (or waiting), for the CLI."""
    p = await find_project(s, project)
    plan = (
        await s.execute(
            select(ServicePlan.id)
            .where(ServicePlan.project_id == p.id, ServicePlan.status != "replaced")
            .order_by(ServicePlan.id.desc())
        )
    ).scalar()
    if plan is None:
        raise AdminError(f"{p.code} has no service plan")
    return int(plan)


async def record(s: AsyncSession, plan_id: int, tz: ZoneInfo) -> PlanRecord:
    plan = await s.get(ServicePlan, plan_id)
    if plan is None:
        raise AdminError(f"no plan {plan_id}")
    project = await s.get(Project, plan.project_id)
    assert project is not None
    found_parties = await parties.of_project(s, project.id)
    ids = list((await s.execute(select(PlanExpert.person_id).where(PlanExpert.plan_id == plan.id))).scalars())
    library = await experts.library(s, ids)
    group = []
    for pid in ids:
        q = library.get(pid)
        group.append((await name_of(s, pid), q.title if q else "", ",".join(sorted(q.specialities)) if q else ""))
    return PlanRecord(
        project=project.name,
        address=project.address,
        insurer=found_parties.insurer or found_parties.unit(OrgKind.INSURER),
        agency=found_parties.unit(OrgKind.AGENCY),
        policy=found_parties.policy.number if found_parties.policy else "",
        services=tuple(plan.services),
        content={str(k): str(v) for k, v in (plan.content or {}).items()},
        experts=tuple(group),
        leader=await name_of(s, plan.leader_id),
        agreed_by=await name_of(s, plan.agreed_by),
        agreed_at=plan.agreed_at.astimezone(tz) if plan.agreed_at else None,
        confirmed_by=await name_of(s, plan.confirmed_by),
        confirmed_at=plan.confirmed_at.astimezone(tz) if plan.confirmed_at else None,
    )
