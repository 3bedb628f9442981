"""The expert library (专家库, 002 §8–9): the operator records each expert's title, years, specialities and
certificates (`anzebot expert set`); plans and visits check their groups against it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.experts import SPECIALITIES, TITLE_LEVELS, Certificate, Qualification, parse_certificate
from storage import audit
from storage.admin import AdminError, find_person
from storage.models import ExpertProfile, Person


def _qualification(p: ExpertProfile) -> Qualification:
    return Qualification(
        p.title,
        p.title_level,
        p.registered_safety_engineer,
        p.years,
        frozenset(p.specialities or ()),
        tuple(
            Certificate(
                c["name"], c["number"], dt.date.fromisoformat(c["valid_until"]) if c.get("valid_until") else None
            )
            for c in p.certificates or ()
        ),
    )


async def library(s: AsyncSession, person_ids: Iterable[int]) -> dict[int, Qualification]:
    ids = list(person_ids)
    if not ids:
        return {}
    rows = (await s.execute(select(ExpertProfile).where(ExpertProfile.person_id.in_(ids)))).scalars()
    return {p.person_id: _qualification(p) for p in rows}


async def set_profile(
    s: AsyncSession,
    *,
    person: str,
    title: str,
    level: str,
    years: int,
    specialities: list[str],
    certificates: list[str],
    registered_safety_engineer: bool,
    now: dt.datetime,
) -> ExpertProfile:
    """Enter or replace an expert's library record (the association's review done: 002 §8)."""
    who = await find_person(s, person)
    if level not in TITLE_LEVELS:
        raise AdminError(f"a title level is one of {', '.join(TITLE_LEVELS)}")
    unknown = [x for x in specialities if x not in SPECIALITIES]
    if unknown or not specialities:
        raise AdminError(f"specialities are some of {', '.join(SPECIALITIES)}")
    if not 0 <= years <= 70 or not title.strip():
        raise AdminError("an expert needs a title and 0 to 70 years of experience")
    try:
        certs = [parse_certificate(c) for c in certificates]
    except ValueError as exc:
        raise AdminError(f"certificate: {exc}") from None
    row = await s.get(ExpertProfile, who.id)
    if row is None:
        row = ExpertProfile(person_id=who.id)
        s.add(row)
    row.title, row.title_level, row.years = title.strip()[:60], level, years
    row.registered_safety_engineer = registered_safety_engineer
    row.specialities = list(dict.fromkeys(specialities))
    row.certificates = [
        {"name": c.name, "number": c.number, "valid_until": c.valid_until.isoformat() if c.valid_until else None}
        for c in certs
    ]
    row.updated_at = now
    await s.flush()
    await audit.append(
        s,
        actor_id=None,
        action="expert.recorded",
        object_type="person",
        object_id=who.id,
        at=now,
        data={
            "title": row.title,
            "level": level,
            "years": years,
            "specialities": row.specialities,
            "certificates": row.certificates,
            "rse": registered_safety_engineer,
        },
    )
    return row


async def listing(s: AsyncSession) -> list[dict[str, Any]]:
    rows = await s.execute(
        select(ExpertProfile, Person.name).join(Person, Person.id == ExpertProfile.person_id).order_by(Person.id)
    )
    return [
        {
            "id": p.person_id,
            "name": name,
            "title": p.title,
            "level": p.title_level,
            "registered_safety_engineer": p.registered_safety_engineer,
            "years": p.years,
            "specialities": list(p.specialities or ()),
            "certificates": list(p.certificates or ()),
        }
        for p, name in rows.all()
    ]
