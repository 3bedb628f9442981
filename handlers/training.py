"""培训与演练 in chat: sign in with the code shown at the venue (the invitation's button), /training for one's
hours and next sessions (and, for agencies and insurers, the managers behind the online target), and the
organiser's photos and drill evaluation afterwards."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.domain.training import ONLINE_TARGET_HOURS, Drill, Kind
from bot.i18n import N_, T, translate
from bot.messages import Choice, Msg, Option, Payload, StoredMedia, TextIn
from bot.ports import ServiceError, TrainingDraft
from handlers.context import Context, button_id, flow_choice, flow_option
from handlers.errors import explain
from handlers.registry import action, command, flow

MAX_PHOTOS = 9
BEHIND_ENTRY = N_("{name} {hours} h")


# --- sign-in -------------------------------------------------------------------------------------------------


async def on_code(ctx: Context, payload: Payload) -> None:
    assert ctx.person is not None
    code = payload.text.strip() if isinstance(payload, TextIn) else ""
    if not code:
        ctx.say(T("Type the code shown at the venue."))
        return
    try:
        info = await ctx.services.sign_in_training(ctx.person, ctx.data["id"], code)
    except ServiceError as err:
        if err.reason == "sign_in_code":
            ctx.say(explain(err))  # a typo: try again
            return
        ctx.finish()
        ctx.say(explain(err))
        return
    ctx.finish()
    ctx.say(T("Signed in: {topic}. {hours} hours are recorded for you.", topic=info.topic, hours=f"{info.hours:g}"))


async def resume_code(ctx: Context) -> None:
    ctx.say(T("Type the code shown at the venue."))


SIGN_IN = flow("training_sign_in", N_("training sign-in"), on_code, resume_code)


@action("trs", starts_flow=True)
async def sign_in(ctx: Context, args: tuple[str, ...]) -> None:
    ref = button_id(ctx, args)
    if ref is None:
        return
    ctx.start("training_sign_in", {"id": ref})
    ctx.say(T("Type the code shown at the venue."))


# --- the organiser's record ----------------------------------------------------------------------------------


async def on_record(ctx: Context, payload: Payload) -> None:
    assert ctx.person is not None
    d = ctx.data
    if isinstance(payload, StoredMedia):
        if len(d["photos"]) < MAX_PHOTOS and payload.sha256 not in d["photos"]:
            d["photos"].append(payload.sha256)
        ctx.ask(
            T("Photo {n} received. Send more, or type the evaluation.", n=len(d["photos"])),
            [Option("f:rec:none", T("No evaluation, save"))],
        )
        return
    evaluation = ""
    if isinstance(payload, TextIn) and payload.text.strip():
        evaluation = payload.text.strip()
    elif not (isinstance(payload, Choice) and payload.value == "f:rec:none"):
        ctx.say(T("Send photos, or type the evaluation."))
        return
    try:
        info = await ctx.services.training_record(ctx.person, d["id"], d["photos"], evaluation)
    except ServiceError as err:
        ctx.finish()
        ctx.say(explain(err))
        return
    ctx.finish()
    ctx.say(
        T(
            "Saved with the session: {n} photos in all; evaluation {state}.",
            n=info.photos,
            state=T("recorded") if info.evaluation else T("not recorded"),
        )
    )


async def resume_record(ctx: Context) -> None:
    ctx.say(T("Send photos of the session, then type the evaluation (for a drill: what went well, what to improve)."))


RECORD = flow("training_record", N_("training record"), on_record, resume_record)


@action("trp", starts_flow=True)
async def record(ctx: Context, args: tuple[str, ...]) -> None:
    ref = button_id(ctx, args)
    if ref is None:
        return
    ctx.start("training_record", {"id": ref, "photos": []})
    await resume_record(ctx)


# --- /training -----------------------------------------------------------------------------------------------


@command("training", help=N_("/training – my training hours and next sessions"))
async def training(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    overview = await ctx.services.my_training(ctx.person)
    offline, online, sessions, behind = (
        overview.offline_hours,
        overview.online_hours,
        overview.sessions,
        overview.behind,
    )
    lines: list[Msg] = [
        T(
            "This year: {offline} h in sessions, {online} h online (target {target} h).",
            offline=f"{offline:g}",
            online=f"{online:g}",
            target=f"{ONLINE_TARGET_HOURS:g}",
        )
    ]
    options: list[Option] = []
    for t in sessions:
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
            options.append(Option(f"trp:{t.id}", T("Photos / evaluation: {topic}", topic=t.topic[:20])))
    if not sessions:
        lines.append(T("No sessions coming up for you."))
    if behind:
        lines.append(
            T(
                "Behind the online target: {names}",
                names="、".join(
                    translate(T("{name} {hours} h", name=name, hours=f"{hours:g}"), ctx.locale)
                    for name, hours in behind
                ),
            )
        )
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


def _missing(d: dict[str, Any]) -> str:
    for key in ("kind", "drill", "topic", "place", "start", "hours"):
        if key == "drill" and d.get("kind") != Kind.DRILL:
            continue
        if key not in d:
            return key
    if not d.get("projects_done"):
        return "projects"
    if not d.get("roles_done"):
        return "roles"
    return "confirm"


def _draft(ctx: Context) -> TrainingDraft:
    d = ctx.data
    start = dt.datetime.strptime(d["start"], "%Y-%m-%d %H:%M").replace(tzinfo=ctx.tz)
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


async def ask_new(ctx: Context) -> None:
    d = ctx.data
    step = _missing(d)
    if step == "kind":
        ctx.ask(T("What kind of session?"), [flow_option("kind", k, T(v)) for k, v in KINDS.items()])
    elif step == "drill":
        ctx.ask(T("Which drill?"), [flow_option("drill", k, T(v)) for k, v in DRILLS.items()])
    elif step == "topic":
        ctx.say(T("The topic, in a line:"))
    elif step == "place":
        ctx.say(T("Where?"))
    elif step == "start":
        ctx.say(
            T(
                "When does it start? Type the date and time, e.g. {example}.",
                example=f"{ctx.today + dt.timedelta(days=2)} 14:00",
            )
        )
    elif step == "hours":
        ctx.ask(T("How long?"), [flow_option("hours", h, T("{n} h", n=h)) for h in DURATIONS])
    elif step == "projects":
        assert ctx.person is not None
        chosen = set(d.setdefault("projects", []))
        projects = await ctx.services.projects(ctx.person)
        options = [
            flow_option("project", p.id, T("✓ {name}", name=p.name) if p.id in chosen else T("☐ {name}", name=p.name))
            for p in projects[:20]
        ]
        ctx.ask(
            T("For which projects (press to switch on or off)?"), [*options, flow_option("project", "done", T("Next"))]
        )
    elif step == "roles":
        chosen = set(d.setdefault("roles", ["project_manager", "safety_officer"]))
        options = [
            flow_option("role", k, T("✓ {name}", name=T(v)) if k in chosen else T("☐ {name}", name=T(v)))
            for k, v in ROLES.items()
        ]
        ctx.ask(T("Who is invited in those projects?"), [*options, flow_option("role", "done", T("Next"))])
    else:
        draft = _draft(ctx)
        ctx.ask(
            T(
                "{kind}: {topic}\n{start} – {end}, {place}\n{n} projects. Invite them now?",
                kind=T(KINDS[draft.kind]),
                topic=draft.topic,
                start=f"{draft.starts_at:%Y-%m-%d %H:%M}",
                end=f"{draft.ends_at:%H:%M}",
                place=draft.place,
                n=len(draft.project_ids),
            ),
            [flow_option("ok", "yes", T("Send the invitations")), flow_option("ok", "no", T("Cancel"))],
        )


def _toggle(items: list[Any], value: Any) -> None:
    if value in items:
        items.remove(value)
    else:
        items.append(value)


async def on_new(ctx: Context, payload: Payload) -> None:
    assert ctx.person is not None
    d = ctx.data
    step = _missing(d)
    text = payload.text.strip() if isinstance(payload, TextIn) else ""
    if step in ("kind", "drill", "hours"):
        value = flow_choice(payload, step)
        allowed: set[str] = {"kind": set(KINDS), "drill": set(DRILLS), "hours": set(DURATIONS)}[step]
        if value in allowed:
            d[step] = value
    elif step in ("topic", "place") and text:
        d[step] = text[:200]
    elif step == "start" and text:
        try:
            start = dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ctx.tz)
        except ValueError:
            ctx.say(T("That is not a time I can read. Type it like {example}.", example="2026-12-01 14:00"))
            return
        if start.date() < ctx.today:
            ctx.say(T("That time has passed."))
            return
        d["start"] = text
    elif step == "projects":
        value = flow_choice(payload, "project")
        if value == "done" and d["projects"]:
            d["projects_done"] = True
        elif value and value.isdigit():
            _toggle(d["projects"], int(value))
    elif step == "roles":
        value = flow_choice(payload, "role")
        if value == "done" and d["roles"]:
            d["roles_done"] = True
        elif value in ROLES:
            _toggle(d["roles"], value)
    elif step == "confirm":
        value = flow_choice(payload, "ok")
        if value == "no":
            ctx.finish()
            ctx.say(T("Cancelled. No invitations were sent."))
            return
        if value == "yes":
            try:
                info, code = await ctx.services.create_training(ctx.person, _draft(ctx))
            except ServiceError as err:
                ctx.finish()
                ctx.say(explain(err))
                return
            ctx.finish()
            ctx.say(
                T(
                    "{invited} people are invited. Sign-in code: {code} — show it at the venue; it works from 30 "
                    "minutes before the start to the end.",
                    invited=info.invited,
                    code=code,
                )
            )
            return
    await ask_new(ctx)


async def resume_new(ctx: Context) -> None:
    await ask_new(ctx)


NEW = flow("training_new", N_("new training session"), on_new, resume_new)


@command(
    "newtraining", help=N_("/newtraining – organise a training session or drill (agencies, insurers)"), starts_flow=True
)
async def new_training(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    if ctx.person.org_kind not in ("agency", "insurer"):
        ctx.refuse(T("Only service agencies and insurers organise training sessions."))
        return
    ctx.start("training_new", {})
    await ask_new(ctx)
