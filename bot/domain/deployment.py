"""What one deployment configures: its time zone and working-day calendar, hazard numbering, its rules (the
rules file: rectification periods, the escalation chain, every threshold of the seeds), the default quiet hours,
and how fast each channel sends (for the broadcast estimate). Built once from the settings; every service turn
and every sweep reads it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

from bot.domain.escalation import ChainStep, chain_of
from bot.domain.levels import Level
from bot.domain.rules import Rules
from bot.domain.workdays import WorkCalendar


def parse_hhmm(value: str) -> dt.time:
    """ "08:30" → 08:30; ValueError for anything else."""
    hour, _, minute = value.strip().partition(":")
    if not (hour.isascii() and hour.isdigit() and minute.isascii() and minute.isdigit()):
        raise ValueError(f"{value!r} is not a time HH:MM")
    return dt.time(int(hour), int(minute))


@dataclass(frozen=True)
class QuietHours:
    """No non-urgent reminders from `start` to `end` (across midnight when start > end)."""

    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, value: str) -> QuietHours:
        """ "21:00-08:00" → QuietHours(21:00, 08:00); the one parser of the setting and of a person's own hours."""
        start, sep, end = value.partition("-")
        if not sep:
            raise ValueError(f"{value!r} is not a range HH:MM-HH:MM")
        return cls(parse_hhmm(start), parse_hhmm(end))

    def of(self, start: str | None, end: str | None) -> QuietHours:
        """A person's own hours where they set them, these otherwise."""
        return QuietHours(parse_hhmm(start), parse_hhmm(end)) if start and end else self


@dataclass(frozen=True)
class Deployment:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    prefix: str = "XC"
    rules: Rules = field(default_factory=Rules)
    quiet: QuietHours = QuietHours(dt.time(21, 0), dt.time(8, 0))
    send_rates: Mapping[str, float] = field(default_factory=dict)  # messages per second each channel sends

    @cached_property
    def deadline_days(self) -> Mapping[Level, int]:
        return self.rules.deadline_days()

    @cached_property
    def chain(self) -> tuple[ChainStep, ...]:
        return chain_of(self.rules.escalation)

    def today(self, now: dt.datetime) -> dt.date:
        """The local day: "same day" and every deadline are local days."""
        return now.astimezone(self.tz).date()


class Timed:
    """Something that happens at `now` under a deployment's rules (a service turn, a handler's context): its
    local day, zone and working-day calendar."""

    now: dt.datetime
    setup: Deployment

    @property
    def today(self) -> dt.date:
        return self.setup.today(self.now)

    @property
    def tz(self) -> ZoneInfo:
        return self.setup.tz

    @property
    def calendar(self) -> WorkCalendar:
        return self.setup.calendar
