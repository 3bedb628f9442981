"""Outbox rows: written in the transaction of the change that causes them, delivered once per key."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Item, to_json
from bot.notices import unreachable
from storage.models import (
    CardMessage,
    ChatBinding,
    ChatOffer,
    Identity,
    Membership,
    OutboxMessage,
    Person,
    Project,
)

log = logging.getLogger(__name__)

URGENT = 10  # level-1 notices: before everything else, rerouted when not delivered in time
REPLY = 0  # replies to people and ordinary notices
BROADCAST = -1  # a broadcast never holds up a notice or a reply
STRANGER = -2  # replies to accounts nobody has invited rank below every notice


QUEUED = "outbox_queued"  # session.info: this session wrote rows a dispatcher pass must pick up


def _queued(session: AsyncSession) -> None:
    session.info[QUEUED] = True


def queued(session: AsyncSession) -> bool:
    """Whether this session wrote outbox rows for the dispatcher's passes (a reply sent at once is not one)."""
    return bool(session.info.get(QUEUED))


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    channel: str,
    chat_id: str,
    items: list[Item],
    person_id: int | None = None,
    locale: str | None = None,
    not_before: dt.datetime | None = None,
    priority: int = 0,
) -> bool:
    """Add a message unless one with the same key exists; True when added."""
    if (await session.execute(select(OutboxMessage.id).where(OutboxMessage.key == key))).first():
        return False
    add_new(
        session,
        key=key,
        channel=channel,
        chat_id=chat_id,
        items=items,
        person_id=person_id,
        locale=locale,
        not_before=not_before,
        priority=priority,
    )
    return True


def add_new(
    session: AsyncSession,
    *,
    key: str,
    channel: str,
    chat_id: str,
    items: list[Item],
    person_id: int | None = None,
    locale: str | None = None,
    not_before: dt.datetime | None = None,
    priority: int = 0,
    lease_until: dt.datetime | None = None,
) -> OutboxMessage:
    """A message whose key the caller knows is new (a reply: the update's own key). With `lease_until` it is
    taken by this process for sending right after the commit (a crash before it is sent lets the lease run out
    and a dispatcher sends it); without, it waits for the dispatcher's passes."""
    row = OutboxMessage(
        key=key,
        channel=channel,
        chat_id=chat_id,
        person_id=person_id,
        locale=locale,
        items=to_json(items),
        status="pending" if lease_until is None else "sending",
        attempts=0 if lease_until is None else 1,
        next_attempt_at=lease_until or not_before or dt.datetime.now(dt.UTC),
        priority=priority,
    )
    session.add(row)
    if lease_until is None:
        _queued(session)
    return row


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Thousands of new rows at once (a broadcast): keys are new by construction, so no look-up per row."""
    if rows:
        await session.execute(insert(OutboxMessage), rows)
        _queued(session)


async def private_chats(session: AsyncSession, person_id: int) -> list[Identity]:
    """The chat accounts a person uses, most recently used first."""
    rows = await session.execute(
        select(Identity)
        .where(Identity.person_id == person_id, Identity.active.is_(True))
        .order_by(Identity.last_seen_at.desc())
    )
    return list(rows.scalars())


@dataclass(frozen=True)
class Notice:
    """A notice to write: to a person's last-used chat (one notice per person, not one per account), or to each
    of a project's group chats. Its outbox keys are `key:p<person>` and `key:g<binding>`."""

    key: str
    items: Sequence[Item]
    priority: int = REPLY
    person_id: int | None = None
    project_id: int | None = None
    not_before: dt.datetime | None = None


