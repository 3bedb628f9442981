"""回访: the insured's contact answers the revisit survey with buttons (attitude, technical level, closure,
overall, each open hazard of the visit, suggestions), checks the 附件5 record and submits it; the agency confirms
it; /satisfaction rates agencies and experts."""

from __future__ import annotations

from typing import Any

from bot.domain.revisit import CLOSURE, OVERALL, RATINGS, HazardAnswer, parse_period
from bot.i18n import N_, T
from bot.messages import Card, Choice, Msg, Payload, TextIn
from bot.notices import OVERALL_NAMES
from bot.ports import ServiceError
from handlers.context import Context, button_id, flow_choice, flow_option
from handlers.errors import explain
from handlers.registry import action, command, flow

RATING_NAMES = {"good": N_("Good"), "fair": N_("Fair"), "poor": N_("Poor")}
CLOSURE_NAMES = {"done": N_("Completed"), "not_done": N_("Not completed")}
HAZARD_NAMES = {
    HazardAnswer.FIXED: N_("Fixed"),
    HazardAnswer.PARTLY: N_("Partly fixed"),
    HazardAnswer.NOT_FIXED: N_("Not fixed"),
    HazardAnswer.DISAGREE: N_("I disagree with the finding"),
}
FORM_NAMES = {
    "policy": N_("Policy number"),
    "insured": N_("Insured"),
    "project": N_("Project"),
    "place": N_("Place"),
    "agency": N_("Service agency"),
    "experts": N_("Experts"),
    "service": N_("Service item"),
    "service_date": N_("Service date"),
}
SERVICE_NAMES = {"on-site inspection": N_("On-site inspection")}
QUESTIONS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("attitude", N_("How was the experts' service attitude?"), RATING_NAMES),
    ("technical", N_("How was their technical level?"), RATING_NAMES),
    ("closure", N_("Was the service completed as planned?"), CLOSURE_NAMES),
    ("overall", N_("Overall, how satisfied are you?"), OVERALL_NAMES),
)
MAX_SUGGESTION = 500


def missing(d: dict[str, Any]) -> str:
    for key, _, _ in QUESTIONS:
        if key not in d:
            return key
    for hid, _, _ in d["hazards"]:
        if str(hid) not in d["answers"]:
            return f"hz{hid}"
    if "suggestion" not in d:
        return "suggestion"
    return "confirm"


async def ask(ctx: Context) -> None:
    d = ctx.data
    step = missing(d)
    for key, question, names in QUESTIONS:
        if step == key:
            ctx.ask(T(question), [flow_option(key, v, T(label)) for v, label in names.items()])
            return
    if step.startswith("hz"):
        hid, number, description = next(h for h in d["hazards"] if f"hz{h[0]}" == step)
        ctx.ask(
            T("Hazard {number}: {description}\nIs it fixed now?", number=number, description=description[:80]),
            [flow_option("hz", f"{hid}:{a.value}", T(label)) for a, label in HAZARD_NAMES.items()],
        )
    elif step == "suggestion":
        ctx.ask(T("Any suggestions for us? Type them, or press Skip."), [flow_option("sug", "skip", T("Skip"))])
    else:
        ctx.send(
            Card(
                T("Revisit record (please check)"),
                _summary(d),
                (flow_option("ok", "send", T("Submit")), flow_option("ok", "cancel", T("Cancel"))),
            )
        )


def _summary(d: dict[str, Any]) -> tuple[tuple[Msg, Any], ...]:
    rows: list[tuple[Msg, Any]] = []
    for key, value in d["form"]:
        shown = T(SERVICE_NAMES[value]) if key == "service" and value in SERVICE_NAMES else value
        rows.append((T(FORM_NAMES.get(key, key)), shown or "—"))
    for key, question, names in QUESTIONS:
        rows.append((T(question), T(names[d[key]])))
    for hid, number, _ in d["hazards"]:
        rows.append((T("Hazard {number}", number=number), T(HAZARD_NAMES[HazardAnswer(d["answers"][str(hid)])])))
    rows.append((T("Suggestions"), d["suggestion"] or "—"))
    return tuple(rows)


