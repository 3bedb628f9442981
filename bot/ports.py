"""What handlers may ask of the rest of the system: plain data views, and one small interface per service area.

Handlers see these types only. `storage/` implements each area on SQLAlchemy (storage/people.py,
storage/hazards.py, …) on one turn: one transaction per incoming message, committed by the router.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.domain.levels import Level, Status
from bot.domain.roles import Action, Role


class ServiceError(Exception):
    """A refusal the person should hear about; `reason` is a stable code handlers translate."""

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


class AccessDenied(ServiceError):
    def __init__(self, action: str = "") -> None:
        super().__init__("access_denied", action=action)


class NotFound(ServiceError):
    def __init__(self, what: str = "") -> None:
        super().__init__("not_found", what=what)


class Conflict(ServiceError):
    """The object changed under the person's feet (someone else acted first)."""

    def __init__(self, status: str = "") -> None:
        super().__init__("conflict", status=status)


class InviteProblem(ServiceError):
    pass  # reason: unknown | used | expired | wrong_kind | already_bound


@dataclass(frozen=True)
class PersonInfo:
    id: int
    name: str
    locale: str | None
    org_name: str
    org_kind: str


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    code: str
    name: str
    address: str
    roles: frozenset[Role] = frozenset()


@dataclass(frozen=True)
class HazardInfo:
    id: int
    number: str
    project_id: int
    project_name: str
    level: Level
    status: Status
    group_id: str
    major_id: str | None
    basis: str
    description: str
    location: str
    suggestion: str
    deadline: dt.date
    stop_work: bool
    reporter_id: int
    reporter_name: str
    created_at: dt.datetime
    version: int
    lec: tuple[float, float, float, float] | None = None
    photos: tuple[str, ...] = ()
    received_by: str | None = None  # who signed for the notice (签收), and when
    received_at: dt.datetime | None = None  # local time


@dataclass(frozen=True)
class RectificationInfo:
    id: int
    hazard_id: int
    note: str
    photos: tuple[str, ...]
    submitted_by: str
    submitted_at: dt.datetime
    decision: str | None
    reason: str | None


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    actor: str
    action: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ObligationInfo:
    key: str
    due_by: dt.date
    done_on: dt.date | None
    status: str  # done | done_late | due | late
    days_late: int = 0  # done_late: how many days after its day


@dataclass(frozen=True)
class PlanInfo:
    project: ProjectInfo
    plan_status: str | None  # draft | agreed | confirmed | None (no plan yet)
    obligations: tuple[ObligationInfo, ...]
    agreement: tuple[str, dt.date] | None = None  # the policy's service agreement: number, signed on


@dataclass(frozen=True)
class VisitInfo:
    id: int
    project_name: str
    scheduled_on: dt.date
    status: str
    open_tasks: tuple[tuple[str, dt.date], ...]  # (milestone, due on)


@dataclass(frozen=True)
class BroadcastDraft:
    text: str
    scope: str  # bot.domain.broadcast.Scope
    value: str  # the region, risk level or typed codes the scope needs ("" for all/open)
    targets: tuple[str, ...]  # bot.domain.broadcast.Target values
    needs_ack: bool
    media: str | None = None  # sha256
    media_kind: str | None = None  # photo | document
    media_name: str | None = None


@dataclass(frozen=True)
class BroadcastPreview:
    projects: int
    per_channel: tuple[tuple[str, int], ...]  # (channel, chats)
    unreachable: int  # chosen people with no chat account to send to
    unknown_codes: tuple[str, ...]  # typed project codes outside the sender's reach or not found
    seconds: int  # delivery time at the platforms' limits

    @property
    def total(self) -> int:
        return sum(n for _, n in self.per_channel)


@dataclass(frozen=True)
class BroadcastInfo:
    id: int
    text: str
    created_at: dt.datetime
    sender: str
    targets: int
    queued: int
    sent: int
    failed: int
    acked: int
    needs_ack: bool
    failures: tuple[tuple[str, int], ...] = ()  # (reason, chats)
    silent: tuple[str, ...] = ()  # who has not acknowledged (project · chat), first few


@dataclass(frozen=True)
class RevisitInfo:
    id: int
    status: str
    form: tuple[tuple[str, str], ...]  # 004 附件5 header: (field key, value)
    hazards: tuple[tuple[int, str, str], ...]  # the visit's hazards still open: (id, number, description)
    answers: dict[str, Any]


