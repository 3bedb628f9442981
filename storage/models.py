"""SQLAlchemy 2 models. Every fact is a row; nothing is hard-deleted inside the retention term."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    false,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, attributes, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores aware datetimes as UTC; SQLite keeps no zone, so it is put back on load."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# A moment long past: "the clock should look at this row" (a new row, or one whose schedule changed).
RECONSIDER = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    region: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    stage: Mapped[str] = mapped_column(String(40), default="")
    stage_changed_at: Mapped[dt.datetime | None]  # the risk register is refreshed after a stage change
    risk: Mapped[str] = mapped_column(String(10), default="")  # high | medium | low (001 附件 item 3)
    dangerous_works: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_due_at: Mapped[dt.datetime | None] = mapped_column(index=True, default=RECONSIDER)  # storage/schedule


class ProjectUnit(Base):
    """Which organisation plays which part in a project (insurer, agency, construction unit, …)."""

    __tablename__ = "project_units"
    __table_args__ = (UniqueConstraint("project_id", "org_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))


class Policy(Base):
    __tablename__ = "policies"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    insurer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    premium: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)


class ServiceAgreement(Base):
    """事故预防技术服务协议 (004 附件2) of a policy: the services agreed, the fee, who on the insured's side is the
    contact (二(二)), and a first-service date agreed in writing instead of within 3 months (二(三))."""

    __tablename__ = "service_agreements"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    signed_on: Mapped[dt.date] = mapped_column(Date)
    services: Mapped[list[Any]]
    fee: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    first_service_by: Mapped[dt.date | None] = mapped_column(Date)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(30))
    speciality: Mapped[str | None] = mapped_column(String(20))  # civil | mechanical | electrical (experts)
    locale: Mapped[str | None] = mapped_column(String(10))
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # "21:00"; unset: the deployment's default
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("person_id", "project_id", "role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("invites.id"))


class Identity(Base):
    """A chat account that became a person by redeeming an invite."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(100))
    chat_id: Mapped[str] = mapped_column(String(100))  # the private chat notices go to
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ChatBinding(Base):
    """A group chat bound to a project: project notices are posted there."""

    __tablename__ = "chat_bindings"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    bound_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Invite(Base):
    """Single-use, expiring; bound to a person + role + project, or (kind=group) to a project's group chat."""

    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # person | group
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    role: Mapped[str | None] = mapped_column(String(30))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    used_by: Mapped[str | None] = mapped_column(String(140))


class MediaFile(Base):
    __tablename__ = "media"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    mime: Mapped[str] = mapped_column(String(100))  # generated files too: an .xlsx's type is 65 characters
    size: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Hazard(Base):
    __tablename__ = "hazards"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    group_id: Mapped[str] = mapped_column(String(30))
    major_id: Mapped[str | None] = mapped_column(String(30))
    basis: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(300))
    level: Mapped[int] = mapped_column(Integer)
    suggestion: Mapped[str] = mapped_column(Text)
    deadline: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), index=True)
    stop_work: Mapped[bool] = mapped_column(Boolean, default=False)
    # Level 2 only: the reporter said it may cause an accident, so the authority is told too (001 §二(二)).
    may_cause_accident: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    received_by: Mapped[int | None]  # who signed for the rectification notice (签收), first of the responsible
    received_at: Mapped[dt.datetime | None]
    lec_l: Mapped[float | None] = mapped_column(Float)
    lec_e: Mapped[float | None] = mapped_column(Float)
    lec_c: Mapped[float | None] = mapped_column(Float)
    lec_d: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    next_due_at: Mapped[dt.datetime | None] = mapped_column(index=True, default=RECONSIDER)  # storage/schedule

    __mapper_args__ = {"version_id_col": version}


class HazardPhoto(Base):
    __tablename__ = "hazard_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id"), index=True)
    rectification_id: Mapped[int | None] = mapped_column(ForeignKey("rectifications.id"))
    sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Rectification(Base):
    __tablename__ = "rectifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id"), index=True)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    note: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(10))  # approved | rejected
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)


