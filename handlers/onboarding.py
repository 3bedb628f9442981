"""Joining (invite codes), binding a group chat to a project, language, help and the main menu."""

from __future__ import annotations

import re
from typing import Any

from bot.domain.roles import Role
from bot.i18n import N_, T
from bot.messages import Button, Msg, Option
from handlers import hazard_report, lec, queries
from handlers.context import Anyone, Context, Known
from handlers.registry import COMMANDS, command, public_action, public_command

ROLE_NAMES: dict[str, str] = {
    Role.PROJECT_MANAGER: N_("project manager"),
    Role.SAFETY_OFFICER: N_("safety officer"),
    Role.WORKER: N_("worker"),
    Role.SUPERVISION_ENGINEER: N_("supervision engineer"),
    Role.OWNER_REP: N_("owner's representative"),
    Role.INSURER: N_("insurer"),
    Role.AGENCY_ADMIN: N_("service agency manager"),
    Role.EXPERT: N_("service expert"),
    Role.AUTHORITY: N_("construction authority"),
    Role.ASSOCIATION: N_("association"),
}
CODE = re.compile(r"^[A-Za-z0-9]{6,16}$")
LANGUAGE = Button("lang")  # lang:zh_CN | lang:en
LANGUAGE_MENU = Button("menu:lang")


def looks_like_code(text: str) -> bool:
    return bool(CODE.match(text.strip()))


def menu_options() -> list[Option]:
    return [
        hazard_report.MENU.option(T("Report a hazard")),
        queries.MENU.option(T("Open hazards")),
        lec.MENU.option(T("LEC risk score")),
        LANGUAGE_MENU.option(T("Language")),
    ]


def show_menu(ctx: Context[Any], prompt: Msg | None = None) -> None:
    ctx.ask(prompt or T("What would you like to do?"), menu_options())


async def redeem(ctx: Anyone, code: str) -> None:
    joined = await ctx.attempt(
        ctx.services.people.redeem_invite(ctx.inc.channel, ctx.inc.user_id, ctx.inc.chat_id, code)
    )
    if joined is None:
        return
    person, project, role = joined
    ctx.person = person
    if person.locale:
        ctx.locale = person.locale
    ctx.say(
        T(
            "Welcome, {name}. You are now {role} in {project}.",
            name=person.name,
            role=T(ROLE_NAMES[role]),
            project=project.name,
        )
    )
    show_menu(ctx)


@public_command("start", help=N_("/start – begin, or join with an invite code"))
async def start(ctx: Anyone, args: tuple[str, ...]) -> None:
    if args:
        await redeem(ctx, args[0])
        return
    if ctx.person is None:
        ctx.say(
            T(
                "Welcome to anzebot, the safety-insurance service assistant. Please send the invite code "
                "you received from your administrator."
            )
        )
        return
    show_menu(ctx, T("Hello, {name}. What would you like to do?", name=ctx.person.name))


async def unbound_text(ctx: Anyone, text: str) -> None:
    """Someone not yet known writes: a code is tried, anything else gets the way in."""
    if ctx.in_group:
        ctx.say(T("Please talk to me in a private chat first and send your invite code there."))
    elif looks_like_code(text):
        await redeem(ctx, text.strip())
    else:
        ctx.say(T("I do not know you yet. Please send the invite code you received from your administrator."))


@command("bind", help=N_("/bind <code> – link this group chat to its project"))
async def bind(ctx: Known, args: tuple[str, ...]) -> None:
    if not ctx.in_group:
        ctx.say(T("/bind works in a project group chat: add me to the group and send /bind <code> there."))
        return
    if not args:
        ctx.say(T("Send /bind followed by the group code, for example: /bind ABCD2345"))
        return
    project = await ctx.attempt(
        ctx.services.people.bind_group(ctx.person, ctx.inc.channel, ctx.inc.chat_id, args[0], None)
    )
    if project is not None:
        ctx.say(T("This group is now linked to {project}. Project notices will be posted here.", project=project.name))


@public_command("lang", help=N_("/lang – choose your language"))
async def lang(ctx: Anyone, args: tuple[str, ...]) -> None:
    ctx.ask(T("Choose your language"), [LANGUAGE.option("中文", "zh_CN"), LANGUAGE.option("English", "en")])


@public_action(LANGUAGE_MENU)
async def lang_menu(ctx: Anyone, args: tuple[str, ...]) -> None:
    await lang(ctx, ())


@public_action(LANGUAGE)
async def set_lang(ctx: Anyone, args: tuple[str, ...]) -> None:
    locale = args[0] if args and args[0] in ("zh_CN", "en") else None
    if locale is None:
        ctx.refuse(T("That button is no longer valid."))
        return
    if ctx.person is not None:
        await ctx.services.people.set_locale(ctx.person, locale)
    ctx.locale = locale
    ctx.say(T("Language set to English."))


@public_command("help", help=N_("/help – what I can do"))
async def help_(ctx: Anyone, args: tuple[str, ...]) -> None:
    lines = [T(spec.help) for spec in COMMANDS.values() if spec.help and (ctx.person or not spec.needs_person)]
    ctx.say(T("Commands:\n{lines}", lines=lines))
    if ctx.person is not None:
        show_menu(ctx)


@command("whoami", help=N_("/whoami – who I think you are, and your projects"), private=True)
async def whoami(ctx: Known, args: tuple[str, ...]) -> None:
    projects = await ctx.services.people.projects(ctx.person)
    names = "、".join(p.name for p in projects) or "—"
    ctx.say(
        T("You are {name} ({org}). Projects: {projects}", name=ctx.person.name, org=ctx.person.org_name, projects=names)
    )


QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\s*[-–~]\s*([01]\d|2[0-3]):([0-5]\d)$")


@command(
    "quiet",
    help=N_("/quiet 22:00-07:00 – no non-urgent reminders in these hours (/quiet default to reset)"),
    private=True,
)
async def quiet(ctx: Known, args: tuple[str, ...]) -> None:
    text = " ".join(args).strip()
    if text.lower() in ("default", "默认"):
        await ctx.services.people.set_quiet_hours(ctx.person, None, None)
        ctx.say(T("Quiet hours reset to the default."))
        return
    m = QUIET.match(text)
    if not m:
        ctx.say(
            T(
                "Send the hours like this: /quiet 22:00-07:00 (or /quiet default). Level-1 hazards reach you at "
                "any time."
            )
        )
        return
    start, end = f"{m.group(1)}:{m.group(2)}", f"{m.group(3)}:{m.group(4)}"
    await ctx.services.people.set_quiet_hours(ctx.person, start, end)
    ctx.say(
        T("No non-urgent reminders between {start} and {end}; they come in your next digest.", start=start, end=end)
    )
