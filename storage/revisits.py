"""回访: after each visit the insured's contact answers a short survey in chat; the record carries the fields of
004 附件5 and is confirmed by both sides. "Partly" or "not fixed" about a hazard reopens it and books a
re-inspection; "disagree" opens an objection. Asked on a working-day schedule, asked once more, then handed to
the agency to phone — always inside the 10-working-day limit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from bot.domain import escalation, revisit
from bot.domain.levels import Event, Status, transition
from bot.domain.roles import OrgKind, Role
from bot.notices import revisits as notices
from bot.ports import AccessDenied, Conflict, NotFound, PersonInfo, RevisitInfo, ServiceError
from storage import members, parties, schedule
from storage.complaints import Complaints
from storage.models import (
    Hazard,
    Person,
    Project,
    Revisit,
    Visit,
    VisitExpert,
    VisitTask,
)
from storage.people import People
from storage.reminder_log import Ledger
from storage.schedule import Swept
from storage.turn import Area, Turn

CONTACT_ROLES = (Role.PROJECT_MANAGER, Role.SAFETY_OFFICER)
OPEN = (Status.RECTIFYING.value, Status.SUBMITTED.value)
PERIOD_VIEWERS = ("insurer", "agency", "authority", "association")


class Revisits(Area):
    async def _names(self, ids: list[int]) -> list[str]:
        if not ids:
            return []
        rows = await self.s.execute(select(Person.name).where(Person.id.in_(ids)).order_by(Person.id))
        return list(rows.scalars())

    async def _experts(self, visit: Visit) -> list[str]:
        experts = (
            await self.s.execute(select(VisitExpert.person_id).where(VisitExpert.visit_id == visit.id))
        ).scalars()
        return await self._names(sorted({visit.leader_id, *experts}))

    async def create_for_visit(self, visit: Visit) -> Revisit:
        """Called as the visit closes: who will be asked, when, and the 附件5 header as it stands now."""
        # Counted from the day of the service (003 §6.3, 004 §6.3), not from when the visit was closed.
        plan = revisit.schedule(
            visit.scheduled_on, self.t.calendar, limit=self.t.setup.rules.visits.revisit_working_days
        )
        contacts = await members.with_roles(self.s, visit.project_id, CONTACT_ROLES)
        project = await self.s.get(Project, visit.project_id)
        assert project is not None
        found = await parties.of_project(self.s, project.id)
        form = {
            "policy": found.policy.number if found.policy else "",
            "insured": found.unit(OrgKind.CONSTRUCTION),
            "project": project.name,
            "place": project.address,
            "agency": found.unit(OrgKind.AGENCY),
            "experts": await self._experts(visit),
            "service": "on-site inspection",
            "service_date": visit.scheduled_on.isoformat(),
        }
        row = Revisit(
            visit_id=visit.id,
            project_id=project.id,
            contact_id=contacts[0] if contacts else None,
            ask_on=plan.ask_on,
            limit_on=plan.limit_on,
            form=form,
        )
        self.s.add(row)
        await self.s.flush()
        return row

    async def _visit_hazards(self, visit_id: int) -> list[Hazard]:
        rows = await self.s.execute(
            select(Hazard).where(Hazard.visit_id == visit_id, Hazard.status.in_(OPEN)).order_by(Hazard.id)
        )
        return list(rows.scalars())

    async def _info(self, r: Revisit) -> RevisitInfo:
        hazards = await self._visit_hazards(r.visit_id)
        return RevisitInfo(
            id=r.id,
            status=r.status,
            form=tuple((k, str(v) if not isinstance(v, list) else "、".join(v)) for k, v in r.form.items()),
            hazards=tuple((h.id, h.number, h.description) for h in hazards),
            answers=dict(r.answers or {}),
        )

    async def _for_insured(self, person: PersonInfo, revisit_id: int) -> Revisit:
        r = await self.s.get(Revisit, revisit_id)
        if r is None:
            raise NotFound("revisit")
        roles = await members.seen_by(self.s, person.id, r.project_id, "revisit")
        if person.id != r.contact_id and not set(CONTACT_ROLES) & roles:
            raise AccessDenied("revisit")
        if r.status in ("answered", "confirmed"):
            raise Conflict(r.status)
        return r

    async def form(self, person: PersonInfo, revisit_id: int) -> RevisitInfo:
        return await self._info(await self._for_insured(person, revisit_id))

    async def submit(self, person: PersonInfo, revisit_id: int, answers: dict[str, Any]) -> RevisitInfo:
        r = await self._for_insured(person, revisit_id)
        if (
            answers.get("attitude") not in revisit.RATINGS
            or answers.get("technical") not in revisit.RATINGS
            or answers.get("closure") not in revisit.CLOSURE
            or answers.get("overall") not in revisit.OVERALL
        ):
            raise ServiceError("revisit_incomplete")
        visit = await self.s.get(Visit, r.visit_id)
        assert visit is not None
        reopened: list[str] = []
        for h in await self._visit_hazards(r.visit_id):
            answer = answers.get("hazards", {}).get(str(h.id))
            if answer is None:
                raise ServiceError("revisit_incomplete")
            if answer in revisit.REOPENS and h.status == Status.SUBMITTED.value:
                h.status = transition(Status(h.status), Event.REOPEN).value
                h.updated_at = self.now
            if answer in revisit.REOPENS:
                reopened.append(h.number)
                await self.t.audit(
                    "hazard.reopened", "hazard", h.id, actor=person.id, data={"revisit": r.id, "answer": answer}
                )
            elif answer == revisit.HazardAnswer.DISAGREE:
                await Complaints(self.t).object_to(person, h, r.id)
        r.answers, r.answered_by, r.answered_at, r.status = answers, person.id, self.now, "answered"
        await self.t.audit("revisit.answered", "revisit", r.id, actor=person.id, data=answers)
        project = await self.s.get(Project, r.project_id)
        assert project is not None
        agency = await members.agency_people(self.s, visit)
        if reopened:
            day = self.t.calendar.add_working_days(self.t.today, 3)
            booked = Visit(project_id=r.project_id, scheduled_on=day, leader_id=visit.leader_id)
            self.s.add(booked)
            await self.s.flush()
            # The group that found the hazards re-inspects them: it met the group rules (002 §10, §12) when it
            # was scheduled, and nobody outside it is put on the project by a revisit.
            group = (
                await self.s.execute(select(VisitExpert.person_id).where(VisitExpert.visit_id == visit.id))
            ).scalars()
            for pid in dict.fromkeys([visit.leader_id, *group]):
                self.s.add(VisitExpert(visit_id=booked.id, person_id=pid))
            await self.t.audit(
                "visit.booked", "visit", booked.id, actor=person.id, data={"reason": "revisit", "hazards": reopened}
            )
            self.t.notify(agency, f"rsv{r.id}:reopened", [notices.reopened(project.name, reopened, day)])
        card = notices.record_to_confirm(r.id, project.name, person.name, str(answers["overall"]))
        self.t.notify(agency, f"rsv{r.id}:confirm", [card])
        return await self._info(r)

    async def confirm(self, person: PersonInfo, revisit_id: int) -> RevisitInfo:
        """The agency's side of the record; the visit's revisit milestone is then done."""
        r = await self.s.get(Revisit, revisit_id)
        if r is None:
            raise NotFound("revisit")
        await members.seen_by(self.s, person.id, r.project_id, "revisit")
        visit = await self.s.get(Visit, r.visit_id)
        assert visit is not None
        if person.id not in await members.agency_people(self.s, visit):
            raise AccessDenied("revisit")
        if r.status != "answered":
            raise Conflict(r.status)
        r.status, r.confirmed_by, r.confirmed_at = "confirmed", person.id, self.now
        task = (
            await self.s.execute(
                select(VisitTask).where(VisitTask.visit_id == visit.id, VisitTask.milestone == "revisit")
            )
        ).scalar_one_or_none()
        if task is not None and task.done_at is None:
            task.done_at, task.done_by = self.now, person.id
        await self.t.audit("revisit.confirmed", "revisit", r.id, actor=person.id)
        return await self._info(r)

    async def satisfaction(
        self, person: PersonInfo, first: dt.date, last: dt.date
    ) -> list[tuple[str, str, int, float | None]]:
        """(kind, name, answers, rate) per agency and per expert, over the revisits answered from `first` to
        `last`: insurers see their insured projects, agency people the projects they serve."""
        if person.org_kind not in PERIOD_VIEWERS:
            raise AccessDenied("satisfaction")
        project_ids = [p.id for p in await People(self.t).projects(person)]
        rows = (
            await self.s.execute(
                select(Revisit, Visit)
                .join(Visit, Visit.id == Revisit.visit_id)
                .where(Revisit.answers.is_not(None), Revisit.project_id.in_(project_ids))
            )
        ).all()
        by: dict[tuple[str, str], list[str]] = {}
        for r, visit in rows:
            if r.answered_at is None or not first <= r.answered_at.astimezone(self.t.tz).date() <= last:
                continue
            overall = str((r.answers or {}).get("overall", ""))
            by.setdefault(("agency", str(r.form.get("agency", ""))), []).append(overall)
            for name in await self._experts(visit):
                by.setdefault(("expert", name), []).append(overall)
        return [(kind, name, len(v), revisit.satisfaction_rate(v)) for (kind, name), v in sorted(by.items())]

    def _step(self, r: Revisit) -> tuple[str, dt.datetime] | None:
        """The revisit's next step and when it falls due: ask on the day, ask once more, then the agency's phone."""
        reask_on, phone_on = revisit.follow_ups(r.ask_on, r.limit_on, self.t.calendar)
        steps = {"scheduled": ("ask", r.ask_on), "asked": ("reask", reask_on), "reasked": ("phone", phone_on)}
        if r.status not in steps:
            return None
        step, day = steps[r.status]
        return step, escalation.at_local(day, escalation.REMIND_AT, self.t.tz)

    async def sweep(self, limit: int) -> Swept:
        """Each revisit whose step has come: one record per step."""
        rows = await schedule.due(self.s, Revisit, self.now, limit)
        count = 0
        moments: dict[int, dt.datetime | None] = {}
        ledger = Ledger(self.s, "revisit", self.now)
        for r in rows:
            step = self._step(r)
            if step is not None and step[1] <= self.now:
                await self._take(r, *step, ledger)
                count += 1
                step = self._step(r)
            moments[r.id] = step[1] if step else None
        await ledger.write()
        await schedule.store(self.s, Revisit, moments)
        return Swept(len(rows), count)

    async def _take(self, r: Revisit, step: str, due_at: dt.datetime, ledger: Ledger) -> None:
        key = f"rsv{r.id}:{step}"
        ledger.record(key, r.id, step, due_at, "sent")
        visit = await self.s.get(Visit, r.visit_id)
        assert visit is not None
        if step == "phone" or r.contact_id is None:
            r.status = "phone"
            line = notices.phone_the_insured(str(r.form.get("project", "")), str(r.form.get("insured", "")), r.limit_on)
            self.t.notify(await members.agency_people(self.s, visit), key, [line])
        else:
            r.status = "asked" if step == "ask" else "reasked"
            self.t.notify([r.contact_id], key, [notices.invitation(r.id, r.form, again=step == "reask")])
        await self.t.audit(f"revisit.{step}", "revisit", r.id)


async def sweep(t: Turn, limit: int) -> Swept:
    return await Revisits(t).sweep(limit)
