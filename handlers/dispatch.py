"""One incoming message → the right command, button action or flow step."""

from __future__ import annotations

import importlib
import pkgutil

import handlers
from bot.i18n import N_, T
from bot.messages import Choice, Command, Location, Media, Option, StoredMedia, TextIn
from handlers import hazard_report, onboarding
from handlers.context import Anyone, known
from handlers.registry import ACTIONS, COMMANDS, FLOWS, NOT_KNOWN, CommandSpec, public_command

# Every module of this package registers its commands, buttons and flows as it is imported: a new flow is a new
# module here, and nothing else needs to list it.
for _module in pkgutil.iter_modules(handlers.__path__):
    importlib.import_module(f"handlers.{_module.name}")

BUSY_CONTINUE, BUSY_CANCEL = "busy:continue", "busy:cancel"


async def _run(ctx: Anyone, spec: CommandSpec, args: tuple[str, ...]) -> None:
    if spec.needs_person and ctx.person is None:
        ctx.refuse(T(NOT_KNOWN))
        return
    if spec.private and ctx.in_group:
        ctx.refuse(T("Please do this in a private chat with me."))
        return
    if spec.starts_flow and ctx.flow is not None:
        # Never drop a half-finished flow silently: the person chooses.
        title = FLOWS[ctx.flow].title
        ctx.ask(
            T("You have an unfinished {flow}. Continue it, or cancel it first?", flow=T(title)),
            [Option(BUSY_CONTINUE, T("Continue")), Option(BUSY_CANCEL, T("Cancel it"))],
        )
        return
    await spec.fn(ctx, args)


async def cancel(ctx: Anyone) -> None:
    if ctx.flow is None:
        ctx.say(T("Nothing to cancel."))
        return
    title = FLOWS[ctx.flow].title
    ctx.finish()
    ctx.say(T("Cancelled the {flow}. Nothing was saved.", flow=T(title)))


@public_command("cancel", help=N_("/cancel – stop what you are doing"))
async def cancel_command(ctx: Anyone, args: tuple[str, ...]) -> None:
    await cancel(ctx)


async def dispatch(ctx: Anyone) -> None:
    payload = ctx.inc.payload
    if isinstance(payload, Command):
        name = payload.name.lower()
        spec = COMMANDS.get(name)
        if spec is None:
            ctx.say(T("I do not know the command /{name}. Send /help to see what I can do.", name=name[:30]))
            return
        await _run(ctx, spec, payload.args)
        return

    if isinstance(payload, Choice):
        value = payload.value
        if value.startswith("f:"):
            if ctx.flow is None:
                ctx.refuse(T("That button belongs to a conversation that has ended. Send /help to start again."))
                return
            await FLOWS[ctx.flow].on_input(ctx, payload)
            return
        if value == BUSY_CONTINUE:
            if ctx.flow is not None:
                await FLOWS[ctx.flow].resume(ctx)
            return
        if value == BUSY_CANCEL:
            await cancel(ctx)
            return
        prefix, _, rest = value.partition(":")
        spec = ACTIONS.get(value) or ACTIONS.get(prefix)
        if spec is None:
            ctx.refuse(T("That button is no longer valid."))
            return
        args = () if value in ACTIONS else tuple(rest.split(":"))
        await _run(ctx, spec, args)
        return

    if ctx.flow is not None:
        await FLOWS[ctx.flow].on_input(ctx, payload)
        return

    if not known(ctx):
        if isinstance(payload, TextIn):
            await onboarding.unbound_text(ctx, payload.text)
        else:
            ctx.say(T(NOT_KNOWN))
        return

    if isinstance(payload, StoredMedia):
        await hazard_report.quick_path(ctx, payload)
    elif isinstance(payload, Media | Location):
        ctx.say(T("Send a photo to start a hazard report, or choose below."))
        onboarding.show_menu(ctx)
    elif ctx.in_group:
        return  # ordinary group talk is not for the bot
    else:
        onboarding.show_menu(ctx)
