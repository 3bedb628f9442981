"""隐患上报: the guided hazard report, and the photo-with-caption quick path that asks only for what is missing.

The draft lives in the conversation state (so it survives a restart) and each answer fills one field; the next
question is always the first field still missing, so nothing is asked twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.domain.deadlines import deadline_choices, default_deadline, parse_deadline
from bot.domain.lec import score
from bot.domain.levels import Level
from bot.domain.quickpath import read_caption
from bot.domain.roles import Action, allowed
from bot.domain.taxonomy import taxonomy
from bot.i18n import N_, T, translate
from bot.messages import Card, Choice, Location, Msg, Payload, StoredMedia, TextIn
from bot.notices import LEVEL_NAMES, hazard_fields, level_label
from bot.ports import HazardDraft, ServiceError
from handlers.context import Context, flow_choice, flow_option
from handlers.errors import explain
from handlers.lec import ask_factor, next_factor, result_message, take_factor
from handlers.registry import action, command, flow

MAX_PHOTOS = 9
MIN_TEXT, MAX_TEXT, MAX_LOCATION = 2, 1000, 200


def missing(d: dict[str, Any]) -> str:
    tax = taxonomy()
    if "project" not in d:
        return "project"
    if not d.get("photos") or not d.get("photos_done"):
        return "photos"
    if "group" not in d:
        return "group"
    group = tax.group(d["group"])
    assert group is not None
    if "major" not in d:
        if not group.major:
            d["major"] = "none"
        else:
            return "major"
    if d["major"] == "none" and "check" not in d:
        if not group.checks:
            d["check"] = None
        else:
            return "check"
    for field in ("description", "location"):
        if field not in d:
            return field
    if "level" not in d:
        if d["major"] != "none":
            d["level"] = 1  # a major hazard is level 1 whatever else is said
        else:
            return "level"
    for field in ("suggestion", "deadline", "lec"):
        if field not in d:
            return field
    if isinstance(d["lec"], dict) and next_factor(d["lec"]):
        return "lec"
    return "confirm"


async def ask(ctx: Context) -> None:
    d = ctx.data
    step = missing(d)
    tax = taxonomy()
    if step == "project":
        assert ctx.person is not None
        projects = await ctx.services.projects(ctx.person, Action.REPORT_HAZARD)
        ctx.ask(T("Which project is the hazard in?"), [flow_option("project", p.id, p.name) for p in projects])
    elif step == "photos":
        n = len(d.get("photos", []))
        if n == 0:
            ctx.say(T("Send one or more photos of the hazard."))
        else:
            ctx.ask(T("Photo {n} received. Send more, or press Done.", n=n), [flow_option("photos", "done", T("Done"))])
    elif step == "group":
        ctx.ask(T("What kind of hazard is it?"), [flow_option("group", g.id, g.name) for g in tax.groups])
    elif step == "major":
        group = tax.group(d["group"])
        assert group is not None
        lines = [f"{i}) {m.article} {m.text}" for i, m in enumerate(group.major, 1)]
        options = [flow_option("major", m.id, f"{i}) {m.article}") for i, m in enumerate(group.major, 1)]
        options.append(flow_option("major", "none", T("None of these")))
        ctx.ask(
            T(
                "Does it match a major-hazard criterion of {standard}? If so it is level 1.\n{items}",
                standard="建质规〔2024〕5号",
                items=lines,
            ),
            options,
        )
    elif step == "check":
        group = tax.group(d["group"])
        assert group is not None
        options = [flow_option("check", c.index, f"{c.table}·{c.item}") for c in group.checks]
        options.append(flow_option("check", "skip", T("Skip")))
        ctx.ask(T("Which JGJ 59 check item does it break?"), options)
    elif step == "description":
        ctx.say(T("Describe the problem in a sentence."))
    elif step == "location":
        ctx.say(T("Where is it? (for example: building 2, east side, 5th floor) — or send your location."))
    elif step == "level":
        ctx.ask(T("Which level is the hazard?"), [flow_option("level", lvl.value, level_label(lvl)) for lvl in Level])
    elif step == "suggestion":
        ctx.ask(
            T("What must be done? Type the rectification measures, or use the standard wording."),
            [flow_option("suggestion", "std", T("Use the standard wording"))],
        )
    elif step == "deadline":
        level = Level(d["level"])
        options = [
            flow_option("deadline", day.isoformat(), T("{date} ({n} working days)", date=day.isoformat(), n=n))
            for n, day in deadline_choices(level, ctx.today, ctx.calendar, ctx.deadline_days)
        ]
        ctx.ask(T("Deadline for the rectification? Pick one or type a date (YYYY-MM-DD)."), options)
    elif step == "lec":
        if isinstance(d.get("lec"), dict):
            kind = next_factor(d["lec"])
            assert kind is not None
            ask_factor(ctx, kind)
        else:
            ctx.ask(
                T("Score the risk with LEC as well? (optional)"),
                [flow_option("lec", "yes", T("Score with LEC")), flow_option("lec", "skip", T("Skip"))],
            )
    else:
        ctx.send(
            Card(
                T("Check the report"),
                _summary(ctx),
                (flow_option("confirm", "submit", T("Submit")), flow_option("confirm", "cancel", T("Cancel"))),
            )
        )


def _summary(ctx: Context) -> tuple[tuple[Msg, Any], ...]:
    d = ctx.data
    tax = taxonomy()
    group = tax.group(d["group"])
    major = tax.major(d["major"]) if d["major"] != "none" else None
    check = tax.check(d["group"], d["check"]) if d.get("check") is not None else None
    rows: list[tuple[Msg, Any]] = [
        (T("Photos"), str(len(d["photos"]))),
        (T("Category"), group.name if group else d["group"]),
        (T("Level"), level_label(d["level"])),
        (T("Description"), d["description"]),
        (T("Location"), d["location"]),
    ]
    if major or check:
        rows.append((T("Basis"), major.basis if major else check.basis if check else ""))
    rows += [(T("Rectification measures"), d["suggestion"]), (T("Deadline"), d["deadline"])]
    if isinstance(d["lec"], dict):
        r = score(d["lec"]["L"], d["lec"]["E"], d["lec"]["C"])
        rows.append((T("LEC"), T("D = {d} ({band}, {level})", d=f"{r.D:g}", band=r.band, level=r.level_name)))
    return tuple(rows)


def _text(payload: Payload) -> str | None:
    return payload.text.strip() if isinstance(payload, TextIn) else None


def _text_field(ctx: Context, payload: Payload, field: str, max_len: int) -> bool:
    text = _text(payload)
    if text is None:
        ctx.say(T("Please type it as text."))
        return False
    if len(text) < MIN_TEXT:
        ctx.say(T("That is too short; a few words please."))
        return False
    if len(text) > max_len:
        ctx.say(T("That is too long: {n} characters, at most {max}. Please shorten it.", n=len(text), max=max_len))
        return False
    ctx.data[field] = text
    return True


async def _accept(ctx: Context, step: str, payload: Payload) -> bool:
    """Store the answer for `step`; False when it was not an answer (the question is asked again)."""
    d = ctx.data
    tax = taxonomy()
    if step == "project":
        assert ctx.person is not None
        value = flow_choice(payload, "project")
        allowed_ids = {p.id for p in await ctx.services.projects(ctx.person, Action.REPORT_HAZARD)}
        if value is None or not value.isdigit() or int(value) not in allowed_ids:
            return False
        d["project"] = int(value)
    elif step == "photos":
        if flow_choice(payload, "photos") == "done" and d.get("photos"):
            d["photos_done"] = True
        else:
            ctx.say(T("Please send a photo of the hazard."))
            return False
    elif step == "group":
        value = flow_choice(payload, "group")
        if value is None or tax.group(value) is None:
            return False
        d["group"] = value
    elif step == "major":
        value = flow_choice(payload, "major")
        group = tax.group(d["group"])
        if value is None or group is None or (value != "none" and value not in {m.id for m in group.major}):
            return False
        d["major"] = value
        if value != "none":
            d["level"] = 1  # a major hazard is level 1, whatever the caption said
    elif step == "check":
        value = flow_choice(payload, "check")
        if value == "skip":
            d["check"] = None
        elif value is not None and value.isdigit() and tax.check(d["group"], int(value)) is not None:
            d["check"] = int(value)
        else:
            return False
    elif step == "description":
        return _text_field(ctx, payload, "description", MAX_TEXT)
    elif step == "location":
        if isinstance(payload, Location):
            d["location"] = payload.label or f"{payload.latitude:.5f},{payload.longitude:.5f}"
        else:
            return _text_field(ctx, payload, "location", MAX_LOCATION)
    elif step == "level":
        value = flow_choice(payload, "level")
        if value not in {"1", "2", "3", "4"}:
            return False
        d["level"] = int(value)
    elif step == "suggestion":
        if flow_choice(payload, "suggestion") == "std":
            # Stored as written, in the reporter's language: the notice is a record of what was said.
            d["suggestion"] = translate(T(STANDARD_SUGGESTION), ctx.locale)
        else:
            return _text_field(ctx, payload, "suggestion", MAX_TEXT)
    elif step == "deadline":
        value = flow_choice(payload, "deadline")
        text = _text(payload)
        day = None
        if value is not None:
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                day = None
        elif text is not None:
            day = parse_deadline(text, ctx.today)
            if day is None:
                ctx.say(
                    T(
                        "That is not a date I can use. Type a future date like {example}.",
                        example=default_deadline(
                            Level(d["level"]), ctx.today, ctx.calendar, ctx.deadline_days
                        ).isoformat(),
                    )
                )
                return False
        if day is None or day < ctx.today:
            return False
        d["deadline"] = day.isoformat()
    elif step == "lec":
        if isinstance(d.get("lec"), dict):
            kind = next_factor(d["lec"])
            assert kind is not None
            value_f = take_factor(kind, payload)
            if value_f is None:
                return False
            d["lec"][kind] = value_f
            if next_factor(d["lec"]) is None:
                ctx.say(result_message(score(d["lec"]["L"], d["lec"]["E"], d["lec"]["C"])))
        else:
            value = flow_choice(payload, "lec")
            if value == "yes":
                d["lec"] = {}
            elif value == "skip":
                d["lec"] = "skip"
            else:
                return False
    return True


STANDARD_SUGGESTION = N_(
    "Rectify according to the applicable standard at once, and keep people away from the "
    "area until the re-inspection passes."
)


async def submit(ctx: Context) -> None:
    assert ctx.person is not None
    d = ctx.data
    lec = d["lec"]
    draft = HazardDraft(
        project_id=d["project"],
        group_id=d["group"],
        description=d["description"],
        location=d["location"],
        suggestion=d["suggestion"],
        deadline=dt.date.fromisoformat(d["deadline"]),
        level=Level(d["level"]),
        photos=list(d["photos"]),
        major_id=None if d["major"] == "none" else d["major"],
        check_index=d.get("check"),
        lec=(lec["L"], lec["E"], lec["C"]) if isinstance(lec, dict) else None,
    )
    try:
        hazard = await ctx.services.report_hazard(ctx.person, draft)
    except ServiceError as err:
        ctx.refuse(explain(err))
        return
    ctx.finish()
    ctx.send(
        Card(
            T("Hazard {number} reported", number=hazard.number),
            hazard_fields(hazard),
            footer=T("The rectification notice has gone to the responsible people and the project group."),
        )
    )


def _add_photo(ctx: Context, media: StoredMedia) -> bool:
    photos = ctx.data.setdefault("photos", [])
    if len(photos) >= MAX_PHOTOS:
        ctx.say(T("That is enough photos for one hazard (at most {n}).", n=MAX_PHOTOS))
        return False
    if media.sha256 not in photos:
        photos.append(media.sha256)
    return True


async def on_input(ctx: Context, payload: Payload) -> None:
    step = missing(ctx.data)
    if isinstance(payload, StoredMedia):
        _add_photo(ctx, payload)
        if step != "photos":
            ctx.say(T("Photo added ({n} in total).", n=len(ctx.data["photos"])))
        await ask(ctx)
        return
    if step == "confirm":
        value = flow_choice(payload, "confirm")
        if value == "submit":
            await submit(ctx)
            return
        if value == "cancel":
            ctx.finish()
            ctx.say(T("Report cancelled. Nothing was saved."))
            return
        await ask(ctx)
        return
    said = len(ctx.replies)
    if not await _accept(ctx, step, payload) and len(ctx.replies) == said:
        if isinstance(payload, Choice) and not payload.value.startswith(f"f:{step}"):
            ctx.refuse(T("That button belongs to an earlier question."))
        else:
            ctx.say(T("Please pick one of the options."))
    await ask(ctx)


async def resume(ctx: Context) -> None:
    await ask(ctx)


FLOW = flow("report", N_("hazard report"), on_input, resume)


async def _start(ctx: Context, data: dict[str, Any]) -> None:
    assert ctx.person is not None
    if ctx.in_group:
        project = await ctx.services.group_project(ctx.inc.channel, ctx.inc.chat_id)
        if project is not None:
            if not allowed(await ctx.services.roles_in(ctx.person, project.id), Action.REPORT_HAZARD):
                ctx.refuse(T("You do not have permission to do that in this project."))
                return
            data["project"] = project.id
    if "project" not in data:
        projects = await ctx.services.projects(ctx.person, Action.REPORT_HAZARD)
        if not projects:
            ctx.refuse(T("You do not have permission to do that in this project."))
            return
        if len(projects) == 1:
            data["project"] = projects[0].id
    ctx.start("report", data)
    await ask(ctx)


@command("report", help=N_("/report – report a hazard (or just send a photo with a caption)"), starts_flow=True)
async def report(ctx: Context, args: tuple[str, ...]) -> None:
    await _start(ctx, {})


@action("menu:report", starts_flow=True)
async def report_menu(ctx: Context, args: tuple[str, ...]) -> None:
    await _start(ctx, {})


async def quick_path(ctx: Context, media: StoredMedia) -> None:
    """A photo sent outside any flow starts a report; its caption fills what it can."""
    data: dict[str, Any] = {"photos": [media.sha256]}
    if media.caption:
        facts = read_caption(media.caption, taxonomy())
        data["photos_done"] = True  # the expert said what it is: more photos can still be sent at any step
        if facts.description and len(facts.description) >= MIN_TEXT:
            data["description"] = facts.description[:MAX_TEXT]
        if facts.group_id:
            data["group"] = facts.group_id
        if facts.level is not None:
            data["level"] = int(facts.level)
        if facts.location:
            data["location"] = facts.location[:MAX_LOCATION]
    await _start(ctx, data)


__all__ = ["LEVEL_NAMES", "quick_path"]
