"""/export: the hazard ledger (隐患排查台账) of one of my projects or of all of them, for this month, last month,
this quarter or this year; the .xlsx arrives in this chat as a document."""

from __future__ import annotations

from typing import TypedDict, cast

from bot.i18n import N_, T
from bot.messages import Document
from handlers.context import Known
from handlers.form import Choose, Draft, FormFlow, Options, Review
from handlers.registry import command

ALL = 0  # every project of mine
PERIODS = {
    "month": N_("This month"),
    "last-month": N_("Last month"),
    "quarter": N_("This quarter"),
    "year": N_("This year"),
}


class ExportForm(TypedDict, total=False):
    project: int
    period: str


async def _projects(ctx: Known, d: Draft) -> Options:
    projects = await ctx.services.people.projects(ctx.person)
    return [*((p.id, p.name) for p in projects), (ALL, T("All my projects"))]


async def review(ctx: Known, data: Draft) -> Review:
    d = cast(ExportForm, data)
    names = {p.id: p.name for p in await ctx.services.people.projects(ctx.person)}
    scope = names.get(d["project"]) or T("All my projects")
    return Review(
        T("Hazard ledger (.xlsx)"),
        ((T("Projects"), scope), (T("Period"), T(PERIODS[d["period"]]))),
        T("Make it"),
    )


async def submit(ctx: Known, data: Draft) -> None:
    d = cast(ExportForm, data)
    project = d["project"] or None
    call = ctx.services.reports.ledger(ctx.person, project, d["period"], ctx.locale)
    info = await ctx.attempt(call, end_flow=True)
    if info is None:
        return
    ctx.finish()
    caption = T(
        "Hazard ledger {start} – {end}: {n} hazards.",
        start=info.start.isoformat(),
        end=info.end.isoformat(),
        n=info.rows,
    )
    ctx.send(Document(info.sha256, info.filename, caption))


FORM = FormFlow(
    "export",
    N_("export"),
    (
        Choose("project", N_("The ledger of which project?"), _projects, label=N_("Projects")),
        Choose("period", N_("Which period?"), [(k, T(v)) for k, v in PERIODS.items()], label=N_("Period")),
    ),
    submit=submit,
    review=review,
    cancelled=N_("Cancelled."),
)


@command("export", help=N_("/export – the hazard ledger (.xlsx) of my projects"), starts_flow=True, private=True)
async def export(ctx: Known, args: tuple[str, ...]) -> None:
    if not await ctx.services.people.projects(ctx.person):
        ctx.say(T("You are not in any project yet."))
        return
    await FORM.begin(ctx)
