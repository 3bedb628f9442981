"""Wording shared by several areas' notices."""

from __future__ import annotations

from bot.i18n import T
from bot.messages import Msg


def late_mark(late: bool) -> Msg | str:
    """The " · OVERDUE" after a due date, or nothing."""
    return T(" · OVERDUE") if late else ""


def photo_missing() -> Msg:
    """Where a stored photo cannot be read any more: the message goes out with this in its place."""
    return T("(photo missing)")
