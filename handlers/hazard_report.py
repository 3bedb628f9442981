"""隐患上报: the guided hazard report, and the photo-with-caption quick path that asks only for what is missing.

A form (handlers/form.py): each answer fills one field of the draft and the next question is the first field
still missing, so nothing the caption said is asked again. A major-hazard criterion makes the hazard level 1
whatever else was said.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, TypedDict, cast

from bot.domain.deadlines import deadline_choices, default_deadline, parse_deadline
from bot.domain.lec import score
from bot.domain.levels import Level
from bot.domain.quickpath import read_caption
from bot.domain.roles import Action, allowed
from bot.domain.taxonomy import Group, Taxonomy, taxonomy
from bot.i18n import N_, T, translate
from bot.messages import Button, Card, Label, Msg, Payload, StoredMedia
from bot.notices.hazards import hazard_fields, level_label
from bot.ports import HazardDraft
from handlers.context import Known, flow_choice, flow_option
from handlers.form import (
    Choose,
    DateStep,
    Draft,
    FormFlow,
    Options,
    PhotoBox,
    Photos,
    Review,
    Step,
    Write,
    location_text,
    read_text,
)
from handlers.lec import ask_factor, next_factor, result_message, take_factor
from handlers.registry import action, command

MAX_PHOTOS = 9
MIN_TEXT, MAX_TEXT, MAX_LOCATION = 2, 1000, 200
NONE = "none"  # no major-hazard criterion matches
STANDARD_SUGGESTION = N_(
    "Rectify according to the applicable standard at once, and keep people away from the "
    "area until the re-inspection passes."
)
MENU = Button("menu:report")


class ReportDraft(TypedDict, total=False):
    project: int
    photos: list[str]
    photos_done: bool
    group: str
    major: str  # a criterion id, or NONE
    check: int | None  # a JGJ 59 item of the group, or None (skipped)
    description: str
    location: str
    level: int  # as chosen or captioned; a major hazard is level 1 whatever this says
    accident: Literal["yes", "no"]  # level 2: may it cause an accident (then the authority is told too)
    suggestion: str
    deadline: str  # ISO date
    lec: dict[str, float] | Literal["skip"]


def _taxonomy(ctx: Known) -> Taxonomy:
    """The categories with the deployment's edition of the major-hazard criteria (rules file)."""
    return taxonomy(ctx.setup.rules.hazards.major_hazard_edition)


def _group(ctx: Known, d: Draft) -> Group | None:
    return _taxonomy(ctx).group(d["group"]) if "group" in d else None


def _major(d: Draft) -> bool:
    return bool(d.get("major", NONE) != NONE)


def level_of(d: Draft) -> Level:
    """The hazard's level: 1 for a major hazard, else the one chosen."""
    return Level.ONE if _major(d) else Level(d["level"])


def _level_two(d: Draft) -> bool:
    return not _major(d) and d.get("level") == int(Level.TWO)


async def _accident(ctx: Known, d: Draft) -> Options:
    """Yes / no, the rules' default first (001 §二(二): the deployment sets it; the seeds' default is no)."""
    options: list[tuple[Any, Label]] = [
        ("no", T("No")),
        ("yes", T("Yes: report it to the authority too")),
    ]
    return options[::-1] if ctx.setup.rules.hazards.level2_authority_default else options


async def _projects(ctx: Known, d: Draft) -> Options:
    return [(p.id, p.name) for p in await ctx.services.people.projects(ctx.person, Action.REPORT_HAZARD)]


async def _groups(ctx: Known, d: Draft) -> Options:
    return [(g.id, g.name) for g in _taxonomy(ctx).groups]


class Major(Choose):
    """A criterion of the deployment's major-hazard standard (建质规〔2024〕5号 by default) for the group, or none
    (asked only where the group has criteria)."""

    def __init__(self) -> None:
        super().__init__("major", "", self._criteria, label=N_("Major-hazard criterion"), clears=("check",))

    def applies(self, ctx: Known, d: Draft) -> bool:
        group = _group(ctx, d)
        return group is not None and bool(group.major)

    async def _criteria(self, ctx: Known, d: Draft) -> Options:
        group = _group(ctx, d)
        assert group is not None
        options: list[tuple[Any, Label]] = [(m.id, f"{i}) {m.article}") for i, m in enumerate(group.major, 1)]
        return [*options, (NONE, T("None of these"))]

    async def prompt_for(self, ctx: Known, d: Draft) -> Msg:
        group = _group(ctx, d)
        assert group is not None
        return T(
            "Does it match a major-hazard criterion of {standard}? If so it is level 1.\n{items}",
            standard=_taxonomy(ctx).standard,
            items=[f"{i}) {m.article} {m.text}" for i, m in enumerate(group.major, 1)],
        )


