"""The clock's log: each milestone of each object is dealt with once, under an idempotency key (a second sweep,
or a second process, finds the row and does nothing)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Reminder


async def recorded(s: AsyncSession, key: str) -> bool:
    return (await s.execute(select(Reminder.id).where(Reminder.key == key))).first() is not None


async def record(
    s: AsyncSession,
    key: str,
    object_type: str,
    object_id: int,
    milestone: str,
    due_at: dt.datetime,
    status: str,
    now: dt.datetime,
) -> Reminder:
    """One milestone dealt with (sent, queued for the digest, or superseded), under its idempotency key."""
    reminder = Reminder(
        key=key,
        object_type=object_type,
        object_id=object_id,
        milestone=milestone,
        due_at=due_at,
        status=status,
        created_at=now,
    )
    s.add(reminder)
    await s.flush()
    return reminder