@dataclass(frozen=True)
class ComplaintInfo:
    id: int
    number: str
    project_name: str
    complainant: str
    about: str
    text: str
    status: str
    due_on: dt.date
    needs_check: bool
    extended: bool
    answer: dict[str, str]
    extension_state: str | None = None  # asked | agreed | declined (an extension asked of the complainant)
    hazard_number: str | None = None  # an objection to this hazard's finding, raised at a revisit


@dataclass(frozen=True)
class TrainingInfo:
    id: int
    kind: str
    topic: str
    place: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    hours: float
    invited: int
    present: int
    photos: int
    evaluation: str | None
    organiser: bool = False  # the person asking organises it
    attendees: tuple[str, ...] = ()  # who signed in (shown to the organiser)


@dataclass(frozen=True)
class TrainingOverview:
    offline_hours: float  # this year, sessions attended
    online_hours: float
    sessions: tuple[TrainingInfo, ...]  # coming up (and the organiser's recent ones)
    behind: tuple[tuple[str, float], ...] = ()  # managers under the online target (agencies, insurers)
    gaps: tuple[tuple[str, str, int], ...] = ()  # (project, "drill" | "custom", held this year) below the rule


@dataclass(frozen=True)
class TrainingDraft:
    kind: str
    drill: str | None
    topic: str
    place: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    project_ids: tuple[int, ...]
    roles: tuple[str, ...]


@dataclass
class HazardDraft:
    project_id: int
    group_id: str
    description: str
    location: str
    suggestion: str
    deadline: dt.date
    level: Level | None
    photos: list[str] = field(default_factory=list)
    major_id: str | None = None
    check_index: int | None = None
    lec: tuple[float, float, float] | None = None
    may_cause_accident: bool = False  # level 2: the authority is told as well (001 §二(二))


# --- the hazard ledger (隐患排查台账): facts for bot/documents ---------------------------------------------------


@dataclass(frozen=True)
class LedgerRow:
    number: str
    project: str
    found_on: dt.date
    reporter: str
    location: str
    group_id: str
    basis: str
    description: str
    level: int
    major_id: str | None
    suggestion: str
    responsible_unit: str
    responsible: str
    received: str  # "name yyyy-mm-dd hh:mm" or ""
    deadline: dt.date
    rectified_on: dt.date | None
    reviewer: str
    result: str  # approved | rejected | ""
    status: str
    overdue_working_days: int
    on_time: bool | None  # closed by the deadline; None while open
    before: tuple[str, ...] = ()  # photo sha256s
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class LedgerEvent:
    number: str
    at: dt.datetime  # local
    actor: str
    action: str
    note: str
    event_id: int


@dataclass(frozen=True)
class Ledger:
    scope: str
    start: dt.date
    end: dt.date
    rows: tuple[LedgerRow, ...]
    events: tuple[LedgerEvent, ...] = ()


@dataclass(frozen=True)
class PhotoRef:
    sha256: str
    taken_at: dt.datetime | None  # EXIF, local time, when the photo carried it
    received_at: dt.datetime  # local time


@dataclass(frozen=True)
class RectRecord:
    submitted_by: str
    submitted_at: dt.datetime  # local
    note: str
    photos: tuple[PhotoRef, ...]
    decision: str | None  # approved | rejected | None (waiting)
    decided_by: str
    decided_at: dt.datetime | None
    reason: str


@dataclass(frozen=True)
class HazardRecord:
    """One hazard as its notice (整改通知单) and re-inspection record (复查记录单) print it."""

    number: str
    project: str
    address: str
    insurer: str
    agency: str
    construction_unit: str
    responsible: str
    reporter: str
    found_at: dt.datetime  # local
    level: int
    group_id: str
    basis: str
    description: str
    location: str
    suggestion: str
    deadline: dt.date
    deadline_working_days: int
    stop_work: bool
    received_by: str
    received_at: dt.datetime | None
    status: str
    photos: tuple[PhotoRef, ...]
    rectifications: tuple[RectRecord, ...]


@dataclass(frozen=True)
class PlanRecord:
    """A service plan as its document (事故预防技术服务方案, 000 附件1; 004 附件3) prints it."""

    project: str
    address: str
    insurer: str
    agency: str
    policy: str
    services: tuple[str, ...]
    content: dict[str, str]
    experts: tuple[tuple[str, str, str], ...]  # name, title, specialities
    leader: str
    agreed_by: str
    agreed_at: dt.datetime | None  # local
    confirmed_by: str
    confirmed_at: dt.datetime | None