class Check(Choose):
    """The JGJ 59 check item it breaks (where no major criterion matched and the group has items)."""

    def __init__(self) -> None:
        super().__init__("check", N_("Which JGJ 59 check item does it break?"), self._items, label=N_("Check item"))

    def applies(self, ctx: Known, d: Draft) -> bool:
        group = _group(ctx, d)
        return group is not None and bool(group.checks) and not _major(d)

    async def _items(self, ctx: Known, d: Draft) -> Options:
        group = _group(ctx, d)
        assert group is not None
        options: list[tuple[Any, Label]] = [(c.index, f"{c.table}·{c.item}") for c in group.checks]
        return [*options, ("skip", T("Skip"))]

    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        if flow_choice(payload, self.key) == "skip":
            d[self.key] = None
            return True
        return await super().accept(ctx, d, payload)


class Where(Write):
    """Typed, or a shared location."""

    def __init__(self) -> None:
        super().__init__(
            "location",
            N_("Where is it? (for example: building 2, east side, 5th floor) — or send your location."),
            label=N_("Location"),
            max_len=MAX_LOCATION,
        )

    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        shared = location_text(payload)
        if shared is not None:
            d[self.key] = shared
            return True
        return await super().accept(ctx, d, payload)


class Measures(Step):
    """The rectification measures: typed, or the standard wording (stored as written, in the reporter's
    language: the notice is a record of what was said)."""

    key, label = "suggestion", N_("Rectification measures")

    async def ask(self, ctx: Known, d: Draft) -> None:
        ctx.ask(
            T("What must be done? Type the rectification measures, or use the standard wording."),
            [flow_option(self.key, "std", T("Use the standard wording"))],
        )

    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        if flow_choice(payload, self.key) == "std":
            d[self.key] = translate(T(STANDARD_SUGGESTION), ctx.locale)
            return True
        text = read_text(ctx, payload, MIN_TEXT, MAX_TEXT)
        if text is None:
            return False
        d[self.key] = text
        return True


class Lec(Step):
    """Optional: score the risk with LEC (three more questions) or skip."""

    key, label = "lec", N_("LEC")

    def done(self, d: Draft) -> bool:
        lec = d.get(self.key)
        return lec == "skip" or (isinstance(lec, dict) and next_factor(lec) is None)

    def owns(self, value: str) -> bool:
        return value.startswith("f:lec")

    async def ask(self, ctx: Known, d: Draft) -> None:
        lec = d.get(self.key)
        if isinstance(lec, dict):
            kind = next_factor(lec)
            assert kind is not None
            ask_factor(ctx, kind)
            return
        ctx.ask(
            T("Score the risk with LEC as well? (optional)"),
            [flow_option(self.key, "yes", T("Score with LEC")), flow_option(self.key, "skip", T("Skip"))],
        )

    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        lec = d.get(self.key)
        if isinstance(lec, dict):
            kind = next_factor(lec)
            assert kind is not None
            value = take_factor(kind, payload)
            if value is None:
                return False
            lec[kind] = value
            if next_factor(lec) is None:
                ctx.say(result_message(score(lec["L"], lec["E"], lec["C"])))
            return True
        pressed = flow_choice(payload, self.key)
        if pressed not in ("yes", "skip"):
            return False
        d[self.key] = {} if pressed == "yes" else "skip"
        return True


def _deadlines(ctx: Known, d: Draft) -> Options:
    return [
        (day.isoformat(), T("{date} ({n} working days)", date=day.isoformat(), n=n))
        for n, day in deadline_choices(level_of(d), ctx.today, ctx.calendar, ctx.deadline_days)
    ]


def _unreadable_date(ctx: Known, d: Draft) -> Msg:
    example = default_deadline(level_of(d), ctx.today, ctx.calendar, ctx.deadline_days)
    return T("That is not a date I can use. Type a future date like {example}.", example=example.isoformat())


LEVELS: Options = [(int(lvl), level_label(lvl)) for lvl in Level]

STEPS: tuple[Step, ...] = (
    Choose("project", N_("Which project is the hazard in?"), _projects),
    Photos("photos", T("Send one or more photos of the hazard."), nudge=N_("Please send a photo of the hazard.")),
    Choose("group", N_("What kind of hazard is it?"), _groups, label=N_("Category"), clears=("major", "check")),
    Major(),
    Check(),
    Write("description", N_("Describe the problem in a sentence."), label=N_("Description"), max_len=MAX_TEXT),
    Where(),
    Choose(
        "level",
        N_("Which level is the hazard?"),
        LEVELS,
        label=N_("Level"),
        clears=("accident",),
        when=lambda d: not _major(d),
    ),
    Choose(
        "accident",
        N_("Level 2: may it cause an accident? Then it is reported to the local authority as well as the insurer."),
        _accident,
        label=N_("May cause an accident"),
        when=_level_two,
    ),
    Measures(),
    DateStep(
        "deadline",
        N_("Deadline for the rectification? Pick one or type a date (YYYY-MM-DD)."),
        _deadlines,
        parse_deadline,
        _unreadable_date,
        label=N_("Deadline"),
    ),
    Lec(),
)


