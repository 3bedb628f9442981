"""Service plans and visits in chat: /plan (what the insurer owes each project: done, due, late), the insurer's
confirmation of a plan, and /visit for the visit leader (start on the day, close with a summary, mark what the
visit owes as done)."""

from __future__ import annotations

from bot.i18n import N_, T
from bot.messages import Msg, Option, Payload, TextIn
from bot.notices import VISIT_TASKS
from bot.ports import ServiceError, VisitInfo
from handlers.context import Context, button_id
from handlers.errors import explain
from handlers.registry import action, command, flow

OBLIGATION_STATUS = {"done": N_("done"), "due": N_("due"), "late": N_("LATE")}
VISIT_STATUS = {"scheduled": N_("scheduled"), "started": N_("in progress"), "closed": N_("closed")}
MAX_SUMMARY = 1000


def _obligation_name(key: str) -> Msg:
    if key.startswith("quarter-"):
        return T("Full inspection in {quarter}", quarter=key.removeprefix("quarter-"))
    names = {
        "first-inspection": N_("First inspection after the policy starts"),
        "onsite-1": N_("On-site service 1"),
        "onsite-2": N_("On-site service 2"),
    }
    return T(names.get(key, key))


@command("plan", help=N_("/plan – the service plan: what is done, due and late"))
async def plan(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    plans = await ctx.services.plans(ctx.person)
    if not plans:
        ctx.say(T("You are not in any project yet."))
        return
    for p in plans:
        lines = [
            T(
                "{name}: by {date} · {status}",
                name=_obligation_name(o.key),
                date=o.due_by.isoformat(),
                status=T(OBLIGATION_STATUS[o.status]),
            )
            for o in p.obligations
        ]
        state = T(
            {"confirmed": N_("confirmed by the insurer"), "draft": N_("waiting for the insurer's confirmation")}.get(
                p.plan_status or "", N_("no service plan yet")
            )
        )
        ctx.say(
            T(
                "{project} — service plan: {state}\n{lines}",
                project=p.project.name,
                state=state,
                lines=lines or [T("No policy recorded for this project.")],
            )
        )


@action("plan")
async def confirm(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    ref = button_id(ctx, args)
    if ref is None:
        return
    try:
        project = await ctx.services.confirm_plan(ctx.person, ref)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    ctx.say(T("Service plan of {project} confirmed. It counts from now on.", project=project))


def _visit_options(v: VisitInfo) -> list[Option]:
    if v.status == "scheduled":
        return [Option(f"visit:{v.id}:start", T("Start the visit"))]
    if v.status == "started":
        return [Option(f"visit:{v.id}:close", T("Close the visit"))]
    return [Option(f"vtask:{v.id}:{m}", T("Done: {task}", task=T(VISIT_TASKS[m]))) for m, _ in v.open_tasks]


def _visit_line(v: VisitInfo) -> Msg:
    owes = [T("{task} by {date}", task=T(VISIT_TASKS[m]), date=d.isoformat()) for m, d in v.open_tasks]
    return T(
        "Visit to {project} on {date} ({status}){owes}",
        project=v.project_name,
        date=v.scheduled_on.isoformat(),
        status=T(VISIT_STATUS[v.status]),
        owes=["", *owes] if owes else "",
    )


@command("visit", help=N_("/visit – start, close and follow up your visits (visit leaders)"))
async def visit(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    mine = await ctx.services.my_visits(ctx.person)
    if not mine:
        ctx.say(T("You lead no open visits."))
        return
    for v in mine[:5]:
        ctx.ask(_visit_line(v), _visit_options(v))


@action("visit", starts_flow=True)
async def visit_button(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    if len(args) != 2 or not args[0].isdigit() or args[1] not in ("start", "close"):
        ctx.refuse(T("That button is no longer valid."))
        return
    visit_id = int(args[0])
    if args[1] == "start":
        try:
            v = await ctx.services.start_visit(ctx.person, visit_id)
        except ServiceError as err:
            ctx.refuse(explain(err))
            return
        ctx.ask(
            T(
                "Visit to {project} started. Hazards you and the experts report now are filed under it.",
                project=v.project_name,
            ),
            _visit_options(v),
        )
        return
    ctx.start("visit_close", {"visit": visit_id})
    ctx.say(T("Summarise the visit in a few sentences (what was checked, what was found)."))


async def _summary(ctx: Context, payload: Payload) -> None:
    assert ctx.person is not None
    if not isinstance(payload, TextIn) or not 2 <= len(payload.text.strip()) <= MAX_SUMMARY:
        ctx.say(T("Please write between 2 and {max} characters.", max=MAX_SUMMARY))
        return
    visit_id = ctx.data["visit"]
    ctx.finish()
    try:
        v = await ctx.services.close_visit(ctx.person, visit_id, payload.text.strip())
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    ctx.ask(
        T(
            "Visit closed. It now owes:{owes}",
            owes=["", *(T("{task} by {date}", task=T(VISIT_TASKS[m]), date=d.isoformat()) for m, d in v.open_tasks)],
        ),
        _visit_options(v),
    )


async def _resume(ctx: Context) -> None:
    ctx.say(T("Summarise the visit in a few sentences (what was checked, what was found)."))


FLOW = flow("visit_close", N_("visit summary"), _summary, _resume)


@action("vtask")
async def task_done(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    if len(args) != 2 or not args[0].isdigit() or args[1] not in VISIT_TASKS:
        ctx.refuse(T("That button is no longer valid."))
        return
    try:
        v = await ctx.services.complete_visit_task(ctx.person, int(args[0]), args[1])
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    ctx.say(T("Recorded: {task}.", task=T(VISIT_TASKS[args[1]])))
    if v.open_tasks:
        ctx.ask(_visit_line(v), _visit_options(v))
