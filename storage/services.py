"""The services handlers call, on one SQLAlchemy session: each change appends its audit event and the outbox
rows for the notices it causes in the same transaction (the router commits once per incoming message)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import notices
from bot.domain import levels
from bot.domain.levels import Event, Level, Status, TransitionError
from bot.domain.numbering import counter_name, format_number, looks_like_number, normalise
from bot.domain.roles import Action, Role, allowed
from bot.domain.taxonomy import taxonomy
from bot.domain.workdays import WorkCalendar
from bot.messages import Item
from bot.ports import (
    AccessDenied,
    BroadcastDraft,
    BroadcastInfo,
    BroadcastPreview,
    ComplaintInfo,
    Conflict,
    HazardDraft,
    HazardInfo,
    HistoryEntry,
    InviteProblem,
    NotFound,
    ObligationInfo,
    PersonInfo,
    PlanInfo,
    ProjectInfo,
    RectificationInfo,
    RevisitInfo,
    ServiceError,
    TrainingDraft,
    TrainingInfo,
    TrainingOverview,
    VisitInfo,
)
from storage import audit, broadcasts, complaints, members, revisits, training, visits
from storage.admin import AdminError
from storage.invite_codes import hash_code
from storage.models import (
    Acknowledgement,
    AuditEvent,
    ChatBinding,
    Counter,
    Hazard,
    HazardPhoto,
    Identity,
    Invite,
    MediaFile,
    Membership,
    Organisation,
    Person,
    Project,
    Rectification,
    ServicePlan,
    Visit,
    VisitTask,
)
from storage.outbox_store import notify_person, notify_project_groups

MAX_TEXT = 1000


async def person_info(session: AsyncSession, person_id: int) -> PersonInfo:
    row = (
        await session.execute(
            select(Person, Organisation)
            .join(Organisation, Organisation.id == Person.org_id)
            .where(Person.id == person_id)
        )
    ).one()
    person, org = row
    return PersonInfo(person.id, person.name, person.locale, org.name, org.kind)


async def person_for_account(session: AsyncSession, channel: str, user_id: str) -> PersonInfo | None:
    ident = (
        await session.execute(select(Identity).where(Identity.channel == channel, Identity.user_id == user_id))
    ).scalar_one_or_none()
    if ident is None:
        return None
    return await person_info(session, ident.person_id)


class SqlServices:
    def __init__(
        self,
        session: AsyncSession,
        *,
        prefix: str,
        deadline_days: dict[Level, int],
        tz: ZoneInfo,
        now: dt.datetime,
        calendar: WorkCalendar | None = None,
        rates: Mapping[str, float] | None = None,
    ) -> None:
        self.s = session
        self.rates = dict(rates or {})  # messages per second each channel may send (broadcast estimates)
        self.prefix = prefix
        self.deadline_days = deadline_days
        self.tz = tz
        self.now = now
        self.calendar = calendar or WorkCalendar()

    # --- people, projects, chats ------------------------------------------------------------------------

    async def _invite(self, code: str, kind: str) -> Invite:
        inv = (await self.s.execute(select(Invite).where(Invite.code_hash == hash_code(code)))).scalar_one_or_none()
        if inv is None:
            raise InviteProblem("unknown")
        if inv.used_at is not None:
            raise InviteProblem("used")
        if inv.expires_at <= self.now:
            raise InviteProblem("expired")
        if inv.kind != kind:
            raise InviteProblem("wrong_kind")
        return inv

    async def _project(self, project_id: int, roles: frozenset[Role] = frozenset()) -> ProjectInfo:
        p = await self.s.get(Project, project_id)
        if p is None:
            raise NotFound("project")
        return ProjectInfo(p.id, p.code, p.name, p.address, roles)

    async def redeem_invite(
        self, channel: str, user_id: str, chat_id: str, code: str
    ) -> tuple[PersonInfo, ProjectInfo, Role]:
        inv = await self._invite(code, "person")
        assert inv.person_id is not None and inv.role is not None
        ident = (
            await self.s.execute(select(Identity).where(Identity.channel == channel, Identity.user_id == user_id))
        ).scalar_one_or_none()
        if ident is not None and ident.person_id != inv.person_id:
            # A chat account is one person for good; nobody takes over someone else's account or roles.
            raise InviteProblem("already_bound")
        if ident is None:
            self.s.add(
                Identity(
                    channel=channel,
                    user_id=user_id,
                    chat_id=chat_id,
                    person_id=inv.person_id,
                    created_at=self.now,
                    last_seen_at=self.now,
                )
            )
        else:
            ident.active = True
            ident.chat_id = chat_id
        role = Role(inv.role)
        existing = (
            await self.s.execute(
                select(Membership).where(
                    Membership.person_id == inv.person_id,
                    Membership.project_id == inv.project_id,
                    Membership.role == role.value,
                )
            )
        ).scalar_one_or_none()
        if existing is None:
            self.s.add(
                Membership(
                    person_id=inv.person_id,
                    project_id=inv.project_id,
                    role=role.value,
                    granted_at=self.now,
                    invite_id=inv.id,
                )
            )
        else:
            existing.active = True
        inv.used_at = self.now
        inv.used_by = f"{channel}:{user_id}"
        await self.s.flush()
        await audit.append(
            self.s,
            actor_id=inv.person_id,
            action="invite.redeemed",
            object_type="invite",
            object_id=inv.id,
            data={"channel": channel, "role": role.value, "project": inv.project_id},
            at=self.now,
        )
        person = await person_info(self.s, inv.person_id)
        return person, await self._project(inv.project_id, await self.roles_in(person, inv.project_id)), role

    async def bind_group(
        self, person: PersonInfo, channel: str, chat_id: str, code: str, title: str | None
    ) -> ProjectInfo:
        inv = await self._invite(code, "group")
        roles = await self.roles_in(person, inv.project_id)
        if not allowed(roles, Action.BIND_GROUP):
            raise AccessDenied(Action.BIND_GROUP)
        binding = (
            await self.s.execute(
                select(ChatBinding).where(ChatBinding.channel == channel, ChatBinding.chat_id == chat_id)
            )
        ).scalar_one_or_none()
        if binding is not None and binding.active and binding.project_id != inv.project_id:
            raise InviteProblem("already_bound")
        if binding is None:
            binding = ChatBinding(
                channel=channel,
                chat_id=chat_id,
                project_id=inv.project_id,
                title=title,
                bound_by=person.id,
                created_at=self.now,
            )
            self.s.add(binding)
        else:
            binding.project_id, binding.active, binding.bound_by = inv.project_id, True, person.id
        inv.used_at = self.now
        inv.used_by = f"{channel}:{chat_id}"
        await self.s.flush()
        await audit.append(
            self.s,
            actor_id=person.id,
            action="group.bound",
            object_type="project",
            object_id=inv.project_id,
            data={"channel": channel, "chat": chat_id},
            at=self.now,
        )
        return await self._project(inv.project_id, roles)

    async def group_project(self, channel: str, chat_id: str) -> ProjectInfo | None:
        binding = (
            await self.s.execute(
                select(ChatBinding).where(
                    ChatBinding.channel == channel,
                    ChatBinding.chat_id == chat_id,
                    ChatBinding.active.is_(True),
                )
            )
        ).scalar_one_or_none()
        return await self._project(binding.project_id) if binding else None

    async def set_locale(self, person: PersonInfo, locale: str) -> None:
        row = await self.s.get(Person, person.id)
        assert row is not None
        row.locale = locale

    async def set_quiet_hours(self, person: PersonInfo, start: str | None, end: str | None) -> None:
        row = await self.s.get(Person, person.id)
        assert row is not None
        row.quiet_start, row.quiet_end = start, end

    async def roles_in(self, person: PersonInfo, project_id: int) -> frozenset[Role]:
        rows = await self.s.execute(
            select(Membership.role).where(
                Membership.person_id == person.id, Membership.project_id == project_id, Membership.active.is_(True)
            )
        )
        return frozenset(Role(r) for r in rows.scalars())

    async def projects(self, person: PersonInfo, action: Action | None = None) -> list[ProjectInfo]:
        rows = (
            await self.s.execute(
                select(Membership.project_id, Membership.role).where(
                    Membership.person_id == person.id, Membership.active.is_(True)
                )
            )
        ).all()
        by_project: dict[int, set[Role]] = {}
        for project_id, role in rows:
            by_project.setdefault(project_id, set()).add(Role(role))
        out = []
        for project_id in sorted(by_project):
            roles = frozenset(by_project[project_id])
            if action is None or allowed(roles, action):
                out.append(await self._project(project_id, roles))
        return out

    async def _next_number(self) -> str:
        year = self.now.astimezone(self.tz).year
        name = counter_name(self.prefix, year)
        counter = (
            await self.s.execute(select(Counter).where(Counter.name == name).with_for_update())
        ).scalar_one_or_none()
        if counter is None:
            counter = Counter(name=name, value=0)
            self.s.add(counter)
        counter.value += 1
        return format_number(self.prefix, year, counter.value)

    async def _info(self, h: Hazard) -> HazardInfo:
        project = await self.s.get(Project, h.project_id)
        reporter = await self.s.get(Person, h.reporter_id)
        photos = (
            (
                await self.s.execute(
                    select(HazardPhoto.sha256)
                    .where(HazardPhoto.hazard_id == h.id, HazardPhoto.rectification_id.is_(None))
                    .order_by(HazardPhoto.position)
                )
            )
            .scalars()
            .all()
        )
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
            lec,
            tuple(photos),  # type: ignore[arg-type]
        )

    async def view(self, h: Hazard) -> HazardInfo:
        """The handler-facing view of a hazard row (for the clock, which has no person asking)."""
        return await self._info(h)

    async def _notify_people(
        self, person_ids: Iterable[int], key: str, items: list[Item], skip: int | None = None
    ) -> None:
        for pid in dict.fromkeys(person_ids):
            if pid != skip:
                await notify_person(self.s, pid, key, items)

    async def report_hazard(self, person: PersonInfo, draft: HazardDraft) -> HazardInfo:
        roles = await self.roles_in(person, draft.project_id)
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
        for sha in draft.photos:
            if await self.s.get(MediaFile, sha) is None:
                raise ServiceError("photo_missing")
        if len(draft.description) > MAX_TEXT or len(draft.suggestion) > MAX_TEXT:
            raise ServiceError("too_long")
        basis = major.basis if major else (check.basis if check else "")
        plan = levels.notice_plan(level)
        lec = draft.lec
        lec_d = round(lec[0] * lec[1] * lec[2], 2) if lec else None
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
            lec_d=lec_d,
        )
        self.s.add(hazard)
        await self.s.flush()
        for pos, sha in enumerate(dict.fromkeys(draft.photos)):
            self.s.add(HazardPhoto(hazard_id=hazard.id, sha256=sha, position=pos))
        await self.s.flush()
        await audit.append(
            self.s,
            actor_id=person.id,
            action="hazard.reported",
            object_type="hazard",
            object_id=hazard.id,
            at=self.now,
            data={
                "number": hazard.number,
                "level": int(level),
                "major": hazard.major_id,
                "deadline": draft.deadline.isoformat(),
                "photos": list(draft.photos),
                "stop_work": plan.stop_work,
            },
        )
        info = await self._info(hazard)
        key = f"hz{hazard.id}:reported"
        await notify_project_groups(self.s, hazard.project_id, key, [notices.group_card(info)])
        responsible = await members.with_roles(self.s, hazard.project_id, plan.responsible)
        await self._notify_people(responsible, key, list(notices.responsible_notice(info)), skip=person.id)
        followers = [
            p for p in await members.with_roles(self.s, hazard.project_id, plan.followers) if p not in responsible
        ]
        if level == Level.TWO:
            insurers = await members.with_roles(self.s, hazard.project_id, {Role.INSURER})
            await self._notify_people(insurers, key + ":insurer", list(notices.insurer_notice(info)), skip=person.id)
            followers = [p for p in followers if p not in insurers]
        await self._notify_people(followers, key, list(notices.follower_notice(info)), skip=person.id)
        if plan.same_day_report:
            targets = await members.with_roles(self.s, hazard.project_id, plan.same_day_report)
            await self._notify_people(targets, key + ":sameday", list(notices.same_day_report(info)), skip=person.id)
            await audit.append(
                self.s,
                actor_id=None,
                action="hazard.same_day_report",
                object_type="hazard",
                object_id=hazard.id,
                at=self.now,
                data={"to": targets},
            )
        return info

    async def _hazard_row(self, person: PersonInfo, ref: str | int) -> Hazard:
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            h = await self.s.get(Hazard, int(ref))
        elif looks_like_number(ref):
            h = (await self.s.execute(select(Hazard).where(Hazard.number == normalise(ref)))).scalar_one_or_none()
        else:
            h = None
        if h is None:
            raise NotFound("hazard")
        if not allowed(await self.roles_in(person, h.project_id), Action.VIEW_HAZARDS):
            raise AccessDenied(Action.VIEW_HAZARDS)
        return h

    async def hazard(self, person: PersonInfo, ref: str | int) -> HazardInfo:
        return await self._info(await self._hazard_row(person, ref))

    async def open_hazards(self, person: PersonInfo, limit: int = 30) -> list[HazardInfo]:
        project_ids = [p.id for p in await self.projects(person, Action.VIEW_HAZARDS)]
        if not project_ids:
            return []
        rows = (
            (
                await self.s.execute(
                    select(Hazard)
                    .where(Hazard.project_id.in_(project_ids), Hazard.status != Status.CLOSED.value)
                    .order_by(Hazard.deadline, Hazard.level, Hazard.id)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        return [await self._info(h) for h in rows]

    async def history(self, person: PersonInfo, hazard_id: int) -> list[HistoryEntry]:
        await self._hazard_row(person, hazard_id)
        rows = (
            await self.s.execute(
                select(AuditEvent, Person.name)
                .outerjoin(Person, Person.id == AuditEvent.actor_id)
                .where(AuditEvent.object_type == "hazard", AuditEvent.object_id == str(hazard_id))
                .order_by(AuditEvent.id)
            )
        ).all()
        return [HistoryEntry(ev.at, name or "", ev.action, audit.data_of(ev)) for ev, name in rows]

    async def _rect_info(self, r: Rectification) -> RectificationInfo:
        photos = (
            (
                await self.s.execute(
                    select(HazardPhoto.sha256)
                    .where(HazardPhoto.rectification_id == r.id)
                    .order_by(HazardPhoto.position)
                )
            )
            .scalars()
            .all()
        )
        who = await self.s.get(Person, r.submitted_by)
        return RectificationInfo(
            r.id, r.hazard_id, r.note, tuple(photos), who.name if who else "", r.submitted_at, r.decision, r.reason
        )

    async def rectifications(self, person: PersonInfo, hazard_id: int) -> list[RectificationInfo]:
        await self._hazard_row(person, hazard_id)
        rows = (
            (
                await self.s.execute(
                    select(Rectification).where(Rectification.hazard_id == hazard_id).order_by(Rectification.id)
                )
            )
            .scalars()
            .all()
        )
        return [await self._rect_info(r) for r in rows]

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

    # --- service plans and visits (storage/visits.py) -----------------------------------------------------

    async def plans(self, person: PersonInfo) -> list[PlanInfo]:
        out = []
        for project in await self.projects(person):
            plan = (
                (
                    await self.s.execute(
                        select(ServicePlan.status).where(
                            ServicePlan.project_id == project.id, ServicePlan.status != "replaced"
                        )
                    )
                )
                .scalars()
                .first()
            )
            today = self.now.astimezone(self.tz).date()
            obs = await visits.project_obligations(self.s, project.id, self.calendar)
            out.append(
                PlanInfo(project, plan, tuple(ObligationInfo(o.key, o.due_by, o.done_on, o.status(today)) for o in obs))
            )
        return out

    async def confirm_plan(self, person: PersonInfo, plan_id: int) -> str:
        return await visits.confirm_plan(self.s, person, plan_id, self.now)

    async def _visit_info(self, v: Visit) -> VisitInfo:
        project = await self.s.get(Project, v.project_id)
        tasks = (
            (
                await self.s.execute(
                    select(VisitTask)
                    .where(VisitTask.visit_id == v.id, VisitTask.done_at.is_(None))
                    .order_by(VisitTask.due_on)
                )
            )
            .scalars()
            .all()
        )
        return VisitInfo(
            v.id,
            project.name if project else "",
            v.scheduled_on,
            v.status,
            tuple((t.milestone, t.due_on) for t in tasks),
        )

    async def my_visits(self, person: PersonInfo) -> list[VisitInfo]:
        rows = (
            (await self.s.execute(select(Visit).where(Visit.leader_id == person.id).order_by(Visit.scheduled_on)))
            .scalars()
            .all()
        )
        infos = [await self._visit_info(v) for v in rows]
        return [v for v in infos if v.status != "closed" or v.open_tasks]

    async def start_visit(self, person: PersonInfo, visit_id: int) -> VisitInfo:
        visit = await visits.start_visit(self.s, person, visit_id, self.now.astimezone(self.tz).date(), self.now)
        return await self._visit_info(visit)

    async def close_visit(self, person: PersonInfo, visit_id: int, summary: str) -> VisitInfo:
        await visits.close_visit(
            self.s, person, visit_id, summary, self.calendar, self.now.astimezone(self.tz).date(), self.now
        )
        visit = await self.s.get(Visit, visit_id)
        assert visit is not None
        return await self._visit_info(visit)

    async def complete_visit_task(self, person: PersonInfo, visit_id: int, milestone: str) -> VisitInfo:
        await visits.complete_task(self.s, person, visit_id, milestone, self.now)
        visit = await self.s.get(Visit, visit_id)
        assert visit is not None
        return await self._visit_info(visit)

    async def acknowledge(self, person: PersonInfo, hazard_id: int) -> HazardInfo:
        """Insurer or authority confirms the level-1 same-day report; the repeats stop once both sides have."""
        h = await self._hazard_row(person, hazard_id)
        roles = await self.roles_in(person, h.project_id) & {Role.INSURER, Role.AUTHORITY}
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
            await audit.append(
                self.s,
                actor_id=person.id,
                action="hazard.acknowledged",
                object_type="hazard",
                object_id=h.id,
                at=self.now,
                data={"role": role},
            )
        return await self._info(h)

    async def rectification_for_review(
        self, person: PersonInfo, rectification_id: int
    ) -> tuple[HazardInfo, RectificationInfo]:
        rect = await self.s.get(Rectification, rectification_id)
        if rect is None:
            raise NotFound("rectification")
        h = await self._hazard_row(person, rect.hazard_id)
        if person.id not in await self._reviewers(h):
            raise AccessDenied(Action.REVIEW_RECTIFICATION)
        if rect.decision is not None:
            raise Conflict(h.status)
        return await self._info(h), await self._rect_info(rect)

    async def can_rectify(self, person: PersonInfo, hazard: HazardInfo) -> bool:
        return allowed(await self.roles_in(person, hazard.project_id), Action.SUBMIT_RECTIFICATION)

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

    async def submit_rectification(
        self, person: PersonInfo, hazard_id: int, photos: list[str], note: str
    ) -> HazardInfo:
        h = await self._hazard_row(person, hazard_id)
        if not allowed(await self.roles_in(person, h.project_id), Action.SUBMIT_RECTIFICATION):
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
        for pos, sha in enumerate(dict.fromkeys(photos)):
            if await self.s.get(MediaFile, sha) is None:
                raise ServiceError("photo_missing")
            self.s.add(HazardPhoto(hazard_id=h.id, rectification_id=rect.id, sha256=sha, position=pos))
        await self.s.flush()
        await audit.append(
            self.s,
            actor_id=person.id,
            action="hazard.rectification_submitted",
            object_type="hazard",
            object_id=h.id,
            at=self.now,
            data={"rectification": rect.id, "note": note, "photos": photos},
        )
        info = await self._info(h)
        rinfo = await self._rect_info(rect)
        key = f"hz{h.id}:r{rect.id}:submitted"
        await self._notify_people(
            await self._reviewers(h), key, list(notices.review_request(info, rinfo)), skip=person.id
        )
        await notify_project_groups(self.s, h.project_id, key, [notices.group_card(info)])
        return info

    async def review(self, person: PersonInfo, rectification_id: int, approve: bool, reason: str | None) -> HazardInfo:
        await self.rectification_for_review(person, rectification_id)
        rect = await self.s.get(Rectification, rectification_id)
        assert rect is not None
        h = await self._hazard_row(person, rect.hazard_id)
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
        await audit.append(
            self.s,
            actor_id=person.id,
            action="hazard.approved" if approve else "hazard.rejected",
            object_type="hazard",
            object_id=h.id,
            at=self.now,
            data={"rectification": rect.id, "reason": reason},
        )
        info = await self._info(h)
        key = f"hz{h.id}:r{rect.id}:{rect.decision}"
        items = notices.approved_notice(info) if approve else notices.rejected_notice(info, reason or "")
        responsible = await members.with_roles(self.s, h.project_id, levels.RESPONSIBLE)
        await self._notify_people([rect.submitted_by, *responsible], key, list(items), skip=person.id)
        await notify_project_groups(self.s, h.project_id, key, [notices.group_card(info)])
        return info

    # --- revisits --------------------------------------------------------------------------------------------

    async def revisit_form(self, person: PersonInfo, revisit_id: int) -> RevisitInfo:
        return await revisits.open_form(self.s, person, revisit_id)

    async def submit_revisit(self, person: PersonInfo, revisit_id: int, answers: dict[str, Any]) -> RevisitInfo:
        return await revisits.submit(self.s, person, revisit_id, answers, self.calendar, self.today, self.now)

    async def confirm_revisit(self, person: PersonInfo, revisit_id: int) -> RevisitInfo:
        return await revisits.confirm(self.s, person, revisit_id, self.now)

    async def satisfaction(
        self, person: PersonInfo, first: dt.date, last: dt.date
    ) -> list[tuple[str, str, int, float | None]]:
        """Insurers see their insured projects, agency people the projects they serve."""
        if person.org_kind not in ("insurer", "agency", "authority", "association"):
            raise AccessDenied("satisfaction")
        projects = [p.id for p in await self.projects(person)]
        return await revisits.satisfaction(self.s, first, last, self.tz, projects)

    # --- complaints ------------------------------------------------------------------------------------------

    async def file_complaint(
        self, person: PersonInfo, project_id: int, about: str, text: str, photos: list[str]
    ) -> ComplaintInfo:
        return await complaints.file(
            self.s, person, project_id, about, text, photos, self.calendar, self.today, self.now
        )

    async def complaint(self, person: PersonInfo, complaint_id: int) -> ComplaintInfo:
        return await complaints.view(self.s, person, complaint_id)

    async def complaint_needs_checking(self, person: PersonInfo, complaint_id: int) -> ComplaintInfo:
        return await complaints.needs_checking(self.s, person, complaint_id, self.calendar, self.tz, self.now)

    async def extend_complaint(self, person: PersonInfo, complaint_id: int, days: int, reason: str) -> ComplaintInfo:
        return await complaints.extend(self.s, person, complaint_id, days, reason, self.calendar, self.now)

    async def answer_complaint(self, person: PersonInfo, complaint_id: int, parts: dict[str, str]) -> ComplaintInfo:
        return await complaints.answer(self.s, person, complaint_id, parts, self.now)

    async def close_complaint(self, person: PersonInfo, complaint_id: int, refer: bool) -> ComplaintInfo:
        return await complaints.close(self.s, person, complaint_id, refer, self.now)

    # --- training and drills ---------------------------------------------------------------------------------

    async def create_training(self, person: PersonInfo, draft: TrainingDraft) -> tuple[TrainingInfo, str]:
        """Agencies and insurers organise sessions for projects they are in; the venue code goes to them."""
        if person.org_kind not in ("agency", "insurer"):
            raise AccessDenied("training")
        mine = {p.id for p in await self.projects(person)}
        if not draft.project_ids or not set(draft.project_ids) <= mine:
            raise AccessDenied("training")
        try:
            session, code, _ = await training.add(
                self.s,
                kind=draft.kind,
                topic=draft.topic,
                place=draft.place,
                starts_at=draft.starts_at,
                ends_at=draft.ends_at,
                projects=[str(pid) for pid in draft.project_ids],
                roles=list(draft.roles),
                organiser=str(person.id),
                drill=draft.drill,
                tz=self.tz,
                now=self.now,
            )
        except AdminError:
            raise ServiceError("training_invalid") from None
        return await training.info(self.s, session), code

    async def sign_in_training(self, person: PersonInfo, session_id: int, code: str) -> TrainingInfo:
        return await training.sign_in(self.s, person, session_id, code, self.now)

    async def training_record(
        self, person: PersonInfo, session_id: int, photos: list[str], evaluation: str
    ) -> TrainingInfo:
        return await training.add_record(self.s, person, session_id, photos, evaluation, self.now)

    async def my_training(self, person: PersonInfo) -> TrainingOverview:
        return await training.my_training(self.s, person, self.now)

    # --- broadcasts ------------------------------------------------------------------------------------------

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.tz).date()

    async def broadcast_regions(self, person: PersonInfo) -> list[str]:
        return await broadcasts.regions(self.s, person, self.today)

    async def preview_broadcast(self, person: PersonInfo, draft: BroadcastDraft) -> BroadcastPreview:
        return await broadcasts.preview(self.s, person, draft, self.today, self.rates)

    async def send_broadcast(self, person: PersonInfo, draft: BroadcastDraft) -> BroadcastInfo:
        broadcast_id = await broadcasts.send(self.s, person, draft, self.now, self.today)
        return await broadcasts.one(self.s, person, broadcast_id)

    async def broadcasts(self, person: PersonInfo, limit: int = 5) -> list[BroadcastInfo]:
        return await broadcasts.recent(self.s, person, limit)

    async def broadcast(self, person: PersonInfo, broadcast_id: int) -> BroadcastInfo:
        return await broadcasts.one(self.s, person, broadcast_id)

    async def acknowledge_broadcast(self, person: PersonInfo, broadcast_id: int, channel: str, chat_id: str) -> bool:
        return await broadcasts.acknowledge(self.s, person, broadcast_id, channel, chat_id, self.now)

    async def renotify_broadcast(self, person: PersonInfo, broadcast_id: int) -> int:
        return await broadcasts.renotify(self.s, person, broadcast_id, self.now)
