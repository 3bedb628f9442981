"""Flow-test harness: a real App (SQLite file or PostgreSQL, real router, outbox and handlers) talking to a
recording channel; tests script conversations as "send → assert replies and rows"."""

from __future__ import annotations

import io
import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from PIL import Image
from sqlalchemy import select

from bot.app import App
from bot.channels.memory import MemoryChannel, Sent
from bot.messages import ChatKind, Choice, Incoming, Location, Media, Payload, parse_text
from storage import admin
from storage.models import Person

CHANNEL = "test"


def jpeg(
    color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48), exif_time: str | None = None
) -> bytes:
    img = Image.new("RGB", size, color)
    buf = io.BytesIO()
    if exif_time:
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = exif_time
        img.save(buf, "JPEG", exif=exif)
    else:
        img.save(buf, "JPEG")
    return buf.getvalue()


_colors = itertools.count(1)


def unique_jpeg() -> bytes:
    n = next(_colors)
    return jpeg(((n * 37) % 256, (n * 91) % 256, (n * 53) % 256))


@dataclass
class Harness:
    app: App
    channel: MemoryChannel
    _ids: Any = None

    def __post_init__(self) -> None:
        # Platform message ids are unique per chat service; a new harness on the same database is a new process.
        self._ids = itertools.count(1)
        self._run = uuid.uuid4().hex[:6]

    async def person_id(self, name: str) -> int:
        async with self.app.readonly() as s:
            return (await s.execute(select(Person.id).where(Person.name == name))).scalar_one()

    async def login(self, name: str, user: str | None = None) -> str:
        """Link a chat account to a demo person (as the web chat's person picker does)."""
        pid = await self.person_id(name)
        user = user or f"u{pid}"
        async with self.app.sessions() as s, s.begin():
            await admin.link_account(s, CHANNEL, user, user, pid, self.app.now())
        return user

    async def deliver(self, inc: Incoming) -> None:
        await self.app.router.handle(inc)
        await self.app.dispatcher.drain()

    def incoming(
        self,
        user: str,
        payload: Payload,
        chat: str | None = None,
        message_id: str | None = None,
        locale: str | None = None,
    ) -> Incoming:
        chat_id = chat or user
        kind = ChatKind.GROUP if chat_id.startswith("g-") else ChatKind.PRIVATE
        return Incoming(CHANNEL, chat_id, kind, user, message_id or f"m{self._run}-{next(self._ids)}", payload, locale)

    async def _send(self, user: str, payload: Payload, chat: str | None, **kw: Any) -> list[Sent]:
        chat_id = chat or user
        before = len(self.channel.sent)
        await self.deliver(self.incoming(user, payload, chat, **kw))
        return [m for m in self.channel.sent[before:] if m.chat_id == chat_id]

    async def say(self, user: str, text: str, chat: str | None = None, **kw: Any) -> list[Sent]:
        return await self._send(user, parse_text(text), chat, **kw)

    async def press(self, user: str, value: str, chat: str | None = None, **kw: Any) -> list[Sent]:
        return await self._send(user, Choice(value), chat, **kw)

    async def photo(
        self, user: str, data: bytes | None = None, caption: str | None = None, chat: str | None = None, **kw: Any
    ) -> list[Sent]:
        data = data if data is not None else unique_jpeg()
        ref = self.channel.upload(data)
        return await self._send(user, Media(ref, "photo", caption, len(data)), chat, **kw)

    async def location(self, user: str, lat: float, lon: float, chat: str | None = None) -> list[Sent]:
        return await self._send(user, Location(lat, lon), chat)

    async def pick(self, user: str, label_part: str, replies: list[Sent], chat: str | None = None) -> list[Sent]:
        """Choose the offered option whose label contains `label_part`: a button press on a rich channel, the
        option's number typed on a text-only one (as a person would)."""
        for m in reversed(replies):
            for n, (value, label) in enumerate(m.message.offers, 1):
                if label_part in label:
                    if self.channel.capabilities.buttons:
                        return await self.press(user, value, chat)
                    return await self.say(user, str(n), chat)
        raise AssertionError(f"no option containing {label_part!r} in {[m.text for m in replies]}")

    def inbox(self, chat_id: str) -> list[Sent]:
        return self.channel.messages(chat_id)


def texts(messages: list[Sent]) -> str:
    return "\n---\n".join(m.text for m in messages)
