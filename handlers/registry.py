"""Commands, button actions and multi-step flows, registered by the flow modules and dispatched on stable
values (command names, button values) — never on translated labels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.i18n import N_, T
from bot.messages import Button, Payload
from handlers.context import Anyone, Known, known

Args = tuple[str, ...]
KnownFn = Callable[[Known, Args], Awaitable[None]]
AnyFn = Callable[[Anyone, Args], Awaitable[None]]
InputFn = Callable[[Known, Payload], Awaitable[None]]
ResumeFn = Callable[[Known], Awaitable[None]]
AnyInputFn = Callable[[Anyone, Payload], Awaitable[None]]
AnyResumeFn = Callable[[Anyone], Awaitable[None]]

NOT_KNOWN = N_("I do not know you yet. Please send the invite code you received from your administrator.")


@dataclass(frozen=True)
class CommandSpec:
    name: str
    fn: AnyFn
    help: str | None  # message id for /help, None for hidden commands
    starts_flow: bool
    needs_person: bool
    private: bool = False  # answers about a person's own projects: never in a group chat


@dataclass(frozen=True)
class FlowSpec:
    name: str
    title: str  # message id
    on_input: AnyInputFn
    resume: AnyResumeFn
    needs_person: bool = True


COMMANDS: dict[str, CommandSpec] = {}
ACTIONS: dict[str, CommandSpec] = {}
FLOWS: dict[str, FlowSpec] = {}


def _for_known(fn: KnownFn) -> AnyFn:
    """The dispatcher refuses unknown people before a `needs_person` handler runs; this narrows the type."""

    async def run(ctx: Anyone, args: Args) -> None:
        if known(ctx):
            await fn(ctx, args)
        else:
            ctx.refuse(T(NOT_KNOWN))

    return run


def _register(table: dict[str, CommandSpec], spec: CommandSpec, what: str) -> None:
    if spec.name in table:  # two modules answering one command or button would be a silent bug
        raise ValueError(f"{what} {spec.name!r} is taken by {table[spec.name].fn.__module__}")
    table[spec.name] = spec


def command(
    name: str, *, help: str | None = None, starts_flow: bool = False, private: bool = False
) -> Callable[[KnownFn], KnownFn]:
    """A command of people who have joined (the dispatcher answers anyone else with the way in). `private`: its
    answer is about the person's own projects, so in a group chat it is refused with "ask me in private"."""

    def deco(fn: KnownFn) -> KnownFn:
        _register(COMMANDS, CommandSpec(name, _for_known(fn), help, starts_flow, True, private), "command /")
        return fn

    return deco


def public_command(name: str, *, help: str | None = None, starts_flow: bool = False) -> Callable[[AnyFn], AnyFn]:
    """A command anyone may send, joined or not (/start, /help, /lang, /lec, /cancel)."""

    def deco(fn: AnyFn) -> AnyFn:
        _register(COMMANDS, CommandSpec(name, fn, help, starts_flow, False), "command /")
        return fn

    return deco


def action(button: Button, *, starts_flow: bool = False, private: bool = False) -> Callable[[KnownFn], KnownFn]:
    """The handler of a button `prefix:arg1:arg2…` pressed outside any flow (notice buttons, menus)."""

    def deco(fn: KnownFn) -> KnownFn:
        spec = CommandSpec(button.prefix, _for_known(fn), None, starts_flow, True, private)
        _register(ACTIONS, spec, "button prefix")
        return fn

    return deco


def public_action(button: Button, *, starts_flow: bool = False) -> Callable[[AnyFn], AnyFn]:
    def deco(fn: AnyFn) -> AnyFn:
        _register(ACTIONS, CommandSpec(button.prefix, fn, None, starts_flow, False), "button prefix")
        return fn

    return deco


def flow(name: str, title: str, on_input: InputFn, resume: ResumeFn) -> FlowSpec:
    """A conversation of a known person."""

    async def take(ctx: Anyone, payload: Payload) -> None:
        if known(ctx):
            await on_input(ctx, payload)
        else:
            ctx.finish()
            ctx.refuse(T(NOT_KNOWN))

    async def again(ctx: Anyone) -> None:
        if known(ctx):
            await resume(ctx)

    return _flow(FlowSpec(name, title, take, again))


def open_flow(name: str, title: str, on_input: AnyInputFn, resume: AnyResumeFn) -> FlowSpec:
    """A conversation anyone may have (the LEC calculator)."""
    return _flow(FlowSpec(name, title, on_input, resume, needs_person=False))


def _flow(spec: FlowSpec) -> FlowSpec:
    if spec.name in FLOWS:
        raise ValueError(f"flow {spec.name!r} is registered twice")
    FLOWS[spec.name] = spec
    return spec
