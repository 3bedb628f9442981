"""When the clock next has something to do for a row: `next_due_at`, under an index, on every table the clock
follows (hazards, visit tasks, revisits, complaints, training sessions, projects).

A sweep reads only the rows whose moment has come, deals with them and stores each one's next moment (or none),
so the work at 08:30 is proportional to what fell due, not to what is open. Rows are taken with SKIP LOCKED on
PostgreSQL: two instances sweeping at once take different rows (and the reminders' unique keys stay the guard).

A change to what the clock reads — a new row, a status, a deadline — puts the row back in front of the clock
(`RECONSIDER`, a moment long past) by itself, in the same flush (the listeners in `storage/models.py`): no
write path can forget to reschedule. The
clock may look too early (it then finds nothing to do and looks again later), never too late."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RECONSIDER, Complaint, Hazard, Project, Reminder, Revisit, TrainingSession, VisitTask

__all__ = ["RECONSIDER", "Swept", "done_keys", "due", "first_open", "store"]

Row = TypeVar("Row", Hazard, VisitTask, Revisit, Complaint, TrainingSession, Project)


@dataclass(frozen=True)
class Swept:
    """One batch of an area's sweep: how many rows it took (fewer than asked: the area is done for now) and how
    many milestones it dealt with."""

    taken: int
    handled: int


async def due(s: AsyncSession, model: type[Row], now: dt.datetime, limit: int) -> Sequence[Row]:
    """The rows whose moment has come, earliest first, at most `limit`."""
    query = (
        select(model)
        .where(model.next_due_at <= now)
        .order_by(model.next_due_at, model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer anyway
    )
    return (await s.execute(query)).scalars().all()


async def store(s: AsyncSession, model: type[Row], moments: Mapping[int, dt.datetime | None]) -> None:
    """Each row's next moment, in one statement. Not through the ORM: the clock's bookkeeping must not bump a
    hazard's version (a person's concurrent change would then be refused as stale)."""
    if not moments:
        return
    table = cast(Table, model.__table__)
    await s.execute(
        update(table).where(table.c.id == bindparam("row_id")).values(next_due_at=bindparam("moment")),
        [{"row_id": row_id, "moment": moment} for row_id, moment in moments.items()],
    )


async def done_keys(s: AsyncSession, object_type: str, ids: Iterable[int]) -> dict[int, set[str]]:
    """The reminder keys already recorded for these objects."""
    found: dict[int, set[str]] = {}
    wanted = list(ids)
    if wanted:
        rows = await s.execute(
            select(Reminder.object_id, Reminder.key).where(
                Reminder.object_type == object_type, Reminder.object_id.in_(wanted)
            )
        )
        for object_id, key in rows.all():
            found.setdefault(object_id, set()).add(key)
    return found


def first_open(marks: Iterable[tuple[str, dt.datetime]], done: set[str]) -> dt.datetime | None:
    """The earliest moment among the marks not yet dealt with."""
    return min((at for key, at in marks if key not in done), default=None)
