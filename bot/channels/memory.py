"""An in-process channel that keeps what it is sent: the base of the web chat, and the recording channel the
flow tests use under a rich and a text-only capability profile."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from aiohttp import web

from bot.channels.base import ChannelError, Handle, MediaTooLarge, Pacing
from bot.render import RICH, Capabilities, Rendered


@dataclass
class Sent:
    id: str
    chat_id: str
    message: Rendered
    edits: int = 0
    history: list[Rendered] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def buttons(self) -> list[tuple[str, str]]:
        return [b for row in self.message.buttons for b in row]


class MemoryChannel:
    def __init__(
        self, name: str = "memory", capabilities: Capabilities = RICH, display_name: str | None = None
    ) -> None:
        self.name = name
        self.display_name = display_name or name  # a message id, or the bare name of a test channel
        self.capabilities = capabilities
        self.pacing: Pacing | None = None
        self.sent: list[Sent] = []  # every message in order; edits change the entry in place
        self.uploads: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self._refs = itertools.count(1)
        self.changed = asyncio.Condition()

    def routes(self, handle: Handle) -> list[web.RouteDef]:
        return []

    async def start(self, handle: Handle) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, chat_id: str, message: Rendered, media: bytes | None) -> str:
        entry = Sent(str(next(self._ids)), chat_id, message)
        self.sent.append(entry)
        await self._notify()
        return entry.id

    async def edit(self, chat_id: str, message_id: str, message: Rendered) -> bool:
        for entry in self.sent:
            if entry.id == message_id and entry.chat_id == chat_id:
                entry.history.append(entry.message)
                entry.message = message
                entry.edits += 1
                await self._notify()
                return True
        return False

    async def fetch_media(self, ref: str, max_bytes: int) -> bytes:
        """The upload's bytes, once: they are the platform's until fetched, then the media store's."""
        data = self.uploads.pop(ref, None)
        if data is None:
            raise ChannelError(f"no upload {ref}", permanent=True)
        if len(data) > max_bytes:
            raise MediaTooLarge(ref)
        return data

    def upload(self, data: bytes) -> str:
        """Hold bytes as the platform would, returning the reference an Incoming carries."""
        ref = f"up{next(self._refs)}"
        self.uploads[ref] = data
        return ref

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def messages(self, chat_id: str) -> list[Sent]:
        return [m for m in self.sent if m.chat_id == chat_id]
