"""One unit of work on the database: the session, the moment, and the deployment's rules.

An incoming message is one turn (the router commits it once); a clock sweep is one turn. The service areas are
built on a turn instead of taking trailing `(calendar, today, now)` arguments, and every change they make appends
its audit event and its outbox rows through the turn, in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.domain.deployment import Deployment, Timed
from bot.messages import Item
from storage import audit, outbox_store
from storage.media import MediaStore


@dataclass(frozen=True)
class Turn(Timed):
    s: AsyncSession
    now: dt.datetime
    setup: Deployment
    notices: list[outbox_store.Notice] = field(default_factory=list, compare=False, repr=False)
    media: MediaStore | None = field(default=None, compare=False, repr=False)  # photos and generated files

    def __post_init__(self) -> None:
        self.s.sync_session.info.setdefault("turns", []).append(self)

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

    def notify(
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
        `urgent` (level 1): sent before everything else, and to the person's other accounts if it is stuck.
        Written, with every other notice of the turn, by `flush`."""
        priority = outbox_store.URGENT if urgent else outbox_store.REPLY
        for pid in dict.fromkeys(people):
            if pid != skip:
                self.notices.append(outbox_store.Notice(key, items, priority, person_id=pid, not_before=not_before))

    def notify_groups(self, project_id: int, key: str, items: Sequence[Item], *, urgent: bool = False) -> None:
        priority = outbox_store.URGENT if urgent else outbox_store.REPLY
        self.notices.append(outbox_store.Notice(key, items, priority, project_id=project_id))

    async def flush(self) -> None:
        """Write the turn's notices, in order (one set of statements for all of them). Whoever commits a turn
        calls this first; committing with notices left unwritten is refused (`_unwritten`)."""
        pending = list(self.notices)
        self.notices.clear()
        await outbox_store.write_notices(self.s, pending)


@event.listens_for(Session, "before_commit")
def _unwritten(session: Session) -> None:
    for turn in session.info.get("turns", ()):
        if turn.notices:
            raise RuntimeError(f"{len(turn.notices)} notices of a turn were not written: await turn.flush() first")


@asynccontextmanager
async def work(
    sessions: async_sessionmaker[AsyncSession], now: dt.datetime, setup: Deployment, media: MediaStore | None = None
) -> AsyncIterator[Turn]:
    """A turn in a transaction of its own: when the block ends, its notices are written and it commits."""
    async with sessions() as s, s.begin():
        turn = Turn(s, now, setup, media=media)
        yield turn
        await turn.flush()


class Area:
    """A service area (people, hazards, visits, …) on one turn."""

    def __init__(self, turn: Turn) -> None:
        self.t = turn
        self.s = turn.s
        self.now = turn.now
