"""Hazards (隐患): reported with photos, rectified by the responsible unit, re-inspected by the reviewer, and
followed by the clock — reminders before the deadline, the overdue notice, the escalation chain, and the level-1
same-day report repeated until the insurer and the authority acknowledge it.

Every change appends its audit event and the outbox rows of the notices it causes in the turn's transaction."""

from __future__ import annotations

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
from storage import audit, counters, digest, members, visits
from storage.models import (
    Acknowledgement,
    AuditEvent,
    Hazard,
    HazardPhoto,
    MediaFile,
    Person,
    Project,
    Rectification,
    Reminder,
)
from storage.reminder_log import record
from storage.turn import Area, Turn

MAX_TEXT = 1000


class Hazards(Area):
    # --- views ---------------------------------------------------------------------------------------------

    async def info(self, h: Hazard) -> HazardInfo:
        """The handler-facing view of a hazard row."""
        project = await self.s.get(Project, h.project_id)
        reporter = await self.s.get(Person, h.reporter_id)
        photos = (
            await self.s.execute(
                select(HazardPhoto.sha256)
                .where(HazardPhoto.hazard_id == h.id, HazardPhoto.rectification_id.is_(None))
                .order_by(HazardPhoto.position)
            )
        ).scalars()
        lec = (h.lec_l, h.lec_e, h.lec_c, h.lec_d) if h.lec_d is not None else None
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
            tuple(photos),
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
        tax = taxonomy()
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
        plan = levels.notice_plan(level)
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
            },
        )
        info = await self.info(hazard)
        key = f"hz{hazard.id}:reported"
        urgent = level == Level.ONE
        await self.t.notify_groups(hazard.project_id, key, [notices.group_card(info)], urgent=urgent)
        responsible = await members.with_roles(self.s, hazard.project_id, plan.responsible)
        await self.t.notify(responsible, key, notices.responsible_notice(info), skip=person.id, urgent=urgent)
        followers = [
            p for p in await members.with_roles(self.s, hazard.project_id, plan.followers) if p not in responsible
        ]
        if level == Level.TWO:
            insurers = await members.with_roles(self.s, hazard.project_id, {Role.INSURER})
            await self.t.notify(insurers, key + ":insurer", notices.insurer_notice(info), skip=person.id)
            followers = [p for p in followers if p not in insurers]
        await self.t.notify(followers, key, notices.follower_notice(info), skip=person.id, urgent=urgent)
        if plan.same_day_report:
            targets = await members.with_roles(self.s, hazard.project_id, plan.same_day_report)
            same_day = notices.same_day_report(info)
            await self.t.notify(targets, key + ":sameday", same_day, skip=person.id, urgent=True)
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
        await self.t.notify(
            await self._reviewers(h), key, notices.review_request(info, await self._rect_info(rect)), skip=person.id
        )
        await self.t.notify_groups(h.project_id, key, [notices.group_card(info)])
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
        await self.t.notify([rect.submitted_by, *responsible], key, items, skip=person.id)
        await self.t.notify_groups(h.project_id, key, [notices.group_card(info)])
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
        rows = await self.s.execute(select(Acknowledgement.role).where(Acknowledgement.hazard_id == hazard_id))
        return set(rows.scalars())

    async def sweep(self) -> int:
        """Every milestone of every open hazard that fell due and is not yet dealt with; missed reminders are
        superseded by the newest."""
        hazards = (await self.s.execute(select(Hazard).where(Hazard.status != Status.CLOSED.value))).scalars().all()
        if not hazards:
            return 0
        done = set(
            (
                await self.s.execute(
                    select(Reminder.key).where(
                        Reminder.object_type == "hazard", Reminder.object_id.in_([h.id for h in hazards])
                    )
                )
            ).scalars()
        )
        count = 0
        setup, now = self.t.setup, self.now
        for h in hazards:
            level = Level(h.level)
            if h.status == Status.RECTIFYING.value:
                milestones = escalation.hazard_milestones(
                    level, h.deadline, h.created_at, setup.calendar, setup.tz, setup.chain
                )
                due = [m for m in milestones if m.due_at <= now and f"hz{h.id}:{m.key}" not in done]
                drop = escalation.superseded(due)
                for m in due:
                    key = f"hz{h.id}:{m.key}"
                    if m.key in drop:
                        await record(self.s, key, "hazard", h.id, m.key, m.due_at, "superseded", now)
                        continue
                    await self._milestone(h, m, key)
                    count += 1
            if level == Level.ONE:
                count += await self._same_day(h, done)
        return count

    async def _milestone(self, h: Hazard, m: Milestone, key: str) -> None:
        info = await self.info(h)
        people = await members.with_roles(self.s, h.project_id, m.roles)
        reminder = await record(
            self.s, key, "hazard", h.id, m.key, m.due_at, "sent" if m.urgent else "digest", self.now
        )
        if m.urgent:
            responsible = m.roles <= escalation.RESPONSIBLE
            await self.t.notify(people, key, notices.reminder_notice(info, m.key, m.kind, responsible), urgent=True)
        else:
            digest.queue(self.t, reminder, people, notices.reminder_entry(info, m.key, m.kind))
        await self.t.audit(
            "hazard.escalated" if m.kind == "escalation" else "hazard.reminded",
            "hazard",
            h.id,
            data={"milestone": m.key, "to": people, "urgent": m.urgent},
        )

    async def _same_day(self, h: Hazard, done: set[str]) -> int:
        acked = await self._acknowledged_roles(h.id)
        missing = frozenset(r for r in (Role.INSURER, Role.AUTHORITY) if r.value not in acked)
        if not missing:
            return 0
        due = [(k, at) for k, at in escalation.same_day_renotify(h.created_at, self.now) if f"hz{h.id}:{k}" not in done]
        if not due:
            return 0
        for k, at in due[:-1]:  # missed while down: only the newest repeat is sent
            await record(self.s, f"hz{h.id}:{k}", "hazard", h.id, k, at, "superseded", self.now)
        k, at = due[-1]
        key = f"hz{h.id}:{k}"
        await record(self.s, key, "hazard", h.id, k, at, "sent", self.now)
        people = await members.with_roles(self.s, h.project_id, missing)
        # Urgent: level 1 ignores quiet hours.
        await self.t.notify(people, key, notices.same_day_renotice(await self.info(h)), urgent=True)
        await self.t.audit(
            "hazard.same_day_repeated",
            "hazard",
            h.id,
            data={"to": people, "missing": sorted(r.value for r in missing)},
        )
        return 1

    async def due_report(self, project_code: str | None = None) -> list[dict[str, Any]]:
        """What is open, due and late, in working days (`anzebot due`)."""
        today, cal = self.t.today, self.t.calendar
        query = (
            select(Hazard, Project)
            .join(Project, Project.id == Hazard.project_id)
            .where(Hazard.status != Status.CLOSED.value)
            .order_by(Hazard.deadline, Hazard.level)
        )
        if project_code:
            query = query.where(Project.code == project_code)
        out = []
        for h, p in (await self.s.execute(query)).all():
            if h.deadline < today:
                state = f"late {cal.working_days_between(h.deadline, today)} wd"
            elif h.deadline == today:
                state = "due today"
            else:
                state = f"due in {cal.working_days_between(today, h.deadline)} wd"
            acks = await self._acknowledged_roles(h.id)
            out.append(
                {
                    "number": h.number,
                    "project": p.code,
                    "level": h.level,
                    "status": h.status,
                    "deadline": h.deadline.isoformat(),
                    "state": state,
                    "unacknowledged": sorted({"insurer", "authority"} - acks) if h.level == 1 else [],
                }
            )
        return out


async def sweep(t: Turn) -> int:
    return await Hazards(t).sweep()
