"""The risk register (风险辨识清单: 000 §14(二)1; 001 §二(一); 004 附件4 三2): per project and construction stage,
the risks of each dangerous work, scored with LEC; refreshed every quarter and whenever the stage changes; the
level-1/2 risk sources (LEC ranks 1–2) all checked each quarter. Pure: given the register's dates, what it owes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.domain.obligations import Obligation, quarter_end, quarters
from bot.domain.workdays import WorkCalendar

# GB 6441 accident types that building sites meet most (the register's 风险类型).
ACCIDENT_TYPES = ("collapse", "fall", "struck", "lifting", "electric", "machinery", "fire", "asphyxia", "vehicle")
STAGES = ("基础施工", "主体结构", "装饰装修", "竣工收尾")  # the usual stages; any other name may be typed
SOURCE_RANKS = frozenset({1, 2})  # LEC ranks 1 (major) and 2 (large): the level-1/2 risk sources


@dataclass(frozen=True)
class Source:
    """A level-1/2 risk source of the register: when it was entered and the days it was checked."""

    entered_on: dt.date
    checked_on: tuple[dt.date, ...]


def register_obligations(
    policy_start: dt.date,
    policy_end: dt.date,
    entered: Iterable[dt.date],
    sources: Sequence[Source],
    stage_changed_on: dt.date | None,
    cal: WorkCalendar,
    stage_refresh_working_days: int,
    warning_days: int,
) -> list[Obligation]:
    """Each quarter of the policy: the register refreshed (an entry made in it) and every level-1/2 source that
    stood by the quarter's end checked inside it (100 %, 001 §二(一)); after a stage change, the register
    refreshed within `stage_refresh_working_days`."""
    days = sorted(entered)
    out: list[Obligation] = []
    for year, q in quarters(policy_start, policy_end):
        q_start, q_end = max(dt.date(year, 3 * q - 2, 1), policy_start), min(quarter_end(year, q), policy_end)
        warn = q_end - dt.timedelta(days=warning_days)
        made = [d for d in days if q_start <= d <= q_end]
        out.append(Obligation(f"risks-{year}Q{q}", q_end, made[0] if made else None, warn, q_start))
        standing = [s for s in sources if s.entered_on <= q_end]
        if standing:
            checked = [min((d for d in s.checked_on if q_start <= d <= q_end), default=None) for s in standing]
            done = max(d for d in checked if d is not None) if all(d is not None for d in checked) else None
            out.append(Obligation(f"sources-{year}Q{q}", q_end, done, warn, q_start))
    if stage_changed_on is not None and policy_start <= stage_changed_on <= policy_end:
        due = cal.add_working_days(stage_changed_on, stage_refresh_working_days)
        made = [d for d in days if d >= stage_changed_on]
        out.append(Obligation("risks-stage", due, made[0] if made else None, stage_changed_on, stage_changed_on))
    return out
