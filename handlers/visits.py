"""Service plans and visits in chat: /plan (what the insurer owes each project: done, due, late), the insurer's
confirmation of a plan, and /visit for the visit leader (start on the day, close with a summary, mark what the
visit owes as done)."""

from __future__ import annotations

from collections.abc import Container

from bot.domain.numbering import parse_id
from bot.i18n import N_, T
from bot.messages import Button, Document, Msg, Option, Payload
from bot.notices.visits import AGREE_PLAN, CONFIRM_PLAN, CONFIRM_REPORT, VISIT_TASKS, obligation_name
from bot.ports import VisitInfo
from handlers.context import Known
from handlers.form import read_text
from handlers.registry import action, command, flow

OBLIGATION_STATUS = {
    "done": N_("done"),
    "done_late": N_("done, {days} days late"),  # met late: still a breach (the analyses count it)
    "due": N_("due"),
    "late": N_("LATE"),
}
VISIT_STATUS = {"scheduled": N_("scheduled"), "started": N_("in progress"), "closed": N_("closed")}
PLAN_STATUS = {
    "confirmed": N_("confirmed by the insurer"),
    "agreed": N_("waiting for the insurer's confirmation"),
    "draft": N_("waiting for the insured's agreement"),
    "": N_("no service plan yet"),
}
MAX_SUMMARY = 1000
VISIT = Button("visit")  # visit:<visit>:start|close
TASK = Button("vtask")  # vtask:<visit>:<milestone>


@command("plan", help=N_("/plan – the service plan: what is done, due and late"), private=True)
async def plan(ctx: Known, args: tuple[str, ...]) -> None:
    plans = await ctx.services.plans.mine(ctx.person)
    if not plans:
        ctx.say(T("You are not in any project yet."))
        return
    for p in plans:
        lines = [
            T(
                "{name}: by {date} · {status}",
                name=obligation_name(o.key),
                date=o.due_by.isoformat(),
                status=T(OBLIGATION_STATUS[o.status], days=o.days_late),
            )
            for o in p.obligations
        ]
        state = T(PLAN_STATUS.get(p.plan_status or "", PLAN_STATUS[""]))
        no_policy = T("No policy recorded for this project.")
        if p.obligations:
            agreed = (
                T("Service agreement {number}, signed {date}", number=p.agreement[0], date=p.agreement[1].isoformat())
                if p.agreement
                else T("No service agreement recorded.")
            )
            lines = [agreed, *lines]
        ctx.say(
            T(
                "{project} — service plan: {state}\n{lines}",
                project=p.project.name,
                state=state,
                lines=lines or [no_policy],
            )
        )


@action(AGREE_PLAN)
async def agree(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args)
    project = await ctx.attempt(ctx.services.plans.agree(ctx.person, ref)) if ref is not None else None
    if project is not None:
        ctx.say(T("You agreed to the service plan of {project}; the insurer confirms it next.", project=project))


@action(CONFIRM_REPORT)
async def confirm_report(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args)
    project = await ctx.attempt(ctx.services.visits.confirm_report(ctx.person, ref)) if ref is not None else None
    if project is not None:
        ctx.say(T("You confirmed the service report of {project}.", project=project))


@action(CONFIRM_PLAN)
async def confirm(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args)
    project = await ctx.attempt(ctx.services.plans.confirm(ctx.person, ref)) if ref is not None else None
    if project is not None:
        ctx.say(T("Service plan of {project} confirmed. It counts from now on.", project=project))


def _owes(v: VisitInfo) -> list[Msg]:
    return [T("{task} by {date}", task=T(VISIT_TASKS[m]), date=d.isoformat()) for m, d in v.open_tasks]