class Counter(Base):
    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class AuditEvent(Base):
    """Append-only and hash-chained: `hash` covers this row's content and the previous row's hash."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str] = mapped_column(String(60))
    data: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly as hashed
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row holding the chain's tip; updating it in every appending transaction serialises appends."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class OutboxMessage(Base):
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    locale: Mapped[str | None] = mapped_column(String(10))
    items: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    message_ids: Mapped[list[Any] | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Higher goes first: a broadcast to thousands of chats (-1) never delays a reply or a level-1 notice (0).
    priority: Mapped[int] = mapped_column(Integer, default=0)
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"), index=True)
    rerouted_at: Mapped[dt.datetime | None]  # an urgent notice not delivered in time, sent to other accounts too


class CardMessage(Base):
    """The platform message that shows a living card in a chat, so a later state can edit it."""

    __tablename__ = "card_messages"
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    card_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(100))


class ChatOffer(Base):
    """The options last shown in a chat, so a typed number or label picks one on text-only channels."""

    __tablename__ = "chat_offers"
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    options: Mapped[list[Any]]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    flow: Mapped[str | None] = mapped_column(String(30))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class ProcessedUpdate(Base):
    """Inbound de-duplication: an update is handled in the transaction that inserts its key."""

    __tablename__ = "processed_updates"
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    update_key: Mapped[str] = mapped_column(String(150), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class Throttle(Base):
    """Wrong guesses (invite codes) per account and per chat: a few are forgiven, then each costs a longer wait."""

    __tablename__ = "throttles"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[dt.datetime]
    count: Mapped[int] = mapped_column(Integer, default=0)
    strikes: Mapped[int] = mapped_column(Integer, default=0)  # how often the limit was reached: the wait grows
    blocked_until: Mapped[dt.datetime | None]


class Heartbeat(Base):
    """One row the health check writes: proof that the database takes writes now."""

    __tablename__ = "heartbeat"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime]


class Reminder(Base):
    """One milestone of one object that the clock has dealt with: its key makes every reminder happen once."""

    __tablename__ = "reminders"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # e.g. hz12:overdue
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int] = mapped_column(Integer, index=True)
    milestone: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(12))  # sent | digest | superseded | skipped
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DigestItem(Base):
    """A non-urgent reminder waiting for its person's daily digest."""

    __tablename__ = "digest_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminders.id"))
    items: Mapped[list[Any]]  # reply items (JSON), listed in the digest
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    digest_key: Mapped[str | None] = mapped_column(String(80), index=True)  # set when sent


