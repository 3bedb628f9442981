"""整改: the responsible unit submits evidence (photos + note) for re-inspection."""

from __future__ import annotations

from bot.domain.levels import Status
from bot.i18n import N_, T
from bot.messages import Card, Choice, Option, Payload, StoredMedia, TextIn
from bot.notices import hazard_fields
from bot.ports import Conflict, ServiceError
from handlers.context import Context, button_id
from handlers.errors import explain
from handlers.registry import action, command, flow

MAX_PHOTOS = 9
MAX_NOTE = 1000


async def ask(ctx: Context) -> None:
    d = ctx.data
    if not d.get("photos_done"):
        n = len(d.get("photos", []))
        if n == 0:
            ctx.say(T("Send photos that show the hazard has been fixed ({number}).", number=d["number"]))
        else:
            ctx.ask(T("Photo {n} received. Send more, or press Done.", n=n), [Option("f:rphotos:done", T("Done"))])
    elif "note" not in d:
        ctx.say(T("Describe in a sentence what was done."))
    else:
        ctx.ask(
            T("Submit the rectification of {number} for re-inspection?", number=d["number"]),
            [Option("f:rconfirm:submit", T("Submit")), Option("f:rconfirm:cancel", T("Cancel"))],
        )


async def on_input(ctx: Context, payload: Payload) -> None:
    d = ctx.data
    if isinstance(payload, StoredMedia):
        photos = d.setdefault("photos", [])
        if len(photos) >= MAX_PHOTOS:
            ctx.say(T("That is enough photos for one hazard (at most {n}).", n=MAX_PHOTOS))
        elif payload.sha256 not in photos:
            photos.append(payload.sha256)
        await ask(ctx)
        return
    if not d.get("photos_done"):
        if isinstance(payload, Choice) and payload.value == "f:rphotos:done" and d.get("photos"):
            d["photos_done"] = True
        else:
            ctx.say(T("Please send a photo of the result."))
    elif "note" not in d:
        if isinstance(payload, TextIn) and 2 <= len(payload.text.strip()) <= MAX_NOTE:
            d["note"] = payload.text.strip()
        elif isinstance(payload, TextIn):
            ctx.say(T("Please write between 2 and {max} characters.", max=MAX_NOTE))
        else:
            ctx.say(T("Please type it as text."))
    elif isinstance(payload, Choice) and payload.value == "f:rconfirm:cancel":
        ctx.finish()
        ctx.say(T("Cancelled. Nothing was submitted."))
        return
    elif isinstance(payload, Choice) and payload.value == "f:rconfirm:submit":
        assert ctx.person is not None
        try:
            hazard = await ctx.services.submit_rectification(ctx.person, d["hazard"], d["photos"], d["note"])
        except ServiceError as err:
            ctx.finish()
            ctx.refuse(explain(err))
            return
        ctx.finish()
        ctx.say(
            T("Submitted. {number} now waits for re-inspection; you will hear the result here.", number=hazard.number)
        )
        return
    else:
        ctx.say(T("Please pick one of the options."))
    await ask(ctx)


async def resume(ctx: Context) -> None:
    await ask(ctx)


FLOW = flow("rectify", N_("rectification"), on_input, resume)


async def begin(ctx: Context, ref: str) -> None:
    assert ctx.person is not None
    try:
        hazard = await ctx.services.hazard(ctx.person, ref)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    if not await ctx.services.can_rectify(ctx.person, hazard):
        ctx.refuse(T("Only the responsible unit's project manager or safety officer can submit the rectification."))
        return
    if hazard.status != Status.RECTIFYING:
        ctx.refuse(explain(Conflict(hazard.status)))
        return
    ctx.start("rectify", {"hazard": hazard.id, "number": hazard.number})
    ctx.send(Card(T("Rectification of {number}", number=hazard.number), hazard_fields(hazard)))
    await ask(ctx)


@command("rectify", help=N_("/rectify <number> – submit the rectification of a hazard"), starts_flow=True)
async def rectify(ctx: Context, args: tuple[str, ...]) -> None:
    if not args:
        ctx.say(T("Send /rectify followed by the hazard number, or press “Submit rectification” on the notice."))
        return
    await begin(ctx, args[0])


@action("rect", starts_flow=True)
async def rectify_button(ctx: Context, args: tuple[str, ...]) -> None:
    if button_id(ctx, args) is None:
        return
    await begin(ctx, args[0])
