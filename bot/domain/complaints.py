"""投诉与异议 (003 §6.4.2, 004 §6.4): what a complaint is about, its working-day deadlines, the one extension,
and the three parts an answer must state."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from bot.domain.workdays import WorkCalendar

ANSWER_DAYS = 10  # working days to answer
CHECK_DAYS = 30  # when the facts need checking
MAX_EXTENSION = 30  # one extension, at most this many working days, with a reason told to the complainant
ANSWER_PARTS = ("request", "facts", "measures")  # 诉求、查明的事实及依据、处理措施


class About(StrEnum):
    SERVICE = "service"
    EXPERT = "expert"
    DECISION = "decision"


def due_on(filed_on: dt.date, cal: WorkCalendar, needs_check: bool = False) -> dt.date:
    return cal.add_working_days(filed_on, CHECK_DAYS if needs_check else ANSWER_DAYS)


def extended(due: dt.date, days: int, cal: WorkCalendar) -> dt.date:
    if not 1 <= days <= MAX_EXTENSION:
        raise ValueError(f"an extension is 1 to {MAX_EXTENSION} working days")
    return cal.add_working_days(due, days)
