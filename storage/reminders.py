"""The clock's work on the database: find the milestones that fell due, record each once (its key), notify —
urgent ones at once, the rest in each person's daily digest — and report what is due (`anzebot due`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import notices
from bot.domain import escalation
from bot.domain.escalation import ChainStep, Milestone
from bot.domain.levels import Level, Status
from bot.domain.roles import Role
from bot.domain.workdays import WorkCalendar
from bot.i18n import T
from bot.messages import Choices, Option, from_json, to_json
from storage import audit, members
from storage.models import (
    Acknowledgement,
    DigestItem,
    Hazard,
    Person,
    Project,
    Reminder,
    Visit,
    VisitTask,
)
from storage.outbox_store import notify_person
from storage.reminder_log import record
from storage.services import SqlServices

log = logging.getLogger(__name__)


def parse_hhmm(value: str) -> dt.time:
    hour, minute = value.split(":")
    return dt.time(int(hour), int(minute))


@dataclass(frozen=True)
class ClockConfig:
    tz: ZoneInfo
    calendar: WorkCalendar
    quiet_start: dt.time
    quiet_end: dt.time
    chain: tuple[ChainStep, ...] = escalation.DEFAULT_CHAIN
    prefix: str = "XC"


def _to_digest(s: AsyncSession, reminder: Reminder, people: list[int], entry: Choices, now: dt.datetime) -> None:
    for pid in people:
        s.add(DigestItem(person_id=pid, reminder_id=reminder.id, created_at=now, items=to_json([entry])))


class Clock:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: ClockConfig,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.now = now

    # --- the sweep ---------------------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Deal with every milestone that is due and not yet dealt with. Safe to run twice at once: the second
        run finds the first one's records (SQLite serialises; on PostgreSQL the unique key refuses it)."""
        try:
            async with self.sessions() as s, s.begin():
                return await self._sweep(s, self.now())
        except IntegrityError:
            log.info("another sweep recorded the same reminders first")
            return 0

    async def _sweep(self, s: AsyncSession, now: dt.datetime) -> int:
        from storage import complaints, revisits, training

        count = await self._visits(s, now)
        count += await self._quarters(s, now)
        count += await revisits.sweep(s, now, self.config.calendar, self.config.tz)
        count += await complaints.sweep(s, now, self.config.calendar, self.config.tz)
        count += await training.sweep(s, now, self.config.tz)
        hazards = (await s.execute(select(Hazard).where(Hazard.status != Status.CLOSED.value))).scalars().all()
        if not hazards:
            return count
        ids = [h.id for h in hazards]
        done = set(
            (
                await s.execute(
                    select(Reminder.key).where(Reminder.object_type == "hazard", Reminder.object_id.in_(ids))
                )
            ).scalars()
        )
        services = SqlServices(s, prefix=self.config.prefix, deadline_days={}, tz=self.config.tz, now=now)
        for h in hazards:
            level = Level(h.level)
            if h.status == Status.RECTIFYING.value:
                milestones = escalation.hazard_milestones(
                    level, h.deadline, h.created_at, self.config.calendar, self.config.tz, self.config.chain
                )
                due = [m for m in milestones if m.due_at <= now and f"hz{h.id}:{m.key}" not in done]
                drop = escalation.superseded(due)
                for m in due:
                    key = f"hz{h.id}:{m.key}"
                    if m.key in drop:
                        await record(s, key, "hazard", h.id, m.key, m.due_at, "superseded", now)
                        continue
                    count += await self._hazard_milestone(s, services, h, m, key, now)
            if level == Level.ONE:
                count += await self._same_day(s, services, h, done, now)
        return count

    async def _visits(self, s: AsyncSession, now: dt.datetime) -> int:
        """What closed visits still owe: a reminder the working day before, on the day, and when late — to the
        visit's leader and the agency (daily digest)."""
        from storage.visits import agency_people

        tasks = (
            await s.execute(
                select(VisitTask, Visit).join(Visit, Visit.id == VisitTask.visit_id).where(VisitTask.done_at.is_(None))
            )
        ).all()
        if not tasks:
            return 0
        done = set((await s.execute(select(Reminder.key).where(Reminder.object_type == "visit"))).scalars())
        cal, tz = self.config.calendar, self.config.tz
        count = 0
        for task, visit in tasks:
            marks = [
                ("due-1", escalation.previous_working_day(task.due_on, cal)),
                ("due-0", task.due_on),
                ("overdue", cal.add_working_days(task.due_on, 1)),
            ]
            due = [(k, escalation.at_local(day, escalation.REMIND_AT, tz)) for k, day in marks]
            due = [(k, at) for k, at in due if at <= now and f"v{visit.id}:{task.milestone}:{k}" not in done]
            if not due:
                continue
            for k, at in due[:-1]:
                await record(
                    s,
                    f"v{visit.id}:{task.milestone}:{k}",
                    "visit",
                    visit.id,
                    f"{task.milestone}:{k}",
                    at,
                    "superseded",
                    now,
                )
            k, at = due[-1]
            reminder = await record(
                s, f"v{visit.id}:{task.milestone}:{k}", "visit", visit.id, f"{task.milestone}:{k}", at, "digest", now
            )
            project = await s.get(Project, visit.project_id)
            assert project is not None
            line = T(
                "{task} of the visit to {project} on {date}: due {due}{late}",
                task=T(notices.VISIT_TASKS[task.milestone]),
                project=project.name,
                date=(visit.closed_on or visit.scheduled_on).isoformat(),
                due=task.due_on.isoformat(),
                late=T(" · OVERDUE") if k == "overdue" else "",
            )
            _to_digest(s, reminder, await agency_people(s, visit), Choices(line, ()), now)
            await audit.append(
                s,
                actor_id=None,
                action="visit.reminded",
                object_type="visit",
                object_id=visit.id,
                at=now,
                data={"milestone": f"{task.milestone}:{k}"},
            )
            count += 1
        return count

    async def _quarters(self, s: AsyncSession, now: dt.datetime) -> int:
        """The quarter's full-coverage inspection not yet scheduled 15 days before the quarter ends: tell the agency
        and the plan's experts, once per project and quarter."""
        from storage.visits import plan_people, project_obligations

        today = now.astimezone(self.config.tz).date()
        if now < escalation.at_local(today, escalation.REMIND_AT, self.config.tz):
            return 0
        done = set((await s.execute(select(Reminder.key).where(Reminder.object_type == "project"))).scalars())
        count = 0
        for project in (await s.execute(select(Project))).scalars().all():
            for o in await project_obligations(s, project.id, self.config.calendar):
                key = f"p{project.id}:{o.key}:unscheduled"
                if (
                    not o.key.startswith("quarter-")
                    or o.done_on is not None
                    or o.warn_from is None
                    or not o.warn_from <= today <= o.due_by
                    or key in done
                ):
                    continue
                quarter_start = dt.date(o.due_by.year, (o.due_by.month - 1) // 3 * 3 + 1, 1)
                planned = (
                    await s.execute(
                        select(Visit.id).where(
                            Visit.project_id == project.id,
                            Visit.status != "closed",
                            Visit.scheduled_on >= max(quarter_start, today),
                            Visit.scheduled_on <= o.due_by,
                        )
                    )
                ).first()
                if planned:
                    continue
                reminder = await record(s, key, "project", project.id, o.key, now, "digest", now)
                line = T(
                    "No full inspection of {project} is scheduled for {quarter}; it must be done by {date}.",
                    project=project.name,
                    quarter=o.key.removeprefix("quarter-"),
                    date=o.due_by.isoformat(),
                )
                _to_digest(s, reminder, await plan_people(s, project.id), Choices(line, ()), now)
                await audit.append(
                    s,
                    actor_id=None,
                    action="project.quarter_unscheduled",
                    object_type="project",
                    object_id=project.id,
                    at=now,
                    data={"quarter": o.key},
                )
                count += 1
        return count

    async def _hazard_milestone(
        self, s: AsyncSession, services: SqlServices, h: Hazard, m: Milestone, key: str, now: dt.datetime
    ) -> int:
        info = await services.view(h)
        people = await members.with_roles(s, h.project_id, m.roles)
        reminder = await record(s, key, "hazard", h.id, m.key, m.due_at, "sent" if m.urgent else "digest", now)
        if m.urgent:
            responsible = m.roles <= escalation.RESPONSIBLE
            for pid in people:
                await notify_person(s, pid, key, list(notices.reminder_notice(info, m.key, m.kind, responsible)))
        else:
            entry = Choices(notices.reminder_line(info, m.key, m.kind), (Option(f"h:{h.id}", h.number),))
            _to_digest(s, reminder, people, entry, now)
        await audit.append(
            s,
            actor_id=None,
            action="hazard.escalated" if m.kind == "escalation" else "hazard.reminded",
            object_type="hazard",
            object_id=h.id,
            at=now,
            data={"milestone": m.key, "to": people, "urgent": m.urgent},
        )
        return 1

    async def _same_day(
        self, s: AsyncSession, services: SqlServices, h: Hazard, done: set[str], now: dt.datetime
    ) -> int:
        acked = set((await s.execute(select(Acknowledgement.role).where(Acknowledgement.hazard_id == h.id))).scalars())
        missing = frozenset(r for r in (Role.INSURER, Role.AUTHORITY) if r.value not in acked)
        if not missing:
            return 0
        due = [(k, at) for k, at in escalation.same_day_renotify(h.created_at, now) if f"hz{h.id}:{k}" not in done]
        if not due:
            return 0
        for k, at in due[:-1]:  # missed while down: only the newest repeat is sent
            await record(s, f"hz{h.id}:{k}", "hazard", h.id, k, at, "superseded", now)
        k, at = due[-1]
        key = f"hz{h.id}:{k}"
        await record(s, key, "hazard", h.id, k, at, "sent", now)
        info = await services.view(h)
        people = await members.with_roles(s, h.project_id, missing)
        for pid in people:  # urgent: level 1 ignores quiet hours
            await notify_person(s, pid, key, list(notices.same_day_renotice(info)))
        await audit.append(
            s,
            actor_id=None,
            action="hazard.same_day_repeated",
            object_type="hazard",
            object_id=h.id,
            at=now,
            data={"to": people, "missing": sorted(r.value for r in missing)},
        )
        return 1

    # --- the daily digest ------------------------------------------------------------------------------------

    async def digest(self) -> int:
        """One message per person with everything non-urgent that came due; after their quiet hours."""
        now = self.now()
        local = now.astimezone(self.config.tz)
        sent = 0
        async with self.sessions() as s, s.begin():
            pending = (
                (
                    await s.execute(
                        select(DigestItem)
                        .where(DigestItem.digest_key.is_(None))
                        .order_by(DigestItem.person_id, DigestItem.id)
                    )
                )
                .scalars()
                .all()
            )
            by_person: dict[int, list[DigestItem]] = defaultdict(list)
            for item in pending:
                by_person[item.person_id].append(item)
            for person_id, items in by_person.items():
                person = await s.get(Person, person_id)
                assert person is not None
                start = parse_hhmm(person.quiet_start) if person.quiet_start else self.config.quiet_start
                end = parse_hhmm(person.quiet_end) if person.quiet_end else self.config.quiet_end
                when = escalation.quiet_end(local, start, end)
                key = f"digest:{local.date().isoformat()}:{items[0].id}"
                lines, options = [], []
                for item in items:
                    for choice in from_json(item.items):
                        assert isinstance(choice, Choices)
                        lines.append(choice.prompt)
                        options.extend(choice.options)
                digest = Choices(
                    T("Reminders for today ({n}):\n{lines}", n=len(items), lines=lines),
                    tuple(dict.fromkeys(options))[:10],
                )
                await notify_person(s, person_id, key, [digest], not_before=when.astimezone(dt.UTC))
                for item in items:
                    item.digest_key = key
                sent += 1
        return sent

    # --- what is due -----------------------------------------------------------------------------------------

    async def due_report(self, project_code: str | None = None) -> list[dict[str, object]]:
        today = self.now().astimezone(self.config.tz).date()
        cal = self.config.calendar
        async with self.sessions() as s:
            query = (
                select(Hazard, Project)
                .join(Project, Project.id == Hazard.project_id)
                .where(Hazard.status != Status.CLOSED.value)
                .order_by(Hazard.deadline, Hazard.level)
            )
            if project_code:
                query = query.where(Project.code == project_code)
            rows = (await s.execute(query)).all()
            out = []
            for h, p in rows:
                acks = set(
                    (await s.execute(select(Acknowledgement.role).where(Acknowledgement.hazard_id == h.id))).scalars()
                )
                if h.deadline < today:
                    state = f"late {cal.working_days_between(h.deadline, today)} wd"
                elif h.deadline == today:
                    state = "due today"
                else:
                    state = f"due in {cal.working_days_between(today, h.deadline)} wd"
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
