"""通知群发: /broadcast for insurers, associations and authorities (compose → audience → targets → receipt →
preview with counts and delivery time → send), the read-receipt button, and /broadcasts to follow progress and
re-notify the chats that have not confirmed.

A form (handlers/form.py): the draft lives in the conversation state, so a restart resumes it and nothing is
asked twice; the summary is the preview, with the real counts.
"""

from __future__ import annotations

from typing import Any, TypedDict, cast

from bot.domain.broadcast import MAX_TEXT, RISKS, Scope, Target, may_broadcast, parse_codes
from bot.i18n import N_, T
from bot.messages import Button, Msg, Option, Payload, StoredMedia, TextIn, Toast
from bot.notices.broadcasts import ACKNOWLEDGE
from bot.ports import BroadcastDraft, BroadcastInfo
from handlers.context import Known, flow_choice, flow_option
from handlers.form import Choose, Draft, FormFlow, Options, Review, Step, Toggle
from handlers.registry import action, command

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
DEFAULT_TARGETS = [Target.GROUP.value, Target.MANAGER.value]
MAX_REGIONS = 12
NARROWED = (Scope.REGION, Scope.RISK, Scope.LIST)
DETAILS = Button("bc")  # bc:<broadcast>
REMIND = Button("bcre")  # bcre:<broadcast>


class BroadcastForm(TypedDict, total=False):
    text: str
    media: str  # sha256 of an attached photo
    media_kind: str
    scope: str
    value: str  # the region, risk level or codes the scope needs
    regions: list[str]  # the regions offered, in the order of their buttons
    targets: list[str]
    targets_done: bool
    ack: bool


def _draft(data: Draft) -> BroadcastDraft:
    d = cast(BroadcastForm, data)
    return BroadcastDraft(
        text=d["text"],
        scope=d["scope"],
        value=d.get("value", ""),
        targets=tuple(d["targets"]),
        needs_ack=bool(d["ack"]),
        media=d.get("media"),
        media_kind=d.get("media_kind"),
    )


class Wording(Step):
    """The notice's text; a photo sent first is its attachment, and a photo with a caption is a whole notice."""

    key, label, takes_media = "text", N_("Notice"), True

    async def ask(self, ctx: Known, d: Draft) -> None:
        if d.get("media"):
            ctx.say(T("Attachment received. Now type the text of the notice."))
        else:
            ctx.say(
                T("Type the text of the notice (at most {n} characters). To attach a photo, send it first.", n=MAX_TEXT)
            )

    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        if isinstance(payload, StoredMedia):
            d["media"], d["media_kind"] = payload.sha256, "photo"  # the media store takes pictures only
            if payload.caption and len(payload.caption) <= MAX_TEXT:
                d["text"] = payload.caption.strip()
            return True
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
        return True


class Narrowing(Step):
    """The region, risk level or project codes the chosen scope needs."""

    key, label = "value", N_("Audience")

    def applies(self, ctx: Known, d: Draft) -> bool:
        return d.get("scope") in NARROWED

    def done(self, d: Draft) -> bool:
        return bool(d.get(self.key))

    def owns(self, value: str) -> bool:
        return value.startswith(("f:region:", "f:risk:"))

    async def ask(self, ctx: Known, d: Draft) -> None:
        if d["scope"] == Scope.REGION:
            regions = (await ctx.services.broadcasts.regions(ctx.person))[:MAX_REGIONS]
            d["regions"] = regions
            if not regions:
                d.pop("scope")
                ctx.say(T("None of your projects has a region recorded."))
                await FORM.resume(ctx)
                return
            ctx.ask(T("Which region?"), [flow_option("region", i, r) for i, r in enumerate(regions)])
        elif d["scope"] == Scope.RISK:
            ctx.ask(T("Which risk level?"), [flow_option("risk", r, T(RISK_NAMES[r])) for r in RISKS])
        else:
            ctx.say(T("Type the project codes, separated by spaces or commas."))

    async def accept(self, ctx: Known, d: Draft, payload: Payload) -> bool:
        if d["scope"] == Scope.REGION:
            value = flow_choice(payload, "region")
            regions = d.get("regions", [])
            if value is None or not value.isascii() or not value.isdigit() or int(value) >= len(regions):
                return False
            d[self.key] = regions[int(value)]
        elif d["scope"] == Scope.RISK:
            value = flow_choice(payload, "risk")
            if value not in RISKS:
                return False
            d[self.key] = value
        else:
            codes = parse_codes(payload.text) if isinstance(payload, TextIn) else []
            if not codes:
                ctx.say(T("Type the project codes, separated by spaces or commas."))
                return False
            d[self.key] = " ".join(codes)
        return True


def _named(names: dict[str, str]) -> Options:
    return [(k, T(v)) for k, v in names.items()]


STEPS: tuple[Step, ...] = (
    Wording(),
    Choose("scope", N_("Who should receive it?"), _named(SCOPES), label=N_("Audience"), clears=("value", "regions")),
    Narrowing(),
    Toggle(
        "targets",
        N_("In each project, send it to (press to switch on or off):"),
        _named(TARGETS),
        label=N_("Send to"),
        default=DEFAULT_TARGETS,
    ),
    Choose(
        "ack",
        N_("Ask each chat to confirm it has read the notice?"),
        [(True, T("Yes, ask for a read receipt")), (False, T("No"))],
        label=N_("Read receipt"),
    ),
)


