"""Training sessions and drills: created by the agency or the insurer (CLI or chat), invitations to the audience,
reminders the day before and two hours before, sign-in in chat with the code shown at the venue during the
session's window, attendance and hours, photos and the drill's evaluation afterwards, and online learning hours
recorded by the operator or imported from a CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from dataclasses import replace
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import training as rules
from bot.domain.roles import Role
from bot.domain.rules import Training as TrainingRules
from bot.notices import training as notices
from bot.ports import (
    AccessDenied,
    NotFound,
    PersonInfo,
    ServiceError,
    TrainingDraft,
    TrainingInfo,
    TrainingOverview,
)
from storage import audit, members, schedule
from storage.admin import AdminError, find_person, find_project
from storage.invite_codes import hash_code
from storage.models import Attendance, LearningHours, Membership, Person, Project, TrainingSession
from storage.outbox_store import notify_person
from storage.reminder_log import Ledger
from storage.schedule import Swept
from storage.turn import Area, Turn

ORGANISERS = ("agency", "insurer")


async def _audience(s: AsyncSession, t: TrainingSession) -> list[int]:
    rows = await s.execute(
        select(Membership.person_id)
        .where(Membership.project_id.in_(t.projects), Membership.role.in_(t.roles), Membership.active.is_(True))
        .distinct()
        .order_by(Membership.person_id)
    )
    return list(rows.scalars())


async def info(s: AsyncSession, t: TrainingSession) -> TrainingInfo:
    present = (await s.execute(select(func.count()).where(Attendance.session_id == t.id))).scalar_one()
    return TrainingInfo(
        id=t.id,
        kind=t.kind,
        topic=t.topic,
        place=t.place,
        starts_at=t.starts_at,
        ends_at=t.ends_at,
        hours=rules.hours(t.starts_at, t.ends_at),
        invited=len(await _audience(s, t)),
        present=present,
        photos=len(t.photos or []),
        evaluation=t.evaluation,
    )


async def add(
    s: AsyncSession,
    *,
    kind: str,
    topic: str,
    place: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    projects: list[str],
    roles: list[str],
    organiser: str | None,
    drill: str | None,
    tz: ZoneInfo,
    now: dt.datetime,
    min_hours: float = TrainingRules().min_offline_hours,
) -> tuple[TrainingSession, str, list[str]]:
    """Create a session and invite its audience; returns it, the venue code, and warnings."""
    if kind not in set(rules.Kind):
        raise AdminError(f"kind must be one of {', '.join(rules.Kind)}")
    if (kind == rules.Kind.DRILL) != (drill is not None) or (drill and drill not in set(rules.Drill)):
        raise AdminError(f"a drill needs --drill, one of {', '.join(rules.Drill)} (and only a drill has one)")
    if ends_at <= starts_at:
        raise AdminError("the session must end after it starts")
    unknown = [r for r in roles if r not in set(Role)]
    if unknown or not roles:
        raise AdminError(f"roles must be some of {', '.join(Role)}")
    project_rows = [await find_project(s, p) for p in projects]
    organiser_row = await find_person(s, organiser) if organiser else None
    code = f"{secrets.randbelow(10**6):06d}"
    t = TrainingSession(
        kind=kind,
        drill=drill,
        topic=topic,
        place=place,
        starts_at=starts_at,
        ends_at=ends_at,
        projects=[p.id for p in project_rows],
        roles=roles,
        organiser_id=organiser_row.id if organiser_row else None,
        code_hash=hash_code(code),
        created_at=now,
    )
    s.add(t)
    await s.flush()
    warnings = []
    if kind != rules.Kind.DRILL and rules.hours(starts_at, ends_at) < min_hours:
        warnings.append(f"shorter than {min_hours:g} hours: it does not meet the ≥{min_hours:g} h rule (004 §5a)")
    await audit.append(
        s,
        actor_id=t.organiser_id,
        action="training.added",
        object_type="training",
        object_id=t.id,
        at=now,
        data={"kind": kind, "drill": drill, "topic": topic, "projects": projects, "roles": roles},
    )
    card = notices.invitation(await info(s, t), tz)
    for pid in await _audience(s, t):
        await notify_person(s, pid, f"tr{t.id}:invite", [card])
    return t, code, warnings


async def _online(s: AsyncSession, person_id: int, year: int) -> float:
    total = (
        await s.execute(
            select(func.coalesce(func.sum(LearningHours.hours), 0.0)).where(
                LearningHours.person_id == person_id, LearningHours.year == year
            )
        )
    ).scalar_one()
    return float(total)


async def record_hours(s: AsyncSession, person: str, year: int, hours: float, source: str, now: dt.datetime) -> None:
    if not 0 < hours <= 200:
        raise AdminError("hours must be between 0 and 200")
    p = await find_person(s, person)
    s.add(LearningHours(person_id=p.id, year=year, hours=hours, source=source, created_at=now))
    await audit.append(
        s,
        actor_id=None,
        action="training.hours",
        object_type="person",
        object_id=p.id,
        at=now,
        data={"year": year, "hours": hours, "source": source},
    )


async def import_hours(s: AsyncSession, text: str, source: str, now: dt.datetime) -> int:
    """CSV with a header: person (name or id), year, hours. All rows or none."""
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or not {"person", "year", "hours"} <= set(rows[0]):
        raise AdminError("the CSV needs the columns person, year, hours")
    for n, row in enumerate(rows, 2):
        try:
            await record_hours(s, row["person"].strip(), int(row["year"]), float(row["hours"]), source, now)
        except (ValueError, AdminError) as err:
            raise AdminError(f"line {n}: {err}") from None
    return len(rows)


class Training(Area):
    async def create(self, person: PersonInfo, draft: TrainingDraft) -> tuple[TrainingInfo, str]:
        """Agencies and insurers organise sessions for projects they are in; the venue code goes to them."""
        if person.org_kind not in ORGANISERS:
            raise AccessDenied("training")
        mine = set(await members.projects_of(self.s, person.id))
        if not draft.project_ids or not set(draft.project_ids) <= mine:
            raise AccessDenied("training")
        try:
            session, code, _ = await add(
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
                tz=self.t.tz,
                now=self.now,
            )
        except AdminError:
            raise ServiceError("training_invalid") from None
        return await info(self.s, session), code

    async def sign_in(self, person: PersonInfo, session_id: int, code: str) -> TrainingInfo:
        t = await self.s.get(TrainingSession, session_id)
        if t is None or not (set(t.projects) & set(await members.projects_of(self.s, person.id))):
            raise NotFound("training")
        if person.id not in await _audience(self.s, t) and person.id != t.organiser_id:
            raise AccessDenied("training")
        state = rules.sign_in_state(self.now, t.starts_at, t.ends_at)
        if state != "open":
            raise ServiceError("sign_in_" + state)
        if not secrets.compare_digest(hash_code(code.strip()), t.code_hash):
            raise ServiceError("sign_in_code")
        done = await self.s.execute(
            select(Attendance.id).where(Attendance.session_id == t.id, Attendance.person_id == person.id)
        )
        if done.first() is not None:
            raise ServiceError("sign_in_again")
        self.s.add(
            Attendance(
                session_id=t.id, person_id=person.id, signed_at=self.now, hours=rules.hours(t.starts_at, t.ends_at)
            )
        )
        await self.t.audit("training.signed_in", "training", t.id, actor=person.id)
        return await info(self.s, t)

    async def record(self, person: PersonInfo, session_id: int, photos: list[str], evaluation: str) -> TrainingInfo:
        """Photos and (for a drill) the evaluation, after the session, by its organiser."""
        t = await self.s.get(TrainingSession, session_id)
        if t is None or person.id != t.organiser_id:
            raise NotFound("training")
        t.photos = [*(t.photos or []), *photos]
        if evaluation.strip():
            t.evaluation = evaluation.strip()[:2000]
        await self.t.audit(
            "training.recorded",
            "training",
            t.id,
            actor=person.id,
            data={"photos": photos, "evaluation": t.evaluation},
        )
        return await info(self.s, t)

    async def mine(self, person: PersonInfo) -> TrainingOverview:
        """A person's hours this year and next sessions; for agency people and insurers also the managers of
        their projects behind the online target, and projects short of a yearly drill or (high risk) two project
        trainings."""
        s, now = self.s, self.now
        year = self.t.today.year  # the local year: 1 January 00:00–08:00 Beijing time is already the new one
        since, until = self._year(year)
        offline = (
            await s.execute(
                select(func.coalesce(func.sum(Attendance.hours), 0.0))
                .join(TrainingSession, TrainingSession.id == Attendance.session_id)
                .where(
                    Attendance.person_id == person.id,
                    TrainingSession.starts_at >= since,
                    TrainingSession.starts_at < until,
                )
            )
        ).scalar_one()
        online = await _online(s, person.id, year)
        recent = now - dt.timedelta(days=7)  # an organiser adds photos and the evaluation after the session
        sessions = (
            await s.execute(
                select(TrainingSession).where(TrainingSession.ends_at >= recent).order_by(TrainingSession.starts_at)
            )
        ).scalars()
        upcoming: list[TrainingInfo] = []
        for t in sessions.all():
            organiser = person.id == t.organiser_id
            if organiser or (t.ends_at >= now and person.id in await _audience(s, t)):
                names: tuple[str, ...] = ()
                if organiser:
                    names = tuple(
                        (
                            await s.execute(
                                select(Person.name)
                                .join(Attendance, Attendance.person_id == Person.id)
                                .where(Attendance.session_id == t.id)
                                .order_by(Attendance.signed_at)
                            )
                        ).scalars()
                    )
                upcoming.append(replace(await info(s, t), organiser=organiser, attendees=names))
        behind: list[tuple[str, float]] = []
        gaps: list[tuple[str, str, int]] = []
        if person.org_kind in ORGANISERS:
            gaps = await self._gaps(person, year)
            projects = select(Membership.project_id).where(
                Membership.person_id == person.id, Membership.active.is_(True)
            )
            managers = (
                await s.execute(
                    select(Person.id, Person.name)
                    .join(Membership, Membership.person_id == Person.id)
                    .where(
                        Membership.project_id.in_(projects),
                        Membership.role == Role.PROJECT_MANAGER.value,
                        Membership.active.is_(True),
                    )
                    .distinct()
                    .order_by(Person.id)
                )
            ).all()
            for pid, name in managers:
                h = await _online(s, pid, year)
                if h < self.t.setup.rules.training.online_target_hours:
                    behind.append((name, h))
        return TrainingOverview(float(offline), online, tuple(upcoming[:5]), tuple(behind), tuple(gaps))

    def _year(self, year: int) -> tuple[dt.datetime, dt.datetime]:
        """A local calendar year as [start, end) instants."""
        return dt.datetime(year, 1, 1, tzinfo=self.t.tz), dt.datetime(year + 1, 1, 1, tzinfo=self.t.tz)

    async def _gaps(self, person: PersonInfo, year: int) -> list[tuple[str, str, int]]:
        mine = select(Membership.project_id).where(Membership.person_id == person.id, Membership.active.is_(True))
        projects = (
            (await self.s.execute(select(Project).where(Project.id.in_(mine)).order_by(Project.id))).scalars().all()
        )
        target = self.t.setup.rules.training
        since, until = self._year(year)
        drills: dict[int, int] = {}
        trainings: dict[int, int] = {}  # project trainings: the kinds the rules count (000 §14(二)3)
        held = select(TrainingSession).where(TrainingSession.starts_at >= since, TrainingSession.starts_at < until)
        for t in (await self.s.execute(held)).scalars():
            for pid in t.projects:
                if t.kind == rules.Kind.DRILL:
                    drills[pid] = drills.get(pid, 0) + 1
                elif t.kind in target.project_training_kinds:
                    trainings[pid] = trainings.get(pid, 0) + 1
        gaps: list[tuple[str, str, int]] = []
        for p in projects:
            if drills.get(p.id, 0) < target.drills_per_year:
                gaps.append((p.name, "drill", drills.get(p.id, 0)))
            if p.risk == "high" and trainings.get(p.id, 0) < target.project_trainings_high_risk:
                gaps.append((p.name, "custom", trainings.get(p.id, 0)))
        return gaps

    async def sweep(self, limit: int) -> Swept:
        """Reminders the day before and two hours before, once each (a late one is skipped for the nearer one);
        nothing once the session has begun."""
        now = self.now
        rows = await schedule.due(self.s, TrainingSession, now, limit)
        done = await schedule.done_keys(self.s, "training", [t.id for t in rows])
        count = 0
        moments: dict[int, dt.datetime | None] = {}
        ledger = Ledger(self.s, "training", now)
        for t in rows:
            seen = done.setdefault(t.id, set())
            marks = [(f"tr{t.id}:{k}", k, t.starts_at - before) for k, before in rules.REMIND_BEFORE]
            if t.starts_at <= now:
                marks = []
            due = [(key, k, at) for key, k, at in marks if at <= now and key not in seen]
            for key, k, at in due[:-1]:
                ledger.record(key, t.id, k, at, "superseded")
            if due:
                key, k, at = due[-1]
                ledger.record(key, t.id, k, at, "sent")
                card = notices.reminder(await info(self.s, t), self.t.tz, k)
                self.t.notify(await _audience(self.s, t), key, [card])
                count += 1
            seen.update(key for key, _, _ in due)
            moments[t.id] = schedule.first_open([(key, at) for key, _, at in marks], seen)
        await ledger.write()
        await schedule.store(self.s, TrainingSession, moments)
        return Swept(len(rows), count)


async def sweep(t: Turn, limit: int) -> Swept:
    return await Training(t).sweep(limit)
