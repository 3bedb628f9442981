"""Complaints (投诉与异议): filed by anyone bound to a project, numbered and acknowledged; the agency answers
within 10 working days (30 when the facts need checking; one extension of at most 30 days, with a reason told to
the complainant, agreed by the agency's officer or by the complainant as the rules say), stating the request, the
facts found with their basis, and the measures; the complainant accepts or refers it to the authority. The clock
reminds the agency and escalates to the insurer when it is late."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.domain import complaints as rules
from bot.domain import escalation
from bot.domain.roles import Role
from bot.domain.rules import Complaints as ComplaintRules
from bot.notices import complaints as notices
from bot.ports import AccessDenied, ComplaintInfo, Conflict, NotFound, PersonInfo, ServiceError
from storage import counters, members, schedule
from storage.models import Complaint, Hazard, Objection, Person, Project
from storage.reminder_log import Ledger
from storage.schedule import Swept
from storage.turn import Area, Turn

HANDLERS = (Role.AGENCY_ADMIN,)


class Complaints(Area):
    @property
    def limits(self) -> ComplaintRules:
        return self.t.setup.rules.complaints

    async def _number(self) -> str:
        year = self.t.today.year
        return f"TS-{year}-{await counters.next_value(self.s, f'complaint:{year}'):04d}"

    async def _info(self, c: Complaint) -> ComplaintInfo:
        project = await self.s.get(Project, c.project_id)
        complainant = await self.s.get(Person, c.complainant_id)
        hazard = await self.s.get(Hazard, c.hazard_id) if c.hazard_id is not None else None
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
            extension_state=c.extension_state,
            hazard_number=hazard.number if hazard else None,
            answer=dict(c.answer or {}),
        )

    async def file(
        self, person: PersonInfo, project_id: int, about: str, text: str, photos: list[str]
    ) -> ComplaintInfo:
        if not await members.is_member(self.s, person.id, project_id):
            raise AccessDenied("complaint")
        if about not in set(rules.About) or not text.strip():
            raise ServiceError("complaint_incomplete")
        return await self._open(person, project_id, about, text, photos)

    async def object_to(self, person: PersonInfo, hazard: Hazard, revisit_id: int | None) -> Complaint:
        """The insured disagrees with a hazard finding at the revisit (异议, 003 §6.3): an objection, answered as
        a complaint about a decision — numbered, acknowledged, answered in three parts within the complaint's
        working days, reminded and escalated, accepted or referred to the authority."""
        info = await self._open(person, hazard.project_id, rules.About.DECISION, hazard.description, [], hazard)
        c = await self.s.get(Complaint, info.id)
        assert c is not None
        self.s.add(
            Objection(
                hazard_id=hazard.id, revisit_id=revisit_id, person_id=person.id, created_at=self.now, complaint_id=c.id
            )
        )
        await self.t.audit("hazard.objection", "hazard", hazard.id, actor=person.id, data={"complaint": c.number})
        return c

    async def _open(
        self,
        person: PersonInfo,
        project_id: int,
        about: str,
        text: str,
        photos: list[str],
        hazard: Hazard | None = None,
    ) -> ComplaintInfo:
        c = Complaint(
            number=await self._number(),
            project_id=project_id,
            complainant_id=person.id,
            about=about,
            text=text.strip()[:1000],
            photos=photos,
            filed_at=self.now,
            due_on=rules.due_on(self.t.today, self.t.calendar, limits=self.limits),
            hazard_id=hazard.id if hazard else None,
        )
        self.s.add(c)
        await self.s.flush()
        await self.t.audit(
            "complaint.filed",
            "complaint",
            c.id,
            actor=person.id,
            data={
                "number": c.number,
                "about": about,
                "text": c.text,
                "photos": photos,
                "hazard": hazard.number if hazard else None,
            },
        )
        info = await self._info(c)
        handlers = await members.with_roles(self.s, project_id, HANDLERS)
        self.t.notify(handlers, f"cp{c.id}:filed", notices.filed(info, photos, self.limits.check_working_days))
        if hazard is not None:  # raised inside a revisit's answers: its own acknowledgement
            self.t.notify([person.id], f"cp{c.id}:objection", [notices.objection_filed(info)])
        return info

    async def _handled(self, person: PersonInfo, complaint_id: int) -> Complaint:
        c = await self.s.get(Complaint, complaint_id)
        if c is None:
            raise NotFound("complaint")
        if not set(HANDLERS) & await members.seen_by(self.s, person.id, c.project_id, "complaint"):
            raise AccessDenied("complaint")
        if c.status != "open":
            raise Conflict(c.status)
        return c

    async def find(self, person: PersonInfo, complaint_id: int) -> ComplaintInfo:
        return await self._info(await self._handled(person, complaint_id))

    async def needs_checking(self, person: PersonInfo, complaint_id: int) -> ComplaintInfo:
        c = await self._handled(person, complaint_id)
        if c.needs_check:
            raise Conflict("checking")
        c.needs_check = True
        filed_on = c.filed_at.astimezone(self.t.tz).date()
        c.due_on = rules.due_on(filed_on, self.t.calendar, needs_check=True, limits=self.limits)
        await self.t.audit("complaint.checking", "complaint", c.id, actor=person.id)
        self.t.notify([c.complainant_id], f"cp{c.id}:checking", [notices.being_checked(c.number, c.due_on)])
        return await self._info(c)

    async def extend(self, person: PersonInfo, complaint_id: int, days: int, reason: str) -> ComplaintInfo:
        """One extension of at most 30 days with its reason. Where the rules name the agency's complaint officer
        (003 §6.4.2), the agency manager asking is that officer and it stands at once; where they name the
        complainant (004 §6.4), it stands once the complainant agrees (`agree_extension`)."""
        c = await self._handled(person, complaint_id)
        if c.extended or c.extension_state is not None:
            raise Conflict("extended")
        try:
            new_due = rules.extended(c.due_on, days, self.limits)
        except ValueError:
            raise ServiceError("extension_days") from None
        c.extension_reason, c.extension_days = reason.strip(), days
        if self.limits.extension_approver == "complainant":
            c.extension_state = "asked"
            await self.t.audit(
                "complaint.extension_asked",
                "complaint",
                c.id,
                actor=person.id,
                data={"days": days, "reason": c.extension_reason, "due_on": new_due.isoformat()},
            )
            card = notices.extension_asked(c.id, c.number, c.due_on, new_due, c.extension_reason)
            self.t.notify([c.complainant_id], f"cp{c.id}:extension-asked", [card])
            return await self._info(c)
        await self._extend(c, new_due, person.id)
        return await self._info(c)

    async def _extend(self, c: Complaint, new_due: dt.date, agreed_by: int) -> None:
        c.due_on, c.extended, c.extension_state, c.extension_by = new_due, True, "agreed", agreed_by
        await self.t.audit(
            "complaint.extended",
            "complaint",
            c.id,
            actor=agreed_by,
            data={
                "days": c.extension_days,
                "reason": c.extension_reason,
                "due_on": c.due_on.isoformat(),
                "agreed_by": self.limits.extension_approver,
            },
        )
        note = notices.extended(c.number, c.due_on, c.extension_reason or "")
        self.t.notify([c.complainant_id], f"cp{c.id}:extended", [note], skip=agreed_by)
        if agreed_by == c.complainant_id:
            handlers = await members.with_roles(self.s, c.project_id, HANDLERS)
            self.t.notify(
                handlers, f"cp{c.id}:extension-agreed", [notices.extension_answered(c.number, c.due_on, True)]
            )

    async def agree_extension(self, person: PersonInfo, complaint_id: int, agree: bool) -> ComplaintInfo:
        """The complainant's answer to an extension asked of them (004 §6.4)."""
        c = await self.s.get(Complaint, complaint_id)
        if c is None or person.id != c.complainant_id:
            raise NotFound("complaint")
        if c.status != "open" or c.extension_state != "asked":
            raise Conflict(c.extension_state or c.status)
        if agree:
            await self._extend(c, rules.extended(c.due_on, c.extension_days or 0, self.limits), person.id)
        else:
            c.extension_state = "declined"
            await self.t.audit("complaint.extension_declined", "complaint", c.id, actor=person.id)
            handlers = await members.with_roles(self.s, c.project_id, HANDLERS)
            self.t.notify(
                handlers, f"cp{c.id}:extension-declined", [notices.extension_answered(c.number, c.due_on, False)]
            )
        return await self._info(c)

    async def answer(self, person: PersonInfo, complaint_id: int, parts: dict[str, str]) -> ComplaintInfo:
        c = await self._handled(person, complaint_id)
        if any(not parts.get(k, "").strip() for k in rules.ANSWER_PARTS):
            raise ServiceError("answer_parts")
        c.answer = {k: parts[k].strip()[:1000] for k in rules.ANSWER_PARTS}
        c.answered_by, c.answered_at, c.status = person.id, self.now, "answered"
        await self.t.audit("complaint.answered", "complaint", c.id, actor=person.id, data=c.answer)
        self.t.notify([c.complainant_id], f"cp{c.id}:answer", [notices.answer(c.id, c.number, c.answer)])
        return await self._info(c)

    async def close(self, person: PersonInfo, complaint_id: int, refer: bool) -> ComplaintInfo:
        """The complainant accepts the answer, or refers the complaint to the project's authority."""
        c = await self.s.get(Complaint, complaint_id)
        if c is None or person.id != c.complainant_id:
            raise NotFound("complaint")
        if c.status != "answered":
            raise Conflict(c.status)
        c.status, c.closed_at = ("referred" if refer else "accepted"), self.now
        await self.t.audit(f"complaint.{c.status}", "complaint", c.id, actor=person.id)
        for o in (await self.s.execute(select(Objection).where(Objection.complaint_id == c.id))).scalars():
            o.status = c.status
        info = await self._info(c)
        if refer:
            authority = await members.with_roles(self.s, c.project_id, {Role.AUTHORITY})
            self.t.notify(authority, f"cp{c.id}:referred", [notices.referred(info)])
        return info

    async def sweep(self, limit: int) -> Swept:
        """The working day before, the day, and the day after the due date: the agency hears; late, the insurer
        too. A new due date (checking, extension) has its own reminders; missed ones are superseded."""
        rows = await schedule.due(self.s, Complaint, self.now, limit)
        done = await schedule.done_keys(self.s, "complaint", [c.id for c in rows])
        cal, tz, now, count = self.t.calendar, self.t.tz, self.now, 0
        moments: dict[int, dt.datetime | None] = {}
        ledger = Ledger(self.s, "complaint", now)
        for c in rows:
            seen = done.setdefault(c.id, set())
            marks = escalation.due_marks(c.due_on, cal, tz) if c.status == "open" else []
            keyed = [(f"cp{c.id}:{c.due_on.isoformat()}:{k}", k, at) for k, at in marks]
            due = [(key, k, at) for key, k, at in keyed if at <= now and key not in seen]
            for key, k, at in due[:-1]:
                ledger.record(key, c.id, k, at, "superseded")
            if due:
                await self._remind(c, *due[-1], ledger)
                count += 1
            seen.update(key for key, _, _ in due)
            moments[c.id] = schedule.first_open([(key, at) for key, _, at in keyed], seen)
        await ledger.write()
        await schedule.store(self.s, Complaint, moments)
        return Swept(len(rows), count)

    async def _remind(self, c: Complaint, key: str, k: str, at: dt.datetime, ledger: Ledger) -> None:
        ledger.record(key, c.id, k, at, "sent")
        people = set(await members.with_roles(self.s, c.project_id, HANDLERS))
        if k == "overdue":
            people |= set(await members.with_roles(self.s, c.project_id, {Role.INSURER}))
        self.t.notify(sorted(people), key, [notices.answer_due(c.number, c.due_on, k == "overdue")])
        await self.t.audit("complaint.reminded", "complaint", c.id, data={"milestone": k})


async def sweep(t: Turn, limit: int) -> Swept:
    return await Complaints(t).sweep(limit)
