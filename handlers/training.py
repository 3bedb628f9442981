"""培训与演练 in chat: sign in with the code shown at the venue (the invitation's button), /training for one's
hours and next sessions (and, for agencies and insurers, the managers behind the online target), the
organiser's photos and drill evaluation afterwards, and /newtraining to organise a session."""

from __future__ import annotations

import datetime as dt
from typing import TypedDict, cast

from bot.domain.training import Drill, Kind
from bot.i18n import N_, T, translate
from bot.messages import Choice, Msg, Option, Payload, StoredMedia, TextIn
from bot.notices.training import RECORD, SIGN_IN
from bot.ports import ServiceError, TrainingDraft
from handlers.context import Known, flow_option
from handlers.errors import explain
from handlers.form import Choose, Draft, FormFlow, Options, Review, Step, Toggle, Write
from handlers.registry import action, command, flow

MAX_PHOTOS = 9
TIME_FORMAT = "%Y-%m-%d %H:%M"


# --- sign-in -------------------------------------------------------------------------------------------------


async def on_code(ctx: Known, payload: Payload) -> None:
    code = payload.text.strip() if isinstance(payload, TextIn) else ""
    if not code:
        ctx.say(T("Type the code shown at the venue."))
        return
    try:
        info = await ctx.services.training.sign_in(ctx.person, ctx.data["id"], code)
    except ServiceError as err:
        if err.reason != "sign_in_code":  # a typo is tried again; anything else ends the sign-in
            ctx.finish()
        ctx.say(explain(err))
        return
    ctx.finish()
    ctx.say(T("Signed in: {topic}. {hours} hours are recorded for you.", topic=info.topic, hours=f"{info.hours:g}"))


async def resume_code(ctx: Known) -> None:
    ctx.say(T("Type the code shown at the venue."))


SIGN_IN_FLOW = flow("training_sign_in", N_("training sign-in"), on_code, resume_code)


@action(SIGN_IN, starts_flow=True)
async def sign_in(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args)
    if ref is not None:
        ctx.start("training_sign_in", {"id": ref})
        await resume_code(ctx)


# --- the organiser's record ----------------------------------------------------------------------------------


async def on_record(ctx: Known, payload: Payload) -> None:
    d = ctx.data
    if isinstance(payload, StoredMedia):
        if len(d["photos"]) < MAX_PHOTOS and payload.sha256 not in d["photos"]:
            d["photos"].append(payload.sha256)
        ctx.ask(
            T("Photo {n} received. Send more, or type the evaluation.", n=len(d["photos"])),
            [flow_option("rec", "none", T("No evaluation, save"))],
        )
        return
    evaluation = ""
    if isinstance(payload, TextIn) and payload.text.strip():
        evaluation = payload.text.strip()
    elif not (isinstance(payload, Choice) and payload.value == "f:rec:none"):
        ctx.say(T("Send photos, or type the evaluation."))
        return
    info = await ctx.attempt(ctx.services.training.record(ctx.person, d["id"], d["photos"], evaluation), end_flow=True)
    if info is None:
        return
    ctx.finish()
    ctx.say(
        T(
            "Saved with the session: {n} photos in all; evaluation {state}.",
            n=info.photos,
            state=T("recorded") if info.evaluation else T("not recorded"),
        )
    )


async def resume_record(ctx: Known) -> None:
    ctx.say(T("Send photos of the session, then type the evaluation (for a drill: what went well, what to improve)."))


RECORD_FLOW = flow("training_record", N_("training record"), on_record, resume_record)


@action(RECORD, starts_flow=True)
async def record(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args)
    if ref is not None:
        ctx.start("training_record", {"id": ref, "photos": []})
        await resume_record(ctx)


# --- /training -----------------------------------------------------------------------------------------------


@command("training", help=N_("/training – my training hours and next sessions"), private=True)
async def training(ctx: Known, args: tuple[str, ...]) -> None:
    overview = await ctx.services.training.mine(ctx.person)
    lines: list[Msg] = [
        T(
            "This year: {offline} h in sessions, {online} h online (target {target} h).",
            offline=f"{overview.offline_hours:g}",
            online=f"{overview.online_hours:g}",
            target=f"{ctx.setup.rules.training.online_target_hours:g}",
        )
    ]
    options: list[Option] = []
    for t in overview.sessions:
        start = t.starts_at.astimezone(ctx.tz)
        lines.append(
            T(
                "{date} {topic} @ {place} ({hours} h) · {present}/{invited} signed in",
                date=f"{start:%m-%d %H:%M}",
                topic=t.topic,
                place=t.place,
                hours=f"{t.hours:g}",
                present=t.present,
                invited=t.invited,
            )
        )
        if t.organiser and t.attendees:
            lines.append(T("  signed in: {names}", names="、".join(t.attendees)))
        if t.organiser:
            options.append(RECORD.option(T("Photos / evaluation: {topic}", topic=t.topic[:20]), t.id))
    if not overview.sessions:
        lines.append(T("No sessions coming up for you."))
    if overview.behind:
        names = "、".join(
            translate(T("{name} {hours} h", name=name, hours=f"{hours:g}"), ctx.locale)
            for name, hours in overview.behind
        )
        lines.append(T("Behind the online target: {names}", names=names))
    for project, what, held in overview.gaps:
        lines.append(
            T("{project}: no emergency drill yet this year", project=project)
            if what == "drill"
            else T("{project} (high risk): {n} of 2 project trainings this year", project=project, n=held)
        )
    if options:
        ctx.ask(T("{lines}", lines=lines), options)
    else:
        ctx.say(T("{lines}", lines=lines))


