"""What the fake platform servers share: a record of calls that tests can wait on, and a wait that moves the
controlled clock on so that paced messages fall due (nobody sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class Recorder:
    def __init__(self) -> None:
        self.changed = asyncio.Condition()

    async def notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], seconds: float = 5.0) -> bool:
        """Event-driven wait for a call the test expects; the bound only stops a broken run."""
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(predicate), seconds)
            except TimeoutError:
                return predicate()
        return True


async def expect(
    recorder: Recorder,
    predicate: Callable[[], bool],
    clock: Any,
    kick: Callable[[], None],
    step_seconds: float,
    what: str,
    seen: Callable[[], object],
) -> None:
    """Wait for `predicate`; while it is false, move the clock on by one pacing step and wake the outbox."""
    for _ in range(60):
        if await recorder.wait_for(predicate, seconds=0.1):
            return
        clock.shift(step_seconds)
        kick()
    raise AssertionError(f"never happened: {what}; recently sent: {seen()}")
