"""Complaints (投诉与异议): filed by anyone bound to a project, numbered and acknowledged; the agency answers
within 10 working days (30 when the facts need checking; one extension of at most 30, with a reason told to the
complainant), stating the request, the facts found with their basis, and the measures; the complainant accepts
or refers it to the authority. The clock reminds the agency and escalates to the insurer when it is late."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import complaints as rules
from bot.domain import escalation
from bot.domain.roles import Role
from bot.domain.workdays import WorkCalendar
from bot.i18n import N_, T
from bot.messages import Card, Item, Option, Photo, Text
from bot.ports import AccessDenied, ComplaintInfo, Conflict, NotFound, PersonInfo, ServiceError
from storage import audit, members
from storage.models import Complaint, Counter, Membership, Person, Project
from storage.outbox_store import notify_person
from storage.reminder_log import record, recorded

HANDLERS = (Role.AGENCY_ADMIN,)
ABOUT_NAMES = {
    "service": N_("a service"),
    "expert": N_("an expert"),
    "decision": N_("a decision"),
}


async def _number(s: AsyncSession, year: int) -> str:
    name = f"complaint:{year}"
    counter = (await s.execute(select(Counter).where(Counter.name == name).with_for_update())).scalar_one_or_none()
    if counter is None:
        counter = Counter(name=name, value=0)
        s.add(counter)
    counter.value += 1
    return f"TS-{year}-{counter.value:04d}"


async def _info(s: AsyncSession, c: Complaint) -> ComplaintInfo:
    project = await s.get(Project, c.project_id)
    complainant = await s.get(Person, c.complainant_id)
    assert project is not None and complainant is not None
    return ComplaintInfo(
        id=c.id,
        number=c.number,
        project_name=project.name,
        complainant=complainant.name,
        about=c.about,
        text=c.text,
        status=c.status,
        due_on=c.due_on,
        needs_check=c.needs_check,
        extended=c.extended,
        answer=dict(c.answer or {}),
    )


def _card(info: ComplaintInfo) -> Card:
    return Card(
        T("Complaint {number}", number=info.number),
        (
            (T("Project"), info.project_name),
            (T("From"), info.complainant),
            (T("About"), T(ABOUT_NAMES[info.about])),
            (T("Complaint"), info.text),
            (T("Answer by"), info.due_on.isoformat()),
        ),
        (
            Option(f"cpa:{info.id}", T("Answer")),
            Option(f"cpc:{info.id}", T("Needs checking (30 working days)")),
            Option(f"cpx:{info.id}", T("Extend once")),
        ),
    )


async def file(
    s: AsyncSession,
    person: PersonInfo,
    project_id: int,
    about: str,
    text: str,
    photos: list[str],
    cal: WorkCalendar,
    today: dt.date,
    now: dt.datetime,
) -> ComplaintInfo:
    bound = await s.execute(
        select(Membership.id).where(
            Membership.person_id == person.id, Membership.project_id == project_id, Membership.active.is_(True)
        )
    )
    if bound.first() is None:
        raise AccessDenied("complaint")
    if about not in set(rules.About) or not text.strip():
        raise ServiceError("complaint_incomplete")
    c = Complaint(
        number=await _number(s, today.year),
        project_id=project_id,
        complainant_id=person.id,
        about=about,
        text=text.strip()[:1000],
        photos=photos,
        filed_at=now,
        due_on=rules.due_on(today, cal),
    )
    s.add(c)
    await s.flush()
    await audit.append(
        s,
        actor_id=person.id,
        action="complaint.filed",
        object_type="complaint",
        object_id=c.id,
        at=now,
        data={"number": c.number, "about": about, "text": c.text, "photos": photos},
    )
    info = await _info(s, c)
    items: list[Item] = [Photo(sha) for sha in photos[:3]]
    items.append(_card(info))
    for pid in await members.with_roles(s, project_id, HANDLERS):
        await notify_person(s, pid, f"cp{c.id}:filed", items)
    return info


async def _handled(s: AsyncSession, person: PersonInfo, complaint_id: int) -> Complaint:
    c = await s.get(Complaint, complaint_id)
    if c is None:
        raise NotFound("complaint")
    if person.id not in await members.with_roles(s, c.project_id, HANDLERS):
        raise AccessDenied("complaint")
    if c.status != "open":
        raise Conflict(c.status)
    return c


async def view(s: AsyncSession, person: PersonInfo, complaint_id: int) -> ComplaintInfo:
    return await _info(s, await _handled(s, person, complaint_id))


async def needs_checking(
    s: AsyncSession, person: PersonInfo, complaint_id: int, cal: WorkCalendar, tz: ZoneInfo, now: dt.datetime
) -> ComplaintInfo:
    c = await _handled(s, person, complaint_id)
    if c.needs_check:
        raise Conflict("checking")
    c.needs_check = True
    c.due_on = rules.due_on(c.filed_at.astimezone(tz).date(), cal, needs_check=True)
    await audit.append(
        s, actor_id=person.id, action="complaint.checking", object_type="complaint", object_id=c.id, at=now
    )
    await notify_person(
        s,
        c.complainant_id,
        f"cp{c.id}:checking",
        [
            Text(
                T(
                    "Your complaint {number} needs the facts checked; the answer will come by {date}.",
                    number=c.number,
                    date=c.due_on.isoformat(),
                )
            )
        ],
    )
    return await _info(s, c)


async def extend(
    s: AsyncSession, person: PersonInfo, complaint_id: int, days: int, reason: str, cal: WorkCalendar, now: dt.datetime
) -> ComplaintInfo:
    c = await _handled(s, person, complaint_id)
    if c.extended:
        raise Conflict("extended")
    try:
        c.due_on = rules.extended(c.due_on, days, cal)
    except ValueError:
        raise ServiceError("extension_days") from None
    c.extended, c.extension_reason = True, reason.strip()
    await audit.append(
        s,
        actor_id=person.id,
        action="complaint.extended",
        object_type="complaint",
        object_id=c.id,
        at=now,
        data={"days": days, "reason": c.extension_reason, "due_on": c.due_on.isoformat()},
    )
    await notify_person(
        s,
        c.complainant_id,
        f"cp{c.id}:extended",
        [
            Text(
                T(
                    "The answer to your complaint {number} is extended to {date}. Reason: {reason}",
                    number=c.number,
                    date=c.due_on.isoformat(),
                    reason=c.extension_reason,
                )
            )
        ],
    )
    return await _info(s, c)


async def answer(
    s: AsyncSession, person: PersonInfo, complaint_id: int, parts: dict[str, str], now: dt.datetime
) -> ComplaintInfo:
    c = await _handled(s, person, complaint_id)
    if any(not parts.get(k, "").strip() for k in rules.ANSWER_PARTS):
        raise ServiceError("answer_parts")
    c.answer = {k: parts[k].strip()[:1000] for k in rules.ANSWER_PARTS}
    c.answered_by, c.answered_at, c.status = person.id, now, "answered"
    await audit.append(
        s,
        actor_id=person.id,
        action="complaint.answered",
        object_type="complaint",
        object_id=c.id,
        at=now,
        data=c.answer,
    )
    card = Card(
        T("Answer to your complaint {number}", number=c.number),
        (
            (T("Your request"), c.answer["request"]),
            (T("Facts found and their basis"), c.answer["facts"]),
            (T("Measures"), c.answer["measures"]),
        ),
        (Option(f"cpok:{c.id}", T("I accept")), Option(f"cpref:{c.id}", T("Refer to the authority"))),
    )
    await notify_person(s, c.complainant_id, f"cp{c.id}:answer", [card])
    return await _info(s, c)


async def close(s: AsyncSession, person: PersonInfo, complaint_id: int, refer: bool, now: dt.datetime) -> ComplaintInfo:
    """The complainant accepts the answer, or refers the complaint to the project's authority."""
    c = await s.get(Complaint, complaint_id)
    if c is None:
        raise NotFound("complaint")
    if person.id != c.complainant_id:
        raise AccessDenied("complaint")
    if c.status != "answered":
        raise Conflict(c.status)
    c.status, c.closed_at = ("referred" if refer else "accepted"), now
    await audit.append(
        s, actor_id=person.id, action=f"complaint.{c.status}", object_type="complaint", object_id=c.id, at=now
    )
    if refer:
        info = await _info(s, c)
        assert c.answer is not None
        note = Card(
            T("Complaint {number} referred to you", number=c.number),
            (
                (T("Project"), info.project_name),
                (T("From"), info.complainant),
                (T("Complaint"), c.text),
                (T("Facts found and their basis"), c.answer["facts"]),
                (T("Measures"), c.answer["measures"]),
            ),
        )
        for pid in await members.with_roles(s, c.project_id, {Role.AUTHORITY}):
            await notify_person(s, pid, f"cp{c.id}:referred", [note])
    return await _info(s, c)


