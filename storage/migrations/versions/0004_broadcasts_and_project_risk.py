"""broadcasts and project risk

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 21:44:22.516854
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("media_sha", sa.String(length=64), nullable=True),
        sa.Column("media_kind", sa.String(length=10), nullable=True),
        sa.Column("media_name", sa.String(length=200), nullable=True),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("needs_ack", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("projects", sa.Integer(), nullable=False),
        sa.Column("renotified", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_sha"],
            ["media.sha256"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["people.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_broadcasts_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_broadcasts_sender_id"), ["sender_id"], unique=False)

    op.create_table(
        "broadcast_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("outbox_key", sa.String(length=200), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acked_by"],
            ["people.id"],
        ),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("broadcast_id", "channel", "chat_id"),
    )
    with op.batch_alter_table("broadcast_targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_broadcast_targets_broadcast_id"), ["broadcast_id"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("broadcast_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_broadcast_id"), ["broadcast_id"], unique=False)
        batch_op.create_foreign_key("fk_outbox_broadcast_id", "broadcasts", ["broadcast_id"], ["id"])

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("risk", sa.String(length=10), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("risk")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outbox_broadcast_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbox_broadcast_id"))
        batch_op.drop_column("broadcast_id")
        batch_op.drop_column("priority")

    with op.batch_alter_table("broadcast_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcast_targets_broadcast_id"))

    op.drop_table("broadcast_targets")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcasts_sender_id"))
        batch_op.drop_index(batch_op.f("ix_broadcasts_org_id"))

    op.drop_table("broadcasts")
