from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import time_machine

from bot.app import App
from bot.channels.memory import MemoryChannel
from bot.config import Settings
from bot.render import RICH, TEXT_ONLY
from storage import demo
from storage.db import make_engine, migrate, sessions
from tests.harness import CHANNEL, Harness

# A Tuesday in the Chinese working week; tests move the clock explicitly, they never sleep.
START = dt.datetime(2026, 11, 17, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
PG_URL = os.environ.get("ANZEBOT_TEST_POSTGRES_URL")


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per session; each test copies the file (a real SQLite database per test)."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await migrate(engine)
        await engine.dispose()

    asyncio.run(build())
    return path


def _pg_url(name: str) -> str:
    assert PG_URL is not None
    return PG_URL.rsplit("/", 1)[0] + "/" + name


async def _pg_admin(*statements: str) -> None:
    """Run statements on the cluster's maintenance database (CREATE DATABASE cannot run in a transaction)."""
    import asyncpg

    assert PG_URL is not None
    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _pg_template() -> str:
    """One migrated PostgreSQL database per test worker, copied for each test (migrating each would cost
    seconds per test)."""
    name = f"anzebot_tpl_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    engine = make_engine(_pg_url(name))
    await migrate(engine)
    await engine.dispose()  # a template must have no open connections to be copied
    return name


@pytest.fixture(scope="session")
def pg_template() -> str | None:
    return asyncio.run(_pg_template()) if PG_URL else None


async def _pg_database(template: str) -> str:
    """A fresh PostgreSQL database per test, copied from the worker's migrated template."""
    name = f"anzebot_t_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _pg_url(name)


@pytest.fixture
def db_url(tmp_path: Path, template_db: Path, pg_template: str | None) -> str:
    if pg_template is not None:
        return asyncio.run(_pg_database(pg_template))
    target = tmp_path / "anzebot.db"
    shutil.copy(template_db, target)
    return f"sqlite+aiosqlite:///{target}"


def settings_for(db_url: str, tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        database_url=db_url,
        media_dir=tmp_path / "media",
        webchat=False,
        _env_file=None,  # type: ignore[call-arg]
        **overrides,
    )


async def make_harness(
    db_url: str, tmp_path: Path, caps: object, seed: bool = True, rules: str | None = None
) -> Harness:
    """The demo world; `rules`: the text of a rules file (TOML) for this deployment."""
    channel = MemoryChannel(CHANNEL, caps)  # type: ignore[arg-type]
    overrides: dict[str, object] = {}
    if rules is not None:
        (tmp_path / "rules.toml").write_text(rules, encoding="utf-8")
        overrides["rules_file"] = tmp_path / "rules.toml"
    app = App(settings_for(db_url, tmp_path, **overrides), channels={CHANNEL: channel})
    await app.prepare()
    if seed:
        async with app.sessions() as s, s.begin():
            await demo.seed(s, channel=CHANNEL)
    return Harness(app, channel)


@pytest.fixture(params=["rich", "text"])
async def h(request: pytest.FixtureRequest, db_url: str, tmp_path: Path, clock: object) -> AsyncIterator[Harness]:
    """The demo world on a rich (buttons, edits) and a text-only channel profile."""
    harness = await make_harness(db_url, tmp_path, RICH if request.param == "rich" else TEXT_ONLY)
    yield harness
    await harness.app.engine.dispose()


@pytest.fixture
async def rich(db_url: str, tmp_path: Path, clock: object) -> AsyncIterator[Harness]:
    harness = await make_harness(db_url, tmp_path, RICH)
    yield harness
    await harness.app.engine.dispose()


@pytest.fixture
async def session_factory(db_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    await migrate(engine)
    yield sessions(engine)
    await engine.dispose()