def _visit_options(v: VisitInfo) -> list[Option]:
    if v.status == "scheduled":
        return [VISIT.option(T("Start the visit"), v.id, "start")]
    if v.status == "started":
        return [VISIT.option(T("Close the visit"), v.id, "close")]
    options = [
        TASK.option(T("Done: {task}", task=T(VISIT_TASKS[m])), v.id, m) for m, _ in v.open_tasks if m != "report"
    ]
    if any(m == "report" for m, _ in v.open_tasks):  # done by issuing it (004 附件4), not by a button
        options[:0] = [
            VISIT.option(T("Service report: draft"), v.id, "report"),
            VISIT.option(T("Service report: submit"), v.id, "submit"),
        ]
    return options


def _visit_line(v: VisitInfo) -> Msg:
    owes = _owes(v)
    return T(
        "Visit to {project} on {date} ({status}){owes}",
        project=v.project_name,
        date=v.scheduled_on.isoformat(),
        status=T(VISIT_STATUS[v.status]),
        owes=["", *owes] if owes else "",
    )


@command("visit", help=N_("/visit – start, close and follow up your visits (visit leaders)"), private=True)
async def visit(ctx: Known, args: tuple[str, ...]) -> None:
    mine = await ctx.services.visits.mine(ctx.person)
    if not mine:
        ctx.say(T("You lead no open visits."))
        return
    for v in mine[:5]:
        ctx.ask(_visit_line(v), _visit_options(v))


def _visit_and(args: tuple[str, ...], words: Container[str]) -> tuple[int, str] | None:
    """(visit id, word) of a `visit:<id>:<word>` button whose word is one of `words`."""
    visit_id = parse_id(args[0]) if len(args) == 2 else None
    return (visit_id, args[1]) if visit_id is not None and args[1] in words else None


@action(VISIT, starts_flow=True)
async def visit_button(ctx: Known, args: tuple[str, ...]) -> None:
    pressed = _visit_and(args, ("start", "close", "report", "submit"))
    if pressed is None:
        ctx.refuse(T("That button is no longer valid."))
        return
    visit_id, what = pressed
    if what == "report":
        info = await ctx.attempt(ctx.services.visits.draft_report(ctx.person, visit_id))
        if info is not None:
            ctx.send(Document(info.sha256, info.filename, T("Draft: check it, then submit it.")))
        return
    if what == "submit":
        v = await ctx.attempt(ctx.services.visits.submit_report(ctx.person, visit_id))
        if v is not None:
            ctx.say(T("Submitted: the project manager and the insurer confirm it; you will get the final report."))
        return
    if what == "start":
        v = await ctx.attempt(ctx.services.visits.start(ctx.person, visit_id))
        if v is not None:
            ctx.ask(
                T(
                    "Visit to {project} started. Hazards you and the experts report now are filed under it.",
                    project=v.project_name,
                ),
                _visit_options(v),
            )
        return
    ctx.start("visit_close", {"visit": visit_id})
    await _resume(ctx)


async def _summary(ctx: Known, payload: Payload) -> None:
    summary = read_text(ctx, payload, 2, MAX_SUMMARY)
    if summary is None:
        return
    visit_id = ctx.data["visit"]
    ctx.finish()
    v = await ctx.attempt(ctx.services.visits.close(ctx.person, visit_id, summary))
    if v is not None:
        ctx.ask(T("Visit closed. It now owes:{owes}", owes=["", *_owes(v)]), _visit_options(v))


async def _resume(ctx: Known) -> None:
    ctx.say(T("Summarise the visit in a few sentences (what was checked, what was found)."))


FLOW = flow("visit_close", N_("visit summary"), _summary, _resume)


@action(TASK)
async def task_done(ctx: Known, args: tuple[str, ...]) -> None:
    pressed = _visit_and(args, VISIT_TASKS)
    if pressed is None:
        ctx.refuse(T("That button is no longer valid."))
        return
    visit_id, task = pressed
    v = await ctx.attempt(ctx.services.visits.complete_task(ctx.person, visit_id, task))
    if v is None:
        return
    ctx.say(T("Recorded: {task}.", task=T(VISIT_TASKS[task])))
    if v.open_tasks:
        ctx.ask(_visit_line(v), _visit_options(v))
