"""The inbox: every update a platform hands us is written here, durably, before the platform hears 200.

It is its own small store — a sibling SQLite file next to the embedded database (`anzebot.inbox.db`), or the same
PostgreSQL database through its own connection pool — so that taking an update never queues behind the service's
own work, nor behind another process holding the main database's write lock. Writes are group-committed: the
updates that arrive together are inserted in one transaction, each caller waking when its row is on disk.

A row is pending until its processing turn has committed in the main database (whose `processed_updates` key
makes the state change happen once, even if a row is processed twice); it is then marked done. A row whose
processing keeps failing is marked failed after its retries: counted, listed and retried by `anzebot inbox`, and
reported to the operator — never dropped. Done rows are pruned after the de-duplication window.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.messages import Incoming, incoming_from_json, incoming_to_json
from storage.models import UTCDateTime

log = logging.getLogger(__name__)

PENDING, DONE, FAILED = "pending", "done", "failed"
LEASE = dt.timedelta(seconds=60)  # a row taken for processing comes back to the worker after this
MAX_ATTEMPTS = 10  # transient failures retried with back-off: 2 s, 4 s … 10 min — about 25 minutes in all
KEEP = dt.timedelta(days=2)  # done rows are kept this long: Telegram redelivers for 24 h at most


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(2**attempts, 600))


class InboxBase(DeclarativeBase):
    pass


class InboxRow(InboxBase):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "update_key", name="uq_inbox_update"),
        Index("ix_inbox_due", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(20))
    update_key: Mapped[str] = mapped_column(String(150))
    account: Mapped[str] = mapped_column(String(100))  # the sender's account on the channel
    update: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


def inbox_url(database_url: str) -> str:
    """Where the inbox lives by default: beside an SQLite file, or in the same PostgreSQL database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        name = url.database
        stem = name[: -len(".db")] if name.endswith(".db") else name
        return str(url.set(database=f"{stem}.inbox.db"))
    return database_url


@dataclass(frozen=True)
class Entry:
    id: int
    inc: Incoming
    attempts: int


