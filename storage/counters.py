"""Running numbers (hazards XC-2026-000123, complaints TS-2026-0001): one counter row per series, locked while
it is incremented, so two writers never take the same number (and a rolled-back turn uses none)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Counter


async def next_value(s: AsyncSession, name: str) -> int:
    counter = (await s.execute(select(Counter).where(Counter.name == name).with_for_update())).scalar_one_or_none()
    if counter is None:
        counter = Counter(name=name, value=0)
        s.add(counter)
    counter.value += 1
    return counter.value
