"""投诉与异议 (003 §6.4.2, 004 §6.4): what a complaint is about, its working-day deadlines, the one extension (at
most 30 calendar days, agreed by the agency's complaint officer or by the complainant: the rules file chooses), and
the three parts an answer must state."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from bot.domain.rules import Complaints as Limits
from bot.domain.workdays import WorkCalendar

ANSWER_PARTS = ("request", "facts", "measures")  # 诉求、查明的事实及依据、处理措施
SEEDS = Limits()


class About(StrEnum):
    SERVICE = "service"
    EXPERT = "expert"
    DECISION = "decision"


def due_on(filed_on: dt.date, cal: WorkCalendar, needs_check: bool = False, limits: Limits = SEEDS) -> dt.date:
    return cal.add_working_days(filed_on, limits.check_working_days if needs_check else limits.answer_working_days)


def extended(due: dt.date, days: int, limits: Limits = SEEDS) -> dt.date:
    """The new due date: `days` calendar days later ("延长期限不得超过30日" counts days, not working days)."""
    if not 1 <= days <= limits.max_extension_days:
        raise ValueError(f"an extension is 1 to {limits.max_extension_days} days")
    return due + dt.timedelta(days=days)
