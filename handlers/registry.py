"""Commands, button actions and multi-step flows, registered by the flow modules and dispatched on stable
values (command names, button values) — never on translated labels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.messages import Payload
from handlers.context import Context

CommandFn = Callable[[Context, tuple[str, ...]], Awaitable[None]]
InputFn = Callable[[Context, Payload], Awaitable[None]]
ResumeFn = Callable[[Context], Awaitable[None]]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    fn: CommandFn
    help: str | None  # message id for /help, None for hidden commands
    starts_flow: bool
    needs_person: bool


@dataclass(frozen=True)
class FlowSpec:
    name: str
    title: str  # message id
    on_input: InputFn
    resume: ResumeFn


COMMANDS: dict[str, CommandSpec] = {}
ACTIONS: dict[str, CommandSpec] = {}
FLOWS: dict[str, FlowSpec] = {}


def command(
    name: str, *, help: str | None = None, starts_flow: bool = False, needs_person: bool = True
) -> Callable[[CommandFn], CommandFn]:
    def deco(fn: CommandFn) -> CommandFn:
        if name in COMMANDS:
            raise ValueError(f"command /{name} is taken by {COMMANDS[name].fn.__module__}")
        COMMANDS[name] = CommandSpec(name, fn, help, starts_flow, needs_person)
        return fn

    return deco


def action(prefix: str, *, starts_flow: bool = False, needs_person: bool = True) -> Callable[[CommandFn], CommandFn]:
    """A button value `prefix:arg1:arg2…` handled outside any flow (notice buttons, menus)."""

    def deco(fn: CommandFn) -> CommandFn:
        if prefix in ACTIONS:  # two flows answering one button would be a silent bug
            raise ValueError(f"button prefix {prefix!r} is taken by {ACTIONS[prefix].fn.__module__}")
        ACTIONS[prefix] = CommandSpec(prefix, fn, None, starts_flow, needs_person)
        return fn

    return deco


def flow(name: str, title: str, on_input: InputFn, resume: ResumeFn) -> FlowSpec:
    spec = FlowSpec(name, title, on_input, resume)
    FLOWS[name] = spec
    return spec
