"""Hazards (隐患): reported with photos, rectified by the responsible unit, re-inspected by the reviewer, and
followed by the clock — reminders before the deadline, the overdue notice, the escalation chain, and the level-1
same-day report repeated until the insurer and the authority acknowledge it.

Every change appends its audit event and the outbox rows of the notices it causes in the turn's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.domain import escalation, levels
from bot.domain.escalation import Milestone
from bot.domain.levels import Event, Level, Status, TransitionError
from bot.domain.numbering import counter_name, format_number, looks_like_number, normalise, parse_id
from bot.domain.roles import Action, Role, allowed
from bot.domain.taxonomy import taxonomy
from bot.notices import hazards as notices
from bot.ports import (
    AccessDenied,
    Conflict,
    HazardDraft,
    HazardInfo,
    HistoryEntry,
    NotFound,
    PersonInfo,
    RectificationInfo,
    ServiceError,
)
from storage import audit, counters, members, schedule, visits
from storage.models import (
    Acknowledgement,
    AuditEvent,
    Hazard,
    HazardPhoto,
    MediaFile,
    Person,
    Project,
    Rectification,
)
from storage.reminder_log import Ledger
from storage.schedule import Swept
from storage.turn import Area, Turn

MAX_TEXT = 1000
SAME_DAY_SIDES = frozenset({Role.INSURER, Role.AUTHORITY})  # who must acknowledge a level-1 report


@dataclass(frozen=True)
class Due:
    """One milestone of one hazard that the clock deals with now: sent, or recorded as superseded."""

    key: str
    milestone: str
    at: dt.datetime
    status: str  # due | superseded
    step: Milestone | None = None  # a rectification milestone …
    same_day: frozenset[Role] | None = None  # … or a level-1 repeat, to the sides that have not acknowledged


class Hazards(Area):
    def __init__(self, turn: Turn) -> None:
        super().__init__(turn)
        self._photos: dict[int, tuple[str, ...]] = {}  # read ahead for a batch (the clock)
        self._rosters: dict[int, members.Roster] = {}
        self._held: list[Project | Person] = []
        self._schedule: dict[int, list[Milestone]] = {}

    # --- views ---------------------------------------------------------------------------------------------

    async def info(self, h: Hazard) -> HazardInfo:
        """The handler-facing view of a hazard row."""
        project = await self.s.get(Project, h.project_id)
        reporter = await self.s.get(Person, h.reporter_id)
        photos = self._photos.get(h.id)
        if photos is None:
            photos = tuple(
                (
                    await self.s.execute(
                        select(HazardPhoto.sha256)
                        .where(HazardPhoto.hazard_id == h.id, HazardPhoto.rectification_id.is_(None))
                        .order_by(HazardPhoto.position)
                    )
                ).scalars()
            )
        lec = (h.lec_l, h.lec_e, h.lec_c, h.lec_d) if h.lec_d is not None else None
        receiver = await self.s.get(Person, h.received_by) if h.received_by is not None else None
        assert project is not None and reporter is not None
        return HazardInfo(
            h.id,
            h.number,
            h.project_id,
            project.name,
            Level(h.level),
            Status(h.status),
            h.group_id,
            h.major_id,
            h.basis,
            h.description,
            h.location,
            h.suggestion,
            h.deadline,
            h.stop_work,
            reporter.id,
            reporter.name,
            h.created_at,
            h.version,
            lec,  # type: ignore[arg-type]
            photos,
            receiver.name if receiver else None,
            h.received_at.astimezone(self.t.tz) if h.received_at else None,
        )

    async def _rect_info(self, r: Rectification) -> RectificationInfo:
        photos = (
            await self.s.execute(
                select(HazardPhoto.sha256).where(HazardPhoto.rectification_id == r.id).order_by(HazardPhoto.position)
            )
        ).scalars()
        who = await self.s.get(Person, r.submitted_by)
        return RectificationInfo(
            r.id, r.hazard_id, r.note, tuple(photos), who.name if who else "", r.submitted_at, r.decision, r.reason
        )

    async def _row(self, person: PersonInfo, ref: str | int) -> Hazard:
        h: Hazard | None = None
        if isinstance(ref, int):
            h = await self.s.get(Hazard, ref)
        elif (hazard_id := parse_id(ref)) is not None:
            h = await self.s.get(Hazard, hazard_id)
        elif looks_like_number(ref):
            h = (await self.s.execute(select(Hazard).where(Hazard.number == normalise(ref)))).scalar_one_or_none()
        if h is None or not allowed(
            await members.seen_by(self.s, person.id, h.project_id, "hazard"), Action.VIEW_HAZARDS
        ):
            raise NotFound("hazard")
        return h

    async def find(self, person: PersonInfo, ref: str | int) -> HazardInfo:
        return await self.info(await self._row(person, ref))

    async def open(self, person: PersonInfo, limit: int = 30, project_id: int | None = None) -> list[HazardInfo]:
        project_ids = [
            pid
            for pid, roles in (await members.projects_of(self.s, person.id)).items()
            if allowed(roles, Action.VIEW_HAZARDS) and project_id in (None, pid)
        ]
        if not project_ids:
            return []
        rows = (
            await self.s.execute(
                select(Hazard)
                .where(Hazard.project_id.in_(project_ids), Hazard.status != Status.CLOSED.value)
                .order_by(Hazard.deadline, Hazard.level, Hazard.id)
                .limit(limit)
            )
        ).scalars()
        return [await self.info(h) for h in rows.all()]

    async def history(self, person: PersonInfo, hazard_id: int) -> list[HistoryEntry]:
        await self._row(person, hazard_id)
        rows = (
            await self.s.execute(
                select(AuditEvent, Person.name)
                .outerjoin(Person, Person.id == AuditEvent.actor_id)
                .where(AuditEvent.object_type == "hazard", AuditEvent.object_id == str(hazard_id))
                .order_by(AuditEvent.id)
            )
        ).all()
        return [HistoryEntry(ev.at, name or "", ev.action, audit.data_of(ev)) for ev, name in rows]

    async def rectifications(self, person: PersonInfo, hazard_id: int) -> list[RectificationInfo]:
        await self._row(person, hazard_id)
        rows = (
            await self.s.execute(
                select(Rectification).where(Rectification.hazard_id == hazard_id).order_by(Rectification.id)
            )
        ).scalars()
        return [await self._rect_info(r) for r in rows.all()]

    async def pending_rectification(self, hazard_id: int) -> RectificationInfo | None:
        r = (
            (
                await self.s.execute(
                    select(Rectification)
                    .where(Rectification.hazard_id == hazard_id, Rectification.decision.is_(None))
                    .order_by(Rectification.id.desc())
                )
            )
            .scalars()
            .first()
        )
        return await self._rect_info(r) if r else None

    # --- who may do what ---------------------------------------------------------------------------------

    async def _reviewers(self, hazard: Hazard) -> list[int]:
        level = Level(hazard.level)
        if levels.reviewer_is_reporter(level):
            experts = await members.with_roles(self.s, hazard.project_id, {Role.EXPERT})
            # The reporting expert re-inspects; a hazard logged by site staff goes to the project's experts.
            return [hazard.reporter_id] if hazard.reporter_id in experts else experts
        return await members.with_roles(self.s, hazard.project_id, levels.reviewer_roles(level))

    async def can_review(self, person: PersonInfo, hazard: HazardInfo) -> bool:
        row = await self.s.get(Hazard, hazard.id)
        return row is not None and person.id in await self._reviewers(row)

    async def can_rectify(self, person: PersonInfo, hazard: HazardInfo) -> bool:
        return allowed(await members.roles_in(self.s, person.id, hazard.project_id), Action.SUBMIT_RECTIFICATION)

    # --- changes -------------------------------------------------------------------------------------------

    async def _next_number(self) -> str:
        prefix, year = self.t.setup.prefix, self.t.today.year
        return format_number(prefix, year, await counters.next_value(self.s, counter_name(prefix, year)))

    async def _photos_exist(self, photos: list[str]) -> None:
        for sha in photos:
            if await self.s.get(MediaFile, sha) is None:
                raise ServiceError("photo_missing")

    async def report(self, person: PersonInfo, draft: HazardDraft) -> HazardInfo:
        roles = await members.roles_in(self.s, person.id, draft.project_id)
        if not allowed(roles, Action.REPORT_HAZARD):
            raise AccessDenied(Action.REPORT_HAZARD)
        tax = taxonomy(self.t.setup.rules.hazards.major_hazard_edition)
        group = tax.group(draft.group_id)
        if group is None:
            raise ServiceError("bad_category")
        major = tax.major(draft.major_id) if draft.major_id else None
        if draft.major_id and (major is None or major not in group.major):
            raise ServiceError("bad_category")
        check = tax.check(group.id, draft.check_index) if draft.check_index is not None else None
        level = levels.effective_level(draft.level, major is not None)
        if not draft.photos:
            raise ServiceError("photo_required")
        await self._photos_exist(draft.photos)
        if len(draft.description) > MAX_TEXT or len(draft.suggestion) > MAX_TEXT:
            raise ServiceError("too_long")
        basis = major.basis if major else (check.basis if check else "")
        may_cause_accident = level == Level.TWO and draft.may_cause_accident
        plan = levels.notice_plan(level, may_cause_accident)
        lec = draft.lec
        hazard = Hazard(
            number=await self._next_number(),
            project_id=draft.project_id,
            reporter_id=person.id,
            group_id=group.id,
            major_id=major.id if major else None,
            basis=basis,
            description=draft.description,
            location=draft.location,
            level=int(level),
            suggestion=draft.suggestion,
            deadline=draft.deadline,
            status=Status.RECTIFYING.value,
            stop_work=plan.stop_work,
            may_cause_accident=may_cause_accident,
            created_at=self.now,
            updated_at=self.now,
            visit_id=await visits.started_visit_of(self.s, person.id, draft.project_id),
            lec_l=lec[0] if lec else None,
            lec_e=lec[1] if lec else None,
            lec_c=lec[2] if lec else None,
            lec_d=round(lec[0] * lec[1] * lec[2], 2) if lec else None,
        )
        self.s.add(hazard)
        await self.s.flush()
        for pos, sha in enumerate(dict.fromkeys(draft.photos)):
            self.s.add(HazardPhoto(hazard_id=hazard.id, sha256=sha, position=pos))
        await self.s.flush()
        await self.t.audit(
            "hazard.reported",
            "hazard",
            hazard.id,
            actor=person.id,
            data={
                "number": hazard.number,
                "level": int(level),
                "major": hazard.major_id,
                "deadline": draft.deadline.isoformat(),
                "photos": list(draft.photos),
                "stop_work": plan.stop_work,
                "may_cause_accident": may_cause_accident,
            },
        )
        info = await self.info(hazard)
        key = f"hz{hazard.id}:reported"
        urgent = level == Level.ONE
        self.t.notify_groups(hazard.project_id, key, [notices.group_card(info)], urgent=urgent)
        responsible = await members.with_roles(self.s, hazard.project_id, plan.responsible)
        self.t.notify(responsible, key, notices.responsible_notice(info), skip=person.id, urgent=urgent)
        followers = [
            p for p in await members.with_roles(self.s, hazard.project_id, plan.followers) if p not in responsible
        ]
        if plan.reported_to:
            reported = await members.with_roles(self.s, hazard.project_id, plan.reported_to)
            self.t.notify(reported, key + ":insurer", notices.insurer_notice(info), skip=person.id)
            followers = [p for p in followers if p not in reported]
        self.t.notify(followers, key, notices.follower_notice(info), skip=person.id, urgent=urgent)
        if plan.same_day_report:
            targets = await members.with_roles(self.s, hazard.project_id, plan.same_day_report)
            same_day = notices.same_day_report(info)
            self.t.notify(targets, key + ":sameday", same_day, skip=person.id, urgent=True)
            await self.t.audit("hazard.same_day_report", "hazard", hazard.id, data={"to": targets})
        return info

    async def submit_rectification(
        self, person: PersonInfo, hazard_id: int, photos: list[str], note: str
    ) -> HazardInfo:
        h = await self._row(person, hazard_id)
        if not allowed(await members.roles_in(self.s, person.id, h.project_id), Action.SUBMIT_RECTIFICATION):
            raise AccessDenied(Action.SUBMIT_RECTIFICATION)
        if not photos:
            raise ServiceError("photo_required")
        if len(note) > MAX_TEXT:
            raise ServiceError("too_long")
        try:
            h.status = levels.transition(Status(h.status), Event.SUBMIT_EVIDENCE).value
        except TransitionError:
            raise Conflict(h.status) from None
        h.updated_at = self.now
        rect = Rectification(hazard_id=h.id, submitted_by=person.id, note=note, submitted_at=self.now)
        self.s.add(rect)
        await self.s.flush()
        await self._photos_exist(photos)
        for pos, sha in enumerate(dict.fromkeys(photos)):
            self.s.add(HazardPhoto(hazard_id=h.id, rectification_id=rect.id, sha256=sha, position=pos))
        await self.s.flush()
        await self.t.audit(
            "hazard.rectification_submitted",
            "hazard",
            h.id,
            actor=person.id,
            data={"rectification": rect.id, "note": note, "photos": photos},
        )
        info = await self.info(h)
        key = f"hz{h.id}:r{rect.id}:submitted"
        self.t.notify(
            await self._reviewers(h), key, notices.review_request(info, await self._rect_info(rect)), skip=person.id
        )
        self.t.notify_groups(h.project_id, key, [notices.group_card(info)])
        return info

    async def for_review(self, person: PersonInfo, rectification_id: int) -> tuple[HazardInfo, RectificationInfo]:
        rect, h = await self._under_review(person, rectification_id)
        return await self.info(h), await self._rect_info(rect)

    async def _under_review(self, person: PersonInfo, rectification_id: int) -> tuple[Rectification, Hazard]:
        rect = await self.s.get(Rectification, rectification_id)
        if rect is None:
            raise NotFound("rectification")
        h = await self._row(person, rect.hazard_id)
        if person.id not in await self._reviewers(h):
            raise AccessDenied(Action.REVIEW_RECTIFICATION)
        if rect.decision is not None:
            raise Conflict(h.status)
        return rect, h

    async def review(self, person: PersonInfo, rectification_id: int, approve: bool, reason: str | None) -> HazardInfo:
        rect, h = await self._under_review(person, rectification_id)
        if not approve and not (reason and reason.strip()):
            raise ServiceError("reason_required")
        try:
            h.status = levels.transition(Status(h.status), Event.APPROVE if approve else Event.REJECT).value
        except TransitionError:
            raise Conflict(h.status) from None
        h.updated_at = self.now
        if approve:
            h.closed_at = self.now
        rect.decision = "approved" if approve else "rejected"
        rect.decided_by, rect.decided_at, rect.reason = person.id, self.now, reason
        await self.s.flush()
        await self.t.audit(
            "hazard.approved" if approve else "hazard.rejected",
            "hazard",
            h.id,
            actor=person.id,
            data={"rectification": rect.id, "reason": reason},
        )
        info = await self.info(h)
        key = f"hz{h.id}:r{rect.id}:{rect.decision}"
        items = notices.approved_notice(info) if approve else notices.rejected_notice(info, reason or "")
        responsible = await members.with_roles(self.s, h.project_id, levels.RESPONSIBLE)
        self.t.notify([rect.submitted_by, *responsible], key, items, skip=person.id)
        self.t.notify_groups(h.project_id, key, [notices.group_card(info)])
        if approve and not levels.reviewer_is_reporter(Level(h.level)):
            # Levels 3–4 are closed by the supervision unit and handed back to the agency (001 §二(二)): the
            # expert who found it and the agency's managers hear that it is closed.
            agency = set(await members.with_roles(self.s, h.project_id, {Role.AGENCY_ADMIN}))
            if Role.EXPERT in await members.roles_in(self.s, h.reporter_id, h.project_id):
                agency.add(h.reporter_id)
            self.t.notify(sorted(agency), key + ":agency", notices.approved_notice(info), skip=person.id)
        return info

    async def receive(self, person: PersonInfo, hazard_id: int) -> HazardInfo:
        """The responsible unit signs for the rectification notice (签收, 000 附件3): the first of its project
        manager and safety officers to press it; the card and the history show who and when."""
        h = await self._row(person, hazard_id)
        if not await members.roles_in(self.s, person.id, h.project_id) & levels.RESPONSIBLE:
            raise AccessDenied("receive")
        if h.received_at is not None:
            raise Conflict("received")
        h.received_by, h.received_at, h.updated_at = person.id, self.now, self.now
        await self.s.flush()
        await self.t.audit("hazard.received", "hazard", h.id, actor=person.id)
        info = await self.info(h)
        self.t.notify_groups(h.project_id, f"hz{h.id}:received", [notices.group_card(info)])
        return info

    async def acknowledge(self, person: PersonInfo, hazard_id: int) -> HazardInfo:
        """Insurer or authority confirms the level-1 same-day report; the repeats stop once both sides have."""
        h = await self._row(person, hazard_id)
        roles = await members.roles_in(self.s, person.id, h.project_id) & {Role.INSURER, Role.AUTHORITY}
        if not roles or h.level != Level.ONE:
            raise AccessDenied("acknowledge")
        exists = (
            await self.s.execute(
                select(Acknowledgement).where(Acknowledgement.hazard_id == h.id, Acknowledgement.person_id == person.id)
            )
        ).scalar_one_or_none()
        if exists is None:
            role = sorted(r.value for r in roles)[0]
            self.s.add(Acknowledgement(hazard_id=h.id, person_id=person.id, role=role, at=self.now))
            await self.s.flush()
            await self.t.audit("hazard.acknowledged", "hazard", h.id, actor=person.id, data={"role": role})
        return await self.info(h)

    # --- the clock -----------------------------------------------------------------------------------------

    async def _acknowledged_roles(self, hazard_id: int) -> set[str]:
        return (await self._acknowledged([hazard_id])).get(hazard_id, set())

    async def _acknowledged(self, ids: list[int]) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        if ids:
            rows = await self.s.execute(
                select(Acknowledgement.hazard_id, Acknowledgement.role).where(Acknowledgement.hazard_id.in_(ids))
            )
            for hazard_id, role in rows.all():
                found.setdefault(hazard_id, set()).add(role)
        return found

    def _milestones_of(self, h: Hazard) -> list[Milestone]:
        """A hazard's rectification milestones (worked out once per batch)."""
        found = self._schedule.get(h.id)
        if found is None:
            setup = self.t.setup
            found = self._schedule[h.id] = escalation.hazard_milestones(
                Level(h.level),
                h.deadline,
                h.created_at,
                setup.calendar,
                setup.tz,
                setup.chain,
                setup.rules.hazards.receipt_reminder_working_hours,
            )
        return found

    @staticmethod
    def _applies(h: Hazard, m: Milestone) -> bool:
        return escalation.applies(m, Status(h.status), h.received_at is not None)

    def _marks(self, h: Hazard, acked: set[str]) -> list[tuple[str, dt.datetime]]:
        """Every moment the clock has for this hazard, keyed as its reminders are."""
        marks: list[tuple[str, dt.datetime]] = []
        if h.status == Status.RECTIFYING.value:
            marks += [(f"hz{h.id}:{m.key}", m.due_at) for m in self._milestones_of(h) if self._applies(h, m)]
        if h.level == Level.ONE and h.status != Status.CLOSED.value and not acked >= SAME_DAY_SIDES:
            marks += [(f"hz{h.id}:{k}", at) for k, at in escalation.same_day_marks(h.created_at)]
        return marks

    async def sweep(self, limit: int) -> Swept:
        """The hazards whose next moment has come: each milestone that fell due and is not yet dealt with (missed
        reminders are superseded by the newest), then each hazard's next moment."""
        rows = await schedule.due(self.s, Hazard, self.now, limit)
        done = await schedule.done_keys(self.s, "hazard", [h.id for h in rows])
        acked = await self._acknowledged([h.id for h in rows if h.level == Level.ONE])
        due = {h.id: self._due(h, done.setdefault(h.id, set()), acked.get(h.id, set())) for h in rows}
        await self._read_ahead([h for h in rows if any(m.status == "due" for m in due[h.id])])
        ledger = Ledger(self.s, "hazard", self.now)
        count = 0
        for h in rows:
            for m in due[h.id]:
                if m.status == "superseded":
                    ledger.record(m.key, h.id, m.milestone, m.at, "superseded")
                elif m.same_day is not None:
                    await self._same_day(h, m, m.same_day, ledger)
                    count += 1
                else:
                    assert m.step is not None
                    await self._milestone(h, m.step, m.key, ledger)
                    count += 1
        await ledger.write()
        moments = {h.id: schedule.first_open(self._marks(h, acked.get(h.id, set())), done[h.id]) for h in rows}
        await schedule.store(self.s, Hazard, moments)
        return Swept(len(rows), count)

    def _due(self, h: Hazard, seen: set[str], acked: set[str]) -> list[Due]:
        """What fell due for one hazard by now and is not yet dealt with (added to `seen`): its rectification
        milestones while it is being rectified, and for level 1 the same-day repeats while a side has not
        acknowledged. Of several missed at once, only the newest is sent."""
        now, out = self.now, []
        if h.status == Status.RECTIFYING.value:
            due = [
                m
                for m in self._milestones_of(h)
                if m.due_at <= now and f"hz{h.id}:{m.key}" not in seen and self._applies(h, m)
            ]
            drop = escalation.superseded(due)
            out += [
                Due(f"hz{h.id}:{m.key}", m.key, m.due_at, "superseded" if m.key in drop else "due", step=m) for m in due
            ]
        missing = frozenset(r for r in SAME_DAY_SIDES if r.value not in acked)
        if h.level == Level.ONE and h.status != Status.CLOSED.value and missing:
            repeats = [
                (k, at) for k, at in escalation.same_day_renotify(h.created_at, now) if f"hz{h.id}:{k}" not in seen
            ]
            out += [
                Due(f"hz{h.id}:{k}", k, at, "due" if n == len(repeats) - 1 else "superseded", same_day=missing)
                for n, (k, at) in enumerate(repeats)
            ]
        seen.update(m.key for m in out)
        return out

    async def _read_ahead(self, rows: Sequence[Hazard]) -> None:
        """What the notices of a batch will need, in four queries instead of four per hazard: the projects and
        reporters (into the session's identity map), the photos and who holds which role."""
        if not rows:
            return
        project_ids = {h.project_id for h in rows}
        # Held here: the identity map keeps only what something else refers to.
        self._held = [
            *(await self.s.execute(select(Project).where(Project.id.in_(project_ids)))).scalars(),
            *(await self.s.execute(select(Person).where(Person.id.in_({h.reporter_id for h in rows})))).scalars(),
        ]
        photos = await self.s.execute(
            select(HazardPhoto.hazard_id, HazardPhoto.sha256)
            .where(HazardPhoto.hazard_id.in_([h.id for h in rows]), HazardPhoto.rectification_id.is_(None))
            .order_by(HazardPhoto.hazard_id, HazardPhoto.position)
        )
        self._photos = {h.id: () for h in rows}
        for hazard_id, sha in photos.all():
            self._photos[hazard_id] += (sha,)
        self._rosters = await members.rosters(self.s, project_ids)

    async def _with_roles(self, project_id: int, roles: frozenset[Role]) -> list[int]:
        roster = self._rosters.get(project_id)
        return roster.with_roles(roles) if roster else await members.with_roles(self.s, project_id, roles)

    async def _milestone(self, h: Hazard, m: Milestone, key: str, ledger: Ledger) -> None:
        info = await self.info(h)
        people = await self._with_roles(h.project_id, m.roles)
        if m.urgent or m.kind == "receipt":  # a notice not signed for is chased at once, in working hours
            ledger.record(key, h.id, m.key, m.due_at, "sent")
            responsible = m.roles <= escalation.RESPONSIBLE
            card = notices.reminder_notice(info, m.key, m.kind, responsible)
            self.t.notify(people, key, card, urgent=m.urgent)
        else:
            ledger.digest(key, h.id, m.key, m.due_at, people, notices.reminder_entry(info, m.key, m.kind))
        await self.t.audit(
            "hazard.escalated" if m.kind == "escalation" else "hazard.reminded",
            "hazard",
            h.id,
            data={"milestone": m.key, "to": people, "urgent": m.urgent},
        )

    async def _same_day(self, h: Hazard, due: Due, missing: frozenset[Role], ledger: Ledger) -> None:
        ledger.record(due.key, h.id, due.milestone, due.at, "sent")
        people = await self._with_roles(h.project_id, missing)
        # Urgent: level 1 ignores quiet hours.
        self.t.notify(people, due.key, notices.same_day_renotice(await self.info(h)), urgent=True)
        await self.t.audit(
            "hazard.same_day_repeated",
            "hazard",
            h.id,
            data={"to": people, "missing": sorted(r.value for r in missing)},
        )

    async def due_report(self, project_code: str | None = None) -> list[dict[str, Any]]:
        """What is open, due and late, in working days (`anzebot due`). Plain columns, not objects: a province's
        open hazards are read in one pass."""
        today, cal = self.t.today, self.t.calendar
        query = (
            select(Hazard.id, Hazard.number, Project.code, Hazard.level, Hazard.status, Hazard.deadline)
            .join(Project, Project.id == Hazard.project_id)
            .where(Hazard.status != Status.CLOSED.value)
            .order_by(Hazard.deadline, Hazard.level)
        )
        acks = (
            select(Acknowledgement.hazard_id, Acknowledgement.role)
            .join(Hazard, Hazard.id == Acknowledgement.hazard_id)
            .join(Project, Project.id == Hazard.project_id)
            .where(Hazard.status != Status.CLOSED.value, Hazard.level == Level.ONE)
        )
        if project_code:
            query = query.where(Project.code == project_code)
            acks = acks.where(Project.code == project_code)
        acked: dict[int, set[str]] = {}
        for hazard_id, role in (await self.s.execute(acks)).all():
            acked.setdefault(hazard_id, set()).add(role)
        out = []
        for hazard_id, number, code, level, status, deadline in (await self.s.execute(query)).all():
            if deadline < today:
                state = f"late {cal.working_days_between(deadline, today)} wd"
            elif deadline == today:
                state = "due today"
            else:
                state = f"due in {cal.working_days_between(today, deadline)} wd"
            out.append(
                {
                    "number": number,
                    "project": code,
                    "level": level,
                    "status": status,
                    "deadline": deadline.isoformat(),
                    "state": state,
                    "unacknowledged": sorted({"insurer", "authority"} - acked.get(hazard_id, set()))
                    if level == Level.ONE
                    else [],
                }
            )
        return out


async def sweep(t: Turn, limit: int) -> Swept:
    return await Hazards(t).sweep(limit)
