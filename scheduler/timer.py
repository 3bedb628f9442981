"""APScheduler 3 as a clock only: jobs carry explicit ids and `replace_existing=True`, hold no live objects in
the job store, and every job does its real work through the database (recorded reminders, idempotent outbox
rows), so a job fired twice, two sweeps at once or a restart never send anything twice."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

OUTBOX_SWEEP = "outbox-sweep"
DEADLINE_SWEEP = "deadline-sweep"
DAILY_DIGEST = "daily-digest"
HOUSEKEEPING = "housekeeping"
HOUSEKEEPING_AT = dt.time(3, 17)  # a quiet hour: pruning and the audit chain's daily check

Job = Callable[[], Awaitable[object]]


def build(
    tz: ZoneInfo,
    outbox_sweep: Job,
    deadline_sweep: Job,
    digest: Job,
    digest_at: dt.time,
    housekeeping: Job,
    sweep_seconds: int = 30,
) -> AsyncIOScheduler:
    """The outbox sweep is the safety net behind the dispatcher's own wake-ups (rows whose sender died mid-send,
    retries after back-off). The deadline sweep runs every minute — and at start-up, to catch up on what fell
    due while the service was down. The digest runs daily; a run missed while down runs once when the service is
    back (coalesce, no misfire limit) and finds in the database what it still owes."""
    scheduler = AsyncIOScheduler(
        timezone=tz, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    )
    scheduler.add_job(outbox_sweep, IntervalTrigger(seconds=sweep_seconds), id=OUTBOX_SWEEP, replace_existing=True)
    scheduler.add_job(
        deadline_sweep,
        IntervalTrigger(seconds=60),
        id=DEADLINE_SWEEP,
        replace_existing=True,
        next_run_time=dt.datetime.now(tz),
    )
    scheduler.add_job(
        digest,
        CronTrigger(hour=digest_at.hour, minute=digest_at.minute, timezone=tz),
        id=DAILY_DIGEST,
        replace_existing=True,
    )
    scheduler.add_job(
        housekeeping,
        CronTrigger(hour=HOUSEKEEPING_AT.hour, minute=HOUSEKEEPING_AT.minute, timezone=tz),
        id=HOUSEKEEPING,
        replace_existing=True,
    )
    return scheduler