async def write_notices(session: AsyncSession, notices: Sequence[Notice]) -> int:
    """Write notices in a handful of statements, whatever their number: the chats of all their people and
    projects in two queries, the keys already written in one, the new rows in one insert. A key that exists
    (the same notice written before, or twice here) is kept as it is. How many rows were added."""
    people = {n.person_id for n in notices if n.person_id is not None}
    projects = {n.project_id for n in notices if n.project_id is not None}
    chats: dict[int, Identity] = {}
    if people:
        for ident in (
            await session.execute(
                select(Identity)
                .where(Identity.person_id.in_(people), Identity.active.is_(True))
                .order_by(Identity.last_seen_at.desc(), Identity.id.desc())
            )
        ).scalars():
            chats.setdefault(ident.person_id, ident)
    groups: dict[int, list[ChatBinding]] = {pid: [] for pid in projects}
    if projects:
        for binding in (
            await session.execute(
                select(ChatBinding)
                .where(ChatBinding.project_id.in_(projects), ChatBinding.active.is_(True))
                .order_by(ChatBinding.id)
            )
        ).scalars():
            groups[binding.project_id].append(binding)
    rows: dict[str, dict[str, Any]] = {}
    now = dt.datetime.now(dt.UTC)
    for n in notices:
        items = to_json(list(n.items))
        common = {"items": items, "priority": n.priority, "next_attempt_at": n.not_before or now}
        if n.person_id is not None:
            chat = chats.get(n.person_id)
            if chat is None:
                log.info("person %s has no chat account yet; notice %s not deliverable", n.person_id, n.key)
                continue
            key = f"{n.key}:p{n.person_id}"
            row = {"key": key, "channel": chat.channel, "chat_id": chat.chat_id, "person_id": n.person_id}
            rows.setdefault(key, row | common)
        for b in groups.get(n.project_id, []) if n.project_id is not None else []:
            key = f"{n.key}:g{b.id}"
            rows.setdefault(key, {"key": key, "channel": b.channel, "chat_id": b.chat_id, "person_id": None} | common)
    keys = list(rows)
    for start in range(0, len(keys), 500):
        written = select(OutboxMessage.key).where(OutboxMessage.key.in_(keys[start : start + 500]))
        for existing in (await session.execute(written)).scalars():
            rows.pop(existing, None)
    if rows:
        await session.execute(insert(OutboxMessage), list(rows.values()))
        _queued(session)
    return len(rows)


async def notify_person(
    session: AsyncSession,
    person_id: int,
    key: str,
    items: list[Item],
    not_before: dt.datetime | None = None,
    priority: int = REPLY,
) -> bool:
    """To the chat the person used last (one notice per person, not one per account)."""
    notice = Notice(key, items, priority, person_id=person_id, not_before=not_before)
    return bool(await write_notices(session, [notice]))


async def notify_project_groups(
    session: AsyncSession, project_id: int, key: str, items: list[Item], priority: int = REPLY
) -> int:
    return await write_notices(session, [Notice(key, items, priority, project_id=project_id)])


# --- dispatcher side --------------------------------------------------------------------------------------


async def due(
    session: AsyncSession,
    now: dt.datetime,
    limit: int,
    *,
    channel: str | None = None,
    not_in: list[str] | None = None,
) -> Sequence[OutboxMessage]:
    """Pending rows whose time has come, most urgent first; of one channel, or of none of `not_in`."""
    query = select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
    if channel is not None:
        query = query.where(OutboxMessage.channel == channel)
    if not_in is not None:
        query = query.where(OutboxMessage.channel.not_in(not_in))
    rows = await session.execute(query.order_by(OutboxMessage.priority.desc(), OutboxMessage.id).limit(limit))
    return rows.scalars().all()


async def sent_since(session: AsyncSession, since: dt.datetime) -> list[tuple[str, str, dt.datetime]]:
    """(channel, chat, sent at) of what went out since `since`, oldest first."""
    rows = await session.execute(
        select(OutboxMessage.channel, OutboxMessage.chat_id, OutboxMessage.sent_at)
        .where(OutboxMessage.status == "sent", OutboxMessage.sent_at >= since)
        .order_by(OutboxMessage.sent_at)
    )
    return [(channel, chat, at) for channel, chat, at in rows.all() if at is not None]


