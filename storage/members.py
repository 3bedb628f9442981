"""Who holds which roles in a project: the one query every notice and reminder needs."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.roles import Role
from storage.models import Membership


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
