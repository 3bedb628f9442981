"""The operator's calendar file (ANZEBOT_CALENDAR_FILE) for years the chinese-calendar package has no data for.

Format (JSON): {"years": [2027], "holidays": ["2027-01-01", …], "workdays": ["2027-02-07", …]} — `years` lists the
years the file fully describes (for those, weekends count as days off unless listed in `workdays`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from bot.domain.workdays import WorkCalendar, calendar_from_lists

log = logging.getLogger(__name__)


class CalendarFileError(ValueError):
    pass


def load(path: Path | None) -> WorkCalendar:
    if path is None:
        cal = WorkCalendar()
    else:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            cal = calendar_from_lists(
                (dt.date.fromisoformat(d) for d in raw.get("holidays", [])),
                (dt.date.fromisoformat(d) for d in raw.get("workdays", [])),
                (int(y) for y in raw.get("years", [])),
            )
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise CalendarFileError(f"calendar file {path}: {exc}") from exc
    this_year = dt.date.today().year
    for year in (this_year, this_year + 1):
        if not cal.has_official_data(year) and year not in cal.operator_years:
            log.warning(
                "no official holiday data for %s: Monday–Friday is used until ANZEBOT_CALENDAR_FILE "
                "lists that year's holidays and working weekends",
                year,
            )
    return cal
