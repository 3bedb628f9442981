"""One unit of work on the database: the session, the moment, and the deployment's rules.

An incoming message is one turn (the router commits it once); a clock sweep is one turn. The service areas are
built on a turn instead of taking trailing `(calendar, today, now)` arguments, and every change they make appends
its audit event and its outbox rows through the turn, in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.deployment import Deployment, Timed
from bot.messages import Item
from storage import audit, outbox_store


@dataclass(frozen=True)
class Turn(Timed):
    s: AsyncSession
    now: dt.datetime
    setup: Deployment

    async def audit(
        self,
        action: str,
        object_type: str,
        object_id: int | str,
        *,
        actor: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        await audit.append(
            self.s, actor_id=actor, action=action, object_type=object_type, object_id=object_id, data=data, at=self.now
        )

    async def notify(
        self,
        people: Iterable[int],
        key: str,
        items: Sequence[Item],
        *,
        skip: int | None = None,
        not_before: dt.datetime | None = None,
        urgent: bool = False,
    ) -> None:
        """Each person once (in the chat they used last), except `skip` (who caused it and hears it in reply).
        `urgent` (level 1): sent before everything else, and to the person's other accounts if it is stuck."""
        priority = outbox_store.URGENT if urgent else outbox_store.REPLY
        for pid in dict.fromkeys(people):
            if pid != skip:
                await outbox_store.notify_person(
                    self.s, pid, key, list(items), not_before=not_before, priority=priority
                )

    async def notify_groups(self, project_id: int, key: str, items: Sequence[Item], *, urgent: bool = False) -> int:
        priority = outbox_store.URGENT if urgent else outbox_store.REPLY
        return await outbox_store.notify_project_groups(self.s, project_id, key, list(items), priority)


class Area:
    """A service area (people, hazards, visits, …) on one turn."""

    def __init__(self, turn: Turn) -> None:
        self.t = turn
        self.s = turn.s
        self.now = turn.now
