"""the rules as the seeds write them: complaint extensions, level-2 reports, receipts, visit kinds, objections, the
expert library, plan content, service agreements, the risk register

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 18:30:00

004 §6.4 lets an extension stand only once the complainant agrees (the rules file chooses 003's officer or 004's
complainant): the days asked, where the request stands, who agreed. 001 §二(二) sends a level-2 hazard that may
cause an accident to the authority as well: the reporter's answer is kept on the hazard. The responsible unit signs
for (签收) a rectification notice (000 附件3): who and when. A visit is a regular inspection, the yearly deep
inspection or a special campaign (000 §14(二)2). An objection a revisit raises is answered as a complaint about a
decision (003 §6.3), linked both ways. The expert library (002 §8–9) holds each expert's title, years,
specialities and certificates. A service plan states its content (000 §13) and the insured's representative
agrees to it before the insurer confirms it. A policy's service agreement (004 附件2) is a record of its own. The
risk register (000 §14(二)1) and its quarterly checks of level-1/2 risk sources; a project's stage change is dated.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("visit_id", sa.Integer(), sa.ForeignKey("visits.id"), nullable=False, unique=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("submitted_by", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("insured_by", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("insured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("insurer_by", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("insurer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("final_sha", sa.String(length=64), nullable=True),
    )
    with op.batch_alter_table("media", schema=None) as batch_op:  # generated documents: the .xlsx type is long
        batch_op.alter_column("mime", type_=sa.String(length=100), existing_type=sa.String(length=50))
    op.create_table(
        "risk_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("work", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("photo", sa.String(length=64), nullable=False),
        sa.Column("accident_type", sa.String(length=12), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("lec_l", sa.Float(), nullable=False),
        sa.Column("lec_e", sa.Float(), nullable=False),
        sa.Column("lec_c", sa.Float(), nullable=False),
        sa.Column("lec_d", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_risk_entries_project_id", "risk_entries", ["project_id"])
    op.create_table(
        "risk_checks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("risk_id", sa.Integer(), sa.ForeignKey("risk_entries.id"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_risk_checks_risk_id", "risk_checks", ["risk_id"])
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage_changed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "service_agreements",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(length=60), nullable=False, unique=True),
        sa.Column("policy_id", sa.Integer(), sa.ForeignKey("policies.id"), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("fee", sa.Numeric(14, 2), nullable=True),
        sa.Column("first_service_by", sa.Date(), nullable=True),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_service_agreements_policy_id", "service_agreements", ["policy_id"])
    op.create_table(
        "expert_profiles",
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), primary_key=True),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("title_level", sa.String(length=12), nullable=False),
        sa.Column("registered_safety_engineer", sa.Boolean(), nullable=False),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.Column("specialities", sa.JSON(), nullable=False),
        sa.Column("certificates", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extension_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("extension_state", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("extension_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("hazard_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_complaints_hazard_id_hazards", "hazards", ["hazard_id"], ["id"])
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("complaint_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_objections_complaint_id_complaints", "complaints", ["complaint_id"], ["id"])
    with op.batch_alter_table("service_plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("agreed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("agreed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key("fk_service_plans_agreed_by_people", "people", ["agreed_by"], ["id"])
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=12), nullable=False, server_default="inspection"))
        batch_op.add_column(sa.Column("topic", sa.String(length=200), nullable=True))
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("may_cause_accident", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("received_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("received_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_table("service_reports")
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.alter_column("mime", type_=sa.String(length=50), existing_type=sa.String(length=100))
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("stage_changed_at")
    op.drop_index("ix_risk_checks_risk_id", table_name="risk_checks")
    op.drop_table("risk_checks")
    op.drop_index("ix_risk_entries_project_id", table_name="risk_entries")
    op.drop_table("risk_entries")
    op.drop_index("ix_service_agreements_policy_id", table_name="service_agreements")
    op.drop_table("service_agreements")
    op.drop_table("expert_profiles")
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.drop_column("received_at")
        batch_op.drop_column("received_by")
        batch_op.drop_column("may_cause_accident")
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.drop_constraint("fk_objections_complaint_id_complaints", type_="foreignkey")
        batch_op.drop_column("complaint_id")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_constraint("fk_complaints_hazard_id_hazards", type_="foreignkey")
        batch_op.drop_column("hazard_id")
        batch_op.drop_column("extension_by")
        batch_op.drop_column("extension_state")
        batch_op.drop_column("extension_days")
    with op.batch_alter_table("service_plans", schema=None) as batch_op:
        batch_op.drop_constraint("fk_service_plans_agreed_by_people", type_="foreignkey")
        batch_op.drop_column("agreed_at")
        batch_op.drop_column("agreed_by")
        batch_op.drop_column("content")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_column("topic")
        batch_op.drop_column("kind")
