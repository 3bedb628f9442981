"""Documents asked for in chat (/export): the hazard ledger of one project or of all the asker's projects over a
period, laid out by bot/documents and stored as a file to send. Only projects the asker is a member of go in."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.documents import forms, ledger_xlsx
from bot.domain.obligations import add_months, quarter_of
from bot.ports import AccessDenied, ExportInfo, PersonInfo, ServiceError
from storage import hazard_record, ledger, members
from storage.hazards import Hazards
from storage.models import Project
from storage.turn import Area

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
CHAT_ROWS = 2000  # more than this is the operator's (`anzebot report ledger`): a turn must stay short
PERIODS = ("month", "last-month", "quarter", "year")


def period(key: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """This month, last month, this quarter or this year, up to today (local days)."""
    if key == "month":
        return today.replace(day=1), today
    if key == "last-month":
        first = add_months(today.replace(day=1), -1)
        return first, today.replace(day=1) - dt.timedelta(days=1)
    if key == "quarter":
        year, q = quarter_of(today)
        return dt.date(year, 3 * q - 2, 1), today
    if key == "year":
        return dt.date(today.year, 1, 1), today
    raise ServiceError("period")


class Reports(Area):
    async def hazard_form(self, person: PersonInfo, hazard_id: int, kind: str, locale: str) -> ExportInfo:
        """The notice (kind "notice") or the re-inspection record ("recheck") of a hazard the person may see."""
        if kind not in ("notice", "recheck"):
            raise ServiceError("period")
        h = await Hazards(self.t).find(person, hazard_id)  # the same reach as /hazard
        facts = await hazard_record.record(self.s, h.number, self.t.tz, self.t.calendar)
        media = self.t.media
        assert media is not None
        make = forms.notice if kind == "notice" else forms.recheck
        data = await asyncio.to_thread(make, facts, locale, media.maybe, self.now.astimezone(self.t.tz))
        sha = await media.store_file(self.s, data, PDF)
        await self.t.audit(f"report.{kind}", "hazard", h.id, actor=person.id, data={"sha256": sha})
        today = self.t.today
        return ExportInfo(sha, f"{h.number}-{kind}.pdf", 1, today, today)

    async def ledger(self, person: PersonInfo, project_id: int | None, period_key: str, locale: str) -> ExportInfo:
        mine = sorted(await members.projects_of(self.s, person.id))
        if project_id is not None and project_id not in mine:
            raise AccessDenied("export")
        ids = [project_id] if project_id is not None else mine
        if not ids:
            raise AccessDenied("export")
        start, end = period(period_key, self.t.today)
        project = await self.s.get(Project, project_id) if project_id is not None else None
        scope = project.name if project is not None else person.name
        facts = await ledger.read(self.s, ids, start, end, self.t.tz, self.t.calendar, self.t.today, scope)
        if len(facts.rows) > CHAT_ROWS:
            raise ServiceError("export_too_big")
        media = self.t.media
        assert media is not None
        cal, today = self.t.calendar, self.t.today

        data = await asyncio.to_thread(
            ledger_xlsx.render, facts, locale, media.maybe, today, self.now.astimezone(self.t.tz), cal
        )
        sha = await media.store_file(self.s, data, XLSX)
        await self.t.audit(
            "report.ledger",
            "person",
            person.id,
            actor=person.id,
            data={
                "projects": ids,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "rows": len(facts.rows),
                "sha256": sha,
            },
        )
        return ExportInfo(sha, f"ledger-{start.isoformat()}-{end.isoformat()}.xlsx", len(facts.rows), start, end)
