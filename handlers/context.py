"""What a handler gets for one incoming message: who is speaking, their conversation state, the services,
and a place to put replies. Replies are rendered later, in the person's language, by the outbox.

`Context[PersonInfo]` (`Known`) is what a handler registered with `needs_person` gets: its person is never None.
`Anyone` is the context of handlers that also serve people not yet known (joining, /help, /lang, /lec)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeGuard, TypeVar

from bot.domain.deployment import Deployment, Timed
from bot.domain.levels import Level
from bot.domain.numbering import parse_id
from bot.i18n import T
from bot.messages import ChatKind, Choice, Choices, Incoming, Item, Msg, Option, Text, Toast
from bot.ports import PersonInfo, ProjectInfo, ServiceError, Services
from handlers.errors import explain

P = TypeVar("P", PersonInfo, PersonInfo | None)
R = TypeVar("R")


@dataclass
class Context(Timed, Generic[P]):
    inc: Incoming
    person: P
    locale: str
    services: Services
    flow: str | None
    data: dict[str, Any]
    now: dt.datetime
    setup: Deployment
    channel_names: Mapping[str, str] = field(default_factory=dict)  # channel → its display name (message id)
    group: ProjectInfo | None = None  # in a group chat: the project it is bound to (answers cover only that)
    replies: list[Item] = field(default_factory=list)

    @property
    def in_group(self) -> bool:
        return self.inc.chat_kind == ChatKind.GROUP

    @property
    def deadline_days(self) -> Mapping[Level, int]:
        return self.setup.deadline_days

    def say(self, msg: Msg) -> None:
        self.replies.append(Text(msg))

    def refuse(self, msg: Msg) -> None:
        """A refusal: to a button press it is a pop-up where the channel has one, else an ordinary reply."""
        self.replies.append(Toast(msg) if isinstance(self.inc.payload, Choice) else Text(msg))

    def ask(self, prompt: Msg, options: list[Option] | tuple[Option, ...]) -> None:
        self.replies.append(Choices(prompt, tuple(options)))

    def send(self, *items: Item) -> None:
        self.replies.extend(items)

    def start(self, flow: str, data: dict[str, Any] | None = None) -> None:
        self.flow = flow
        self.data = dict(data or {})

    def finish(self) -> None:
        self.flow = None
        self.data = {}

    async def attempt(self, call: Awaitable[R], *, end_flow: bool = False, instead: Msg | None = None) -> R | None:
        """The service's answer, or None after telling the person why it refused (or `instead`, whatever the
        reason). `end_flow`: a refusal also ends the conversation (the reason is then a message that stays)."""
        try:
            return await call
        except ServiceError as err:
            reason = instead or explain(err)
            if end_flow:
                self.finish()
                self.say(reason)
            else:
                self.refuse(reason)
            return None

    def button_id(self, args: tuple[str, ...]) -> int | None:
        """The id a button carries (`prefix:<id>`); None, after telling the person, when it is not one."""
        value = parse_id(args[0]) if args else None
        if value is None:
            self.refuse(T("That button is no longer valid."))
        return value


Known = Context[PersonInfo]
Anyone = Context[PersonInfo | None]


def known(ctx: Anyone) -> TypeGuard[Known]:
    return ctx.person is not None


def flow_option(step: str, value: object, label: Any) -> Option:
    """A button that answers the current flow's `step` (value `f:<step>:<value>`)."""
    return Option(f"f:{step}:{value}", label)


def flow_choice(payload: Any, step: str) -> str | None:
    """The value of a pressed `flow_option` of `step`; None for anything else."""
    if isinstance(payload, Choice) and payload.value.startswith(f"f:{step}:"):
        return payload.value[len(step) + 3 :]
    return None
