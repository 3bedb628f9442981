"""The clock's log: each milestone of each object is dealt with once, under an idempotency key (a second sweep,
or a second process, finds the row and does nothing).

A sweep batch records into a `Ledger` and writes it once at the batch's end: one statement for its reminders
and one for the digest entries they queue, however many hazards fell due together."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Choices, to_json
from storage.models import DigestItem, Reminder


@dataclass
class Ledger:
    s: AsyncSession
    object_type: str
    now: dt.datetime
    _rows: list[dict[str, Any]] = field(default_factory=list)
    _digest: list[tuple[str, list[int], list[Any]]] = field(default_factory=list)

    def record(self, key: str, object_id: int, milestone: str, due_at: dt.datetime, status: str) -> None:
        """One milestone dealt with: sent, queued for the digest, or superseded by a later one."""
        self._rows.append(
            {
                "key": key,
                "object_type": self.object_type,
                "object_id": object_id,
                "milestone": milestone,
                "due_at": due_at,
                "status": status,
                "created_at": self.now,
            }
        )

    def digest(
        self, key: str, object_id: int, milestone: str, due_at: dt.datetime, people: list[int], entry: Choices
    ) -> None:
        """A non-urgent milestone: recorded, and `entry` (a line and its buttons) goes into each person's next
        daily digest."""
        self.record(key, object_id, milestone, due_at, "digest")
        self._digest.append((key, people, to_json([entry])))

    async def write(self) -> None:
        """Everything recorded, in two statements; a key another sweep recorded first fails the whole batch
        (IntegrityError), which then changes nothing."""
        if not self._rows:
            return
        result = await self.s.execute(insert(Reminder).returning(Reminder.key, Reminder.id), self._rows)
        ids: dict[str, int] = {key: row_id for key, row_id in result.all()}
        items = [
            {"person_id": pid, "reminder_id": ids[key], "created_at": self.now, "items": entry}
            for key, people, entry in self._digest
            for pid in people
        ]
        if items:
            await self.s.execute(insert(DigestItem), items)
        self._rows, self._digest = [], []
