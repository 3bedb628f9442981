"""The risk register in chat: /risk enters a risk (dangerous work, name, photo, accident type, basis, measures, LEC
by three buttons); /risks shows a project's register with a check button on each level-1/2 source; /stage
records a stage change (the agency)."""

from __future__ import annotations

from typing import Any, TypedDict, cast

from bot.domain.lec import format_score, score, tables
from bot.domain.risks import ACCIDENT_TYPES, SOURCE_RANKS, STAGES
from bot.domain.roles import Role
from bot.i18n import N_, T, translate
from bot.messages import Button, Card, Label, Msg, Option
from bot.notices.risks import ACCIDENT_TYPES as TYPE_NAMES
from bot.notices.risks import CHECK, RANKS, line
from bot.ports import ProjectInfo, RiskDraft
from handlers.context import Known
from handlers.form import Choose, Draft, FormFlow, Options, PhotoBox, Photos, Review, Write
from handlers.lec import PROMPTS
from handlers.registry import action, command

KEEPERS = frozenset({Role.EXPERT, Role.AGENCY_ADMIN})
GENERAL = "*"  # the site as a whole, not one dangerous work
STAGE = Button("stage")  # stage:<project>:<index of STAGES>
MAX_TEXT = 1000


class RiskForm(TypedDict, total=False):
    project: int
    work: str
    name: str
    photos: list[str]
    type: str
    basis: str
    measures: str
    L: float
    E: float
    C: float


async def _keeping(ctx: Known) -> list[ProjectInfo]:
    return [p for p in await ctx.services.people.projects(ctx.person) if p.roles & KEEPERS]


async def _projects(ctx: Known, d: Draft) -> Options:
    return [(p.id, p.name) for p in await _keeping(ctx)]


async def _works(ctx: Known, d: Draft) -> Options:
    works = await ctx.services.risks.works(ctx.person, d["project"])
    return [*((w, w) for w in works), (GENERAL, T("The site in general"))]


def _factor(kind: str) -> Options:
    table = {"L": tables().L, "E": tables().E, "C": tables().C}[kind]
    return [(f.score, T("{score} · {desc}", score=format_score(f.score), desc=f.desc)) for f in table]


def _work_label(work: str) -> Label:
    return T("The site in general") if work == GENERAL else work


async def review(ctx: Known, data: Draft) -> Review:
    d = cast(RiskForm, data)
    r = score(d["L"], d["E"], d["C"])
    rows: tuple[tuple[Msg, Label], ...] = (
        (T("Dangerous work"), _work_label(d["work"])),
        (T("Risk"), d["name"]),
        (T("Accident type"), T(TYPE_NAMES[d["type"]])),
        (T("Basis"), d["basis"]),
        (T("Control measures"), d["measures"]),
        (T("LEC"), T("D = {d} ({band}, {level})", d=format_score(r.D), band=r.band, level=r.level_name)),
    )
    return Review(T("Check the risk"), rows, T("Enter it"))


async def submit(ctx: Known, data: Draft) -> None:
    d = cast(RiskForm, data)
    draft = RiskDraft(
        project_id=d["project"],
        work=translate_work(ctx, d["work"]),
        name=d["name"],
        photo=d["photos"][0],
        accident_type=d["type"],
        basis=d["basis"],
        measures=d["measures"],
        lec=(d["L"], d["E"], d["C"]),
    )
    info = await ctx.attempt(ctx.services.risks.record(ctx.person, draft), end_flow=True)
    if info is None:
        return
    ctx.finish()
    ctx.say(T("Entered in the register of {project}: {line}", project=info.project_name, line=line(info)))


def translate_work(ctx: Known, work: str) -> str:
    """The general entry is stored in the words of whoever entered it: the register is a record of what was said."""
    return translate(T("The site in general"), ctx.locale) if work == GENERAL else work


