"""People, chat accounts and group chats: joining with an invite code, binding a group to its project, a
person's language and quiet hours, and which projects (with which roles) a person is in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.roles import Action, Role, allowed
from bot.ports import AccessDenied, InviteProblem, NotFound, PersonInfo, ProjectInfo
from storage import admin, members, throttle
from storage.invite_codes import hash_code
from storage.models import ChatBinding, Identity, Invite, Membership, Organisation, Person, Project
from storage.turn import Area

SEEN_GRAIN = dt.timedelta(minutes=1)


def _minutes(wait: dt.timedelta) -> int:
    return max(1, -(-int(wait.total_seconds()) // 60))


async def person_info(s: AsyncSession, person_id: int) -> PersonInfo:
    person, org = (
        await s.execute(
            select(Person, Organisation)
            .join(Organisation, Organisation.id == Person.org_id)
            .where(Person.id == person_id)
        )
    ).one()
    return PersonInfo(person.id, person.name, person.locale, org.name, org.kind)


async def project_info(s: AsyncSession, project_id: int, roles: frozenset[Role] = frozenset()) -> ProjectInfo:
    p = await s.get(Project, project_id)
    if p is None:
        raise NotFound("project")
    return ProjectInfo(p.id, p.code, p.name, p.address, roles)


async def _identity(s: AsyncSession, channel: str, user_id: str) -> Identity | None:
    return (
        await s.execute(select(Identity).where(Identity.channel == channel, Identity.user_id == user_id))
    ).scalar_one_or_none()


async def person_for_account(s: AsyncSession, channel: str, user_id: str) -> PersonInfo | None:
    ident = await _identity(s, channel, user_id)
    return await person_info(s, ident.person_id) if ident is not None else None


async def picker(s: AsyncSession, channel: str) -> list[dict[str, Any]]:
    """The web chat's person picker: everyone, their roles, and the channel's group chats of their projects."""
    groups = (
        await s.execute(
            select(ChatBinding.chat_id, ChatBinding.title, Project.id, Project.name)
            .join(Project, Project.id == ChatBinding.project_id)
            .where(ChatBinding.channel == channel, ChatBinding.active.is_(True))
        )
    ).all()
    member_of: dict[int, set[int]] = {}
    for pid, proj in (
        await s.execute(select(Membership.person_id, Membership.project_id).where(Membership.active.is_(True)))
    ).all():
        member_of.setdefault(pid, set()).add(proj)
    return [
        {
            "id": p.id,
            "name": p.name,
            "org": org.name,
            "roles": [f"{code}:{role}" for code, role in roles],
            "groups": [
                {"chat": chat, "title": title or name}
                for chat, title, proj, name in groups
                if proj in member_of.get(p.id, set())
            ],
        }
        for p, org, roles in await admin.people(s)
    ]


class People(Area):
    async def account(self, channel: str, user_id: str) -> PersonInfo | None:
        """The person behind a chat account, marking the account as just used (notices follow the last one;
        to the minute: a message a few seconds after the last one changes nothing worth a write)."""
        found = (
            await self.s.execute(
                select(Identity, Person, Organisation)
                .join(Person, Person.id == Identity.person_id)
                .join(Organisation, Organisation.id == Person.org_id)
                .where(Identity.channel == channel, Identity.user_id == user_id)
            )
        ).one_or_none()
        if found is None:
            return None
        ident, person, org = found
        if self.now - ident.last_seen_at >= SEEN_GRAIN:
            ident.last_seen_at = self.now
        return PersonInfo(person.id, person.name, person.locale, org.name, org.kind)

    async def _invite(self, code: str, kind: str, channel: str, account: str, chat_id: str) -> Invite:
        """The invite a code names. Wrong codes are counted per account and per chat: past a few, every code from
        there is refused for a while (the right one too), so codes cannot be guessed."""
        keys = [f"invite:{channel}:{account}", f"invite:{channel}:chat:{chat_id}"]
        wait = await throttle.waiting(self.s, keys, self.now)
        if wait is not None:
            raise InviteProblem("throttled", minutes=_minutes(wait))
        inv = (await self.s.execute(select(Invite).where(Invite.code_hash == hash_code(code)))).scalar_one_or_none()
        problem = (
            "unknown"
            if inv is None
            else "used"
            if inv.used_at is not None
            else "expired"
            if inv.expires_at <= self.now
            else "wrong_kind"
            if inv.kind != kind
            else None
        )
        if problem is None and inv is not None:
            return inv
        wait = await throttle.wrong(self.s, keys, self.now)
        if wait is not None:
            await self.t.audit("invite.throttled", "account", f"{channel}:{account}"[:60], data={"chat": chat_id})
            raise InviteProblem("throttled", minutes=_minutes(wait))
        raise InviteProblem(problem or "unknown")

    async def redeem_invite(
        self, channel: str, user_id: str, chat_id: str, code: str
    ) -> tuple[PersonInfo, ProjectInfo, Role]:
        inv = await self._invite(code, "person", channel, user_id, chat_id)
        assert inv.person_id is not None and inv.role is not None
        ident = await _identity(self.s, channel, user_id)
        if ident is not None and ident.person_id != inv.person_id:
            # A chat account is one person for good; nobody takes over someone else's account or roles.
            raise InviteProblem("already_bound")
        if ident is None:
            self.s.add(
                Identity(
                    channel=channel,
                    user_id=user_id,
                    chat_id=chat_id,
                    person_id=inv.person_id,
                    created_at=self.now,
                    last_seen_at=self.now,
                )
            )
        else:
            ident.active = True
            ident.chat_id = chat_id
        role = Role(inv.role)
        existing = (
            await self.s.execute(
                select(Membership).where(
                    Membership.person_id == inv.person_id,
                    Membership.project_id == inv.project_id,
                    Membership.role == role.value,
                )
            )
        ).scalar_one_or_none()
        if existing is None:
            self.s.add(
                Membership(
                    person_id=inv.person_id,
                    project_id=inv.project_id,
                    role=role.value,
                    granted_at=self.now,
                    invite_id=inv.id,
                )
            )
        else:
            existing.active = True
        inv.used_at = self.now
        inv.used_by = f"{channel}:{user_id}"
        await self.s.flush()
        await self.t.audit(
            "invite.redeemed",
            "invite",
            inv.id,
            actor=inv.person_id,
            data={"channel": channel, "role": role.value, "project": inv.project_id},
        )
        person = await person_info(self.s, inv.person_id)
        roles = await members.roles_in(self.s, person.id, inv.project_id)
        return person, await project_info(self.s, inv.project_id, roles), role

    async def bind_group(
        self, person: PersonInfo, channel: str, chat_id: str, code: str, title: str | None
    ) -> ProjectInfo:
        inv = await self._invite(code, "group", channel, f"p{person.id}", chat_id)
        roles = await members.roles_in(self.s, person.id, inv.project_id)
        if not allowed(roles, Action.BIND_GROUP):
            raise AccessDenied(Action.BIND_GROUP)
        binding = (
            await self.s.execute(
                select(ChatBinding).where(ChatBinding.channel == channel, ChatBinding.chat_id == chat_id)
            )
        ).scalar_one_or_none()
        if binding is not None and binding.active and binding.project_id != inv.project_id:
            raise InviteProblem("already_bound")
        if binding is None:
            binding = ChatBinding(
                channel=channel,
                chat_id=chat_id,
                project_id=inv.project_id,
                title=title,
                bound_by=person.id,
                created_at=self.now,
            )
            self.s.add(binding)
        else:
            binding.project_id, binding.active, binding.bound_by = inv.project_id, True, person.id
        inv.used_at = self.now
        inv.used_by = f"{channel}:{chat_id}"
        await self.s.flush()
        await self.t.audit(
            "group.bound", "project", inv.project_id, actor=person.id, data={"channel": channel, "chat": chat_id}
        )
        return await project_info(self.s, inv.project_id, roles)

    async def group_project(self, channel: str, chat_id: str) -> ProjectInfo | None:
        binding = (
            await self.s.execute(
                select(ChatBinding).where(
                    ChatBinding.channel == channel,
                    ChatBinding.chat_id == chat_id,
                    ChatBinding.active.is_(True),
                )
            )
        ).scalar_one_or_none()
        return await project_info(self.s, binding.project_id) if binding else None

    async def _row(self, person: PersonInfo) -> Person:
        row = await self.s.get(Person, person.id)
        assert row is not None
        return row

    async def set_locale(self, person: PersonInfo, locale: str) -> None:
        (await self._row(person)).locale = locale

    async def set_quiet_hours(self, person: PersonInfo, start: str | None, end: str | None) -> None:
        row = await self._row(person)
        row.quiet_start, row.quiet_end = start, end

    async def roles_in(self, person: PersonInfo, project_id: int) -> frozenset[Role]:
        return await members.roles_in(self.s, person.id, project_id)

    async def projects(self, person: PersonInfo, action: Action | None = None) -> list[ProjectInfo]:
        return [
            await project_info(self.s, project_id, roles)
            for project_id, roles in (await members.projects_of(self.s, person.id)).items()
            if action is None or allowed(roles, action)
        ]