async def claim_many(session: AsyncSession, ids: list[int], now: dt.datetime, lease: dt.timedelta) -> set[int]:
    """Atomically take pending rows; returns the ids this dispatcher got (a second dispatcher, or a second
    tick, gets none of them). The lease: a row left 'sending' by a crash is taken again once it has run out."""
    if not ids:
        return set()
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .values(status="sending", next_attempt_at=now + lease, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
    )
    return set(result.scalars())


async def unclaim(session: AsyncSession, message_id: int, at: dt.datetime) -> None:
    """Give a claimed row back untried (the channel was paused meanwhile); the attempt does not count."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "sending")
        .values(status="pending", next_attempt_at=at, attempts=OutboxMessage.attempts - 1)
    )


async def release_expired(session: AsyncSession, now: dt.datetime) -> int:
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.next_attempt_at <= now)
        .values(status="pending")
    )
    return int(getattr(result, "rowcount", 0))


async def mark_sent(session: AsyncSession, message_id: int, now: dt.datetime, ids: list[str]) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status="sent", sent_at=now, message_ids=ids, last_error=None)
    )


async def mark_retry(session: AsyncSession, message_id: int, at: dt.datetime, error: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status="pending", next_attempt_at=at, last_error=error[:500])
    )


async def defer(session: AsyncSession, message_id: int, at: dt.datetime) -> None:
    """Not yet: the platform's pace says later (no attempt is counted)."""
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(next_attempt_at=at))


async def mark_failed(session: AsyncSession, message_id: int, error: str) -> None:
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(status="failed", last_error=error[:500])
    )


async def note_error(session: AsyncSession, message_id: int, error: str) -> None:
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(last_error=error[:500]))


async def expire(session: AsyncSession, created_before: dt.datetime) -> dict[str, int]:
    """Give up the rows still waiting that were written before `created_before`; how many, per channel."""
    rows = (
        await session.execute(
            select(OutboxMessage.id, OutboxMessage.channel).where(
                OutboxMessage.status.in_(("pending", "sending")), OutboxMessage.created_at < created_before
            )
        )
    ).all()
    if not rows:
        return {}
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([r.id for r in rows]))
        .values(status="failed", last_error="expired: not delivered within the outbox's maximum age")
    )
    counts: dict[str, int] = {}
    for _, channel in rows:
        counts[channel] = counts.get(channel, 0) + 1
    return counts


async def reroute_stuck(
    session: AsyncSession, created_before: dt.datetime, now: dt.datetime, urgent: int
) -> list[tuple[str, str, int]]:
    """Urgent notices to a person still not delivered: a copy to each of their other accounts (once). Returns
    (person, channel, other accounts) of each."""
    stuck = (
        (
            await session.execute(
                select(OutboxMessage).where(
                    OutboxMessage.status.in_(("pending", "sending")),
                    OutboxMessage.priority >= urgent,
                    OutboxMessage.person_id.is_not(None),
                    OutboxMessage.rerouted_at.is_(None),
                    OutboxMessage.created_at < created_before,
                )
            )
        )
        .scalars()
        .all()
    )
    out: list[tuple[str, str, int]] = []
    for row in stuck:
        row.rerouted_at = now
        assert row.person_id is not None
        others = [
            i
            for i in await private_chats(session, row.person_id)
            if (i.channel, i.chat_id) != (row.channel, row.chat_id)
        ]
        for ident in others:
            session.add(
                OutboxMessage(
                    key=f"{row.key}:alt:{ident.channel}:{ident.chat_id}"[:200],
                    channel=ident.channel,
                    chat_id=ident.chat_id,
                    person_id=row.person_id,
                    locale=row.locale,
                    items=row.items,
                    next_attempt_at=now,
                    created_at=now,
                    priority=row.priority,
                    rerouted_at=now,  # a copy is not rerouted again
                )
            )
        person = await session.get(Person, row.person_id)
        out.append((person.name if person else str(row.person_id), row.channel, len(others)))
    return out


