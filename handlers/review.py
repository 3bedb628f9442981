"""复查: the reviewer (reporting expert for levels 1–2, supervision unit for 3–4) approves or rejects."""

from __future__ import annotations

from bot.i18n import N_, T
from bot.messages import Payload, TextIn
from bot.ports import ServiceError
from handlers.context import Context
from handlers.errors import explain
from handlers.registry import action, flow

MAX_REASON = 500


async def ask(ctx: Context) -> None:
    ctx.say(
        T(
            "Why is the rectification of {number} rejected? Write the reason; it goes to the responsible people.",
            number=ctx.data["number"],
        )
    )


async def on_input(ctx: Context, payload: Payload) -> None:
    if not isinstance(payload, TextIn) or not 2 <= len(payload.text.strip()) <= MAX_REASON:
        ctx.say(T("Please write between 2 and {max} characters.", max=MAX_REASON))
        await ask(ctx)
        return
    assert ctx.person is not None
    rid = ctx.data["rectification"]
    ctx.finish()
    try:
        hazard = await ctx.services.review(ctx.person, rid, approve=False, reason=payload.text.strip())
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    ctx.say(T("Rejected. {number} is back with the responsible unit for rectification.", number=hazard.number))


FLOW = flow("reject", N_("rejection reason"), on_input, ask)


@action("rv", starts_flow=True)
async def review_button(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    if len(args) != 2 or not args[0].isdigit() or args[1] not in ("ok", "no"):
        ctx.refuse(T("That button is no longer valid."))
        return
    rid = int(args[0])
    if args[1] == "ok":
        try:
            hazard = await ctx.services.review(ctx.person, rid, approve=True, reason=None)
        except ServiceError as err:
            ctx.refuse(explain(err))
            return
        ctx.say(T("Approved. {number} is closed.", number=hazard.number))
        return
    # Check before asking for a reason, so nobody types a reason for nothing.
    try:
        hazard, _ = await ctx.services.rectification_for_review(ctx.person, rid)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    ctx.start("reject", {"rectification": rid, "number": hazard.number})
    await ask(ctx)