def _accept(ctx: Context, step: str, payload: Payload) -> bool:
    d = ctx.data
    choices = {"attitude": RATINGS, "technical": RATINGS, "closure": CLOSURE, "overall": OVERALL}
    if step in choices:
        value = flow_choice(payload, step)
        if value not in choices[step]:
            return False
        d[step] = value
    elif step.startswith("hz"):
        value = flow_choice(payload, "hz")
        hid, _, answer = (value or "").partition(":")
        if f"hz{hid}" != step or answer not in {a.value for a in HazardAnswer}:
            return False
        d["answers"][hid] = answer
    elif step == "suggestion":
        if flow_choice(payload, "sug") == "skip":
            d["suggestion"] = ""
        elif isinstance(payload, TextIn) and payload.text.strip():
            d["suggestion"] = payload.text.strip()[:MAX_SUGGESTION]
        else:
            return False
    return True


async def on_input(ctx: Context, payload: Payload) -> None:
    d = ctx.data
    step = missing(d)
    if step == "confirm":
        value = flow_choice(payload, "ok")
        if value == "send":
            await _submit(ctx)
            return
        if value == "cancel":
            ctx.finish()
            ctx.say(T("Revisit put aside. Nothing was saved; the invitation's button still works."))
            return
        await ask(ctx)
        return
    if not _accept(ctx, step, payload):
        if isinstance(payload, Choice):
            ctx.refuse(T("That button belongs to an earlier question."))
        else:
            ctx.say(T("Please pick one of the options."))
    await ask(ctx)


async def _submit(ctx: Context) -> None:
    assert ctx.person is not None
    d = ctx.data
    answers = {
        **{key: d[key] for key, _, _ in QUESTIONS},
        "hazards": dict(d["answers"]),
        "suggestion": d["suggestion"],
    }
    try:
        await ctx.services.submit_revisit(ctx.person, d["id"], answers)
    except ServiceError as err:
        ctx.finish()
        ctx.say(explain(err))
        return
    ctx.finish()
    reopened = [n for hid, n, _ in d["hazards"] if d["answers"][str(hid)] in ("partly", "not_fixed")]
    ctx.say(T("Thank you. Your answers are recorded."))
    if reopened:
        ctx.say(
            T(
                "Hazards {numbers} are reopened; the agency will come back to re-inspect them.",
                numbers="、".join(reopened),
            )
        )


async def resume(ctx: Context) -> None:
    await ask(ctx)


FLOW = flow("revisit", N_("revisit survey"), on_input, resume)


@action("rsv", starts_flow=True)
async def start(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    ref = button_id(ctx, args)
    if ref is None:
        return
    try:
        form = await ctx.services.revisit_form(ctx.person, ref)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    ctx.start(
        "revisit",
        {
            "id": form.id,
            "form": [list(f) for f in form.form],
            "hazards": [list(h) for h in form.hazards],
            "answers": {},
        },
    )
    await ask(ctx)


@action("rsvok")
async def confirm(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    ref = button_id(ctx, args)
    if ref is None:
        return
    try:
        await ctx.services.confirm_revisit(ctx.person, ref)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    ctx.say(T("Revisit record confirmed by both sides and filed."))


@command("satisfaction", help=N_("/satisfaction [2026 | 2026Q4] – revisit satisfaction per agency and expert"))
async def satisfaction(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    period = parse_period(args[0] if args else None, ctx.today)
    if period is None:
        ctx.say(T("Give a year or a quarter, e.g. /satisfaction 2026 or /satisfaction 2026Q4."))
        return
    first, last, year = period
    try:
        rows = await ctx.services.satisfaction(ctx.person, first, last)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    if not rows:
        ctx.say(T("No revisit answers in {year} yet.", year=year))
        return
    lines = [
        T(
            "{kind} {name}: {n} answers, {rate} satisfied",
            kind=T("Agency") if kind == "agency" else T("Expert"),
            name=name,
            n=n,
            rate=f"{rate:.0%}" if rate is not None else "—",
        )
        for kind, name, n, rate in rows
    ]
    ctx.say(T("Revisit satisfaction {year} (very satisfied + satisfied):\n{lines}", year=year, lines=lines))