async def deactivate_chat(session: AsyncSession, channel: str, chat_id: str) -> None:
    """The platform says the bot may no longer write there (blocked, kicked)."""
    await session.execute(
        update(Identity).where(Identity.channel == channel, Identity.chat_id == chat_id).values(active=False)
    )
    await session.execute(
        update(ChatBinding).where(ChatBinding.channel == channel, ChatBinding.chat_id == chat_id).values(active=False)
    )


UNREACHABLE_ADMINS = ("project_manager", "agency_admin")


async def report_unreachable(session: AsyncSession, channel: str, chat_id: str) -> None:
    """Tell the project's admins that a group or a person can no longer be reached there, once per chat."""
    key = f"unreachable:{channel}:{chat_id}"
    binding = (
        await session.execute(select(ChatBinding).where(ChatBinding.channel == channel, ChatBinding.chat_id == chat_id))
    ).scalar_one_or_none()
    item: Item
    if binding is not None:
        project = await session.get(Project, binding.project_id)
        assert project is not None
        projects = [project.id]
        item = unreachable.group_unreachable(binding.title or chat_id, project.name)
    else:
        ident = (
            (await session.execute(select(Identity).where(Identity.channel == channel, Identity.chat_id == chat_id)))
            .scalars()
            .first()
        )
        if ident is None:
            return
        person = await session.get(Person, ident.person_id)
        assert person is not None
        projects = list(
            (
                await session.execute(
                    select(Membership.project_id).where(Membership.person_id == person.id, Membership.active.is_(True))
                )
            ).scalars()
        )
        item = unreachable.person_blocked(person.name, channel)
    admins = (
        (
            await session.execute(
                select(Membership.person_id)
                .where(
                    Membership.project_id.in_(projects),
                    Membership.role.in_(UNREACHABLE_ADMINS),
                    Membership.active.is_(True),
                )
                .distinct()
            )
        )
        .scalars()
        .all()
    )
    for admin_id in admins:
        await notify_person(session, admin_id, key, [item])


async def recipient_locales(session: AsyncSession, person_ids: set[int]) -> dict[int, str | None]:
    if not person_ids:
        return {}
    rows = await session.execute(select(Person.id, Person.locale).where(Person.id.in_(person_ids)))
    return {pid: loc for pid, loc in rows.all()}


async def card_message(session: AsyncSession, channel: str, chat_id: str, card_key: str) -> str | None:
    return (
        await session.execute(
            select(CardMessage.message_id).where(
                CardMessage.channel == channel, CardMessage.chat_id == chat_id, CardMessage.card_key == card_key
            )
        )
    ).scalar_one_or_none()


async def remember_card(session: AsyncSession, channel: str, chat_id: str, card_key: str, message_id: str) -> None:
    row = await session.get(CardMessage, (channel, chat_id, card_key))
    if row is None:
        session.add(CardMessage(channel=channel, chat_id=chat_id, card_key=card_key, message_id=message_id))
    else:
        row.message_id = message_id


async def remember_offers(
    session: AsyncSession, channel: str, chat_id: str, offers: list[Any], now: dt.datetime
) -> None:
    row = await session.get(ChatOffer, (channel, chat_id))
    if row is None:
        session.add(ChatOffer(channel=channel, chat_id=chat_id, options=offers, updated_at=now))
    else:
        row.options = offers
        row.updated_at = now


async def offers_for(session: AsyncSession, channel: str, chat_id: str) -> list[tuple[str, str]]:
    row = await session.get(ChatOffer, (channel, chat_id))
    return [(v, label) for v, label in row.options] if row else []


async def record_progress(session: AsyncSession, message_id: int, ids: list[str]) -> None:
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(message_ids=ids))


async def pending_count(session: AsyncSession) -> int:
    return int(
        (
            await session.execute(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(("pending", "sending")))
            )
        ).scalar_one()
    )
