"""Look-ups: /hazards (open hazards of my projects) and /hazard <number> (one, with history and photos)."""

from __future__ import annotations

from bot.domain.levels import Status
from bot.i18n import N_, T
from bot.messages import Card, Msg, Option, Photo
from bot.notices import hazard_fields, level_label, rectify_option, reminder_title, status_label
from bot.ports import HistoryEntry, ServiceError
from handlers.context import Context, button_id
from handlers.errors import explain
from handlers.registry import action, command

LIST_LIMIT = 20
HISTORY: dict[str, str] = {
    "hazard.reported": N_("{at} {actor}: reported it (level {level}, deadline {deadline})"),
    "hazard.same_day_report": N_("{at} same-day report sent to the insurer and the authority"),
    "hazard.rectification_submitted": N_("{at} {actor}: submitted the rectification: {note}"),
    "hazard.approved": N_("{at} {actor}: re-inspection passed, closed"),
    "hazard.rejected": N_("{at} {actor}: re-inspection failed: {reason}"),
    "hazard.acknowledged": N_("{at} {actor}: acknowledged the same-day report"),
    "hazard.reminded": N_("{at} reminder sent ({milestone})"),
    "hazard.escalated": N_("{at} escalated ({milestone})"),
    "hazard.same_day_repeated": N_("{at} same-day report repeated (not yet acknowledged)"),
}


@command("hazards", help=N_("/hazards – open hazards of my projects"))
async def hazards(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    items = await ctx.services.open_hazards(ctx.person, limit=LIST_LIMIT + 1)
    if not items:
        ctx.say(T("No open hazards in your projects."))
        return
    lines: list[Msg] = []
    for h in items[:LIST_LIMIT]:
        late = h.deadline < ctx.today
        lines.append(
            T(
                "{number} · {level} · {status} · due {deadline}{late}\n  {description}",
                number=h.number,
                level=level_label(h.level),
                status=status_label(h.status),
                deadline=h.deadline.isoformat(),
                late=T(" · OVERDUE") if late else "",
                description=h.description[:60],
            )
        )
    more = T("(showing the first {n})", n=LIST_LIMIT) if len(items) > LIST_LIMIT else ""
    ctx.ask(
        T("Open hazards ({n}):\n{lines}\n{more}", n=min(len(items), LIST_LIMIT), lines=lines, more=more),
        [Option(f"h:{h.id}", h.number) for h in items[:10]],
    )


@action("menu:hazards")
async def hazards_menu(ctx: Context, args: tuple[str, ...]) -> None:
    await hazards(ctx, ())


def _history_line(ctx: Context, e: HistoryEntry) -> Msg:
    at = e.at.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M")
    key = HISTORY.get(e.action)
    if key is None:
        return T("{at} {actor}: {action}", at=at, actor=e.actor, action=e.action)
    return T(
        key,
        at=at,
        actor=e.actor,
        level=e.data.get("level", ""),
        deadline=e.data.get("deadline", ""),
        note=e.data.get("note", ""),
        reason=e.data.get("reason", ""),
        milestone=reminder_title(
            str(e.data.get("milestone", "")), "escalation" if e.action == "hazard.escalated" else "reminder"
        ),
    )


async def show(ctx: Context, ref: str) -> None:
    assert ctx.person is not None
    try:
        h = await ctx.services.hazard(ctx.person, ref)
        history = await ctx.services.history(ctx.person, h.id)
        rects = await ctx.services.rectifications(ctx.person, h.id)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    options: list[Option] = []
    if h.status == Status.RECTIFYING and await ctx.services.can_rectify(ctx.person, h):
        options.append(rectify_option(h))
    pending = await ctx.services.pending_rectification(h.id)
    if h.status == Status.SUBMITTED and pending and await ctx.services.can_review(ctx.person, h):
        options += [Option(f"rv:{pending.id}:ok", T("Approve, close it")), Option(f"rv:{pending.id}:no", T("Reject"))]
    ctx.send(*(Photo(sha, T("Hazard photo")) for sha in h.photos))
    for r in rects:
        ctx.send(*(Photo(sha, T("Rectification photo")) for sha in r.photos))
    ctx.send(
        Card(
            T("Hazard {number}", number=h.number),
            hazard_fields(h),
            tuple(options),
            footer=T("History:\n{lines}", lines=[_history_line(ctx, e) for e in history]),
        )
    )


@command("hazard", help=N_("/hazard <number> – one hazard with its history and photos"))
async def hazard(ctx: Context, args: tuple[str, ...]) -> None:
    if not args:
        ctx.say(T("Send /hazard followed by the number, for example: /hazard XC-2026-000123"))
        return
    await show(ctx, args[0])


@action("h")
async def hazard_button(ctx: Context, args: tuple[str, ...]) -> None:
    if button_id(ctx, args) is None:
        return
    await show(ctx, args[0])


@action("ack")
async def acknowledge(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    ref = button_id(ctx, args)
    if ref is None:
        return
    try:
        h = await ctx.services.acknowledge(ctx.person, ref)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    ctx.say(T("Acknowledged: you have received the same-day report of {number}.", number=h.number))
