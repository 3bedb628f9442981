"""Engine, sessions and migrations. SQLite (aiosqlite) by default, PostgreSQL (asyncpg) in production."""

from __future__ import annotations

import asyncio
import datetime as dt
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    AsyncSessionTransaction,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(synchronous: str, busy_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event open transactions (below) instead of the driver.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        # With WAL, NORMAL keeps the database consistent on a crash and syncs at checkpoints instead of every
        # commit (a power cut may lose the last commits, never corrupt the file). The inbox uses FULL: an update
        # is acknowledged to the platform only once it is on disk.
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.close()

    return on_connect


# PostgreSQL errors that waiting fixes: connection trouble, resources, a lock or statement timeout, a
# serialisation or deadlock victim, the server shutting down.
TRANSIENT_SQLSTATES = ("08", "53", "55P03", "57014", "57P", "58", "40001", "40P01")


def transient(exc: BaseException) -> bool:
    """Whether a failure is the database's state now (locked, unreachable, full), not a fault in the work."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            return True
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return bool(code and str(code).startswith(TRANSIENT_SQLSTATES))
    return isinstance(exc, TimeoutError | OSError)


def _begin(conn: Connection) -> None:
    # Writers take SQLite's write lock at BEGIN: a deferred transaction that read first and writes later fails
    # with SQLITE_BUSY when another writer committed in between; immediate ones wait their turn (busy_timeout).
    # Read-only sessions (`readonly`) begin deferred, so readers never queue behind writers (WAL).
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("readonly") else "BEGIN IMMEDIATE")


def make_engine(url: str, *, synchronous: str = "NORMAL", busy_ms: int = 10_000) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(synchronous, busy_ms))
        event.listen(engine.sync_engine, "begin", _begin)
        return engine
    # PostgreSQL: the same bound on waiting for a lock, so a stalled writer elsewhere turns into an error here.
    return create_async_engine(
        url, pool_pre_ping=True, connect_args={"server_settings": {"lock_timeout": f"{busy_ms}ms"}}
    )


class GatedTransaction(AsyncSessionTransaction):
    """A transaction that first takes its database's in-process writer gate (released when the transaction ends,
    however it ends: `_release`)."""

    __slots__ = ()

    async def start(self, is_ctxmanager: bool = False) -> AsyncSessionTransaction:
        gate: asyncio.Lock | None = self.session.info.get("gate")
        if gate is not None and not self.nested:
            try:
                await asyncio.wait_for(gate.acquire(), self.session.info["gate_wait"])
            except TimeoutError:
                raise TimeoutError("the database's writer is busy") from None  # transient: tried again later
            self.session.info["gate_held"] = True
        try:
            return await super().start(is_ctxmanager)
        except BaseException:
            _release(self.session.sync_session, None)
            raise


class GatedSession(AsyncSession):
    """A session whose transactions queue for their database's writer in this process (SQLite): SQLite takes one
    writer at a time, and its busy handler lets a waiting writer sleep up to 100 ms between tries; queued here,
    the next writer starts the moment the last one commits. Writers of other processes still meet SQLite's own
    lock (busy_timeout)."""

    def begin(self) -> AsyncSessionTransaction:
        return GatedTransaction(self)


@event.listens_for(Session, "after_transaction_end")
def _release(session: Session, transaction: SessionTransaction | None) -> None:
    if (transaction is None or transaction.parent is None) and session.info.pop("gate_held", False):
        session.info["gate"].release()


_GATES: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()


def sessions(engine: AsyncEngine, wait_ms: int = 10_000) -> async_sessionmaker[AsyncSession]:
    """Sessions for work that may write (one serialised transaction on SQLite, queued in process)."""
    if engine.dialect.name != "sqlite":
        return async_sessionmaker(engine, expire_on_commit=False)
    gate = _GATES.setdefault(engine.sync_engine, asyncio.Lock())
    return async_sessionmaker(
        engine, class_=GatedSession, expire_on_commit=False, info={"gate": gate, "gate_wait": wait_ms / 1000}
    )


def readonly_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that only read: they never wait for, nor block, a writer."""
    return async_sessionmaker(engine.execution_options(readonly=True), expire_on_commit=False)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _upgrade(connection: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (Alembic, run on the engine's own connection)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def writable(sessions: async_sessionmaker[AsyncSession], now: dt.datetime) -> bool:
    """Whether the database takes a write now (`/healthz`): one row of `heartbeat` is written and committed.
    `sessions` come from a probe engine whose SQLite connections wait at most a second for the write lock."""
    try:
        async with asyncio.timeout(5), sessions() as s, s.begin():
            if s.get_bind().dialect.name != "sqlite":
                await s.execute(text("SET LOCAL lock_timeout = '1s'"))
            done = await s.execute(text("UPDATE heartbeat SET at = :at WHERE id = 1"), {"at": now})
            if not getattr(done, "rowcount", 0):
                await s.execute(text("INSERT INTO heartbeat (id, at) VALUES (1, :at)"), {"at": now})
    except Exception:
        return False
    return True
