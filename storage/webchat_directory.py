"""What the web chat's page reads and writes in the database: the person picker, linking a browser to the
chosen person (a development channel: the picker stands for each person's own phone), and stored photos."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import admin, people
from storage.media import MediaStore
from storage.models import MediaFile, Person


class WebChatDirectory:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        readonly: async_sessionmaker[AsyncSession],
        media: MediaStore,
        now: Callable[[], dt.datetime],
        channel: str = "webchat",
    ) -> None:
        self.sessions, self.readonly, self.store, self.now, self.channel = sessions, readonly, media, now, channel

    async def people(self) -> list[dict[str, Any]]:
        async with self.readonly() as s:
            return await people.picker(s, self.channel)

    async def link(self, user_id: str, person_id: int) -> bool:
        """The browser's account becomes that person; False when there is no such person."""
        async with self.sessions() as s, s.begin():
            if await s.get(Person, person_id) is None:
                return False
            await admin.link_account(s, self.channel, user_id, user_id, person_id, self.now())
        return True

    async def media(self, sha: str) -> tuple[Path, str] | None:
        async with self.readonly() as s:
            row = await s.get(MediaFile, sha)
        return (self.store.path(sha), row.mime) if row else None
