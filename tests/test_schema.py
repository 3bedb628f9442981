"""The migrations build exactly the schema the models describe (a column or index added to a model without its
migration would reach production only as an error)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from storage.db import make_engine, migrate
from storage.models import Base


async def test_the_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/schema.db")
    await migrate(engine)

    def differences(sync: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(sync), Base.metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(differences) == []
    await engine.dispose()
