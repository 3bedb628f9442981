"""回访: the insured's contact answers the revisit survey with buttons (attitude, technical level, closure,
overall, each open hazard of the visit, suggestions), checks the 附件5 record and submits it; the agency confirms
it; /satisfaction rates agencies and experts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict, cast

from bot.domain.revisit import HazardAnswer, parse_period
from bot.i18n import N_, T
from bot.messages import Label, Msg, Payload
from bot.notices.revisits import ANSWER, CONFIRM, OVERALL_NAMES
from handlers.context import Known, flow_choice, flow_option
from handlers.form import Choose, Draft, FormFlow, Options, Review, Step, read_text
from handlers.registry import action, command

RATING_NAMES = {"good": N_("Good"), "fair": N_("Fair"), "poor": N_("Poor")}
CLOSURE_NAMES = {"done": N_("Completed"), "not_done": N_("Not completed")}
HAZARD_NAMES: dict[str, str] = {
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
REOPENING = (HazardAnswer.PARTLY, HazardAnswer.NOT_FIXED)


class RevisitDraft(TypedDict, total=False):
    """The survey's fixed fields; each open hazard of the visit adds its answer under `hz<id>`."""

    id: int
    form: list[list[str]]  # the 附件5 header: (field, value)
    hazards: list[list[Any]]  # (id, number, description) of the visit's hazards still open
    attitude: str
    technical: str
    closure: str
    overall: str
    suggestion: str


def _named(names: dict[str, str]) -> Options:
    return [(k, T(v)) for k, v in names.items()]


class HazardStatus(Choose):
    """Is this open hazard of the visit fixed now? (One step per hazard, answered `hz<id>`.)"""

    def __init__(self, hazard_id: int, number: str, description: str) -> None:
        super().__init__(f"hz{hazard_id}", "", _named(HAZARD_NAMES), label=N_("Hazard {number}"))
        self.number, self.description = number, description

    async def prompt_for(self, ctx: Known, d: Draft) -> Msg:
        return T(
            "Hazard {number}: {description}\nIs it fixed now?", number=self.number, description=self.description[:80]
        )

    def menu_label(self) -> Msg:
        return T("Hazard {number}", number=self.number)


class Suggestion(Step):
    key, label = "suggestion", N_("Suggestions")

    async def ask(self, ctx: Known, d: Draft) -> None:
        ctx.ask(T("Any suggestions for us? Type them, or press Skip."), [flow_option("sug", "skip", T("Skip"))])

    def owns(self, value: str) -> bool:
        return value.startswith("f:sug:")

    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        if flow_choice(payload, "sug") == "skip":
            d[self.key] = ""
            return True
        text = read_text(ctx, payload, 1, 10_000)
        if text is None:
            return False
        d[self.key] = text[:MAX_SUGGESTION]
        return True


def steps(d: Draft) -> Sequence[Step]:
    questions: list[Step] = [Choose(key, question, _named(names), label=question) for key, question, names in QUESTIONS]
    hazards: list[Step] = [HazardStatus(hid, number, text) for hid, number, text in d.get("hazards", [])]
    return [*questions, *hazards, Suggestion()]


async def review(ctx: Known, data: Draft) -> Review:
    d = cast(RevisitDraft, data)
    rows: list[tuple[Msg, Label]] = []
    for key, value in d["form"]:
        shown = T(SERVICE_NAMES[value]) if key == "service" and value in SERVICE_NAMES else value
        rows.append((T(FORM_NAMES.get(key, key)), shown or "—"))
    for key, question, names in QUESTIONS:
        rows.append((T(question), T(names[data[key]])))
    for hid, number, _ in d["hazards"]:
        rows.append((T("Hazard {number}", number=number), T(HAZARD_NAMES[HazardAnswer(data[f"hz{hid}"])])))
    rows.append((T("Suggestions"), d["suggestion"] or "—"))
    return Review(T("Revisit record (please check)"), tuple(rows))


async def submit(ctx: Known, d: Draft) -> None:
    answers: dict[str, Any] = {
        **{key: d[key] for key, _, _ in QUESTIONS},
        "hazards": {str(hid): d[f"hz{hid}"] for hid, _, _ in d["hazards"]},
        "suggestion": d["suggestion"],
    }
    if await ctx.attempt(ctx.services.revisits.submit(ctx.person, d["id"], answers), end_flow=True) is None:
        return
    reopened = [number for hid, number, _ in d["hazards"] if d[f"hz{hid}"] in REOPENING]
    ctx.finish()
    ctx.say(T("Thank you. Your answers are recorded."))
    if reopened:
        ctx.say(
            T(
                "Hazards {numbers} are reopened; the agency will come back to re-inspect them.",
                numbers="、".join(reopened),
            )
        )


FORM = FormFlow(
    "revisit",
    N_("revisit survey"),
    steps,
    submit=submit,
    review=review,
    cancelled=N_("Revisit put aside. Nothing was saved; the invitation's button still works."),
)


@action(ANSWER, starts_flow=True)
async def start(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args)
    form = await ctx.attempt(ctx.services.revisits.form(ctx.person, ref)) if ref is not None else None
    if form is None:
        return
    data = {"id": form.id, "form": [list(f) for f in form.form], "hazards": [list(h) for h in form.hazards]}
    await FORM.begin(ctx, data)


@action(CONFIRM)
async def confirm(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args)
    if ref is not None and await ctx.attempt(ctx.services.revisits.confirm(ctx.person, ref)) is not None:
        ctx.say(T("Revisit record confirmed by both sides and filed."))


@command(
    "satisfaction", help=N_("/satisfaction [2026 | 2026Q4] – revisit satisfaction per agency and expert"), private=True
)
async def satisfaction(ctx: Known, args: tuple[str, ...]) -> None:
    period = parse_period(args[0] if args else None, ctx.today)
    if period is None:
        ctx.say(T("Give a year or a quarter, e.g. /satisfaction 2026 or /satisfaction 2026Q4."))
        return
    first, last, year = period
    rows = await ctx.attempt(ctx.services.revisits.satisfaction(ctx.person, first, last))
    if rows is None:
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