@dataclass(frozen=True)
class ServiceReportRecord:
    """A visit's service report (004 附件4; 000 附件2) as it prints."""

    insured: str
    project: str
    address: str
    policy: str
    insurer: str
    agency: str
    service_on: dt.date
    kind: str  # inspection | deep | campaign
    summary: str
    staff: tuple[tuple[str, str, str], ...]  # name, title, specialities (with certificates)
    leader: str
    risks: tuple[tuple[str, str, str, str, str, int], ...]  # work, name, type, basis, measures, LEC rank
    hazards: tuple[HazardRecord, ...]
    trainings: tuple[tuple[str, str, int], ...]  # kind, topic, people signed in
    signoffs: tuple[tuple[str, str, dt.datetime | None], ...]  # role key, name, when (None: not signed)


@dataclass(frozen=True)
class ExportInfo:
    sha256: str  # the file, stored as media are
    filename: str
    rows: int
    start: dt.date
    end: dt.date


class ReportsPort(Protocol):
    """Documents asked for in chat."""

    async def ledger(self, person: PersonInfo, project_id: int | None, period_key: str, locale: str) -> ExportInfo: ...
    async def hazard_form(self, person: PersonInfo, hazard_id: int, kind: str, locale: str) -> ExportInfo: ...


@dataclass(frozen=True)
class RiskDraft:
    project_id: int
    work: str
    name: str
    photo: str
    accident_type: str
    basis: str
    measures: str
    lec: tuple[float, float, float]


@dataclass(frozen=True)
class RiskInfo:
    id: int
    project_name: str
    stage: str
    work: str
    name: str
    accident_type: str
    basis: str
    measures: str
    lec_d: float
    rank: int  # LEC rank: 1–2 are level-1/2 risk sources
    entered_on: dt.date
    checked_on: dt.date | None  # the last check of a source


class RisksPort(Protocol):
    """The risk register: experts enter risks, check the level-1/2 sources; the agency changes the stage."""

    async def record(self, person: PersonInfo, draft: RiskDraft) -> RiskInfo: ...
    async def register(self, person: PersonInfo, project_id: int) -> list[RiskInfo]: ...
    async def check(self, person: PersonInfo, risk_id: int) -> RiskInfo: ...
    async def set_stage(self, person: PersonInfo, project_id: int, stage: str) -> str: ...
    async def works(self, person: PersonInfo, project_id: int) -> list[str]: ...


class PeoplePort(Protocol):
    """Joining, group chats, a person's settings and projects."""

    async def redeem_invite(
        self, channel: str, user_id: str, chat_id: str, code: str
    ) -> tuple[PersonInfo, ProjectInfo, Role]: ...
    async def bind_group(
        self, person: PersonInfo, channel: str, chat_id: str, code: str, title: str | None
    ) -> ProjectInfo: ...
    async def group_project(self, channel: str, chat_id: str) -> ProjectInfo | None: ...
    async def set_locale(self, person: PersonInfo, locale: str) -> None: ...
    async def set_quiet_hours(self, person: PersonInfo, start: str | None, end: str | None) -> None: ...
    async def projects(self, person: PersonInfo, action: Action | None = None) -> list[ProjectInfo]: ...
    async def roles_in(self, person: PersonInfo, project_id: int) -> frozenset[Role]: ...


class HazardsPort(Protocol):
    """The hazard lifecycle: report, rectify, review, acknowledge, look up."""

    async def report(self, person: PersonInfo, draft: HazardDraft) -> HazardInfo: ...
    async def open(self, person: PersonInfo, limit: int = 30, project_id: int | None = None) -> list[HazardInfo]: ...
    async def find(self, person: PersonInfo, ref: str | int) -> HazardInfo: ...
    async def history(self, person: PersonInfo, hazard_id: int) -> list[HistoryEntry]: ...
    async def rectifications(self, person: PersonInfo, hazard_id: int) -> list[RectificationInfo]: ...
    async def pending_rectification(self, hazard_id: int) -> RectificationInfo | None: ...
    async def submit_rectification(
        self, person: PersonInfo, hazard_id: int, photos: list[str], note: str
    ) -> HazardInfo: ...
    async def for_review(self, person: PersonInfo, rectification_id: int) -> tuple[HazardInfo, RectificationInfo]: ...
    async def review(
        self, person: PersonInfo, rectification_id: int, approve: bool, reason: str | None
    ) -> HazardInfo: ...
    async def can_review(self, person: PersonInfo, hazard: HazardInfo) -> bool: ...
    async def can_rectify(self, person: PersonInfo, hazard: HazardInfo) -> bool: ...
    async def acknowledge(self, person: PersonInfo, hazard_id: int) -> HazardInfo: ...
    async def receive(self, person: PersonInfo, hazard_id: int) -> HazardInfo: ...


