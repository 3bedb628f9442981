"""Operator actions (the CLI): organisations, projects, policies, people and invite codes."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal, InvalidOperation

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.numbering import parse_id
from bot.domain.roles import OrgKind, Role, role_fits_org
from storage import audit
from storage.invite_codes import hash_code
from storage.models import (
    ChatBinding,
    Identity,
    Invite,
    Membership,
    Organisation,
    OutboxMessage,
    Person,
    Policy,
    Project,
    ProjectUnit,
)

# No 0/O/1/I: codes are read off a phone screen and typed with gloves on.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class AdminError(ValueError):
    pass


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


async def find_org(session: AsyncSession, ref: str) -> Organisation:
    org = (
        await session.execute(
            select(Organisation).where((Organisation.name == ref) | (Organisation.id == (parse_id(ref) or -1)))
        )
    ).scalar_one_or_none()
    if org is None:
        raise AdminError(f"no organisation {ref!r}")
    return org


async def find_project(session: AsyncSession, ref: str) -> Project:
    p = (await session.execute(select(Project).where(Project.code == ref))).scalar_one_or_none()
    if p is None and parse_id(ref) is not None:
        p = await session.get(Project, parse_id(ref))
    if p is None:
        raise AdminError(f"no project {ref!r}")
    return p


async def find_person(session: AsyncSession, ref: str) -> Person:
    person_id = parse_id(ref)
    p = await session.get(Person, person_id) if person_id is not None else None
    if p is None:
        rows = (await session.execute(select(Person).where(Person.name == ref))).scalars().all()
        if len(rows) > 1:
            raise AdminError(f"{len(rows)} people are called {ref!r}; use the id")
        p = rows[0] if rows else None
    if p is None:
        raise AdminError(f"no person {ref!r}")
    return p


async def add_org(session: AsyncSession, kind: str, name: str, region: str | None = None) -> Organisation:
    try:
        OrgKind(kind)
    except ValueError:
        raise AdminError(f"kind must be one of {', '.join(k.value for k in OrgKind)}") from None
    if (await session.execute(select(Organisation).where(Organisation.name == name))).first():
        raise AdminError(f"organisation {name!r} exists")
    org = Organisation(kind=kind, name=name, region=region)
    session.add(org)
    await session.flush()
    await audit.append(
        session,
        actor_id=None,
        action="org.added",
        object_type="org",
        object_id=org.id,
        data={"kind": kind, "name": name, "region": region},
    )
    return org


async def add_project(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    address: str = "",
    region: str = "",
    stage: str = "",
    risk: str = "",
    dangerous_works: list[str] | None = None,
    units: list[str] | None = None,
) -> Project:
    if (await session.execute(select(Project).where(Project.code == code))).first():
        raise AdminError(f"project {code!r} exists")
    if risk not in ("", "high", "medium", "low"):
        raise AdminError("risk must be high, medium or low")
    project = Project(
        code=code,
        name=name,
        address=address,
        region=region,
        stage=stage,
        risk=risk,
        dangerous_works=list(dangerous_works or []),
    )
    session.add(project)
    await session.flush()
    for ref in units or []:
        org = await find_org(session, ref)
        session.add(ProjectUnit(project_id=project.id, org_id=org.id, kind=org.kind))
    await session.flush()
    await audit.append(
        session,
        actor_id=None,
        action="project.added",
        object_type="project",
        object_id=project.id,
        data={"code": code, "name": name, "region": region, "risk": risk, "units": units or []},
    )
    return project


async def add_policy(
    session: AsyncSession,
    *,
    number: str,
    project: str,
    insurer: str,
    premium: str,
    start: dt.date,
    end: dt.date,
) -> Policy:
    if end <= start:
        raise AdminError("the policy must end after it starts")
    try:
        amount = Decimal(premium)
    except InvalidOperation:
        raise AdminError(f"premium {premium!r} is not a number") from None
    if amount < 0:
        raise AdminError("premium must not be negative")
    org = await find_org(session, insurer)
    if org.kind != OrgKind.INSURER:
        raise AdminError(f"{org.name} is not an insurer")
    p = await find_project(session, project)
    if (await session.execute(select(Policy).where(Policy.number == number))).first():
        raise AdminError(f"policy {number!r} exists")
    policy = Policy(
        number=number, project_id=p.id, insurer_org_id=org.id, premium=amount, start_date=start, end_date=end
    )
    session.add(policy)
    await session.flush()
    await audit.append(
        session,
        actor_id=None,
        action="policy.added",
        object_type="policy",
        object_id=policy.id,
        data={
            "number": number,
            "project": p.code,
            "premium": str(amount),
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )
    return policy


async def add_person(
    session: AsyncSession,
    *,
    name: str,
    org: str,
    phone: str | None = None,
    speciality: str | None = None,
    locale: str | None = None,
) -> Person:
    organisation = await find_org(session, org)
    person = Person(name=name, org_id=organisation.id, phone=phone, speciality=speciality, locale=locale)
    session.add(person)
    await session.flush()
    await audit.append(
        session,
        actor_id=None,
        action="person.added",
        object_type="person",
        object_id=person.id,
        data={"name": name, "org": organisation.name},
    )
    return person


async def invite(
    session: AsyncSession,
    *,
    project: str,
    person: str | None = None,
    role: str | None = None,
    days: int = 7,
    now: dt.datetime | None = None,
    code: str | None = None,
) -> tuple[str, Invite]:
    """A person invite (person + role + project) or, without a person, a group invite for the project's chat."""
    now = now or dt.datetime.now(dt.UTC)
    p = await find_project(session, project)
    person_row = None
    if person is not None:
        if role is None:
            raise AdminError("a person invite needs --role")
        try:
            r = Role(role)
        except ValueError:
            raise AdminError(f"role must be one of {', '.join(x.value for x in Role)}") from None
        person_row = await find_person(session, person)
        org = await session.get(Organisation, person_row.org_id)
        assert org is not None
        if not role_fits_org(r, OrgKind(org.kind)):
            raise AdminError(f"{person_row.name} works for a {org.kind}, which cannot hold the role {r.value}")
    code = code or new_code()
    inv = Invite(
        code_hash=hash_code(code),
        kind="person" if person_row else "group",
        person_id=person_row.id if person_row else None,
        role=role if person_row else None,
        project_id=p.id,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    session.add(inv)
    try:
        await session.flush()
    except IntegrityError:
        raise AdminError("that code is already in use") from None
    await audit.append(
        session,
        actor_id=None,
        action="invite.issued",
        object_type="invite",
        object_id=inv.id,
        data={
            "kind": inv.kind,
            "project": p.code,
            "person": inv.person_id,
            "role": inv.role,
            "expires": inv.expires_at.isoformat(),
        },
        at=now,
    )
    return code, inv


async def people(session: AsyncSession) -> list[tuple[Person, Organisation, list[tuple[str, str]]]]:
    rows = (
        await session.execute(
            select(Person, Organisation).join(Organisation, Organisation.id == Person.org_id).order_by(Person.id)
        )
    ).all()
    out = []
    for person, org in rows:
        ms = (
            await session.execute(
                select(Project.code, Membership.role)
                .join(Project, Project.id == Membership.project_id)
                .where(Membership.person_id == person.id, Membership.active.is_(True))
            )
        ).all()
        out.append((person, org, [(c, r) for c, r in ms]))
    return out


async def link_account(
    session: AsyncSession, channel: str, user_id: str, chat_id: str, person_id: int, now: dt.datetime
) -> None:
    """Development channels only (the web chat picks a person): the account becomes that person."""
    ident = (
        await session.execute(select(Identity).where(Identity.channel == channel, Identity.user_id == user_id))
    ).scalar_one_or_none()
    if ident is None:
        session.add(
            Identity(
                channel=channel, user_id=user_id, chat_id=chat_id, person_id=person_id, created_at=now, last_seen_at=now
            )
        )
    elif ident.person_id != person_id:
        raise AdminError("that account belongs to someone else")


async def grant(session: AsyncSession, *, person: str, project: str, role: str) -> Membership:
    """Operator grant of a role (the demo, migrations from older systems); audited like an invite."""
    p = await find_project(session, project)
    person_row = await find_person(session, person)
    r = Role(role)
    org = await session.get(Organisation, person_row.org_id)
    assert org is not None
    if not role_fits_org(r, OrgKind(org.kind)):
        raise AdminError(f"{person_row.name} works for a {org.kind}, which cannot hold the role {r.value}")
    m = Membership(person_id=person_row.id, project_id=p.id, role=r.value)
    session.add(m)
    await session.flush()
    await audit.append(
        session,
        actor_id=None,
        action="role.granted",
        object_type="person",
        object_id=person_row.id,
        data={"project": p.code, "role": r.value},
    )
    return m


async def bind_chat(
    session: AsyncSession, *, channel: str, chat_id: str, project: str, title: str | None
) -> ChatBinding:
    p = await find_project(session, project)
    b = ChatBinding(channel=channel, chat_id=chat_id, project_id=p.id, title=title)
    session.add(b)
    await session.flush()
    await audit.append(
        session,
        actor_id=None,
        action="group.bound",
        object_type="project",
        object_id=p.id,
        data={"channel": channel, "chat": chat_id},
    )
    return b


async def is_empty(session: AsyncSession) -> bool:
    return (await session.execute(select(Organisation.id).limit(1))).first() is None


async def channel_users(session: AsyncSession, channel: str, project: str) -> list[str]:
    """The chat accounts on one channel of a project's active members (for creating a group chat)."""
    p = await find_project(session, project)
    rows = await session.execute(
        select(Identity.user_id)
        .join(Membership, Membership.person_id == Identity.person_id)
        .where(
            Membership.project_id == p.id,
            Membership.active.is_(True),
            Identity.channel == channel,
            Identity.active.is_(True),
        )
        .distinct()
        .order_by(Identity.user_id)
    )
    return list(rows.scalars())


async def move_chat(session: AsyncSession, channel: str, old_chat_id: str, new_chat_id: str) -> None:
    """A group got a new id on its platform (Telegram: group → supergroup): its binding follows, and pending
    notices go to the new id."""
    binding = (
        await session.execute(
            select(ChatBinding).where(ChatBinding.channel == channel, ChatBinding.chat_id == old_chat_id)
        )
    ).scalar_one_or_none()
    if binding is None:
        return
    binding.chat_id = new_chat_id
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.chat_id == old_chat_id,
            OutboxMessage.status.in_(("pending", "sending")),
        )
        .values(chat_id=new_chat_id)
    )
    await audit.append(
        session,
        actor_id=None,
        action="group.moved",
        object_type="project",
        object_id=binding.project_id,
        data={"channel": channel, "from": old_chat_id, "to": new_chat_id},
    )