# --- organising a session in chat ---------------------------------------------------------------------------

KINDS: dict[str, str] = {
    Kind.CUSTOM: N_("Project training"),
    Kind.PRESTART: N_("Pre-start briefing"),
    Kind.SEASONAL: N_("Seasonal training"),
    Kind.CITYWIDE: N_("City-wide training"),
    Kind.DRILL: N_("Emergency drill"),
}
DRILLS: dict[str, str] = {
    Drill.COLLAPSE: N_("Collapse"),
    Drill.FIRE: N_("Fire"),
    Drill.ELECTRIC: N_("Electric shock"),
    Drill.CRANE: N_("Crane accident"),
    Drill.FALL: N_("Fall from height"),
}
ROLES = {
    "project_manager": N_("Project managers"),
    "safety_officer": N_("Safety officers"),
    "worker": N_("Workers"),
    "supervision_engineer": N_("Supervision engineers"),
}
DURATIONS = ("1", "1.5", "2", "3", "4")


class SessionDraft(TypedDict, total=False):
    kind: str
    drill: str
    topic: str
    place: str
    start: str  # local, TIME_FORMAT
    hours: str
    projects: list[int]
    projects_done: bool
    roles: list[str]
    roles_done: bool


def _named(names: dict[str, str]) -> Options:
    return [(k, T(v)) for k, v in names.items()]


async def _projects(ctx: Known, d: Draft) -> Options:
    return [(p.id, p.name) for p in (await ctx.services.people.projects(ctx.person))[:20]]


class Start(Step):
    """When it starts: a local date and time, not in the past."""

    key, label = "start", N_("Time")

    async def ask(self, ctx: Known, d: Draft) -> None:
        example = f"{ctx.today + dt.timedelta(days=2)} 14:00"
        ctx.say(T("When does it start? Type the date and time, e.g. {example}.", example=example))

    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        text = payload.text.strip() if isinstance(payload, TextIn) else ""
        if not text:
            return False
        try:
            start = dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=ctx.tz)
        except ValueError:
            ctx.say(T("That is not a time I can read. Type it like {example}.", example="2026-12-01 14:00"))
            return False
        if start.date() < ctx.today:
            ctx.say(T("That time has passed."))
            return False
        d[self.key] = text
        return True


STEPS: tuple[Step, ...] = (
    Choose("kind", N_("What kind of session?"), _named(KINDS), label=N_("Kind"), clears=("drill",)),
    Choose("drill", N_("Which drill?"), _named(DRILLS), label=N_("Drill"), when=lambda d: d.get("kind") == Kind.DRILL),
    Write("topic", N_("The topic, in a line:"), label=N_("Topic"), min_len=1, max_len=200),
    Write("place", N_("Where?"), label=N_("Place"), min_len=1, max_len=200),
    Start(),
    Choose("hours", N_("How long?"), [(h, T("{n} h", n=h)) for h in DURATIONS], label=N_("Length")),
    Toggle("projects", N_("For which projects (press to switch on or off)?"), _projects, label=N_("Projects")),
    Toggle(
        "roles",
        N_("Who is invited in those projects?"),
        _named(ROLES),
        label=N_("Invited"),
        default=["project_manager", "safety_officer"],
    ),
)


def _draft(ctx: Known, data: Draft) -> TrainingDraft:
    d = cast(SessionDraft, data)
    start = dt.datetime.strptime(d["start"], TIME_FORMAT).replace(tzinfo=ctx.tz)
    return TrainingDraft(
        kind=d["kind"],
        drill=d.get("drill"),
        topic=d["topic"],
        place=d["place"],
        starts_at=start,
        ends_at=start + dt.timedelta(hours=float(d["hours"])),
        project_ids=tuple(d["projects"]),
        roles=tuple(d["roles"]),
    )


async def review(ctx: Known, data: Draft) -> Review:
    draft = _draft(ctx, data)
    fields: tuple[tuple[Msg, str | Msg], ...] = (
        (T("Kind"), T(KINDS[draft.kind])),
        (T("Topic"), draft.topic),
        (T("Time"), f"{draft.starts_at:%Y-%m-%d %H:%M} – {draft.ends_at:%H:%M}"),
        (T("Place"), draft.place),
        (T("Projects"), str(len(draft.project_ids))),
    )
    return Review(T("Invite them now?"), fields, T("Send the invitations"))


async def submit(ctx: Known, data: Draft) -> None:
    created = await ctx.attempt(ctx.services.training.create(ctx.person, _draft(ctx, data)), end_flow=True)
    if created is None:
        return
    info, code = created
    ctx.finish()
    ctx.say(
        T(
            "{invited} people are invited. Sign-in code: {code} — show it at the venue; it works from 30 "
            "minutes before the start to the end.",
            invited=info.invited,
            code=code,
        )
    )


NEW = FormFlow(
    "training_new",
    N_("new training session"),
    STEPS,
    submit=submit,
    review=review,
    cancelled=N_("Cancelled. No invitations were sent."),
)


@command(
    "newtraining",
    help=N_("/newtraining – organise a training session or drill (agencies, insurers)"),
    starts_flow=True,
    private=True,
)
async def new_training(ctx: Known, args: tuple[str, ...]) -> None:
    if ctx.person.org_kind not in ("agency", "insurer"):
        ctx.refuse(T("Only service agencies and insurers organise training sessions."))
        return
    await NEW.begin(ctx)
