"""回访 rules (003 §6.3, 004 附件5): when the insured is asked, asked again and phoned; what each answer about a
hazard does; how satisfaction is rated."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.workdays import WorkCalendar

ASK_AFTER = 3  # working days after the visit closes (default; always inside the limit)
REASK_AFTER = 2  # working days without an answer before asking once more
LIMIT = 10  # working days: the revisit must be done by then (the rules file: visits.revisit_working_days)
RATINGS = ("good", "fair", "poor")  # 好 / 中 / 差: service attitude, technical level
CLOSURE = ("done", "not_done")  # 已完成 / 未完成
OVERALL = ("very", "satisfied", "neutral", "dissatisfied")  # 非常满意 / 基本满意 / 一般 / 不满意
SATISFIED = frozenset({"very", "satisfied"})


class HazardAnswer(StrEnum):
    FIXED = "fixed"
    PARTLY = "partly"
    NOT_FIXED = "not_fixed"
    DISAGREE = "disagree"


REOPENS = frozenset({HazardAnswer.PARTLY, HazardAnswer.NOT_FIXED})  # back to rectifying + a re-inspection


@dataclass(frozen=True)
class Schedule:
    ask_on: dt.date
    reask_on: dt.date
    phone_on: dt.date  # no answer by then: the agency calls
    limit_on: dt.date


def schedule(service_on: dt.date, cal: WorkCalendar, ask_after: int = ASK_AFTER, limit: int = LIMIT) -> Schedule:
    """Ask `ask_after` working days after the service, again `REASK_AFTER` later, and hand it to the agency's
    phone with time to spare before the limit (`limit` working days after the service); every date stays inside
    the limit."""
    limit_on = cal.add_working_days(service_on, limit)
    ask_on = min(cal.add_working_days(service_on, max(1, min(ask_after, limit))), limit_on)
    return Schedule(ask_on, *follow_ups(ask_on, limit_on, cal), limit_on)


def follow_ups(ask_on: dt.date, limit_on: dt.date, cal: WorkCalendar) -> tuple[dt.date, dt.date]:
    """(ask again on, hand to the phone on), never after the limit."""
    reask_on = min(cal.add_working_days(ask_on, REASK_AFTER), limit_on)
    return reask_on, min(cal.add_working_days(reask_on, REASK_AFTER), limit_on)


def satisfaction_rate(overall_answers: list[str]) -> float | None:
    """Share of answers that are 非常满意 or 基本满意; None without answers."""
    if not overall_answers:
        return None
    return sum(1 for a in overall_answers if a in SATISFIED) / len(overall_answers)


def parse_period(text: str | None, today: dt.date) -> tuple[dt.date, dt.date, str] | None:
    """ "2026" or "2026Q4" (also "2026-q4"); nothing: this year. (first day, last day, label), or None."""
    raw = (text or str(today.year)).strip().upper().replace("-", "")
    if raw.isdigit() and len(raw) == 4:
        year = int(raw)
        return dt.date(year, 1, 1), dt.date(year, 12, 31), raw
    if len(raw) == 6 and raw[:4].isdigit() and raw[4] == "Q" and raw[5] in "1234":
        year, q = int(raw[:4]), int(raw[5])
        start = dt.date(year, 3 * q - 2, 1)
        end = dt.date(year + (q == 4), (3 * q) % 12 + 1, 1) - dt.timedelta(days=1)
        return start, end, f"{year}Q{q}"
    return None
