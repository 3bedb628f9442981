"""整改: the responsible unit submits evidence (photos + note) for re-inspection."""

from __future__ import annotations

from typing import TypedDict, cast

from bot.domain.levels import Status
from bot.i18n import N_, T
from bot.messages import Card, Msg
from bot.notices.hazards import RECTIFY, hazard_fields
from bot.ports import Conflict
from handlers.context import Known
from handlers.errors import explain
from handlers.form import Draft, FormFlow, PhotoBox, Photos, Review, Write
from handlers.queries import visible_hazard
from handlers.registry import action, command

MAX_PHOTOS = 9
MAX_NOTE = 1000


class RectificationDraft(TypedDict, total=False):
    hazard: int
    number: str
    photos: list[str]
    photos_done: bool
    note: str


def _first_photo(d: Draft) -> Msg:
    return T("Send photos that show the hazard has been fixed ({number}).", number=d["number"])


async def review(ctx: Known, data: Draft) -> Review:
    d = cast(RectificationDraft, data)
    return Review(
        T("Submit the rectification of {number} for re-inspection?", number=d["number"]),
        ((T("Photos"), str(len(d["photos"]))), (T("Rectification note"), d["note"])),
    )


async def submit(ctx: Known, data: Draft) -> None:
    d = cast(RectificationDraft, data)
    call = ctx.services.hazards.submit_rectification(ctx.person, d["hazard"], d["photos"], d["note"])
    hazard = await ctx.attempt(call, end_flow=True)
    if hazard is None:
        return
    ctx.finish()
    ctx.say(T("Submitted. {number} now waits for re-inspection; you will hear the result here.", number=hazard.number))


FORM = FormFlow(
    "rectify",
    N_("rectification"),
    (
        Photos("photos", _first_photo, nudge=N_("Please send a photo of the result."), label=N_("Photos")),
        Write("note", N_("Describe in a sentence what was done."), label=N_("Rectification note"), max_len=MAX_NOTE),
    ),
    submit=submit,
    review=review,
    cancelled=N_("Cancelled. Nothing was submitted."),
    photos=PhotoBox("photos", MAX_PHOTOS),
)


async def begin(ctx: Known, ref: str) -> None:
    hazard = await visible_hazard(ctx, ref)
    if hazard is None:
        return
    if not await ctx.services.hazards.can_rectify(ctx.person, hazard):
        ctx.refuse(T("Only the responsible unit's project manager or safety officer can submit the rectification."))
        return
    if hazard.status != Status.RECTIFYING:
        ctx.refuse(explain(Conflict(hazard.status)))
        return
    ctx.send(Card(T("Rectification of {number}", number=hazard.number), hazard_fields(hazard)))
    await FORM.begin(ctx, {"hazard": hazard.id, "number": hazard.number})


@command("rectify", help=N_("/rectify <number> – submit the rectification of a hazard"), starts_flow=True)
async def rectify(ctx: Known, args: tuple[str, ...]) -> None:
    if not args:
        ctx.say(T("Send /rectify followed by the hazard number, or press “Submit rectification” on the notice."))
        return
    await begin(ctx, args[0])


@action(RECTIFY, starts_flow=True)
async def rectify_button(ctx: Known, args: tuple[str, ...]) -> None:
    hazard_id = ctx.button_id(args)
    if hazard_id is not None:
        await begin(ctx, str(hazard_id))
