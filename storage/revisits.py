"""回访: after each visit the insured's contact answers a short survey in chat; the record carries the fields of
004 附件5 and is confirmed by both sides. "Partly" or "not fixed" about a hazard reopens it and books a
re-inspection; "disagree" opens an objection. Asked on a working-day schedule, asked once more, then handed to
the agency to phone — always inside the 10-working-day limit."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import escalation, revisit
from bot.domain.levels import Event, Status, transition
from bot.domain.roles import Role
from bot.domain.workdays import WorkCalendar
from bot.i18n import T
from bot.messages import Card, Option, Text
from bot.notices import overall_label
from bot.ports import AccessDenied, Conflict, NotFound, PersonInfo, RevisitInfo, ServiceError
from storage import audit, members
from storage.models import (
    Hazard,
    Objection,
    Organisation,
    Person,
    Policy,
    Project,
    ProjectUnit,
    Revisit,
    Visit,
    VisitExpert,
    VisitTask,
)
from storage.outbox_store import notify_person
from storage.reminder_log import record
from storage.visits import agency_people

CONTACT_ROLES = (Role.PROJECT_MANAGER, Role.SAFETY_OFFICER)
OPEN = (Status.RECTIFYING.value, Status.SUBMITTED.value)


async def _names(s: AsyncSession, ids: list[int]) -> list[str]:
    if not ids:
        return []
    rows = await s.execute(select(Person.name).where(Person.id.in_(ids)).order_by(Person.id))
    return list(rows.scalars())


async def create_for_visit(s: AsyncSession, visit: Visit, cal: WorkCalendar) -> Revisit:
    """Called as the visit closes: who will be asked, when, and the 附件5 header as it stands now."""
    assert visit.closed_on is not None
    plan = revisit.schedule(visit.closed_on, cal)
    contacts = await members.with_roles(s, visit.project_id, CONTACT_ROLES)
    project = await s.get(Project, visit.project_id)
    assert project is not None
    policy = (
        (await s.execute(select(Policy).where(Policy.project_id == project.id).order_by(Policy.start_date.desc())))
        .scalars()
        .first()
    )
    units = dict(
        (
            await s.execute(
                select(ProjectUnit.kind, Organisation.name)
                .join(Organisation, Organisation.id == ProjectUnit.org_id)
                .where(ProjectUnit.project_id == project.id)
            )
        ).all()
    )
    experts = list((await s.execute(select(VisitExpert.person_id).where(VisitExpert.visit_id == visit.id))).scalars())
    form = {
        "policy": policy.number if policy else "",
        "insured": units.get("construction", ""),
        "project": project.name,
        "place": project.address,
        "agency": units.get("agency", ""),
        "experts": await _names(s, sorted({visit.leader_id, *experts})),
        "service": "on-site inspection",
        "service_date": visit.closed_on.isoformat(),
    }
    row = Revisit(
        visit_id=visit.id,
        project_id=project.id,
        contact_id=contacts[0] if contacts else None,
        ask_on=plan.ask_on,
        limit_on=plan.limit_on,
        form=form,
    )
    s.add(row)
    await s.flush()
    return row


async def _visit_hazards(s: AsyncSession, visit_id: int) -> list[Hazard]:
    rows = await s.execute(
        select(Hazard).where(Hazard.visit_id == visit_id, Hazard.status.in_(OPEN)).order_by(Hazard.id)
    )
    return list(rows.scalars())


async def info(s: AsyncSession, r: Revisit) -> RevisitInfo:
    hazards = await _visit_hazards(s, r.visit_id)
    return RevisitInfo(
        id=r.id,
        status=r.status,
        form=tuple((k, str(v) if not isinstance(v, list) else "、".join(v)) for k, v in r.form.items()),
        hazards=tuple((h.id, h.number, h.description) for h in hazards),
        answers=dict(r.answers or {}),
    )


async def _for_insured(s: AsyncSession, person: PersonInfo, revisit_id: int) -> Revisit:
    r = await s.get(Revisit, revisit_id)
    if r is None:
        raise NotFound("revisit")
    if person.id != r.contact_id and person.id not in await members.with_roles(s, r.project_id, CONTACT_ROLES):
        raise AccessDenied("revisit")
    return r


async def open_form(s: AsyncSession, person: PersonInfo, revisit_id: int) -> RevisitInfo:
    r = await _for_insured(s, person, revisit_id)
    if r.status in ("answered", "confirmed"):
        raise Conflict(r.status)
    return await info(s, r)


async def submit(
    s: AsyncSession,
    person: PersonInfo,
    revisit_id: int,
    answers: dict[str, Any],
    cal: WorkCalendar,
    today: dt.date,
    now: dt.datetime,
) -> RevisitInfo:
    r = await _for_insured(s, person, revisit_id)
    if r.status in ("answered", "confirmed"):
        raise Conflict(r.status)
    if (
        answers.get("attitude") not in revisit.RATINGS
        or answers.get("technical") not in revisit.RATINGS
        or answers.get("closure") not in revisit.CLOSURE
        or answers.get("overall") not in revisit.OVERALL
    ):
        raise ServiceError("revisit_incomplete")
    visit = await s.get(Visit, r.visit_id)
    assert visit is not None
    reopened: list[str] = []
    for h in await _visit_hazards(s, r.visit_id):
        answer = answers.get("hazards", {}).get(str(h.id))
        if answer is None:
            raise ServiceError("revisit_incomplete")
        if answer in revisit.REOPENS and h.status == Status.SUBMITTED.value:
            h.status = transition(Status(h.status), Event.REOPEN).value
            h.updated_at = now
        if answer in revisit.REOPENS:
            reopened.append(h.number)
            await audit.append(
                s,
                actor_id=person.id,
                action="hazard.reopened",
                object_type="hazard",
                object_id=h.id,
                at=now,
                data={"revisit": r.id, "answer": answer},
            )
        elif answer == revisit.HazardAnswer.DISAGREE:
            s.add(Objection(hazard_id=h.id, revisit_id=r.id, person_id=person.id, created_at=now))
            await audit.append(
                s, actor_id=person.id, action="hazard.objection", object_type="hazard", object_id=h.id, at=now
            )
    r.answers, r.answered_by, r.answered_at, r.status = answers, person.id, now, "answered"
    await audit.append(
        s, actor_id=person.id, action="revisit.answered", object_type="revisit", object_id=r.id, at=now, data=answers
    )
    project = await s.get(Project, r.project_id)
    assert project is not None
    agency = await agency_people(s, visit)
    if reopened:
        day = cal.add_working_days(today, 3)
        booked = Visit(project_id=r.project_id, scheduled_on=day, leader_id=visit.leader_id)
        s.add(booked)
        await s.flush()
        await audit.append(
            s,
            actor_id=person.id,
            action="visit.booked",
            object_type="visit",
            object_id=booked.id,
            at=now,
            data={"reason": "revisit", "hazards": reopened},
        )
        note = T(
            "Revisit of {project}: the insured says {hazards} are not fixed. They are reopened and a "
            "re-inspection is booked for {date}.",
            project=project.name,
            hazards="、".join(reopened),
            date=day.isoformat(),
        )
        for pid in agency:
            await notify_person(s, pid, f"rsv{r.id}:reopened", [Text(note)])
    card = Card(
        T("Revisit record to confirm"),
        (
            (T("Project"), project.name),
            (T("Answered by"), person.name),
            (T("Overall"), overall_label(str(answers["overall"]))),
        ),
        (Option(f"rsvok:{r.id}", T("Confirm the record")),),
    )
    for pid in agency:
        await notify_person(s, pid, f"rsv{r.id}:confirm", [card])
    return await info(s, r)


async def confirm(s: AsyncSession, person: PersonInfo, revisit_id: int, now: dt.datetime) -> RevisitInfo:
    """The agency's side of the record; the visit's revisit milestone is then done."""
    r = await s.get(Revisit, revisit_id)
    if r is None:
        raise NotFound("revisit")
    visit = await s.get(Visit, r.visit_id)
    assert visit is not None
    if person.id not in await agency_people(s, visit):
        raise AccessDenied("revisit")
    if r.status != "answered":
        raise Conflict(r.status)
    r.status, r.confirmed_by, r.confirmed_at = "confirmed", person.id, now
    task = (
        await s.execute(select(VisitTask).where(VisitTask.visit_id == visit.id, VisitTask.milestone == "revisit"))
    ).scalar_one_or_none()
    if task is not None and task.done_at is None:
        task.done_at, task.done_by = now, person.id
    await audit.append(s, actor_id=person.id, action="revisit.confirmed", object_type="revisit", object_id=r.id, at=now)
    return await info(s, r)


async def sweep(s: AsyncSession, now: dt.datetime, cal: WorkCalendar, tz: ZoneInfo) -> int:
    """Ask on the day, ask once more, then hand it to the agency's phone. One record per step."""
    rows = (
        (await s.execute(select(Revisit).where(Revisit.status.in_(("scheduled", "asked", "reasked"))))).scalars().all()
    )
    count = 0
    for r in rows:
        reask_on, phone_on = revisit.follow_ups(r.ask_on, r.limit_on, cal)
        steps = {"scheduled": ("ask", r.ask_on), "asked": ("reask", reask_on), "reasked": ("phone", phone_on)}
        step, day = steps[r.status]
        due_at = escalation.at_local(day, escalation.REMIND_AT, tz)
        if due_at > now:
            continue
        key = f"rsv{r.id}:{step}"
        await record(s, key, "revisit", r.id, step, due_at, "sent", now)
        visit = await s.get(Visit, r.visit_id)
        assert visit is not None
        if step == "phone" or r.contact_id is None:
            r.status = "phone"
            line = T(
                "The insured of {project} has not answered the revisit survey. Please phone {contact} before {limit}.",
                project=r.form.get("project", ""),
                contact=r.form.get("insured", ""),
                limit=r.limit_on.isoformat(),
            )
            for pid in await agency_people(s, visit):
                await notify_person(s, pid, key, [Text(line)])
        else:
            r.status = "asked" if step == "ask" else "reasked"
            await notify_person(s, r.contact_id, key, [_invitation(r, again=step == "reask")])
        await audit.append(s, actor_id=None, action=f"revisit.{step}", object_type="revisit", object_id=r.id, at=now)
        count += 1
    return count


