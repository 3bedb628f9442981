"""Wrong guesses cost time: an account (or a chat) may get an invite code wrong a few times in a window; after
that every code from it is refused unheard — the right one too — for a wait that doubles each time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Throttle

LIMIT = 5  # wrong codes forgiven in a window
WINDOW = dt.timedelta(minutes=10)
FIRST_WAIT = dt.timedelta(minutes=10)
LONGEST_WAIT = dt.timedelta(hours=24)


async def _rows(s: AsyncSession, keys: Sequence[str]) -> dict[str, Throttle]:
    rows = await s.execute(select(Throttle).where(Throttle.key.in_(keys)))
    return {r.key: r for r in rows.scalars()}


async def waiting(s: AsyncSession, keys: Sequence[str], now: dt.datetime) -> dt.timedelta | None:
    """How long the longest-blocked of `keys` must still wait; None when none is blocked."""
    waits = [
        r.blocked_until - now for r in (await _rows(s, keys)).values() if r.blocked_until and r.blocked_until > now
    ]
    return max(waits) if waits else None


async def wrong(s: AsyncSession, keys: Sequence[str], now: dt.datetime) -> dt.timedelta | None:
    """Count one wrong guess against each key; the wait it now has to sit out, if this one reached the limit."""
    rows = await _rows(s, keys)
    longest: dt.timedelta | None = None
    for key in keys:
        row = rows.get(key)
        if row is None:
            row = Throttle(key=key, window_start=now, count=0, strikes=0)
            s.add(row)
        if now - row.window_start > WINDOW:
            row.window_start, row.count = now, 0
        row.count += 1
        if row.count >= LIMIT:
            row.strikes += 1
            wait = min(FIRST_WAIT * 2 ** (row.strikes - 1), LONGEST_WAIT)
            row.blocked_until, row.window_start, row.count = now + wait, now + wait, 0
            longest = max(longest or wait, wait)
    await s.flush()
    return longest
