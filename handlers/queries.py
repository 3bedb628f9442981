"""Look-ups: /hazards (open hazards of my projects) and /hazard <number> (one, with history and photos)."""

from __future__ import annotations

from bot.domain.levels import Status
from bot.i18n import N_, T
from bot.messages import Button, Card, Document, Msg, Option, Photo
from bot.notices.common import late_mark
from bot.notices.hazards import (
    ACKNOWLEDGE,
    DETAILS,
    PRINT,
    RECEIVE,
    hazard_fields,
    level_label,
    rectify_option,
    reminder_title,
    review_options,
    status_label,
)
from bot.ports import HazardInfo, HistoryEntry
from handlers.context import Known
from handlers.registry import action, command

LIST_LIMIT = 20
GROUP_ONLY = N_("In this group I can only show this project's hazards. Ask me in a private chat.")
MENU = Button("menu:hazards")
HISTORY: dict[str, str] = {
    "hazard.reported": N_("{at} {actor}: reported it (level {level}, deadline {deadline})"),
    "hazard.same_day_report": N_("{at} same-day report sent to the insurer and the authority"),
    "hazard.rectification_submitted": N_("{at} {actor}: submitted the rectification: {note}"),
    "hazard.approved": N_("{at} {actor}: re-inspection passed, closed"),
    "hazard.rejected": N_("{at} {actor}: re-inspection failed: {reason}"),
    "hazard.acknowledged": N_("{at} {actor}: acknowledged the same-day report"),
    "hazard.received": N_("{at} {actor}: signed for the rectification notice"),
    "hazard.reminded": N_("{at} reminder sent ({milestone})"),
    "hazard.escalated": N_("{at} escalated ({milestone})"),
    "hazard.same_day_repeated": N_("{at} same-day report repeated (not yet acknowledged)"),
}


async def visible_hazard(ctx: Known, ref: str | int) -> HazardInfo | None:
    """The hazard asked for; in a group chat only one of the group's project — anything else (another project's,
    or none at all: one answer for both) is for a private chat."""
    if not ctx.in_group:
        return await ctx.attempt(ctx.services.hazards.find(ctx.person, ref))
    h = await ctx.attempt(ctx.services.hazards.find(ctx.person, ref), instead=T(GROUP_ONLY))
    if h is not None and (ctx.group is None or h.project_id != ctx.group.id):
        ctx.refuse(T(GROUP_ONLY))
        return None
    return h


@command("hazards", help=N_("/hazards – open hazards of my projects"))
async def hazards(ctx: Known, args: tuple[str, ...]) -> None:
    if ctx.in_group and ctx.group is None:  # a group bound to no project shows nothing of any project
        ctx.refuse(T(GROUP_ONLY))
        return
    scope = ctx.group.id if ctx.group is not None else None
    items = await ctx.services.hazards.open(ctx.person, limit=LIST_LIMIT + 1, project_id=scope)
    if not items:
        ctx.say(T("No open hazards in your projects."))
        return
    lines: list[Msg] = [
        T(
            "{number} · {level} · {status} · due {deadline}{late}\n  {description}",
            number=h.number,
            level=level_label(h.level),
            status=status_label(h.status),
            deadline=h.deadline.isoformat(),
            late=late_mark(h.deadline < ctx.today),
            description=h.description[:60],
        )
        for h in items[:LIST_LIMIT]
    ]
    more = T("(showing the first {n})", n=LIST_LIMIT) if len(items) > LIST_LIMIT else ""
    ctx.ask(
        T("Open hazards ({n}):\n{lines}\n{more}", n=min(len(items), LIST_LIMIT), lines=lines, more=more),
        [DETAILS.option(h.number, h.id) for h in items[:10]],
    )


@action(MENU)
async def hazards_menu(ctx: Known, args: tuple[str, ...]) -> None:
    await hazards(ctx, ())


def _history_line(ctx: Known, e: HistoryEntry) -> Msg:
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


async def show(ctx: Known, ref: str | int) -> None:
    area = ctx.services.hazards
    h = await visible_hazard(ctx, ref)
    if h is None:
        return
    history = await area.history(ctx.person, h.id)
    rects = await area.rectifications(ctx.person, h.id)
    options: list[Option] = []
    if h.status == Status.RECTIFYING and await area.can_rectify(ctx.person, h):
        options.append(rectify_option(h))
    pending = await area.pending_rectification(h.id)
    if h.status == Status.SUBMITTED and pending and await area.can_review(ctx.person, h):
        options += review_options(pending.id)
    options.append(PRINT.option(T("Notice (PDF)"), h.id, "notice"))
    if rects:
        options.append(PRINT.option(T("Re-inspection record (PDF)"), h.id, "recheck"))
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
async def hazard(ctx: Known, args: tuple[str, ...]) -> None:
    if not args:
        ctx.say(T("Send /hazard followed by the number, for example: /hazard XC-2026-000123"))
        return
    await show(ctx, args[0])


@action(DETAILS)
async def hazard_button(ctx: Known, args: tuple[str, ...]) -> None:
    hazard_id = ctx.button_id(args)
    if hazard_id is not None:
        await show(ctx, hazard_id)


@action(ACKNOWLEDGE)
async def acknowledge(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args)
    h = await ctx.attempt(ctx.services.hazards.acknowledge(ctx.person, ref)) if ref is not None else None
    if h is not None:
        ctx.say(T("Acknowledged: you have received the same-day report of {number}.", number=h.number))


@action(PRINT)
async def print_form(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args)
    kind = args[1] if len(args) > 1 else ""
    if ref is None or kind not in ("notice", "recheck"):
        ctx.refuse(T("That button is no longer valid."))
        return
    info = await ctx.attempt(ctx.services.reports.hazard_form(ctx.person, ref, kind, ctx.locale))
    if info is not None:
        ctx.send(Document(info.sha256, info.filename))


@action(RECEIVE)
async def receive(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args)
    h = await ctx.attempt(ctx.services.hazards.receive(ctx.person, ref)) if ref is not None else None
    if h is not None:
        ctx.say(T("Signed for: you have received the rectification notice of {number}.", number=h.number))
