"""APScheduler 3 as a clock only: jobs carry explicit ids and `replace_existing=True`, hold no live objects
in the job store, and every job does its real work through the database (idempotent outbox rows)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

OUTBOX_SWEEP = "outbox-sweep"


def build(tz: ZoneInfo, outbox_sweep: Callable[[], Awaitable[object]], sweep_seconds: int = 30) -> AsyncIOScheduler:
    """The outbox sweep is the safety net behind the dispatcher's own wake-ups: it releases rows whose sender
    died mid-send and sends anything that came due (retries after back-off)."""
    scheduler = AsyncIOScheduler(
        timezone=tz, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    )
    scheduler.add_job(outbox_sweep, IntervalTrigger(seconds=sweep_seconds), id=OUTBOX_SWEEP, replace_existing=True)
    return scheduler