class Acknowledgement(Base):
    """Someone at the insurer or the authority confirmed they received a level-1 same-day report."""

    __tablename__ = "acknowledgements"
    __table_args__ = (UniqueConstraint("hazard_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    role: Mapped[str] = mapped_column(String(30))
    at: Mapped[dt.datetime]


class ServicePlan(Base):
    """一项目一方案: the services agreed for a project and its expert group; counts once the insurer confirms."""

    __tablename__ = "service_plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    services: Mapped[list[Any]]  # inspection, risk_assessment, training, drill, …
    leader_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # draft (the insured's representative agrees) → agreed (the insurer confirms) → confirmed | replaced
    status: Mapped[str] = mapped_column(String(12), default="draft")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    content: Mapped[dict[str, Any] | None]  # 000 §13: overview, measures, frequency, staff, goals, guarantees
    agreed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    agreed_at: Mapped[dt.datetime | None]
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    confirmed_at: Mapped[dt.datetime | None]


class PlanExpert(Base):
    __tablename__ = "plan_experts"
    __table_args__ = (UniqueConstraint("plan_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("service_plans.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))


class Visit(Base):
    """服务记录: an on-site service, scheduled, started by its leader on the day, closed with a summary."""

    __tablename__ = "visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    scheduled_on: Mapped[dt.date] = mapped_column(Date)
    leader_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled | started | closed
    # inspection | deep (the yearly deep inspection) | campaign (a special campaign): 000 §14(二)2
    kind: Mapped[str] = mapped_column(String(12), default="inspection", server_default="inspection")
    topic: Mapped[str | None] = mapped_column(String(200))  # a campaign's subject: 脚手架坍塌, 高处坠落 …
    started_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    summary: Mapped[str | None] = mapped_column(Text)


class RiskEntry(Base):
    """A line of a project's risk register (风险辨识清单): a risk of a dangerous work at a stage, with its photo,
    accident type, basis, control measures and LEC score (000 §14(二)1; 004 附件4 三2)."""

    __tablename__ = "risk_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    work: Mapped[str] = mapped_column(String(100))  # the dangerous work (危大工程), or the site in general
    name: Mapped[str] = mapped_column(String(200))
    photo: Mapped[str] = mapped_column(String(64))  # sha256 of the photo
    accident_type: Mapped[str] = mapped_column(String(12))
    basis: Mapped[str] = mapped_column(Text)
    measures: Mapped[str] = mapped_column(Text)
    lec_l: Mapped[float] = mapped_column(Float)
    lec_e: Mapped[float] = mapped_column(Float)
    lec_c: Mapped[float] = mapped_column(Float)
    lec_d: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)  # LEC rank: 1–2 are the level-1/2 risk sources
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RiskCheck(Base):
    """A level-1/2 risk source checked on site (the quarterly 100 % check, 001 §二(一))."""

    __tablename__ = "risk_checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risk_entries.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    at: Mapped[dt.datetime]


class ExpertProfile(Base):
    """An expert's entry in the expert library (专家库, 002 §8–9): title, experience, specialities, certificates."""

    __tablename__ = "expert_profiles"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    title: Mapped[str] = mapped_column(String(60))  # as written: 高级工程师
    title_level: Mapped[str] = mapped_column(String(12))  # none | junior | intermediate | senior | professor
    registered_safety_engineer: Mapped[bool] = mapped_column(Boolean, default=False)
    years: Mapped[int] = mapped_column(Integer)
    specialities: Mapped[list[Any]] = mapped_column(default=list)  # civil | mechanical | electrical | fire
    certificates: Mapped[list[Any]] = mapped_column(default=list)  # [{"name", "number", "valid_until"}]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ServiceReport(Base):
    """事故预防服务报告 of one visit (004 附件4; 000 附件2): drafted and submitted by the visit's leader (the agency's
    representative), confirmed in chat by the insured's representative and the insurer's risk manager; final then."""

    __tablename__ = "service_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft | submitted | final
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    submitted_at: Mapped[dt.datetime | None]
    insured_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    insured_at: Mapped[dt.datetime | None]
    insurer_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    insurer_at: Mapped[dt.datetime | None]
    final_sha: Mapped[str | None] = mapped_column(String(64))


class VisitExpert(Base):
    __tablename__ = "visit_experts"
    __table_args__ = (UniqueConstraint("visit_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))


class VisitTask(Base):
    """What a closed visit owes: material (2 wd), report (5), revisit (10), archive (20)."""

    __tablename__ = "visit_tasks"
    __table_args__ = (UniqueConstraint("visit_id", "milestone"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    milestone: Mapped[str] = mapped_column(String(12))
    due_on: Mapped[dt.date] = mapped_column(Date)
    done_at: Mapped[dt.datetime | None]
    done_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    next_due_at: Mapped[dt.datetime | None] = mapped_column(index=True, default=RECONSIDER)  # storage/schedule


class Broadcast(Base):
    """A notice from an insurer, association or authority to many projects' chats (who sent what, to whom)."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    media_sha: Mapped[str | None] = mapped_column(ForeignKey("media.sha256"))
    media_kind: Mapped[str | None] = mapped_column(String(10))  # photo | document
    media_name: Mapped[str | None] = mapped_column(String(200))
    audience: Mapped[dict[str, Any]]  # {"scope": all|region|risk|open|list, "value": …}
    targets: Mapped[list[Any]]  # group | manager | safety
    needs_ack: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    projects: Mapped[int] = mapped_column(Integer, default=0)
    renotified: Mapped[int] = mapped_column(Integer, default=0)


class BroadcastTarget(Base):
    """One chat a broadcast goes to; the delivery is the outbox row `outbox_key`, the receipt `acked_at`."""

    __tablename__ = "broadcast_targets"
    __table_args__ = (UniqueConstraint("broadcast_id", "channel", "chat_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(10))  # group | person
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    outbox_key: Mapped[str] = mapped_column(String(200))
    acked_at: Mapped[dt.datetime | None]
    acked_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class Revisit(Base):
    """回访记录 (004 附件5): the insured's answers after a visit, confirmed by both sides."""

    __tablename__ = "revisits"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    ask_on: Mapped[dt.date] = mapped_column(Date)
    limit_on: Mapped[dt.date] = mapped_column(Date)  # the 10-working-day limit
    # scheduled | asked | reasked | phone (the agency must call) | answered | confirmed
    status: Mapped[str] = mapped_column(String(10), default="scheduled", index=True)
    form: Mapped[dict[str, Any]]  # the 附件5 header fields, as at the visit
    answers: Mapped[dict[str, Any] | None]  # attitude, technical, closure, overall, suggestion, hazards
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    answered_at: Mapped[dt.datetime | None]
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # the agency's side
    confirmed_at: Mapped[dt.datetime | None]
    next_due_at: Mapped[dt.datetime | None] = mapped_column(index=True, default=RECONSIDER)  # storage/schedule


class Objection(Base):
    """An objection (异议) of the insured to a hazard finding, raised in a revisit; answered by the agency."""

    __tablename__ = "objections"
    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id"), index=True)
    revisit_id: Mapped[int | None] = mapped_column(ForeignKey("revisits.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(10), default="open")  # the complaint's: open | accepted | referred
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Answered as a complaint about a decision (003 §6.3, §6.4.2): its clock, its three-part answer, its referral.
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))


class Complaint(Base):
    """投诉/异议 against a service, an expert or a decision; answered within working-day limits."""

    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    complainant_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    about: Mapped[str] = mapped_column(String(10))  # service | expert | decision
    text: Mapped[str] = mapped_column(Text)
    photos: Mapped[list[Any]] = mapped_column(default=list)
    # open | answered | accepted | referred
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    filed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_on: Mapped[dt.date] = mapped_column(Date)
    needs_check: Mapped[bool] = mapped_column(Boolean, default=False)
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazards.id"))  # an objection to a hazard finding
    extension_days: Mapped[int | None]  # calendar days asked (at most 30: 003 §6.4.2, 004 §6.4)
    extension_state: Mapped[str | None] = mapped_column(String(10))  # asked | agreed | declined
    extension_by: Mapped[int | None]  # who agreed: the agency's officer, or the complainant (rules file)
    answer: Mapped[dict[str, Any] | None]  # request, facts, measures
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    answered_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    next_due_at: Mapped[dt.datetime | None] = mapped_column(index=True, default=RECONSIDER)  # storage/schedule


class TrainingSession(Base):
    """A training session or drill (培训/应急演练): who is invited, when, where; a code shown at the venue signs in."""

    __tablename__ = "training_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # citywide | custom | prestart | seasonal | drill
    drill: Mapped[str | None] = mapped_column(String(12))  # collapse | fire | electric | crane | fall
    topic: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    projects: Mapped[list[Any]]  # project ids
    roles: Mapped[list[Any]]  # invited roles in those projects
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    photos: Mapped[list[Any]] = mapped_column(default=list)
    evaluation: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_due_at: Mapped[dt.datetime | None] = mapped_column(index=True, default=RECONSIDER)  # storage/schedule


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    signed_at: Mapped[dt.datetime]
    hours: Mapped[float] = mapped_column(Float)


class LearningHours(Base):
    """Online learning hours (网络学习学时), recorded by the operator or imported from a CSV."""

    __tablename__ = "learning_hours"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    hours: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- the clock's schedule ----------------------------------------------------------------------------------
# A change to what the clock reads puts the row back in front of it (storage/schedule.py reads `next_due_at`).
# Here, beside the models, so that every write path — chat, CLI, import — has it.

# What each followed table's schedule is computed from.
WATCHED: dict[type[Any], tuple[str, ...]] = {
    Hazard: ("status", "level", "deadline"),
    VisitTask: ("due_on", "done_at"),
    Revisit: ("status", "ask_on", "limit_on", "contact_id"),
    Complaint: ("status", "due_on"),
    TrainingSession: ("starts_at",),
    Project: (),
}


def _on_update(_mapper: Mapper[Any], _conn: Connection, target: Any) -> None:
    if attributes.get_history(target, "next_due_at").has_changes():
        return  # the clock itself set it
    if any(attributes.get_history(target, name).has_changes() for name in WATCHED[type(target)]):
        target.next_due_at = RECONSIDER


def _policy_changed(_mapper: Mapper[Any], conn: Connection, target: Policy) -> None:
    # A project's quarters come from its policy.
    projects = cast(Table, Project.__table__)
    conn.execute(update(projects).where(projects.c.id == target.project_id).values(next_due_at=RECONSIDER))


for _model in WATCHED:
    event.listen(_model, "before_update", _on_update)
event.listen(Policy, "after_insert", _policy_changed)
event.listen(Policy, "after_update", _policy_changed)
