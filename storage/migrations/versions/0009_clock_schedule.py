"""the clock's schedule: each object's next due moment, under an index

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:30:00

Every open object starts "to be reconsidered" (a moment long past): the first sweep after the upgrade works out
its real next moment, in small committed batches.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RECONSIDER = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
OPEN = {
    "projects": None,
    "hazards": "status != 'closed'",
    "visit_tasks": "done_at IS NULL",
    "revisits": "status IN ('scheduled', 'asked', 'reasked')",
    "complaints": "status = 'open'",
    "training_sessions": None,
}


def upgrade() -> None:
    for table, where in OPEN.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_next_due_at"), ["next_due_at"], unique=False)
        query = f"UPDATE {table} SET next_due_at = :at" + (f" WHERE {where}" if where else "")
        at = sa.bindparam("at", RECONSIDER, type_=sa.DateTime(timezone=True))  # stored as the models store it
        op.get_bind().execute(sa.text(query).bindparams(at))


def downgrade() -> None:
    for table in reversed(list(OPEN)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_next_due_at"))
            batch_op.drop_column("next_due_at")