async def sweep(s: AsyncSession, now: dt.datetime, cal: WorkCalendar, tz: ZoneInfo) -> int:
    """The working day before, the day, and the day after the due date: the agency hears; late, the insurer too.
    A new due date (checking, extension) has its own reminders."""
    rows = (await s.execute(select(Complaint).where(Complaint.status == "open"))).scalars().all()
    count = 0
    for c in rows:
        marks = [
            ("due-1", escalation.previous_working_day(c.due_on, cal)),
            ("due-0", c.due_on),
            ("overdue", cal.add_working_days(c.due_on, 1)),
        ]
        due = [(k, escalation.at_local(day, escalation.REMIND_AT, tz)) for k, day in marks]
        due = [(k, at) for k, at in due if at <= now]
        if not due:
            continue
        k, at = due[-1]
        key = f"cp{c.id}:{c.due_on.isoformat()}:{k}"
        if await recorded(s, key):
            continue
        await record(s, key, "complaint", c.id, k, at, "sent", now)
        people = set(await members.with_roles(s, c.project_id, HANDLERS))
        if k == "overdue":
            people |= set(await members.with_roles(s, c.project_id, {Role.INSURER}))
        line = T(
            "Complaint {number} must be answered by {date}{late}.",
            number=c.number,
            date=c.due_on.isoformat(),
            late=T(" · OVERDUE") if k == "overdue" else "",
        )
        for pid in sorted(people):
            await notify_person(s, pid, key, [Text(line)])
        await audit.append(
            s,
            actor_id=None,
            action="complaint.reminded",
            object_type="complaint",
            object_id=c.id,
            at=now,
            data={"milestone": k},
        )
        count += 1
    return count
