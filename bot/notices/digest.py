"""The daily digest: one message per person with the day's non-urgent reminders."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import T
from bot.messages import Choices

MAX_BUTTONS = 10


def digest(entries: Sequence[Choices]) -> Choices:
    """The entries' lines under one heading, with their buttons (each once, the first ten)."""
    options = tuple(dict.fromkeys(o for e in entries for o in e.options))[:MAX_BUTTONS]
    return Choices(T("Reminders for today ({n}):\n{lines}", n=len(entries), lines=[e.prompt for e in entries]), options)
