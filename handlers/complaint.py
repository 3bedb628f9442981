"""投诉与异议 in chat: /complaint files one (project, what it is about, text, photos); the agency answers in three
parts, marks it as needing checks, or extends it once with a reason; the complainant accepts the answer or
refers it to the authority."""

from __future__ import annotations

from bot.domain.complaints import ANSWER_PARTS, MAX_EXTENSION, About
from bot.i18n import N_, T
from bot.messages import Payload, StoredMedia, TextIn
from bot.ports import ComplaintInfo, ServiceError
from handlers.context import Context, button_id, flow_choice, flow_option
from handlers.errors import explain
from handlers.registry import action, command, flow

ABOUT = {About.SERVICE: N_("A service"), About.EXPERT: N_("An expert"), About.DECISION: N_("A decision")}
PART_QUESTIONS = {
    "request": N_("Part 1 of 3 – the complainant's request, in your words:"),
    "facts": N_("Part 2 of 3 – the facts you found and their basis (rule, record, photo):"),
    "measures": N_("Part 3 of 3 – the measures taken or to be taken:"),
}
MAX_PHOTOS = 6


def _text(payload: Payload) -> str | None:
    return payload.text.strip() if isinstance(payload, TextIn) and payload.text.strip() else None


# --- filing --------------------------------------------------------------------------------------------------


async def ask_filing(ctx: Context) -> None:
    d = ctx.data
    if "project" not in d:
        assert ctx.person is not None
        projects = await ctx.services.projects(ctx.person)
        ctx.ask(T("Which project is it about?"), [flow_option("project", p.id, p.name) for p in projects])
    elif "about" not in d:
        ctx.ask(T("What is the complaint about?"), [flow_option("about", k, T(v)) for k, v in ABOUT.items()])
    elif "text" not in d:
        ctx.say(T("Describe what happened and what you ask for. You can add photos."))
    else:
        ctx.ask(
            T("File this complaint? ({n} photos)\n{text}", n=len(d.get("photos", [])), text=d["text"]),
            [flow_option("file", "yes", T("File it")), flow_option("file", "no", T("Cancel"))],
        )


async def on_filing(ctx: Context, payload: Payload) -> None:
    assert ctx.person is not None
    d = ctx.data
    if isinstance(payload, StoredMedia):
        photos = d.setdefault("photos", [])
        if len(photos) < MAX_PHOTOS and payload.sha256 not in photos:
            photos.append(payload.sha256)
        if payload.caption and "text" not in d:
            d["text"] = payload.caption.strip()[:1000]
        await ask_filing(ctx)
        return
    if "project" not in d:
        value = flow_choice(payload, "project")
        allowed = {p.id for p in await ctx.services.projects(ctx.person)}
        if value and value.isdigit() and int(value) in allowed:
            d["project"] = int(value)
    elif "about" not in d:
        value = flow_choice(payload, "about")
        if value in ABOUT:
            d["about"] = value
    elif "text" not in d:
        text = _text(payload)
        if text:
            d["text"] = text[:1000]
    else:
        value = flow_choice(payload, "file")
        if value == "yes":
            try:
                info = await ctx.services.file_complaint(
                    ctx.person, d["project"], d["about"], d["text"], list(d.get("photos", []))
                )
            except ServiceError as err:
                ctx.finish()
                ctx.say(explain(err))
                return
            ctx.finish()
            ctx.say(
                T(
                    "Complaint {number} is received. The service agency must answer by {date}.",
                    number=info.number,
                    date=info.due_on.isoformat(),
                )
            )
            return
        if value == "no":
            ctx.finish()
            ctx.say(T("Cancelled. Nothing was filed."))
            return
    await ask_filing(ctx)


async def resume_filing(ctx: Context) -> None:
    await ask_filing(ctx)


FILING = flow("complaint", N_("complaint"), on_filing, resume_filing)


