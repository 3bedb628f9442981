"""The daily digest: non-urgent reminders wait here, one entry per person (queued by the clock's ledger,
`storage/reminder_log.py`), and go out as one message per person after their quiet hours."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select

from bot.domain.escalation import quiet_end
from bot.messages import Choices, from_json
from bot.notices import digest as wording
from storage.models import DigestItem, Person
from storage.outbox_store import notify_person
from storage.turn import Turn


async def send(t: Turn) -> int:
    """One message per person with everything queued for them; each waits until their quiet hours end."""
    local = t.now.astimezone(t.tz)
    pending = (
        (
            await t.s.execute(
                select(DigestItem).where(DigestItem.digest_key.is_(None)).order_by(DigestItem.person_id, DigestItem.id)
            )
        )
        .scalars()
        .all()
    )
    by_person: dict[int, list[DigestItem]] = defaultdict(list)
    for item in pending:
        by_person[item.person_id].append(item)
    for person_id, items in by_person.items():
        person = await t.s.get(Person, person_id)
        assert person is not None
        quiet = t.setup.quiet.of(person.quiet_start, person.quiet_end)
        when = quiet_end(local, quiet.start, quiet.end)
        key = f"digest:{local.date().isoformat()}:{items[0].id}"
        entries = [c for item in items for c in from_json(item.items) if isinstance(c, Choices)]
        await notify_person(t.s, person_id, key, [wording.digest(entries)], not_before=when.astimezone(dt.UTC))
        for item in items:
            item.digest_key = key
    return len(by_person)
