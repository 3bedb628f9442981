"""Broadcasts (通知群发): an insurer, association or authority sends one notice to the chats of many projects.

The audience is always cut to the sender's reach first — an insurer's projects in force, an authority's or
association's region — and only then narrowed by the chosen scope. One transaction writes the broadcast, its
targets and one outbox row per chat (at a priority below every interactive message), so a crash leaves either
nothing or a complete, resumable delivery.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.broadcast import (
    MAX_LIST,
    MAX_TEXT,
    RISKS,
    TARGET_ROLES,
    Scope,
    Target,
    estimate_seconds,
    may_broadcast,
    parse_codes,
)
from bot.domain.levels import Status
from bot.messages import to_json
from bot.notices.broadcasts import broadcast_items
from bot.ports import AccessDenied, BroadcastDraft, BroadcastInfo, BroadcastPreview, NotFound, PersonInfo, ServiceError
from storage.models import (
    Broadcast,
    BroadcastTarget,
    ChatBinding,
    Hazard,
    Identity,
    Membership,
    Organisation,
    OutboxMessage,
    Person,
    Policy,
    Project,
)
from storage.outbox_store import BROADCAST, enqueue_many
from storage.turn import Area

SILENT_SHOWN = 10


@dataclass(frozen=True)
class _Chat:
    project_id: int
    kind: str  # group | person
    channel: str
    chat_id: str
    person_id: int | None


async def _sender_org(s: AsyncSession, person: PersonInfo) -> Organisation:
    row = (
        await s.execute(
            select(Organisation).join(Person, Person.org_id == Organisation.id).where(Person.id == person.id)
        )
    ).scalar_one()
    if not may_broadcast(row.kind):
        raise AccessDenied("broadcast")
    return row


def _reach(org: Organisation, today: dt.date) -> Select[Any]:
    """The projects this organisation may address at all."""
    if org.kind == "insurer":
        insured = select(Policy.project_id).where(Policy.insurer_org_id == org.id, Policy.end_date >= today)
        return select(Project.id).where(Project.id.in_(insured))
    if not org.region:  # an authority or association without a region reaches no one
        return select(Project.id).where(Project.id.is_(None))
    return select(Project.id).where(Project.region.startswith(org.region, autoescape=True))


def _validate(draft: BroadcastDraft) -> None:
    if not draft.text.strip() or len(draft.text) > MAX_TEXT:
        raise ServiceError("broadcast_text")
    if draft.scope not in set(Scope) or not draft.targets or not set(draft.targets) <= set(Target):
        raise ServiceError("broadcast_audience")
    if draft.scope == Scope.RISK and draft.value not in RISKS:
        raise ServiceError("broadcast_audience")
    if draft.scope in (Scope.REGION, Scope.LIST) and not draft.value.strip():
        raise ServiceError("broadcast_audience")


async def _audience(
    s: AsyncSession, org: Organisation, draft: BroadcastDraft, today: dt.date
) -> tuple[Select[Any], tuple[str, ...]]:
    """The chosen projects (a select of ids) and, for a typed list, the codes that are not in reach."""
    reach = _reach(org, today)
    chosen = select(Project.id).where(Project.id.in_(reach))
    unknown: tuple[str, ...] = ()
    if draft.scope == Scope.REGION:
        chosen = chosen.where(Project.region.startswith(draft.value, autoescape=True))
    elif draft.scope == Scope.RISK:
        chosen = chosen.where(Project.risk == draft.value)
    elif draft.scope == Scope.OPEN:
        serious = exists().where(
            Hazard.project_id == Project.id, Hazard.level.in_((1, 2)), Hazard.status != Status.CLOSED.value
        )
        chosen = chosen.where(serious)
    elif draft.scope == Scope.LIST:
        codes = parse_codes(draft.value)[:MAX_LIST]
        chosen = chosen.where(Project.code.in_(codes))
        found = set((await s.execute(select(Project.code).where(Project.id.in_(chosen)))).scalars())
        unknown = tuple(c for c in codes if c not in found)
    return chosen, unknown


async def _chats(s: AsyncSession, projects: Select[Any], targets: Sequence[str]) -> tuple[list[_Chat], int]:
    """One entry per chat (a person who manages two projects gets the notice once), and how many chosen people
    have no chat account to receive it."""
    chats: dict[tuple[str, str], _Chat] = {}
    if Target.GROUP in targets:
        rows = await s.execute(
            select(ChatBinding.project_id, ChatBinding.channel, ChatBinding.chat_id)
            .where(ChatBinding.project_id.in_(projects), ChatBinding.active.is_(True))
            .order_by(ChatBinding.project_id, ChatBinding.id)
        )
        for project_id, channel, chat_id in rows.all():
            chats.setdefault((channel, chat_id), _Chat(project_id, "group", channel, chat_id, None))
    roles = [TARGET_ROLES[Target(t)].value for t in targets if Target(t) in TARGET_ROLES]
    unreachable = 0
    if roles:
        members = (
            select(Membership.person_id, func.min(Membership.project_id).label("project_id"))
            .where(Membership.project_id.in_(projects), Membership.role.in_(roles), Membership.active.is_(True))
            .group_by(Membership.person_id)
            .subquery()
        )
        people = await s.execute(
            select(members.c.person_id, members.c.project_id, Identity.channel, Identity.chat_id)
            .outerjoin(Identity, (Identity.person_id == members.c.person_id) & Identity.active.is_(True))
            .order_by(members.c.person_id, Identity.last_seen_at.desc())
        )
        seen: set[int] = set()
        for person_id, project_id, channel, chat_id in people.all():
            if person_id in seen:
                continue  # the chat the person used last, as for every other notice
            seen.add(person_id)
            if channel is None:
                unreachable += 1
                continue
            chats.setdefault((channel, chat_id), _Chat(project_id, "person", channel, chat_id, person_id))
    return list(chats.values()), unreachable


def _per_channel(chats: list[_Chat]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in chats:
        counts[c.channel] = counts.get(c.channel, 0) + 1
    return dict(sorted(counts.items()))


def _outbox_row(key: str, c: _Chat, items: list[Any], now: dt.datetime, broadcast_id: int) -> dict[str, Any]:
    return {
        "key": key,
        "channel": c.channel,
        "chat_id": c.chat_id,
        "person_id": c.person_id,
        "locale": None,
        "items": items,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "priority": BROADCAST,
        "broadcast_id": broadcast_id,
    }


async def _own(s: AsyncSession, person: PersonInfo, broadcast_id: int) -> Broadcast:
    """A broadcast of the person's own organisation (the sender's colleagues follow it too)."""
    org = await _sender_org(s, person)
    b = await s.get(Broadcast, broadcast_id)
    if b is None or b.org_id != org.id:
        raise NotFound("broadcast")
    return b


def reason(error: str | None) -> str:
    """A stable code for why a chat could not be reached (the handler words it)."""
    text = (error or "").lower()
    if text.startswith("forbidden"):
        return "blocked"
    if "not found" in text or "chat not found" in text or "deactivated" in text:
        return "gone"
    return "error"


async def info(s: AsyncSession, b: Broadcast, detail: bool = False) -> BroadcastInfo:
    status_rows = await s.execute(
        select(OutboxMessage.status, func.count())
        .join(BroadcastTarget, BroadcastTarget.outbox_key == OutboxMessage.key)
        .where(BroadcastTarget.broadcast_id == b.id)
        .group_by(OutboxMessage.status)
    )
    by_status = {status: n for status, n in status_rows.all()}
    acked = (
        await s.execute(
            select(func.count()).where(BroadcastTarget.broadcast_id == b.id, BroadcastTarget.acked_at.is_not(None))
        )
    ).scalar_one()
    sender = (await s.execute(select(Person.name).where(Person.id == b.sender_id))).scalar_one()
    failures: dict[str, int] = {}
    silent: list[str] = []
    if detail:
        errors = await s.execute(
            select(OutboxMessage.last_error)
            .join(BroadcastTarget, BroadcastTarget.outbox_key == OutboxMessage.key)
            .where(BroadcastTarget.broadcast_id == b.id, OutboxMessage.status == "failed")
        )
        for (error,) in errors.all():
            code = reason(error)
            failures[code] = failures.get(code, 0) + 1
        if b.needs_ack:
            rows = await s.execute(
                select(Project.name, ChatBinding.title, Person.name, BroadcastTarget.chat_id)
                .join(Project, Project.id == BroadcastTarget.project_id)
                .outerjoin(
                    ChatBinding,
                    (ChatBinding.channel == BroadcastTarget.channel) & (ChatBinding.chat_id == BroadcastTarget.chat_id),
                )
                .outerjoin(Person, Person.id == BroadcastTarget.person_id)
                .where(BroadcastTarget.broadcast_id == b.id, BroadcastTarget.acked_at.is_(None))
                .order_by(BroadcastTarget.id)
                .limit(SILENT_SHOWN)
            )
            silent = [f"{project} · {person or title or chat}" for project, title, person, chat in rows.all()]
    total = sum(by_status.values())
    return BroadcastInfo(
        id=b.id,
        text=b.text,
        created_at=b.created_at,
        sender=sender,
        targets=total,
        queued=by_status.get("pending", 0) + by_status.get("sending", 0),
        sent=by_status.get("sent", 0),
        failed=by_status.get("failed", 0),
        acked=acked,
        needs_ack=b.needs_ack,
        failures=tuple(sorted(failures.items())),
        silent=tuple(silent),
    )


class Broadcasts(Area):
    async def regions(self, person: PersonInfo) -> list[str]:
        org = await _sender_org(self.s, person)
        reach = _reach(org, self.t.today)
        rows = await self.s.execute(
            select(Project.region)
            .where(Project.id.in_(reach), Project.region != "")
            .distinct()
            .order_by(Project.region)
        )
        return list(rows.scalars())

    async def preview(self, person: PersonInfo, draft: BroadcastDraft) -> BroadcastPreview:
        s = self.s
        org = await _sender_org(s, person)
        _validate(draft)
        projects, unknown = await _audience(s, org, draft, self.t.today)
        n_projects = (await s.execute(select(func.count()).select_from(projects.subquery()))).scalar_one()
        chats, unreachable = await _chats(s, projects, draft.targets)
        counts = _per_channel(chats)
        seconds = estimate_seconds(counts, self.t.setup.send_rates)
        return BroadcastPreview(n_projects, tuple(counts.items()), unreachable, unknown, seconds)

    async def send(self, person: PersonInfo, draft: BroadcastDraft) -> BroadcastInfo:
        """Write the broadcast, its targets and their outbox rows."""
        s, now, today = self.s, self.now, self.t.today
        org = await _sender_org(s, person)
        _validate(draft)
        projects, _ = await _audience(s, org, draft, today)
        chats, unreachable = await _chats(s, projects, draft.targets)
        if not chats:
            raise ServiceError("broadcast_empty")
        b = Broadcast(
            sender_id=person.id,
            org_id=org.id,
            text=draft.text.strip(),
            media_sha=draft.media,
            media_kind=draft.media_kind,
            media_name=draft.media_name,
            audience={"scope": draft.scope, "value": draft.value},
            targets=list(draft.targets),
            needs_ack=draft.needs_ack,
            created_at=now,
            projects=len({c.project_id for c in chats}),
        )
        s.add(b)
        await s.flush()
        media = (draft.media, draft.media_kind or "photo", draft.media_name) if draft.media else None
        items = to_json(broadcast_items(b.id, org.name, b.text, b.needs_ack, media))
        targets: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for c in chats:
            key = f"bc:{b.id}:{c.channel}:{c.chat_id}"
            targets.append(
                {
                    "broadcast_id": b.id,
                    "project_id": c.project_id,
                    "kind": c.kind,
                    "channel": c.channel,
                    "chat_id": c.chat_id,
                    "person_id": c.person_id,
                    "outbox_key": key,
                }
            )
            rows.append(_outbox_row(key, c, items, now, b.id))
        await s.execute(insert(BroadcastTarget), targets)
        await enqueue_many(s, rows)
        await self.t.audit(
            "broadcast.sent",
            "broadcast",
            b.id,
            actor=person.id,
            data={
                "org": org.name,
                "text": b.text,
                "media": draft.media,
                "audience": b.audience,
                "targets": b.targets,
                "needs_ack": b.needs_ack,
                "projects": b.projects,
                "chats": _per_channel(chats),
                "unreachable": unreachable,
            },
        )
        return await info(s, b, detail=True)

    async def recent(self, person: PersonInfo, limit: int = 5) -> list[BroadcastInfo]:
        org = await _sender_org(self.s, person)
        rows = await self.s.execute(
            select(Broadcast).where(Broadcast.org_id == org.id).order_by(Broadcast.id.desc()).limit(limit)
        )
        return [await info(self.s, b) for b in rows.scalars()]

    async def find(self, person: PersonInfo, broadcast_id: int) -> BroadcastInfo:
        return await info(self.s, await _own(self.s, person, broadcast_id), detail=True)

    async def acknowledge(self, person: PersonInfo, broadcast_id: int, channel: str, chat_id: str) -> bool:
        """The receipt of one chat; True the first time. In a group, the first bound person to press signs for it."""
        s, now = self.s, self.now
        target = (
            await s.execute(
                select(BroadcastTarget).where(
                    BroadcastTarget.broadcast_id == broadcast_id,
                    BroadcastTarget.channel == channel,
                    BroadcastTarget.chat_id == chat_id,
                )
            )
        ).scalar_one_or_none()
        if target is None:
            raise NotFound("broadcast")
        if target.person_id is not None and target.person_id != person.id:
            raise AccessDenied("broadcast")
        if target.acked_at is not None:
            return False
        target.acked_at = now
        target.acked_by = person.id
        await self.t.audit(
            "broadcast.acknowledged",
            "broadcast",
            broadcast_id,
            actor=person.id,
            data={"channel": channel, "chat_id": chat_id, "project_id": target.project_id},
        )
        return True

    async def renotify(self, person: PersonInfo, broadcast_id: int) -> int:
        """Send the notice again, as a reminder, only to the chats that received it and have not confirmed."""
        s, now = self.s, self.now
        b = await _own(s, person, broadcast_id)
        if not b.needs_ack:
            raise ServiceError("broadcast_no_ack")
        silent = (
            await s.execute(
                select(BroadcastTarget)
                .join(OutboxMessage, OutboxMessage.key == BroadcastTarget.outbox_key)
                .where(
                    BroadcastTarget.broadcast_id == b.id,
                    BroadcastTarget.acked_at.is_(None),
                    OutboxMessage.status == "sent",
                )
                .order_by(BroadcastTarget.id)
            )
        ).scalars()
        targets = list(silent)
        if not targets:
            return 0
        b.renotified += 1
        round_no = b.renotified
        org_name = (await s.execute(select(Organisation.name).where(Organisation.id == b.org_id))).scalar_one()
        media = (b.media_sha, b.media_kind or "photo", b.media_name) if b.media_sha else None
        items = to_json(broadcast_items(b.id, org_name, b.text, True, media, reminder=True))
        rows = [
            _outbox_row(
                f"bc:{b.id}:r{round_no}:{t.channel}:{t.chat_id}",
                _Chat(t.project_id, t.kind, t.channel, t.chat_id, t.person_id),
                items,
                now,
                b.id,
            )
            for t in targets
        ]
        await enqueue_many(s, rows)
        await self.t.audit(
            "broadcast.renotified", "broadcast", b.id, actor=person.id, data={"round": round_no, "chats": len(rows)}
        )
        return len(rows)