def _duration(seconds: int) -> Msg:
    if seconds <= 60:
        return T("under a minute")
    minutes = (seconds + 59) // 60
    if minutes < 90:
        return T("about {n} min", n=minutes)
    return T("about {h} h {m} min", h=minutes // 60, m=minutes % 60)


async def review(ctx: Known, d: Draft) -> Review | None:
    """The preview, with the real counts of projects and chats and the delivery time at the platforms' rates."""
    p = await ctx.attempt(ctx.services.broadcasts.preview(ctx.person, _draft(d)), end_flow=True)
    if p is None:
        return None
    if p.unknown_codes:
        ctx.say(T("Not among your projects, left out: {codes}", codes=", ".join(p.unknown_codes)))
    if p.total == 0:
        for key in ("scope", "value", "targets_done"):
            d.pop(key, None)
        ctx.say(T("No chat can be reached with that choice. Please choose again."))
        return None
    channels = [
        T("{channel}: {n} chats", channel=T(ctx.channel_names.get(name, name)), n=n) for name, n in p.per_channel
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
    return Review(T("Check the broadcast"), tuple(fields), T("Send to {n} chats", n=p.total))


async def submit(ctx: Known, d: Draft) -> None:
    info = await ctx.attempt(ctx.services.broadcasts.send(ctx.person, _draft(d)), end_flow=True)
    if info is None:
        return
    ctx.finish()
    ctx.ask(
        T("Broadcast #{id} is on its way to {n} chats. Progress: /broadcasts", id=info.id, n=info.targets),
        [DETAILS.option(T("Show progress"), info.id)],
    )


FORM = FormFlow(
    "broadcast",
    N_("broadcast"),
    STEPS,
    submit=submit,
    review=review,
    cancelled=N_("Broadcast cancelled. Nothing was sent."),
)


def _may(ctx: Known) -> bool:
    if not may_broadcast(ctx.person.org_kind):
        ctx.refuse(T("Only insurers, associations and authorities can send broadcasts."))
        return False
    if ctx.in_group:
        ctx.refuse(T("Please do this in a private chat with me."))
        return False
    return True


@command(
    "broadcast",
    help=N_("/broadcast – send a notice to many projects (insurers, authorities)"),
    starts_flow=True,
    private=True,
)
async def broadcast(ctx: Known, args: tuple[str, ...]) -> None:
    if _may(ctx):
        await FORM.begin(ctx)


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


@command("broadcasts", help=N_("/broadcasts – progress and read receipts of recent broadcasts"), private=True)
async def broadcasts(ctx: Known, args: tuple[str, ...]) -> None:
    if not _may(ctx):
        return
    items = await ctx.services.broadcasts.recent(ctx.person)
    if not items:
        ctx.say(T("No broadcasts yet. Send one with /broadcast."))
        return
    ctx.ask(
        T("Recent broadcasts:\n{lines}", lines=[_progress(b) for b in items]),
        [DETAILS.option(T("#{id} details", id=b.id), b.id) for b in items],
    )


@action(DETAILS)
async def details(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args) if _may(ctx) else None
    b = await ctx.attempt(ctx.services.broadcasts.find(ctx.person, ref)) if ref is not None else None
    if b is None:
        return
    lines: list[Msg] = [_progress(b)]
    for code, n in b.failures:
        lines.append(T("Failed: {reason} – {n}", reason=T(FAILURES.get(code, FAILURES["error"])), n=n))
    options: list[Option] = [DETAILS.option(T("Refresh"), b.id)]
    if b.needs_ack:
        silent = b.targets - b.acked
        if b.silent:
            lines.append(T("Not confirmed yet ({n}):\n{names}", n=silent, names="\n".join(b.silent)))
        if silent:
            options.append(REMIND.option(T("Remind the {n} who have not confirmed", n=silent), b.id))
    ctx.ask(T("{lines}", lines=lines), options)


@action(REMIND)
async def renotify(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args) if _may(ctx) else None
    n = await ctx.attempt(ctx.services.broadcasts.renotify(ctx.person, ref)) if ref is not None else None
    if n is None:
        return
    if n == 0:
        ctx.say(T("Every chat that received it has confirmed, or none can be reached."))
    else:
        ctx.say(T("Reminder on its way to the {n} chats that have not confirmed.", n=n))


@action(ACKNOWLEDGE)
async def acknowledge(ctx: Known, args: tuple[str, ...]) -> None:
    ref = ctx.button_id(args)
    call = ctx.services.broadcasts.acknowledge(ctx.person, ref, ctx.inc.channel, ctx.inc.chat_id) if ref else None
    first = await ctx.attempt(call) if call is not None else None
    if first is None:
        return
    # A pop-up where the channel has one: a group does not need forty "thank you" messages.
    ctx.send(Toast(T("Thank you, confirmed.") if first else T("Already confirmed. Thank you.")))
