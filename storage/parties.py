"""Who stands behind a project on its printed records: the organisations by the part they play, the latest policy
and its insurer, and people by name — read the same way by every document and by the revisit form."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.roles import OrgKind
from storage.models import Organisation, Person, Policy, ProjectUnit


@dataclass(frozen=True)
class Parties:
    units: dict[str, str]  # part (construction, agency, …) → organisation name
    policy: Policy | None  # the latest
    insurer: str  # the latest policy's insurer, or ""

    def unit(self, kind: OrgKind) -> str:
        return self.units.get(kind.value, "")


async def latest_policy(s: AsyncSession, project_id: int) -> Policy | None:
    rows = await s.execute(select(Policy).where(Policy.project_id == project_id).order_by(Policy.start_date.desc()))
    return rows.scalars().first()


async def of_project(s: AsyncSession, project_id: int) -> Parties:
    units = dict(
        (
            await s.execute(
                select(ProjectUnit.kind, Organisation.name)
                .join(Organisation, Organisation.id == ProjectUnit.org_id)
                .where(ProjectUnit.project_id == project_id)
            )
        ).all()
    )
    policy = await latest_policy(s, project_id)
    insurer = await s.get(Organisation, policy.insurer_org_id) if policy else None
    return Parties(units, policy, insurer.name if insurer else "")


async def name_of(s: AsyncSession, person_id: int | None) -> str:
    person = await s.get(Person, person_id) if person_id is not None else None
    return person.name if person else ""
