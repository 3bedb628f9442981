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

    async def wait_for(self, predicate: Callable[[], bool], seconds: float = 30.0) -> bool:
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
    idle: Callable[[], bool] = lambda: True,
) -> None:
    """Wait for `predicate`; while it is false and the service has nothing in hand (`idle`), move the clock on by
    one pacing step and wake the outbox. A busy machine only makes this slower, never wrong: the clock moves
    when the service has finished what it could do, not after a fixed stretch of real time."""
    steps = 0
    for _ in range(1200):  # the bound only stops a broken run (about a minute of real time)
        if await recorder.wait_for(predicate, seconds=0.05):
            return
        if idle():
            steps += 1
            if steps > 60:
                break
            clock.shift(step_seconds)
            kick()
    raise AssertionError(f"never happened: {what}; recently sent: {seen()}")
