"""Service agreements (事故预防技术服务协议, 004 附件2): the operator records a policy's agreement — the services, the
fee, the insured's contact, and a first-service date the insured agreed in writing instead of the 3 months."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.service_plan import services_problem
from storage import audit
from storage.admin import AdminError, find_person
from storage.models import Person, Policy, ServiceAgreement


async def add_agreement(
    s: AsyncSession,
    *,
    policy: str,
    number: str,
    signed_on: dt.date,
    services: list[str],
    fee: str | None,
    first_service_by: dt.date | None,
    contact: str | None,
    now: dt.datetime,
) -> ServiceAgreement:
    p = (await s.execute(select(Policy).where(Policy.number == policy))).scalar_one_or_none()
    if p is None:
        raise AdminError(f"no policy {policy!r}")
    if (await s.execute(select(ServiceAgreement.id).where(ServiceAgreement.number == number))).first():
        raise AdminError(f"agreement {number!r} exists")
    problem = services_problem(services)
    if problem:
        raise AdminError(problem)
    amount = None
    if fee is not None:
        try:
            amount = Decimal(fee)
        except InvalidOperation:
            raise AdminError(f"fee {fee!r} is not a number") from None
        if amount < 0:
            raise AdminError("the fee must not be negative")
    if first_service_by is not None and not p.start_date <= first_service_by <= p.end_date:
        raise AdminError("the agreed first service must fall inside the policy term")
    person = await find_person(s, contact) if contact else None
    row = ServiceAgreement(
        number=number,
        policy_id=p.id,
        signed_on=signed_on,
        services=services,
        fee=amount,
        first_service_by=first_service_by,
        contact_id=person.id if person else None,
        created_at=now,
    )
    s.add(row)
    await s.flush()
    await audit.append(
        s,
        actor_id=None,
        action="agreement.recorded",
        object_type="policy",
        object_id=p.id,
        at=now,
        data={
            "number": number,
            "signed_on": signed_on.isoformat(),
            "services": services,
            "fee": str(amount) if amount is not None else None,
            "first_service_by": first_service_by.isoformat() if first_service_by else None,
            "contact": person.id if person else None,
        },
    )
    return row


async def of_policy(s: AsyncSession, policy_id: int) -> ServiceAgreement | None:
    return (
        (
            await s.execute(
                select(ServiceAgreement)
                .where(ServiceAgreement.policy_id == policy_id)
                .order_by(ServiceAgreement.signed_on.desc())
            )
        )
        .scalars()
        .first()
    )


async def listing(s: AsyncSession) -> list[dict[str, Any]]:
    rows = await s.execute(
        select(ServiceAgreement, Policy.number, Person.name)
        .join(Policy, Policy.id == ServiceAgreement.policy_id)
        .outerjoin(Person, Person.id == ServiceAgreement.contact_id)
        .order_by(ServiceAgreement.id)
    )
    return [
        {
            "number": a.number,
            "policy": policy,
            "signed_on": a.signed_on.isoformat(),
            "services": list(a.services),
            "fee": str(a.fee) if a.fee is not None else None,
            "first_service_by": a.first_service_by.isoformat() if a.first_service_by else None,
            "contact": contact,
        }
        for a, policy, contact in rows.all()
    ]
