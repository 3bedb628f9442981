"""What a handler gets for one incoming message: who is speaking, their conversation state, the services,
and a place to put replies. Replies are rendered later, in the person's language, by the outbox."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.levels import Level
from bot.domain.workdays import WorkCalendar
from bot.i18n import T
from bot.messages import ChatKind, Choice, Choices, Incoming, Item, Msg, Option, Text, Toast
from bot.ports import PersonInfo, Services


@dataclass
class Context:
    inc: Incoming
    person: PersonInfo | None
    locale: str
    services: Services
    flow: str | None
    data: dict[str, Any]
    today: dt.date
    calendar: WorkCalendar
    deadline_days: dict[Level, int]
    tz: ZoneInfo
    replies: list[Item] = field(default_factory=list)

    @property
    def in_group(self) -> bool:
        return self.inc.chat_kind == ChatKind.GROUP

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


def flow_option(step: str, value: object, label: Any) -> Option:
    """A button that answers the current flow's `step` (value `f:<step>:<value>`)."""
    return Option(f"f:{step}:{value}", label)


def flow_choice(payload: Any, step: str) -> str | None:
    """The value of a pressed `flow_option` of `step`; None for anything else."""
    if isinstance(payload, Choice) and payload.value.startswith(f"f:{step}:"):
        return payload.value[len(step) + 3 :]
    return None


def button_id(ctx: Context, args: tuple[str, ...]) -> int | None:
    """The number a button carries (`prefix:<id>`); None, after telling the person, when it is not one."""
    if not args or not args[0].isdigit():
        ctx.refuse(T("That button is no longer valid."))
        return None
    return int(args[0])