@dataclass
class _Write:
    inc: Incoming
    done: asyncio.Future[int | None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class InboxUnavailable(Exception):
    """The update could not be written: the adapter must not answer 200."""


class Inbox:
    def __init__(
        self,
        engine: AsyncEngine,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.now = now
        self._queue: list[_Write] = []
        self._done: list[int] = []
        self._writer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one writer at a time: no busy-waiting on SQLite's lock in-process

    async def prepare(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(InboxBase.metadata.create_all)

    # --- taking updates ------------------------------------------------------------------------------------

    async def accept(self, inc: Incoming) -> int | None:
        """Store the update durably; its row id, or None when it was stored before (a redelivery). Raises
        InboxUnavailable when it cannot be stored."""
        write = _Write(inc)
        self._queue.append(write)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued())
        return await write.done

    async def _write_queued(self) -> None:
        """Everything queued meanwhile goes into one transaction (one sync to disk for many updates). Updates to
        store go first; marks of processed rows wait until none is arriving (a lost mark costs nothing: the
        row is processed again and found done in the database)."""
        while self._queue or self._done:
            if not self._queue:
                processed, self._done = self._done, []
                try:
                    await self._mark_done(processed)
                except Exception as exc:
                    log.warning("could not mark %d inbox rows done: %s", len(processed), type(exc).__name__)
                continue
            batch, self._queue = self._queue, []
            try:
                ids = await self._insert([w.inc for w in batch])
            except Exception as exc:
                log.error("inbox write failed for %d updates: %s", len(batch), type(exc).__name__)
                for w in batch:
                    if not w.done.done():
                        w.done.set_exception(InboxUnavailable(type(exc).__name__))
                continue
            for w, row_id in zip(batch, ids, strict=True):
                if not w.done.done():
                    w.done.set_result(row_id)

    async def _insert(self, incs: Sequence[Incoming]) -> list[int | None]:
        """One statement for the whole batch: the new rows, returning their ids; a key stored before returns
        nothing (a redelivery), and a key seen twice in the batch is one update (the second is a redelivery)."""
        now = self.now()
        keys = list(dict.fromkeys((inc.channel, inc.message_id) for inc in incs))  # in arrival order
        first = {(inc.channel, inc.message_id): inc for inc in reversed(incs)}
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        rows = [
            {
                "channel": channel,
                "update_key": update_key,
                "account": first[(channel, update_key)].user_id,
                "update": incoming_to_json(first[(channel, update_key)]),
                "status": PENDING,
                "attempts": 0,
                "received_at": now,
                # The receiver processes it at once; the worker takes it only if that receiver dies.
                "next_attempt_at": now + LEASE,
            }
            for channel, update_key in keys
        ]
        statement = (
            insert(InboxRow).on_conflict_do_nothing().returning(InboxRow.id, InboxRow.channel, InboxRow.update_key)
        )
        async with self._lock, self.sessions() as s, s.begin():
            got = await s.execute(statement, rows)
            ids = {(channel, update_key): row_id for row_id, channel, update_key in got.all()}
        out: list[int | None] = []
        taken: set[tuple[str, str]] = set()
        for inc in incs:
            k = (inc.channel, inc.message_id)
            out.append(ids.get(k) if k not in taken else None)
            taken.add(k)
        return out

    # --- processing ----------------------------------------------------------------------------------------

    async def due(self, limit: int = 50, orphans_before: dt.datetime | None = None) -> list[Entry]:
        """Pending rows whose lease ran out (their receiver died or gave up), oldest first, taken for a lease.
        `orphans_before`: also the rows taken before then, whatever their lease — a process that starts knows
        that what was received before it started has no receiver left in it."""
        await self.settle()  # rows processed a moment ago are marked done first, not taken again
        now = self.now()
        due = InboxRow.next_attempt_at <= now
        if orphans_before is not None:
            due = due | ((InboxRow.received_at < orphans_before) & (InboxRow.attempts == 0))
        async with self._lock, self.sessions() as s, s.begin():
            rows = (
                await s.execute(
                    select(InboxRow).where(InboxRow.status == PENDING, due).order_by(InboxRow.id).limit(limit)
                )
            ).scalars()
            taken = list(rows.all())
            for row in taken:
                row.next_attempt_at = now + LEASE
        return [Entry(r.id, incoming_from_json(r.update), r.attempts) for r in taken]

    def done(self, row_id: int) -> None:
        """The row's turn has committed: it is marked done with the next write (no one waits for it)."""
        self._done.append(row_id)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued())

    async def settle(self) -> None:
        """Until every queued write is on disk (shutdown, tests)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _mark_done(self, ids: list[int]) -> None:
        async with self._lock, self.sessions() as s, s.begin():
            await s.execute(
                update(InboxRow).where(InboxRow.id.in_(ids)).values(status=DONE, done_at=self.now(), last_error=None)
            )

    async def retry_later(self, row_id: int, error: str) -> bool:
        """A transient failure: try again after a back-off. False when the row has now failed for good."""
        async with self._lock, self.sessions() as s, s.begin():
            row = await s.get(InboxRow, row_id)
            if row is None:
                return False
            row.attempts += 1
            row.last_error = error[:500]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = FAILED
                return False
            row.next_attempt_at = self.now() + backoff(row.attempts)
            return True

    async def fail(self, row_id: int, error: str) -> None:
        """A failure that waiting will not fix (a bug): kept as failed for the operator to retry."""
        async with self._lock, self.sessions() as s, s.begin():
            await s.execute(
                update(InboxRow)
                .where(InboxRow.id == row_id)
                .values(status=FAILED, last_error=error[:500], attempts=InboxRow.attempts + 1)
            )

    # --- the operator's view -------------------------------------------------------------------------------

    async def counts(self) -> dict[str, int]:
        await self.settle()
        async with self.sessions() as s:
            rows = await s.execute(select(InboxRow.status, func.count()).group_by(InboxRow.status))
            return {status: n for status, n in rows.all()}

    async def listing(self, failed_only: bool = False, limit: int = 100) -> list[InboxRow]:
        await self.settle()
        async with self.sessions() as s:
            query = select(InboxRow).order_by(InboxRow.id.desc()).limit(limit)
            query = query.where(InboxRow.status == FAILED) if failed_only else query.where(InboxRow.status != DONE)
            return list((await s.execute(query)).scalars().all())

    async def requeue(self, row_id: int) -> bool:
        """Put a failed (or pending) row back for the worker to process now."""
        async with self._lock, self.sessions() as s, s.begin():
            result = await s.execute(
                update(InboxRow)
                .where(InboxRow.id == row_id, InboxRow.status != DONE)
                .values(status=PENDING, attempts=0, next_attempt_at=self.now())
            )
            return bool(getattr(result, "rowcount", 0))

    async def prune(self) -> int:
        """Done rows past the de-duplication window."""
        async with self._lock, self.sessions() as s, s.begin():
            result = await s.execute(
                delete(InboxRow).where(InboxRow.status == DONE, InboxRow.done_at < self.now() - KEEP)
            )
            return int(getattr(result, "rowcount", 0))

    async def writable(self) -> bool:
        """Whether an update could be stored now (`/healthz`)."""
        try:
            async with asyncio.timeout(3), self._lock, self.sessions() as s, s.begin():
                await s.execute(select(func.count()).select_from(InboxRow).where(InboxRow.id == 0))
                await s.execute(update(InboxRow).where(InboxRow.id == 0).values(attempts=0))
        except Exception:
            return False
        return True
