"""The daily digest: non-urgent reminders wait here, one entry per person (queued by the clock's ledger,
`storage/reminder_log.py`), and go out as one message per person after their quiet hours.

Sent in batches of people, each its own short transaction, like the sweeps: 4,000 people's digests at 09:00
never hold the database's write lock for long."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update

from bot.domain.escalation import quiet_end
from bot.messages import Choices, from_json
from bot.notices import digest as wording
from storage.models import DigestItem, Person
from storage.outbox_store import Notice, write_notices
from storage.schedule import Swept
from storage.turn import Turn


async def send(t: Turn, limit: int) -> Swept:
    """One message per person with everything queued for them, for at most `limit` people; each waits until
    their quiet hours end."""
    local = t.now.astimezone(t.tz)
    people = list(
        (
            await t.s.execute(
                select(DigestItem.person_id)
                .where(DigestItem.digest_key.is_(None))
                .group_by(DigestItem.person_id)
                .order_by(DigestItem.person_id)
                .limit(limit)
            )
        ).scalars()
    )
    if not people:
        return Swept(0, 0)
    pending = await t.s.execute(
        select(DigestItem.id, DigestItem.person_id, DigestItem.items)
        .where(DigestItem.digest_key.is_(None), DigestItem.person_id.in_(people))
        .order_by(DigestItem.person_id, DigestItem.id)
    )
    by_person: dict[int, list[tuple[int, list[dict[str, Any]]]]] = defaultdict(list)
    for item_id, person_id, items in pending.all():
        by_person[person_id].append((item_id, items))
    quiet_of = {
        p.id: t.setup.quiet.of(p.quiet_start, p.quiet_end)
        for p in (await t.s.execute(select(Person).where(Person.id.in_(people)))).scalars()
    }
    notices: list[Notice] = []
    marks: list[dict[str, Any]] = []
    for person_id, items in by_person.items():
        quiet = quiet_of[person_id]
        when = quiet_end(local, quiet.start, quiet.end)
        key = f"digest:{local.date().isoformat()}:{items[0][0]}"
        entries = [c for _, raw in items for c in from_json(raw) if isinstance(c, Choices)]
        notices.append(Notice(key, [wording.digest(entries)], person_id=person_id, not_before=when.astimezone(dt.UTC)))
        marks += [{"item_id": item_id, "digest": key} for item_id, _ in items]
    await write_notices(t.s, notices)
    table = cast(Table, DigestItem.__table__)
    await t.s.execute(
        update(table).where(table.c.id == bindparam("item_id")).values(digest_key=bindparam("digest")), marks
    )
    return Swept(len(people), len(by_person))