def _invitation(r: Revisit, again: bool) -> Card:
    return Card(
        T("Revisit: how was our service?") if not again else T("Reminder: revisit of our service"),
        (
            (T("Project"), str(r.form.get("project", ""))),
            (T("Service date"), str(r.form.get("service_date", ""))),
            (T("Service agency"), str(r.form.get("agency", ""))),
            (T("Experts"), "、".join(r.form.get("experts", []))),
        ),
        (Option(f"rsv:{r.id}", T("Answer (about one minute)")),),
    )


async def satisfaction(
    s: AsyncSession, first: dt.date, last: dt.date, tz: ZoneInfo, project_ids: list[int]
) -> list[tuple[str, str, int, float | None]]:
    """(kind, name, answers, rate) per agency and per expert, over the revisits answered from `first` to `last`."""
    rows = (
        await s.execute(
            select(Revisit, Visit)
            .join(Visit, Visit.id == Revisit.visit_id)
            .where(Revisit.answers.is_not(None), Revisit.project_id.in_(project_ids))
        )
    ).all()
    by: dict[tuple[str, str], list[str]] = {}
    for r, visit in rows:
        if r.answered_at is None or not first <= r.answered_at.astimezone(tz).date() <= last:
            continue
        overall = str((r.answers or {}).get("overall", ""))
        by.setdefault(("agency", str(r.form.get("agency", ""))), []).append(overall)
        experts = set(
            (await s.execute(select(VisitExpert.person_id).where(VisitExpert.visit_id == visit.id))).scalars()
        )
        for name in await _names(s, sorted({visit.leader_id, *experts})):
            by.setdefault(("expert", name), []).append(overall)
    return [(kind, name, len(v), revisit.satisfaction_rate(v)) for (kind, name), v in sorted(by.items())]
