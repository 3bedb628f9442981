"""What the clock does: the area sweeps, in order, each in small committed batches; and the daily digest.

Each sweep (`sweep(turn, limit) -> Swept`) takes at most `limit` rows whose stored next moment has come, records
each milestone once under its key, writes the notices and stores each row's next moment; the clock itself holds
no state. A batch is one short transaction, and between batches the clock lets waiting messages go first: it
never holds the database's write lock for long. Safe to run twice at once: the second run finds the first one's
records (SQLite serialises writers; on PostgreSQL rows are taken with SKIP LOCKED and the unique key refuses a
duplicate)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.deployment import Deployment
from bot.notices import operator as wording
from bot.outbox import Operator
from storage import audit, complaints, digest, hazards, plans, revisits, training, visits
from storage.inbox import KEEP
from storage.models import ProcessedUpdate
from storage.schedule import Swept
from storage.turn import Turn, work

log = logging.getLogger(__name__)

Sweep = Callable[[Turn, int], Awaitable[Swept]]
BATCH = 200  # rows per transaction: a batch of due hazards with their notices takes about 0.1 s
DIGEST_BATCH = 500  # people per transaction for the daily digest

SWEEPS: tuple[Sweep, ...] = (
    visits.sweep,  # what closed visits still owe
    plans.sweep,  # quarters whose full inspection is not scheduled
    revisits.sweep,  # revisit surveys to ask, ask again, or hand to the agency's phone
    complaints.sweep,  # answers due and late
    training.sweep,  # the day before and two hours before a session
    hazards.sweep,  # rectification reminders, escalations, level-1 same-day repeats
)


class Jobs:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        setup: Deployment,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        operator: Operator | None = None,
        between: Callable[[], Awaitable[None]] = lambda: asyncio.sleep(0),
    ) -> None:
        self.sessions = sessions
        self.setup = setup
        self.now = now
        self.operator = operator
        self.between = between  # awaited between batches: the service lets its waiting messages go first

    async def sweep(self, batch: int = BATCH) -> int:
        """Deal with every milestone that is due and not yet dealt with; how many were."""
        now, handled = self.now(), 0
        for area in SWEEPS:
            while True:
                try:
                    async with work(self.sessions, now, self.setup) as turn:
                        swept = await area(turn, batch)
                except IntegrityError:
                    log.info("another sweep recorded the same reminders first")
                    break
                handled += swept.handled
                if swept.taken < batch:
                    break
                await self.between()
        return handled

    async def digest(self, batch: int = DIGEST_BATCH) -> int:
        """One message per person with everything non-urgent that came due; after their quiet hours. In
        batches of people, each committed, with messages let through between them."""
        now, sent = self.now(), 0
        while True:
            async with work(self.sessions, now, self.setup) as turn:
                swept = await digest.send(turn, batch)
            sent += swept.handled
            if swept.taken < batch:
                return sent
            await self.between()

    async def daily(self) -> int:
        """Prune the de-duplication keys past their window, and check the audit chain (the operator hears of a
        break at once, not when a regulator asks)."""
        async with self.sessions() as s, s.begin():
            await s.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < self.now() - KEEP))
        async with self.sessions() as s:
            result = await audit.verify(s)
        if not result.ok and self.operator is not None:
            await self.operator.tell("audit", wording.audit_broken(result.first_bad_id or 0, result.reason or ""))
        return 0
