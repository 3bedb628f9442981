"""Who holds which roles in a project: the queries every notice, reminder and permission check needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.roles import Role
from bot.ports import NotFound
from storage.models import Membership, PlanExpert, ServicePlan, Visit


@dataclass(frozen=True)
class Roster:
    """Who holds which roles in one project (active memberships): read once for a batch of the clock's work
    instead of once per notice. Keyed by the stored role names (a `Role` is its name: it finds them)."""

    by_role: Mapping[str, frozenset[int]]

    def with_roles(self, roles: Iterable[Role]) -> list[int]:
        """As `with_roles` answers: the people holding any of `roles`, ascending."""
        return sorted({pid for r in roles for pid in self.by_role.get(r, frozenset())})


async def rosters(s: AsyncSession, project_ids: Iterable[int]) -> dict[int, Roster]:
    wanted = sorted(set(project_ids))
    found: dict[int, dict[str, set[int]]] = {pid: {} for pid in wanted}
    if wanted:
        rows = await s.execute(
            select(Membership.project_id, Membership.role, Membership.person_id).where(
                Membership.project_id.in_(wanted), Membership.active.is_(True)
            )
        )
        for project_id, role, person_id in rows.all():
            found[project_id].setdefault(role, set()).add(person_id)
    return {pid: Roster({r: frozenset(p) for r, p in roles.items()}) for pid, roles in found.items()}


async def with_roles(s: AsyncSession, project_id: int, roles: Iterable[Role]) -> list[int]:
    """Ids of the people holding any of `roles` in the project (active memberships), ascending."""
    wanted = [r.value for r in roles]
    if not wanted:
        return []
    rows = await s.execute(
        select(Membership.person_id)
        .where(Membership.project_id == project_id, Membership.role.in_(wanted), Membership.active.is_(True))
        .distinct()
        .order_by(Membership.person_id)
    )
    return list(rows.scalars())


async def roles_in(s: AsyncSession, person_id: int, project_id: int) -> frozenset[Role]:
    rows = await s.execute(
        select(Membership.role).where(
            Membership.person_id == person_id, Membership.project_id == project_id, Membership.active.is_(True)
        )
    )
    return frozenset(Role(r) for r in rows.scalars())


async def projects_of(s: AsyncSession, person_id: int) -> dict[int, frozenset[Role]]:
    """The projects a person is in, with their roles there, by project id (ascending)."""
    rows = (
        await s.execute(
            select(Membership.project_id, Membership.role).where(
                Membership.person_id == person_id, Membership.active.is_(True)
            )
        )
    ).all()
    by_project: dict[int, set[Role]] = {}
    for project_id, role in rows:
        by_project.setdefault(project_id, set()).add(Role(role))
    return {pid: frozenset(by_project[pid]) for pid in sorted(by_project)}


async def is_member(s: AsyncSession, person_id: int, project_id: int) -> bool:
    return bool(await roles_in(s, person_id, project_id))


async def seen_by(s: AsyncSession, person_id: int, project_id: int, what: str) -> frozenset[Role]:
    """The person's roles in the project of something they asked for; to anyone outside the project that thing
    does not exist (one answer for "no such number" and "not yours", so numbers cannot be probed)."""
    roles = await roles_in(s, person_id, project_id)
    if not roles:
        raise NotFound(what)
    return roles


async def agency_people(s: AsyncSession, visit: Visit) -> list[int]:
    """Who answers for a visit: its leader and the agency's managers in the project."""
    admins = await with_roles(s, visit.project_id, {Role.AGENCY_ADMIN})
    return sorted({visit.leader_id, *admins})


async def plan_people(s: AsyncSession, project_id: int) -> list[int]:
    """Who answers for a project's services: the agency's managers and the confirmed plan's experts."""
    people = set(await with_roles(s, project_id, {Role.AGENCY_ADMIN}))
    plan = (
        await s.execute(
            select(ServicePlan).where(ServicePlan.project_id == project_id, ServicePlan.status == "confirmed")
        )
    ).scalar_one_or_none()
    if plan is not None:
        people.add(plan.leader_id)
        people.update((await s.execute(select(PlanExpert.person_id).where(PlanExpert.plan_id == plan.id))).scalars())
    return sorted(people)
