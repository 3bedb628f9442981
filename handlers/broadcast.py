"""通知群发: /broadcast for insurers, associations and authorities (compose → audience → targets → receipt →
preview with counts and delivery time → send), the read-receipt button, and /broadcasts to follow progress and
re-notify the chats that have not confirmed.

Like the hazard report, the draft lives in the conversation state and the next question is always the first
thing still missing, so a restart resumes it and nothing is asked twice.
"""

from __future__ import annotations

from typing import Any

from bot.domain.broadcast import MAX_TEXT, RISKS, Scope, Target, may_broadcast, parse_codes
from bot.i18n import N_, T
from bot.messages import Card, Choice, Msg, Option, Payload, StoredMedia, TextIn, Toast
from bot.ports import BroadcastDraft, BroadcastInfo, ServiceError
from handlers.context import Context, button_id, flow_choice, flow_option
from handlers.errors import explain
from handlers.registry import action, command, flow

SCOPES: dict[str, str] = {
    Scope.ALL: N_("All my projects"),
    Scope.REGION: N_("A region"),
    Scope.RISK: N_("A risk level"),
    Scope.OPEN: N_("Projects with open level-1/2 hazards"),
    Scope.LIST: N_("A list of project codes"),
}
TARGETS: dict[str, str] = {
    Target.GROUP: N_("Project group chats"),
    Target.MANAGER: N_("Project managers"),
    Target.SAFETY: N_("Safety officers"),
}
RISK_NAMES: dict[str, str] = {"high": N_("High risk"), "medium": N_("Medium risk"), "low": N_("Low risk")}
FAILURES: dict[str, str] = {
    "blocked": N_("bot blocked or removed"),
    "gone": N_("chat no longer exists"),
    "error": N_("platform error"),
}
CHANNEL_NAMES: dict[str, str] = {"telegram": N_("Telegram"), "wecom": N_("WeCom"), "webchat": N_("web chat")}
DEFAULT_TARGETS = [Target.GROUP.value, Target.MANAGER.value]
MAX_REGIONS = 12


def missing(d: dict[str, Any]) -> str:
    if "text" not in d:
        return "text"
    if "scope" not in d:
        return "scope"
    if d["scope"] in (Scope.REGION, Scope.RISK, Scope.LIST) and not d.get("value"):
        return "value"
    if not d.get("targets_done"):
        return "targets"
    if "ack" not in d:
        return "ack"
    return "confirm"


def _draft(d: dict[str, Any]) -> BroadcastDraft:
    return BroadcastDraft(
        text=d["text"],
        scope=d["scope"],
        value=d.get("value", ""),
        targets=tuple(d["targets"]),
        needs_ack=bool(d["ack"]),
        media=d.get("media"),
        media_kind=d.get("media_kind"),
        media_name=d.get("media_name"),
    )


