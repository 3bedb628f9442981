"""The chat port: what every channel adapter offers the runtime (adapters only make API calls).

An adapter turns its platform's updates into `Incoming` and hands each to the one `Handle` it is given; it sends
what the outbox renders for it. A new channel is one module implementing `Adapter`, plus its settings in
bot/config.py and one line in bot/adapters.py; no handler changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from bot.messages import Incoming
from bot.render import Capabilities, Rendered


class ChannelError(Exception):
    """A failed platform call. `retry_after` (seconds) when the platform said when; `forbidden` when the bot may
    no longer write to the chat (blocked, kicked); `permanent` when retrying cannot help."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, forbidden: bool = False, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.forbidden = forbidden
        self.permanent = permanent or forbidden


class MediaTooLarge(Exception):
    pass


@dataclass(frozen=True)
class Pacing:
    """How fast a platform lets a bot write: a gap between messages to one private chat, a (longer) gap in
    groups, and an overall rate. Telegram: ~1/s per chat, 20/min per group, ~30/s overall."""

    private_seconds: float = 0.0
    group_seconds: float = 0.0
    overall_per_second: float = 0.0
    is_group: Callable[[str], bool] = field(default=lambda chat_id: False)

    def gap(self, chat_id: str) -> float:
        return self.group_seconds if self.is_group(chat_id) else self.private_seconds


@dataclass(frozen=True)
class Outcome:
    """What the adapter may still need once an update is handled: the pop-up answer to a button press."""

    toast: str | None = None
    duplicate: bool = False


class Unavailable(Exception):
    """The update could not be stored: the platform must not be told it arrived (answer 5xx, keep the offset)."""


class Receipt:
    """An update stored durably: the adapter may acknowledge it now. Its processing runs on; `outcome()` waits
    for it (the pop-up answer to a button press)."""

    def __init__(self, processing: Awaitable[Outcome] | None = None, later: bool = False) -> None:
        self._processing = processing
        self._later = later

    async def outcome(self) -> Outcome:
        if self._processing is not None:
            return await self._processing
        return Outcome(duplicate=not self._later)  # a redelivery, or one that waits its turn in the inbox


Handle = Callable[[Incoming], Awaitable[Receipt]]


async def read_capped(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` — counted as it is read, so a chunked body
    without a Content-Length is cut off too."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


class Channel(Protocol):
    """What the outbox sends through."""

    name: str
    capabilities: Capabilities
    pacing: Pacing | None

    async def send(self, chat_id: str, message: Rendered, media: bytes | None) -> str:
        """Send one message; returns the platform's message id."""
        ...

    async def edit(self, chat_id: str, message_id: str, message: Rendered) -> bool:
        """Edit an earlier message in place; False where the platform refuses (then a new one is posted)."""
        ...

    async def fetch_media(self, ref: str, max_bytes: int) -> bytes:
        """Download an incoming photo or file; raises MediaTooLarge above max_bytes."""
        ...


class Adapter(Channel, Protocol):
    """A channel the service runs: its name for people, its HTTP routes, its life cycle."""

    display_name: str  # message id ("Telegram", "WeCom", "web chat")

    def routes(self, handle: Handle) -> list[web.RouteDef]:
        """The routes this channel serves on the service's HTTP server (webhooks, callbacks, pages)."""
        ...

    async def start(self, handle: Handle) -> None:
        """Begin receiving (long polling, webhook registration); every update goes to `handle`."""
        ...

    async def stop(self) -> None: ...
