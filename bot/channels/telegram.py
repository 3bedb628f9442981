"""Telegram adapter (python-telegram-bot 22): updates in, API calls out. No conversation logic here.

Updates arrive by long polling, or by webhook on the service's own aiohttp server (PTB built with
`updater(None)`; the secret header is checked here). Each update becomes one Incoming keyed by its update_id,
so a redelivered update is handled once by the router. Sending is called by the outbox dispatcher; Telegram's
errors are mapped to ChannelError so the dispatcher can honour retry_after, back off, or give up on a blocked
chat.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
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
from telegram.request import HTTPXRequest

from bot.channels.base import ChannelError, Handle, MediaTooLarge, Pacing, Receipt, Unavailable, read_capped
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
MAX_WEBHOOK_BYTES = 1_000_000

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


def _kind(chat: dict[str, Any]) -> ChatKind:
    return ChatKind.PRIVATE if chat.get("type") == "private" else ChatKind.GROUP


def _name(user: dict[str, Any]) -> str:
    return " ".join(str(user[k]) for k in ("first_name", "last_name") if user.get(k))


def to_incoming(update: dict[str, Any], bot_username: str | None) -> Incoming | None:
    """The neutral form of an update, read from Telegram's JSON (the Bot API's shapes: Message, CallbackQuery);
    None for updates no flow cares about. Raises KeyError, TypeError or ValueError for a malformed one."""
    key = str(int(update["update_id"]))
    cq = update.get("callback_query")
    if cq is not None and not isinstance(cq, dict):
        raise ValueError("callback_query is not an object")
    if cq is not None:
        msg, data = cq.get("message"), cq.get("data")
        if not isinstance(data, str) or not isinstance(msg, dict):
            return None
        user = cq["from"]
        # The press is answered (the client's spinner stops) once it has been processed: keep its id.
        raw = {"callback_query_id": str(cq["id"])}
        return Incoming(
            CHANNEL,
            str(int(msg["chat"]["id"])),
            _kind(msg["chat"]),
            str(int(user["id"])),
            key,
            Choice(data),
            user.get("language_code"),
            _name(user),
            raw,
        )
    message = update.get("message")
    if message is None:
        return None  # edits, membership changes: nothing for a flow
    if not isinstance(message, dict):
        raise ValueError("message is not an object")
    if not isinstance(message.get("from"), dict):
        return None  # a channel post
    user, chat = message["from"], message["chat"]
    caption = message.get("caption")
    payload: Payload | None = None
    if isinstance(message.get("text"), str) and message["text"]:
        text = message["text"]
        payload = parse_text(text)
        if bot_username and isinstance(payload, Command) and "@" in text.split()[0]:
            target = text.split()[0].split("@", 1)[1]
            if target.lower() != bot_username.lower():
                return None  # a command for another bot in the group
    elif message.get("photo"):
        largest = message["photo"][-1]
        payload = Media(str(largest["file_id"]), "photo", caption, largest.get("file_size"))
    elif isinstance(message.get("document"), dict):
        # Sent "as a file", a photo keeps its EXIF (capture time); other files are taken as files too.
        doc = message["document"]
        payload = Media(str(doc["file_id"]), "file", caption, doc.get("file_size"), doc.get("file_name"))
    elif isinstance(message.get("location"), dict):
        where = message["location"]
        payload = Location(float(where["latitude"]), float(where["longitude"]))
    if payload is None:
        return None
    return Incoming(
        CHANNEL,
        str(int(chat["id"])),
        _kind(chat),
        str(int(user["id"])),
        key,
        payload,
        user.get("language_code"),
        _name(user),
        None,
    )


def parse_update(body: bytes) -> dict[str, Any] | None:
    """A webhook body as an update; None for anything that is not one (the route answers 400)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return None
    return data


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
        self._stop = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        # The Bot API client only: updates are taken by our own loop or route, so that each is stored before
        # Telegram is told it arrived (a webhook's 200, or the next getUpdates offset).
        self.bot = Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=HTTPXRequest(connection_pool_size=16, read_timeout=20, write_timeout=20),
            get_updates_request=HTTPXRequest(read_timeout=poll_timeout + 10),
        )

    @property
    def bot_username(self) -> str | None:
        try:
            return str(self.bot.username)
        except RuntimeError:
            return None

    # --- life cycle --------------------------------------------------------------------------------------

    def routes(self, handle: Handle) -> list[web.RouteDef]:
        """The webhook route in webhook mode; none for long polling."""
        self.handle = handle
        return [self._webhook_route()] if self.webhook_url else []

    async def start(self, handle: Handle) -> None:
        self.handle = handle
        await self.bot.initialize()
        await self._set_commands()
        if self.webhook_url:
            await self.bot.set_webhook(
                self.webhook_url, secret_token=self.webhook_secret, allowed_updates=ALLOWED_UPDATES
            )
        else:
            await self.bot.delete_webhook()
            self._stop.clear()
            self._poller = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.bot.shutdown()

    async def _set_commands(self) -> None:
        for locale, commands in self.commands.items():
            items = [BotCommand(name, description[:256]) for name, description in commands]
            language = None if locale == "default" else locale
            await self.bot.set_my_commands(items, scope=BotCommandScopeDefault(), language_code=language)
            await self.bot.set_my_commands(items, scope=BotCommandScopeAllGroupChats(), language_code=language)

    # --- updates -----------------------------------------------------------------------------------------

    async def _poll(self) -> None:
        """Long polling. The offset moves past an update only once it is stored; when storing fails, the same
        updates are asked for again after a pause (Telegram keeps them for 24 hours)."""
        offset: int | None = None
        while not self._stop.is_set():
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
                )
            except (TimedOut, NetworkError) as err:
                log.info("getUpdates: %s", type(err).__name__)
                await self._pause(1.0)
                continue
            except TelegramError as err:
                log.warning("getUpdates refused: %s", type(err).__name__)
                await self._pause(5.0)
                continue
            for update in updates:
                try:
                    await self._take(update.to_dict())
                except Unavailable:
                    await self._pause(2.0)
                    break
                offset = update.update_id + 1

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _take(self, update: dict[str, Any]) -> None:
        """Store the update (raises Unavailable when it cannot be; ValueError, KeyError or TypeError when it is
        not an update); its processing, and the answer to a button press, follow in the background."""
        inc = to_incoming(update, self.bot_username)
        if inc is None or self.handle is None:
            return
        receipt = await self.handle(inc)
        task = asyncio.create_task(self._after(inc, receipt))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after(self, inc: Incoming, receipt: Receipt) -> None:
        outcome = await receipt.outcome()
        press = inc.raw.get("callback_query_id") if isinstance(inc.raw, dict) else None
        if press is None:
            return
        # Always answer a press, so the client stops its spinner; a refusal shows as a pop-up.
        toast = outcome.toast
        try:
            await self.bot.answer_callback_query(
                press, text=toast[:200] if toast else None, show_alert=bool(toast and len(toast) > 60)
            )
        except TelegramError as err:
            log.info("answerCallbackQuery failed: %s", err)

    def _webhook_route(self) -> web.RouteDef:
        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
            if not given or not self.webhook_secret or not hmac.compare_digest(given, self.webhook_secret):
                log.warning("Telegram webhook call with a %s secret refused", "missing" if not given else "wrong")
                return web.Response(status=403)
            body = await read_capped(request, MAX_WEBHOOK_BYTES)
            if body is None:
                return web.Response(status=413)
            update = parse_update(body)
            if update is None:
                return web.Response(status=400)
            try:
                await self._take(update)
            except Unavailable:
                return web.Response(status=503)  # not stored: Telegram delivers it again
            except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                return web.Response(status=400)  # an update_id, but not an update we can read
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
            sent = await self.bot.send_photo(chat_id, photo=media, caption=caption, reply_markup=markup)
        elif message.document and media is not None:
            sent = await self.bot.send_document(
                chat_id,
                document=InputFile(media, filename=message.document[1]),
                caption=message.text[:CAPTION_LIMIT] or None,
                reply_markup=markup,
            )
        else:
            sent = await self.bot.send_message(chat_id, message.text or "…", reply_markup=markup)
        return str(sent.message_id)

    async def edit(self, chat_id: str, message_id: str, message: Rendered) -> bool:
        try:
            await self.bot.edit_message_text(
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
            file = await self.bot.get_file(ref)
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
