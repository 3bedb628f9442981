"""Telegram adapter (python-telegram-bot 22): updates in, API calls out. No conversation logic here.

Updates arrive by long polling, or by webhook on the service's own aiohttp server (PTB built with
`updater(None)`; the secret header is checked here). Each update becomes one Incoming keyed by its update_id,
so a redelivered update is handled once by the router. Sending is called by the outbox dispatcher; Telegram's
errors are mapped to ChannelError so the dispatcher can honour retry_after, back off, or give up on a blocked
chat.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import logging
import os
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiohttp import web

# Opt in to python-telegram-bot's coming behaviour (retry_after as a timedelta) so it does not warn on every
# flood-control answer; to_channel_error() accepts both forms.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeDefault,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.constants import FileSizeLimit
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder, TypeHandler
from telegram.request import HTTPXRequest

from bot.channels.base import ChannelError, Handle, MediaTooLarge, Pacing
from bot.i18n import N_
from bot.messages import ChatKind, Choice, Command, Incoming, Location, Media, Payload, parse_text
from bot.render import Capabilities, Rendered

log = logging.getLogger(__name__)

CHANNEL = "telegram"
DEFAULT_API = "https://api.telegram.org"
CALLBACK_LIMIT = 64  # bytes of callback_data
CAPTION_LIMIT = 1024
CAPABILITIES = Capabilities(
    buttons=True,
    max_buttons=60,
    buttons_per_row=2,
    max_button_label=40,
    cards=True,
    edit=True,
    max_text=4096,
    photos=True,
    toasts=True,
)
# Telegram's flood limits (FloodLimit): ~1 message/s per chat, 20/min per group, ~30/s overall.
PACING = Pacing(
    private_seconds=1.0, group_seconds=3.0, overall_per_second=30.0, is_group=lambda chat_id: chat_id.startswith("-")
)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]

Migrated = Callable[[str, str], Awaitable[None]]


def _seconds(value: int | float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def to_channel_error(err: TelegramError) -> ChannelError:
    if isinstance(err, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta; both are handled
            warnings.simplefilter("ignore")
            return ChannelError(err.message, retry_after=_seconds(err.retry_after))
    if isinstance(err, Forbidden):
        return ChannelError(str(err), forbidden=True)
    if isinstance(err, InvalidToken):
        return ChannelError(str(err), permanent=True)
    if isinstance(err, BadRequest):
        return ChannelError(str(err), permanent=True)
    if isinstance(err, TimedOut | NetworkError):
        return ChannelError(str(err))  # 5xx and timeouts: back off and retry
    return ChannelError(str(err))


def keyboard(message: Rendered) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    rows = []
    for row in message.buttons:
        buttons = []
        for value, label in row:
            if len(value.encode()) > CALLBACK_LIMIT:
                # Values are short ids by design; a longer one would be refused by Telegram.
                log.error("button value over %d bytes dropped: %r", CALLBACK_LIMIT, value)
                continue
            buttons.append(InlineKeyboardButton(label, callback_data=value))
        if buttons:
            rows.append(buttons)
    return InlineKeyboardMarkup(rows) if rows else None


def _chat_kind(message: Message) -> ChatKind:
    return ChatKind.PRIVATE if message.chat.type == "private" else ChatKind.GROUP


def to_incoming(update: Update, bot_username: str | None) -> Incoming | None:
    """The neutral form of an update; None for updates no flow cares about."""
    key = str(update.update_id)
    cq = update.callback_query
    if cq is not None:
        if cq.data is None or cq.message is None:
            return None
        msg = cq.message
        kind = ChatKind.PRIVATE if msg.chat.type == "private" else ChatKind.GROUP
        return Incoming(
            CHANNEL,
            str(msg.chat.id),
            kind,
            str(cq.from_user.id),
            key,
            Choice(cq.data),
            cq.from_user.language_code,
            cq.from_user.full_name,
            update,
        )
    message = update.message
    if message is None or message.from_user is None:
        return None
    user = message.from_user
    payload: Payload | None = None
    if message.text:
        payload = parse_text(message.text)
        if bot_username and isinstance(payload, Command) and "@" in message.text.split()[0]:
            target = message.text.split()[0].split("@", 1)[1]
            if target.lower() != bot_username.lower():
                return None  # a command for another bot in the group
    elif message.photo:
        largest = message.photo[-1]
        payload = Media(largest.file_id, "photo", message.caption, largest.file_size)
    elif message.document is not None and (message.document.mime_type or "").startswith("image/"):
        # Sent "as a file", a photo keeps its EXIF (capture time).
        doc = message.document
        payload = Media(doc.file_id, "file", message.caption, doc.file_size, doc.file_name)
    elif message.document is not None:
        payload = Media(
            message.document.file_id, "file", message.caption, message.document.file_size, message.document.file_name
        )
    elif message.location is not None:
        payload = Location(message.location.latitude, message.location.longitude)
    if payload is None:
        return None
    return Incoming(
        CHANNEL,
        str(message.chat.id),
        _chat_kind(message),
        str(user.id),
        key,
        payload,
        user.language_code,
        user.full_name,
        update,
    )


class TelegramChannel:
    name = CHANNEL
    display_name = N_("Telegram")
    capabilities = CAPABILITIES
    pacing: Pacing | None = PACING

    def __init__(
        self,
        token: str,
        *,
        api_url: str | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        commands: Mapping[str, Sequence[tuple[str, str]]] | None = None,
        poll_timeout: int = 30,
        on_migrated: Migrated | None = None,
    ) -> None:
        if webhook_url and not webhook_secret:
            raise ValueError("a Telegram webhook needs a secret token")
        base = (api_url or DEFAULT_API).rstrip("/")
        self.handle: Handle | None = None
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.commands = commands or {}
        self.poll_timeout = poll_timeout
        self.on_migrated = on_migrated
        self._tasks: set[asyncio.Task[Any]] = set()
        builder = (
            ApplicationBuilder()
            .token(token)
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .request(HTTPXRequest(connection_pool_size=16, read_timeout=20, write_timeout=20))
            .get_updates_request(HTTPXRequest(read_timeout=poll_timeout + 10))
            .concurrent_updates(16)  # the router serialises each conversation itself
        )
        if webhook_url:
            builder = builder.updater(None)
        self.app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_update))

    @property
    def bot_username(self) -> str | None:
        try:
            return str(self.app.bot.username)
        except RuntimeError:
            return None

    # --- life cycle --------------------------------------------------------------------------------------

    def routes(self, handle: Handle) -> list[web.RouteDef]:
        """The webhook route in webhook mode; none for long polling."""
        self.handle = handle
        return [self._webhook_route()] if self.webhook_url else []

    async def start(self, handle: Handle) -> None:
        self.handle = handle
        await self.app.initialize()
        await self._set_commands()
        if self.webhook_url:
            await self.app.bot.set_webhook(
                self.webhook_url, secret_token=self.webhook_secret, allowed_updates=ALLOWED_UPDATES
            )
            await self.app.start()
        else:
            await self.app.bot.delete_webhook()
            await self.app.start()
            assert self.app.updater is not None
            await self.app.updater.start_polling(timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES)

    async def stop(self) -> None:
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def _set_commands(self) -> None:
        for locale, commands in self.commands.items():
            items = [BotCommand(name, description[:256]) for name, description in commands]
            language = None if locale == "default" else locale
            await self.app.bot.set_my_commands(items, scope=BotCommandScopeDefault(), language_code=language)
            await self.app.bot.set_my_commands(items, scope=BotCommandScopeAllGroupChats(), language_code=language)

    # --- updates -----------------------------------------------------------------------------------------

    async def _on_update(self, update: Update, context: Any) -> None:
        inc = to_incoming(update, self.bot_username)
        cq: CallbackQuery | None = update.callback_query
        outcome = None
        if inc is not None and self.handle is not None:
            outcome = await self.handle(inc)
        if cq is not None:
            # Always answer a press, so the client stops its spinner; a refusal shows as a pop-up.
            toast = outcome.toast if outcome is not None else None
            try:
                await cq.answer(text=toast[:200] if toast else None, show_alert=bool(toast and len(toast) > 60))
            except TelegramError as err:
                log.info("answerCallbackQuery failed: %s", err)

    def _webhook_route(self) -> web.RouteDef:
        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
            if not given or not self.webhook_secret or not hmac.compare_digest(given, self.webhook_secret):
                log.warning("Telegram webhook call with a %s secret refused", "missing" if not given else "wrong")
                return web.Response(status=403)
            if request.content_length is not None and request.content_length > 1_000_000:
                return web.Response(status=413)
            try:
                data = json.loads(await request.read())
                update = Update.de_json(data, self.app.bot)
            except (ValueError, TypeError, KeyError):
                return web.Response(status=400)
            # Acknowledge at once; the update is handled after (Telegram retries slow answers).
            await self.app.update_queue.put(update)
            return web.Response(status=200)

        return web.post("/telegram/webhook", receive)

    # --- the chat port -----------------------------------------------------------------------------------

    async def send(self, chat_id: str, message: Rendered, media: bytes | None) -> str:
        try:
            return await self._send(chat_id, message, media)
        except ChatMigrated as err:
            # The group became a supergroup with a new id: follow it, and send there once.
            new_id = str(err.new_chat_id)
            if self.on_migrated is not None:
                await self.on_migrated(chat_id, new_id)
            try:
                return await self._send(new_id, message, media)
            except TelegramError as again:
                raise to_channel_error(again) from again
        except TelegramError as err:
            raise to_channel_error(err) from err

    async def _send(self, chat_id: str, message: Rendered, media: bytes | None) -> str:
        markup = keyboard(message)
        if message.photo and media is not None:
            caption = message.text[:CAPTION_LIMIT] or None
            sent = await self.app.bot.send_photo(chat_id, photo=media, caption=caption, reply_markup=markup)
        elif message.document and media is not None:
            sent = await self.app.bot.send_document(
                chat_id,
                document=InputFile(media, filename=message.document[1]),
                caption=message.text[:CAPTION_LIMIT] or None,
                reply_markup=markup,
            )
        else:
            sent = await self.app.bot.send_message(chat_id, message.text or "…", reply_markup=markup)
        return str(sent.message_id)

    async def edit(self, chat_id: str, message_id: str, message: Rendered) -> bool:
        try:
            await self.app.bot.edit_message_text(
                message.text, chat_id=chat_id, message_id=int(message_id), reply_markup=keyboard(message)
            )
        except BadRequest as err:
            if "not modified" in str(err).lower():
                return True
            log.info("edit of %s/%s refused (%s): posting anew", chat_id, message_id, err)
            return False  # too old, deleted, or not a text message
        except TelegramError as err:
            raise to_channel_error(err) from err
        return True

    async def fetch_media(self, ref: str, max_bytes: int) -> bytes:
        limit = min(max_bytes, int(FileSizeLimit.FILESIZE_DOWNLOAD))
        try:
            file = await self.app.bot.get_file(ref)
            if file.file_size is not None and file.file_size > limit:
                raise MediaTooLarge(ref)
            data = bytes(await file.download_as_bytearray())
        except BadRequest as err:
            if "too big" in str(err).lower():
                raise MediaTooLarge(ref) from err
            raise to_channel_error(err) from err
        except TelegramError as err:
            raise to_channel_error(err) from err
        if len(data) > limit:
            raise MediaTooLarge(ref)
        return data
