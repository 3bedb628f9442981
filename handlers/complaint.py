"""投诉与异议 in chat: /complaint files one (project, what it is about, text, photos); the agency answers in three
parts, marks it as needing checks, or extends it once with a reason; the complainant accepts the answer or
refers it to the authority."""

from __future__ import annotations

from typing import TypedDict, cast

from bot.domain.complaints import ANSWER_PARTS, About
from bot.i18n import N_, T
from bot.messages import Payload, TextIn
from bot.notices.complaints import (
    ACCEPT,
    AGREE_EXTENSION,
    ANSWER,
    DECLINE_EXTENSION,
    EXTEND,
    NEEDS_CHECKING,
    REFER,
)
from bot.ports import ComplaintInfo
from handlers.context import Known, flow_choice, flow_option
from handlers.form import Choose, Draft, FormFlow, Options, PhotoBox, Review, Write
from handlers.registry import action, command, flow

ABOUT: dict[str, str] = {
    About.SERVICE: N_("A service"),
    About.EXPERT: N_("An expert"),
    About.DECISION: N_("A decision"),
}
PART_QUESTIONS = {
    "request": N_("Part 1 of 3 – the complainant's request, in your words:"),
    "facts": N_("Part 2 of 3 – the facts you found and their basis (rule, record, photo):"),
    "measures": N_("Part 3 of 3 – the measures taken or to be taken:"),
}
MAX_PHOTOS = 6
MAX_TEXT = 1000


class ComplaintDraft(TypedDict, total=False):
    project: int
    about: str
    text: str
    photos: list[str]


# --- filing --------------------------------------------------------------------------------------------------


async def _projects(ctx: Known, d: Draft) -> Options:
    return [(p.id, p.name) for p in await ctx.services.people.projects(ctx.person)]


async def review(ctx: Known, data: Draft) -> Review:
    d = cast(ComplaintDraft, data)
    return Review(
        T("File this complaint? ({n} photos)", n=len(d.get("photos", []))),
        ((T("About"), T(ABOUT[d["about"]])), (T("Complaint"), d["text"])),
        T("File it"),
    )


async def submit(ctx: Known, data: Draft) -> None:
    d = cast(ComplaintDraft, data)
    call = ctx.services.complaints.file(ctx.person, d["project"], d["about"], d["text"], list(d.get("photos", [])))
    info = await ctx.attempt(call, end_flow=True)
    if info is None:
        return
    ctx.finish()
    ctx.say(
        T(
            "Complaint {number} is received. The service agency must answer by {date}.",
            number=info.number,
            date=info.due_on.isoformat(),
        )
    )


FILING = FormFlow(
    "complaint",
    N_("complaint"),
    (
        Choose("project", N_("Which project is it about?"), _projects, label=N_("Project")),
        Choose("about", N_("What is the complaint about?"), [(k, T(v)) for k, v in ABOUT.items()], label=N_("About")),
        Write(
            "text",
            N_("Describe what happened and what you ask for. You can add photos."),
            label=N_("Complaint"),
            min_len=1,
            max_len=MAX_TEXT,
        ),
    ),
    submit=submit,
    review=review,
    cancelled=N_("Cancelled. Nothing was filed."),
    photos=PhotoBox("photos", MAX_PHOTOS, full=N_("That is enough photos (at most {n})."), caption_key="text"),
)


@command(
    "complaint",
    help=N_("/complaint – complain about a service, an expert or a decision"),
    starts_flow=True,
    private=True,
)
async def complaint(ctx: Known, args: tuple[str, ...]) -> None:
    projects = await ctx.services.people.projects(ctx.person)
    if not projects:
        ctx.say(T("You are not in any project yet."))
        return
    await FILING.begin(ctx, {"project": projects[0].id} if len(projects) == 1 else {})


# --- the agency's side ---------------------------------------------------------------------------------------


def _text(payload: Payload) -> str | None:
    return payload.text.strip() if isinstance(payload, TextIn) and payload.text.strip() else None


async def _load(ctx: Known, args: tuple[str, ...]) -> ComplaintInfo | None:
    ref = ctx.button_id(args)
    return await ctx.attempt(ctx.services.complaints.find(ctx.person, ref)) if ref is not None else None


async def ask_answer(ctx: Known) -> None:
    d = ctx.data
    if d.get("step") == "extend_days":
        most = ctx.setup.rules.complaints.max_extension_days
        ctx.ask(
            T("Extend by how many days (at most {n})?", n=most),
            [flow_option("days", n, T("{n} days", n=n)) for n in sorted({*(m for m in (7, 15) if m < most), most})],
        )
        return
    if d.get("step") == "extend_reason":
        ctx.say(T("The reason for the extension (the complainant will read it):"))
        return
    part = next(p for p in ANSWER_PARTS if p not in d["parts"])
    ctx.say(T(PART_QUESTIONS[part]))


