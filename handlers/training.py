"""培训与演练 in chat: sign in with the code shown at the venue (the invitation's button), /training for one's
hours and next sessions (and, for agencies and insurers, the managers behind the online target), and the
organiser's photos and drill evaluation afterwards."""

from __future__ import annotations

from bot.domain.training import ONLINE_TARGET_HOURS
from bot.i18n import N_, T, translate
from bot.messages import Choice, Msg, Option, Payload, StoredMedia, TextIn
from bot.ports import ServiceError
from handlers.context import Context
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
    if not args or not args[0].isdigit():
        ctx.refuse(T("That button is no longer valid."))
        return
    ctx.start("training_sign_in", {"id": int(args[0])})
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
    if not args or not args[0].isdigit():
        ctx.refuse(T("That button is no longer valid."))
        return
    ctx.start("training_record", {"id": int(args[0]), "photos": []})
    await resume_record(ctx)


# --- /training -----------------------------------------------------------------------------------------------


@command("training", help=N_("/training – my training hours and next sessions"))
async def training(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    offline, online, sessions, behind = await ctx.services.my_training(ctx.person)
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
    if options:
        ctx.ask(T("{lines}", lines=lines), options)
    else:
        ctx.say(T("{lines}", lines=lines))