class PlansPort(Protocol):
    """Service plans and the obligations they count."""

    async def mine(self, person: PersonInfo) -> list[PlanInfo]: ...
    async def agree(self, person: PersonInfo, plan_id: int) -> str: ...
    async def confirm(self, person: PersonInfo, plan_id: int) -> str: ...


class VisitsPort(Protocol):
    """A visit leader's visits: start, close, and what a closed visit owes."""

    async def mine(self, person: PersonInfo) -> list[VisitInfo]: ...
    async def start(self, person: PersonInfo, visit_id: int) -> VisitInfo: ...
    async def close(self, person: PersonInfo, visit_id: int, summary: str) -> VisitInfo: ...
    async def draft_report(self, person: PersonInfo, visit_id: int) -> ExportInfo: ...
    async def submit_report(self, person: PersonInfo, visit_id: int) -> VisitInfo: ...
    async def confirm_report(self, person: PersonInfo, report_id: int) -> str: ...
    async def complete_task(self, person: PersonInfo, visit_id: int, milestone: str) -> VisitInfo: ...


class RevisitsPort(Protocol):
    """The revisit survey and its record."""

    async def form(self, person: PersonInfo, revisit_id: int) -> RevisitInfo: ...
    async def submit(self, person: PersonInfo, revisit_id: int, answers: dict[str, Any]) -> RevisitInfo: ...
    async def confirm(self, person: PersonInfo, revisit_id: int) -> RevisitInfo: ...
    async def satisfaction(
        self, person: PersonInfo, first: dt.date, last: dt.date
    ) -> list[tuple[str, str, int, float | None]]: ...


class ComplaintsPort(Protocol):
    """Complaints and objections: filed, answered, checked, extended, accepted or referred."""

    async def file(
        self, person: PersonInfo, project_id: int, about: str, text: str, photos: list[str]
    ) -> ComplaintInfo: ...
    async def find(self, person: PersonInfo, complaint_id: int) -> ComplaintInfo: ...
    async def needs_checking(self, person: PersonInfo, complaint_id: int) -> ComplaintInfo: ...
    async def extend(self, person: PersonInfo, complaint_id: int, days: int, reason: str) -> ComplaintInfo: ...
    async def agree_extension(self, person: PersonInfo, complaint_id: int, agree: bool) -> ComplaintInfo: ...
    async def answer(self, person: PersonInfo, complaint_id: int, parts: dict[str, str]) -> ComplaintInfo: ...
    async def close(self, person: PersonInfo, complaint_id: int, refer: bool) -> ComplaintInfo: ...


class TrainingPort(Protocol):
    """Training sessions and drills: organised, signed in to, recorded."""

    async def create(self, person: PersonInfo, draft: TrainingDraft) -> tuple[TrainingInfo, str]: ...
    async def sign_in(self, person: PersonInfo, session_id: int, code: str) -> TrainingInfo: ...
    async def record(self, person: PersonInfo, session_id: int, photos: list[str], evaluation: str) -> TrainingInfo: ...
    async def mine(self, person: PersonInfo) -> TrainingOverview: ...


class BroadcastsPort(Protocol):
    """Notices to many projects' chats, and their progress and receipts."""

    async def regions(self, person: PersonInfo) -> list[str]: ...
    async def preview(self, person: PersonInfo, draft: BroadcastDraft) -> BroadcastPreview: ...
    async def send(self, person: PersonInfo, draft: BroadcastDraft) -> BroadcastInfo: ...
    async def recent(self, person: PersonInfo, limit: int = 5) -> list[BroadcastInfo]: ...
    async def find(self, person: PersonInfo, broadcast_id: int) -> BroadcastInfo: ...
    async def acknowledge(self, person: PersonInfo, broadcast_id: int, channel: str, chat_id: str) -> bool: ...
    async def renotify(self, person: PersonInfo, broadcast_id: int) -> int: ...


class Services(Protocol):
    """Everything a handler may ask, by area: `ctx.services.hazards.report(...)`."""

    @property
    def people(self) -> PeoplePort: ...
    @property
    def hazards(self) -> HazardsPort: ...
    @property
    def plans(self) -> PlansPort: ...
    @property
    def visits(self) -> VisitsPort: ...
    @property
    def revisits(self) -> RevisitsPort: ...
    @property
    def complaints(self) -> ComplaintsPort: ...
    @property
    def training(self) -> TrainingPort: ...
    @property
    def broadcasts(self) -> BroadcastsPort: ...
    @property
    def risks(self) -> RisksPort: ...
    @property
    def reports(self) -> ReportsPort: ...