FORM = FormFlow(
    "risk",
    N_("risk entry"),
    (
        Choose("project", N_("Which project's register?"), _projects, label=N_("Project")),
        Choose("work", N_("Which dangerous work is the risk in?"), _works, label=N_("Dangerous work")),
        Write("name", N_("Name the risk in a few words."), label=N_("Risk"), max_len=200),
        Photos("photos", T("Send a photo of it."), nudge=N_("Please send a photo of the risk.")),
        Choose("type", N_("What accident could it cause?"), [(k, T(TYPE_NAMES[k])) for k in ACCIDENT_TYPES]),
        Write("basis", N_("The basis (the standard or rule, e.g. JGJ 130 §6.4):"), label=N_("Basis"), max_len=MAX_TEXT),
        Write("measures", N_("The control measures:"), label=N_("Control measures"), max_len=MAX_TEXT),
        Choose("L", PROMPTS["L"], _factor("L"), label="L"),
        Choose("E", PROMPTS["E"], _factor("E"), label="E"),
        Choose("C", PROMPTS["C"], _factor("C"), label="C"),
    ),
    submit=submit,
    review=review,
    cancelled=N_("Cancelled. Nothing was entered."),
    photos=PhotoBox("photos", 3, full=N_("That is enough photos for one risk (at most {n}).")),
)


@command("risk", help=N_("/risk – enter a risk in a project's risk register"), starts_flow=True, private=True)
async def risk(ctx: Known, args: tuple[str, ...]) -> None:
    projects = await _keeping(ctx)
    if not projects:
        ctx.refuse(T("You do not have permission to do that in this project."))
        return
    await FORM.begin(ctx, {"project": projects[0].id} if len(projects) == 1 else {})


@command("risks", help=N_("/risks – the risk register of my projects"))
async def risks(ctx: Known, args: tuple[str, ...]) -> None:
    projects = [ctx.group] if ctx.group is not None else await ctx.services.people.projects(ctx.person)
    if not projects:
        ctx.say(T("You are not in any project yet."))
        return
    for p in projects:
        entries = await ctx.attempt(ctx.services.risks.register(ctx.person, p.id))
        if entries is None:
            return
        keeper = bool(p.roles & KEEPERS) and not ctx.in_group
        options: list[Option] = [
            CHECK.option(T("Checked: {name}", name=e.name), e.id) for e in entries if keeper and e.rank in SOURCE_RANKS
        ]
        lines: list[Any] = [line(e) for e in entries] or [T("Nothing entered yet: /risk")]
        fields = tuple((T("No. {n}", n=n), x) for n, x in enumerate(lines, 1))
        ctx.send(Card(T("Risk register of {project}", project=p.name), fields, tuple(options)))


@action(CHECK)
async def check(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args)
    info = await ctx.attempt(ctx.services.risks.check(ctx.person, ref)) if ref is not None else None
    if info is not None:
        ctx.say(T("Checked on site today: {name} ({rank}).", name=info.name, rank=T(RANKS[info.rank])))


@command("stage", help=N_("/stage – the project moves to a new construction stage"), private=True)
async def stage(ctx: Known, args: tuple[str, ...]) -> None:
    projects = [p for p in await ctx.services.people.projects(ctx.person) if Role.AGENCY_ADMIN in p.roles]
    if not projects:
        ctx.refuse(T("You do not have permission to do that in this project."))
        return
    if len(args) >= 2:
        target = next((p for p in projects if p.code.lower() == args[0].lower()), None)
        if target is not None:
            await _set(ctx, target.id, " ".join(args[1:]))
            return
    ctx.ask(
        T("Which stage is the project at now? (or type: /stage <project code> <stage>)"),
        [
            STAGE.option(T("{project}: {stage}", project=p.name, stage=name), p.id, i)
            for p in projects
            for i, name in enumerate(STAGES)
        ],
    )


@action(STAGE)
async def pick_stage(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args)
    if ref is None or len(args) < 2 or not args[1].isdigit() or int(args[1]) >= len(STAGES):
        ctx.refuse(T("That button is no longer valid."))
        return
    await _set(ctx, ref, STAGES[int(args[1])])


async def _set(ctx: Known, project_id: int, name: str) -> None:
    project = await ctx.attempt(ctx.services.risks.set_stage(ctx.person, project_id, name))
    if project is not None:
        ctx.say(T("{project} is at “{stage}” now; its risk register is to be refreshed.", project=project, stage=name))