async def on_answer(ctx: Known, payload: Payload) -> None:
    d = ctx.data
    if d.get("step") == "extend_days":
        days = flow_choice(payload, "days") or _text(payload)
        most = ctx.setup.rules.complaints.max_extension_days
        if days is not None and days.isascii() and days.isdigit() and 1 <= int(days) <= most:
            d["days"], d["step"] = int(days), "extend_reason"
        else:
            ctx.say(T("A number from 1 to {n}, please.", n=most))
    elif d.get("step") == "extend_reason":
        reason = _text(payload)
        if reason:
            call = ctx.services.complaints.extend(ctx.person, d["id"], d["days"], reason)
            info = await ctx.attempt(call, end_flow=True)
            if info is not None:
                ctx.finish()
                if info.extension_state == "asked":
                    ctx.say(T("Asked: the complainant decides whether to agree; you will hear."))
                else:
                    ctx.say(T("Extended to {date}; the complainant is told why.", date=info.due_on.isoformat()))
            return
    else:
        text = _text(payload)
        part = next(p for p in ANSWER_PARTS if p not in d["parts"])
        if text:
            d["parts"][part] = text
        if len(d["parts"]) == len(ANSWER_PARTS):
            info = await ctx.attempt(ctx.services.complaints.answer(ctx.person, d["id"], d["parts"]), end_flow=True)
            if info is not None:
                ctx.finish()
                ctx.say(T("The answer to {number} is sent to the complainant.", number=info.number))
            return
    await ask_answer(ctx)


ANSWERING = flow("complaint_answer", N_("complaint answer"), on_answer, ask_answer)


@action(ANSWER, starts_flow=True)
async def start_answer(ctx: Known, args: tuple[str, ...]) -> None:
    info = await _load(ctx, args)
    if info is not None:
        ctx.start("complaint_answer", {"id": info.id, "parts": {}})
        await ask_answer(ctx)


@action(EXTEND, starts_flow=True)
async def start_extension(ctx: Known, args: tuple[str, ...]) -> None:
    info = await _load(ctx, args)
    if info is None:
        return
    if info.extended or info.extension_state is not None:
        ctx.refuse(T("More time has been asked once already; it cannot be asked again."))
        return
    ctx.start("complaint_answer", {"id": info.id, "parts": {}, "step": "extend_days"})
    await ask_answer(ctx)


async def _extension_answer(ctx: Known, args: tuple[str, ...], agree: bool) -> None:
    ref = ctx.button_id(args)
    call = ctx.services.complaints.agree_extension(ctx.person, ref, agree) if ref is not None else None
    info = await ctx.attempt(call) if call is not None else None
    if info is None:
        return
    if agree:
        ctx.say(T("Thank you: the answer is now due {date}.", date=info.due_on.isoformat()))
    else:
        ctx.say(T("Noted: the answer stays due {date}.", date=info.due_on.isoformat()))


@action(AGREE_EXTENSION)
async def agree_extension(ctx: Known, args: tuple[str, ...]) -> None:
    await _extension_answer(ctx, args, True)


@action(DECLINE_EXTENSION)
async def decline_extension(ctx: Known, args: tuple[str, ...]) -> None:
    await _extension_answer(ctx, args, False)


@action(NEEDS_CHECKING)
async def needs_checking(ctx: Known, args: tuple[str, ...]) -> None:
    info = await _load(ctx, args)
    info = await ctx.attempt(ctx.services.complaints.needs_checking(ctx.person, info.id)) if info else None
    if info is not None:
        ctx.say(T("Marked as needing checks: answer by {date}.", date=info.due_on.isoformat()))


async def _close(ctx: Known, args: tuple[str, ...], refer: bool) -> None:
    ref = ctx.button_id(args)
    info = await ctx.attempt(ctx.services.complaints.close(ctx.person, ref, refer)) if ref is not None else None
    if info is None:
        return
    if refer:
        ctx.say(T("Complaint {number} is referred to the authority.", number=info.number))
    else:
        ctx.say(T("Thank you. Complaint {number} is closed.", number=info.number))


@action(ACCEPT)
async def accept(ctx: Known, args: tuple[str, ...]) -> None:
    await _close(ctx, args, refer=False)


@action(REFER)
async def refer(ctx: Known, args: tuple[str, ...]) -> None:
    await _close(ctx, args, refer=True)
