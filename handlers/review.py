"""复查: the reviewer (reporting expert for levels 1–2, supervision unit for 3–4) approves or rejects."""

from __future__ import annotations

from bot.i18n import N_, T
from bot.messages import Payload
from bot.notices.hazards import REVIEW
from handlers.context import Known
from handlers.form import read_text
from handlers.registry import action, flow

MAX_REASON = 500


async def ask(ctx: Known) -> None:
    ctx.say(
        T(
            "Why is the rectification of {number} rejected? Write the reason; it goes to the responsible people.",
            number=ctx.data["number"],
        )
    )


async def on_input(ctx: Known, payload: Payload) -> None:
    reason = read_text(ctx, payload, 2, MAX_REASON)
    if reason is None:
        await ask(ctx)
        return
    rid = ctx.data["rectification"]
    ctx.finish()
    hazard = await ctx.attempt(ctx.services.hazards.review(ctx.person, rid, approve=False, reason=reason))
    if hazard is not None:
        ctx.say(T("Rejected. {number} is back with the responsible unit for rectification.", number=hazard.number))


FLOW = flow("reject", N_("rejection reason"), on_input, ask)


@action(REVIEW, starts_flow=True)
async def review_button(ctx: Known, args: tuple[str, ...]) -> None:
    rid = ctx.button_id(args[:1])
    if rid is None:
        return
    if len(args) != 2 or args[1] not in ("ok", "no"):
        ctx.refuse(T("That button is no longer valid."))
        return
    if args[1] == "ok":
        hazard = await ctx.attempt(ctx.services.hazards.review(ctx.person, rid, approve=True, reason=None))
        if hazard is not None:
            ctx.say(T("Approved. {number} is closed.", number=hazard.number))
        return
    # Check before asking for a reason, so nobody types a reason for nothing.
    found = await ctx.attempt(ctx.services.hazards.for_review(ctx.person, rid))
    if found is not None:
        ctx.start("reject", {"rectification": rid, "number": found[0].number})
        await ask(ctx)