@command("complaint", help=N_("/complaint – complain about a service, an expert or a decision"), starts_flow=True)
async def complaint(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    projects = await ctx.services.projects(ctx.person)
    if not projects:
        ctx.say(T("You are not in any project yet."))
        return
    ctx.start("complaint", {"project": projects[0].id} if len(projects) == 1 else {})
    await ask_filing(ctx)


# --- the agency's side ---------------------------------------------------------------------------------------


async def _load(ctx: Context, args: tuple[str, ...]) -> ComplaintInfo | None:
    assert ctx.person is not None
    ref = button_id(ctx, args)
    if ref is None:
        return None
    try:
        return await ctx.services.complaint(ctx.person, ref)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return None


async def ask_answer(ctx: Context) -> None:
    d = ctx.data
    if d.get("step") == "extend_days":
        ctx.ask(
            T("Extend by how many working days (at most {n})?", n=MAX_EXTENSION),
            [flow_option("days", n, T("{n} working days", n=n)) for n in (5, 10, 20, 30)],
        )
        return
    if d.get("step") == "extend_reason":
        ctx.say(T("The reason for the extension (the complainant will read it):"))
        return
    part = next(p for p in ANSWER_PARTS if p not in d["parts"])
    ctx.say(T(PART_QUESTIONS[part]))


async def on_answer(ctx: Context, payload: Payload) -> None:
    assert ctx.person is not None
    d = ctx.data
    try:
        if d.get("step") == "extend_days":
            value = flow_choice(payload, "days")
            text = _text(payload)
            days = value if value is not None else text
            if days is not None and days.isdigit() and 1 <= int(days) <= MAX_EXTENSION:
                d["days"], d["step"] = int(days), "extend_reason"
            else:
                ctx.say(T("A number from 1 to {n}, please.", n=MAX_EXTENSION))
        elif d.get("step") == "extend_reason":
            reason = _text(payload)
            if reason:
                info = await ctx.services.extend_complaint(ctx.person, d["id"], d["days"], reason)
                ctx.finish()
                ctx.say(T("Extended to {date}; the complainant is told why.", date=info.due_on.isoformat()))
                return
        else:
            text = _text(payload)
            part = next(p for p in ANSWER_PARTS if p not in d["parts"])
            if text:
                d["parts"][part] = text
            if len(d["parts"]) == len(ANSWER_PARTS):
                info = await ctx.services.answer_complaint(ctx.person, d["id"], d["parts"])
                ctx.finish()
                ctx.say(T("The answer to {number} is sent to the complainant.", number=info.number))
                return
    except ServiceError as err:
        ctx.finish()
        ctx.say(explain(err))
        return
    await ask_answer(ctx)


async def resume_answer(ctx: Context) -> None:
    await ask_answer(ctx)


ANSWERING = flow("complaint_answer", N_("complaint answer"), on_answer, resume_answer)


@action("cpa", starts_flow=True)
async def start_answer(ctx: Context, args: tuple[str, ...]) -> None:
    info = await _load(ctx, args)
    if info is not None:
        ctx.start("complaint_answer", {"id": info.id, "parts": {}})
        await ask_answer(ctx)


@action("cpx", starts_flow=True)
async def start_extension(ctx: Context, args: tuple[str, ...]) -> None:
    info = await _load(ctx, args)
    if info is None:
        return
    if info.extended:
        ctx.refuse(T("It has been extended once already; it cannot be extended again."))
        return
    ctx.start("complaint_answer", {"id": info.id, "parts": {}, "step": "extend_days"})
    await ask_answer(ctx)


@action("cpc")
async def needs_checking(ctx: Context, args: tuple[str, ...]) -> None:
    assert ctx.person is not None
    info = await _load(ctx, args)
    if info is None:
        return
    try:
        info = await ctx.services.complaint_needs_checking(ctx.person, info.id)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    ctx.say(T("Marked as needing checks: answer by {date}.", date=info.due_on.isoformat()))


async def _close(ctx: Context, args: tuple[str, ...], refer: bool) -> None:
    assert ctx.person is not None
    ref = button_id(ctx, args)
    if ref is None:
        return
    try:
        info = await ctx.services.close_complaint(ctx.person, ref, refer)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    if refer:
        ctx.say(T("Complaint {number} is referred to the authority.", number=info.number))
    else:
        ctx.say(T("Thank you. Complaint {number} is closed.", number=info.number))


@action("cpok")
async def accept(ctx: Context, args: tuple[str, ...]) -> None:
    await _close(ctx, args, refer=False)


@action("cpref")
async def refer(ctx: Context, args: tuple[str, ...]) -> None:
    await _close(ctx, args, refer=True)
