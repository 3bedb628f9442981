"""Engine, sessions and migrations. SQLite (aiosqlite) by default, PostgreSQL (asyncpg) in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event open transactions (below) instead of the driver.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    # With WAL, NORMAL keeps the database consistent on a crash and syncs at checkpoints instead of every
    # commit (a power cut may lose the last commits, never corrupt the file).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _begin(conn: Connection) -> None:
    # Writers take SQLite's write lock at BEGIN: a deferred transaction that read first and writes later fails
    # with SQLITE_BUSY when another writer committed in between; immediate ones wait their turn (busy_timeout).
    # Read-only sessions (`readonly`) begin deferred, so readers never queue behind writers (WAL).
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("readonly") else "BEGIN IMMEDIATE")


def make_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for work that may write (one serialised transaction on SQLite)."""
    return async_sessionmaker(engine, expire_on_commit=False)


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


async def healthy(readonly: async_sessionmaker[AsyncSession]) -> bool:
    """Whether the database answers (`/healthz`)."""
    try:
        async with readonly() as s:
            await s.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