def _duration(seconds: int) -> Msg:
    if seconds <= 60:
        return T("under a minute")
    minutes = (seconds + 59) // 60
    if minutes < 90:
        return T("about {n} min", n=minutes)
    return T("about {h} h {m} min", h=minutes // 60, m=minutes % 60)


async def ask(ctx: Context) -> None:
    d = ctx.data
    step = missing(d)
    if step == "text":
        if d.get("media"):
            ctx.say(T("Attachment received. Now type the text of the notice."))
        else:
            ctx.say(
                T(
                    "Type the text of the notice (at most {n} characters). To attach a photo, send it first.",
                    n=MAX_TEXT,
                )
            )
    elif step == "scope":
        ctx.ask(T("Who should receive it?"), [flow_option("scope", k, T(v)) for k, v in SCOPES.items()])
    elif step == "value":
        if d["scope"] == Scope.REGION:
            assert ctx.person is not None
            regions = (await ctx.services.broadcast_regions(ctx.person))[:MAX_REGIONS]
            d["regions"] = regions
            if not regions:
                d.pop("scope")
                ctx.say(T("None of your projects has a region recorded."))
                await ask(ctx)
                return
            ctx.ask(T("Which region?"), [flow_option("region", i, r) for i, r in enumerate(regions)])
        elif d["scope"] == Scope.RISK:
            ctx.ask(T("Which risk level?"), [flow_option("risk", r, T(RISK_NAMES[r])) for r in RISKS])
        else:
            ctx.say(T("Type the project codes, separated by spaces or commas."))
    elif step == "targets":
        chosen = set(d.setdefault("targets", list(DEFAULT_TARGETS)))
        options = [
            flow_option("target", k, T("✓ {name}", name=T(v)) if k in chosen else T("☐ {name}", name=T(v)))
            for k, v in TARGETS.items()
        ]
        options.append(flow_option("target", "done", T("Next")))
        ctx.ask(T("In each project, send it to (press to switch on or off):"), options)
    elif step == "ack":
        ctx.ask(
            T("Ask each chat to confirm it has read the notice?"),
            [flow_option("ack", "yes", T("Yes, ask for a read receipt")), flow_option("ack", "no", T("No"))],
        )
    else:
        await _preview(ctx)


async def _preview(ctx: Context) -> None:
    assert ctx.person is not None
    d = ctx.data
    try:
        p = await ctx.services.preview_broadcast(ctx.person, _draft(d))
    except ServiceError as err:
        ctx.finish()
        ctx.say(explain(err))
        return
    if p.unknown_codes:
        ctx.say(T("Not among your projects, left out: {codes}", codes=", ".join(p.unknown_codes)))
    if p.total == 0:
        d.pop("scope", None)
        d.pop("value", None)
        d["targets_done"] = False
        ctx.say(T("No chat can be reached with that choice. Please choose again."))
        await ask(ctx)
        return
    channels = [
        T("{channel}: {n} chats", channel=T(CHANNEL_NAMES[name]) if name in CHANNEL_NAMES else name, n=n)
        for name, n in p.per_channel
    ]
    fields: list[tuple[Msg, Any]] = [
        (T("Notice"), d["text"][:200]),
        (T("Projects"), str(p.projects)),
        (T("Chats"), channels),
        (T("Delivery time"), _duration(p.seconds)),
        (T("Read receipt"), T("asked") if d["ack"] else T("not asked")),
    ]
    if p.unreachable:
        fields.append((T("No chat account"), T("{n} people cannot be reached", n=p.unreachable)))
    if d.get("media"):
        fields.append((T("Attachment"), T("photo")))
    ctx.send(
        Card(
            T("Check the broadcast"),
            tuple(fields),
            (
                flow_option("confirm", "send", T("Send to {n} chats", n=p.total)),
                flow_option("confirm", "cancel", T("Cancel")),
            ),
        )
    )


async def _accept(ctx: Context, step: str, payload: Payload) -> bool:
    d = ctx.data
    if step == "text":
        if not isinstance(payload, TextIn) or not payload.text.strip():
            ctx.say(T("Please type the text of the notice."))
            return False
        if len(payload.text) > MAX_TEXT:
            ctx.say(
                T(
                    "That is too long: {n} characters, at most {max}. Please shorten it.",
                    n=len(payload.text),
                    max=MAX_TEXT,
                )
            )
            return False
        d["text"] = payload.text.strip()
    elif step == "scope":
        value = flow_choice(payload, "scope")
        if value not in SCOPES:
            return False
        d["scope"] = value
    elif step == "value":
        if d["scope"] == Scope.REGION:
            value = flow_choice(payload, "region")
            regions = d.get("regions", [])
            if value is None or not value.isdigit() or int(value) >= len(regions):
                return False
            d["value"] = regions[int(value)]
        elif d["scope"] == Scope.RISK:
            value = flow_choice(payload, "risk")
            if value not in RISKS:
                return False
            d["value"] = value
        else:
            codes = parse_codes(payload.text) if isinstance(payload, TextIn) else []
            if not codes:
                ctx.say(T("Type the project codes, separated by spaces or commas."))
                return False
            d["value"] = " ".join(codes)
    elif step == "targets":
        value = flow_choice(payload, "target")
        chosen: list[str] = d["targets"]
        if value == "done":
            if not chosen:
                ctx.say(T("Choose at least one."))
                return False
            d["targets_done"] = True
        elif value in TARGETS:
            if value in chosen:
                chosen.remove(value)
            else:
                chosen.append(value)
        else:
            return False
    elif step == "ack":
        value = flow_choice(payload, "ack")
        if value not in ("yes", "no"):
            return False
        d["ack"] = value == "yes"
    return True


async def on_input(ctx: Context, payload: Payload) -> None:
    d = ctx.data
    step = missing(d)
    if isinstance(payload, StoredMedia) and step == "text":
        d["media"] = payload.sha256
        d["media_kind"] = "photo"  # the media store takes pictures only
        if payload.caption and len(payload.caption) <= MAX_TEXT:
            d["text"] = payload.caption.strip()  # a photo with a caption is a whole notice
        await ask(ctx)
        return
    if step == "confirm":
        value = flow_choice(payload, "confirm")
        if value == "send":
            await _send(ctx)
            return
        if value == "cancel":
            ctx.finish()
            ctx.say(T("Broadcast cancelled. Nothing was sent."))
            return
        await ask(ctx)
        return
    said = len(ctx.replies)
    if not await _accept(ctx, step, payload) and len(ctx.replies) == said:
        if isinstance(payload, Choice):
            ctx.refuse(T("That button belongs to an earlier question."))
        else:
            ctx.say(T("Please pick one of the options."))
    await ask(ctx)


async def _send(ctx: Context) -> None:
    assert ctx.person is not None
    try:
        info = await ctx.services.send_broadcast(ctx.person, _draft(ctx.data))
    except ServiceError as err:
        ctx.finish()
        ctx.say(explain(err))
        return
    ctx.finish()
    ctx.ask(
        T("Broadcast #{id} is on its way to {n} chats. Progress: /broadcasts", id=info.id, n=info.targets),
        [Option(f"bc:{info.id}", T("Show progress"))],
    )


async def resume(ctx: Context) -> None:
    await ask(ctx)


FLOW = flow("broadcast", N_("broadcast"), on_input, resume)


def _may(ctx: Context) -> bool:
    assert ctx.person is not None
    if not may_broadcast(ctx.person.org_kind):
        ctx.refuse(T("Only insurers, associations and authorities can send broadcasts."))
        return False
    if ctx.in_group:
        ctx.refuse(T("Please do this in a private chat with me."))
        return False
    return True


@command("broadcast", help=N_("/broadcast – send a notice to many projects (insurers, authorities)"), starts_flow=True)
async def broadcast(ctx: Context, args: tuple[str, ...]) -> None:
    if _may(ctx):
        ctx.start("broadcast", {})
        await ask(ctx)


def _progress(b: BroadcastInfo) -> Msg:
    receipt = T(" · {n} confirmed read", n=b.acked) if b.needs_ack else ""
    return T(
        "#{id} {at} {sender}: “{text}”\n  {targets} chats: {sent} sent, {queued} queued, {failed} failed{receipt}",
        id=b.id,
        at=b.created_at.strftime("%m-%d %H:%M"),
        sender=b.sender,
        text=b.text[:40],
        targets=b.targets,
        sent=b.sent,
        queued=b.queued,
        failed=b.failed,
        receipt=receipt,
    )


@command("broadcasts", help=N_("/broadcasts – progress and read receipts of recent broadcasts"))
async def broadcasts(ctx: Context, args: tuple[str, ...]) -> None:
    if not _may(ctx):
        return
    assert ctx.person is not None
    items = await ctx.services.broadcasts(ctx.person)
    if not items:
        ctx.say(T("No broadcasts yet. Send one with /broadcast."))
        return
    ctx.ask(
        T("Recent broadcasts:\n{lines}", lines=[_progress(b) for b in items]),
        [Option(f"bc:{b.id}", T("#{id} details", id=b.id)) for b in items],
    )


@action("bc")
async def details(ctx: Context, args: tuple[str, ...]) -> None:
    if not _may(ctx):
        return
    assert ctx.person is not None
    ref = button_id(ctx, args)
    if ref is None:
        return
    try:
        b = await ctx.services.broadcast(ctx.person, ref)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    lines: list[Msg] = [_progress(b)]
    for code, n in b.failures:
        lines.append(T("Failed: {reason} – {n}", reason=T(FAILURES.get(code, FAILURES["error"])), n=n))
    options = [Option(f"bc:{b.id}", T("Refresh"))]
    if b.needs_ack:
        silent = b.targets - b.acked
        if b.silent:
            lines.append(T("Not confirmed yet ({n}):\n{names}", n=silent, names="\n".join(b.silent)))
        if silent:
            options.append(Option(f"bcre:{b.id}", T("Remind the {n} who have not confirmed", n=silent)))
    ctx.ask(T("{lines}", lines=lines), options)


@action("bcre")
async def renotify(ctx: Context, args: tuple[str, ...]) -> None:
    if not _may(ctx):
        return
    assert ctx.person is not None
    ref = button_id(ctx, args)
    if ref is None:
        return
    try:
        n = await ctx.services.renotify_broadcast(ctx.person, ref)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    if n == 0:
        ctx.say(T("Every chat that received it has confirmed, or none can be reached."))
    else:
        ctx.say(T("Reminder on its way to the {n} chats that have not confirmed.", n=n))


@action("bcack")
async def acknowledge(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    ref = button_id(ctx, args)
    if ref is None:
        return
    try:
        first = await ctx.services.acknowledge_broadcast(ctx.person, ref, ctx.inc.channel, ctx.inc.chat_id)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    # A pop-up where the channel has one: a group does not need forty "thank you" messages.
    ctx.send(Toast(T("Thank you, confirmed.") if first else T("Already confirmed. Thank you.")))
