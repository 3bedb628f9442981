"""The chat port: what every channel adapter offers the runtime (adapters only make API calls)."""

from __future__ import annotations

from typing import Protocol

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


class Channel(Protocol):
    name: str
    capabilities: Capabilities

    async def send(self, chat_id: str, message: Rendered, media: bytes | None) -> str:
        """Send one message; returns the platform's message id."""
        ...

    async def edit(self, chat_id: str, message_id: str, message: Rendered) -> bool:
        """Edit an earlier message in place; False where the platform refuses (then a new one is posted)."""
        ...

    async def fetch_media(self, ref: str, max_bytes: int) -> bytes:
        """Download an incoming photo or file; raises MediaTooLarge above max_bytes."""
        ...