async def review(ctx: Known, data: Draft) -> Review:
    d = cast(ReportDraft, data)
    tax = _taxonomy(ctx)
    group = tax.group(d["group"])
    major = tax.major(d["major"]) if _major(data) else None
    check_index = d.get("check")
    check = tax.check(d["group"], check_index) if check_index is not None and not major else None
    rows: list[tuple[Msg, Label]] = [
        (T("Photos"), str(len(d["photos"]))),
        (T("Category"), group.name if group else d["group"]),
        (T("Level"), level_label(level_of(data))),
        (T("Description"), d["description"]),
        (T("Location"), d["location"]),
    ]
    if major or check:
        rows.append((T("Basis"), major.basis if major else check.basis if check else ""))
    if _level_two(data):
        rows.append(
            (
                T("May cause an accident"),
                T("Yes: report it to the authority too") if d.get("accident") == "yes" else T("No"),
            )
        )
    rows += [(T("Rectification measures"), d["suggestion"]), (T("Deadline"), d["deadline"])]
    lec = d["lec"]
    if isinstance(lec, dict):
        r = score(lec["L"], lec["E"], lec["C"])
        rows.append((T("LEC"), T("D = {d} ({band}, {level})", d=f"{r.D:g}", band=r.band, level=r.level_name)))
    return Review(T("Check the report"), tuple(rows))


async def submit(ctx: Known, data: Draft) -> None:
    d = cast(ReportDraft, data)
    lec = d["lec"]
    draft = HazardDraft(
        project_id=d["project"],
        group_id=d["group"],
        description=d["description"],
        location=d["location"],
        suggestion=d["suggestion"],
        deadline=dt.date.fromisoformat(d["deadline"]),
        level=level_of(data),
        photos=list(d["photos"]),
        major_id=d["major"] if _major(data) else None,
        check_index=None if _major(data) else d.get("check"),
        lec=(lec["L"], lec["E"], lec["C"]) if isinstance(lec, dict) else None,
        may_cause_accident=_level_two(data) and d.get("accident") == "yes",
    )
    hazard = await ctx.attempt(ctx.services.hazards.report(ctx.person, draft))
    if hazard is None:
        return
    ctx.finish()
    ctx.send(
        Card(
            T("Hazard {number} reported", number=hazard.number),
            hazard_fields(hazard),
            footer=T("The rectification notice has gone to the responsible people and the project group."),
        )
    )


FORM = FormFlow(
    "report",
    N_("hazard report"),
    STEPS,
    submit=submit,
    review=review,
    cancelled=N_("Report cancelled. Nothing was saved."),
    photos=PhotoBox("photos", MAX_PHOTOS),
)


async def _start(ctx: Known, data: Draft) -> None:
    if ctx.in_group:
        project = await ctx.services.people.group_project(ctx.inc.channel, ctx.inc.chat_id)
        if project is not None:
            if not allowed(await ctx.services.people.roles_in(ctx.person, project.id), Action.REPORT_HAZARD):
                ctx.refuse(T("You do not have permission to do that in this project."))
                return
            data["project"] = project.id
    if "project" not in data:
        projects = await ctx.services.people.projects(ctx.person, Action.REPORT_HAZARD)
        if not projects:
            ctx.refuse(T("You do not have permission to do that in this project."))
            return
        if len(projects) == 1:
            data["project"] = projects[0].id
    await FORM.begin(ctx, data)


@command("report", help=N_("/report – report a hazard (or just send a photo with a caption)"), starts_flow=True)
async def report(ctx: Known, args: tuple[str, ...]) -> None:
    await _start(ctx, {})


@action(MENU, starts_flow=True)
async def report_menu(ctx: Known, args: tuple[str, ...]) -> None:
    await _start(ctx, {})


async def quick_path(ctx: Known, media: StoredMedia) -> None:
    """A photo sent outside any flow starts a report; its caption fills what it can."""
    data: Draft = {"photos": [media.sha256]}
    if media.caption:
        facts = read_caption(media.caption, _taxonomy(ctx))
        data["photos_done"] = True  # the expert said what it is: more photos can still be sent at any step
        if facts.description and len(facts.description) >= MIN_TEXT:
            data["description"] = facts.description[:MAX_TEXT]
        if facts.group_id:
            data["group"] = facts.group_id
        if facts.level is not None:
            data["level"] = int(facts.level)
        if facts.location:
            data["location"] = facts.location[:MAX_LOCATION]
    await _start(ctx, data)
