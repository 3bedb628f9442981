"""培训与演练 rules (000 §8 §14, 003 §4.1, 004 §5a): kinds of session, drills, the sign-in window, hours."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

# The targets (hours, drills, project trainings and the kinds that count) are the deployment's rules:
# bot/domain/rules.py, section `training`.
SIGN_IN_EARLY = dt.timedelta(minutes=30)  # the window opens before the start and closes at the end
REMIND_BEFORE = (("day", dt.timedelta(days=1)), ("2h", dt.timedelta(hours=2)))


class Kind(StrEnum):
    CITYWIDE = "citywide"  # city-wide, quarterly
    CUSTOM = "custom"  # for one project (≥2 a year for high-risk projects)
    PRESTART = "prestart"  # pre-start briefing
    SEASONAL = "seasonal"
    DRILL = "drill"  # at least yearly per project


class Drill(StrEnum):
    COLLAPSE = "collapse"
    FIRE = "fire"
    ELECTRIC = "electric"
    CRANE = "crane"
    FALL = "fall"


def hours(starts_at: dt.datetime, ends_at: dt.datetime) -> float:
    return round((ends_at - starts_at).total_seconds() / 3600, 2)


def sign_in_state(now: dt.datetime, starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    """early | open | closed."""
    if now < starts_at - SIGN_IN_EARLY:
        return "early"
    return "open" if now <= ends_at else "closed"
