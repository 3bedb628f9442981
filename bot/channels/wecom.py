"""WeCom (企业微信) self-built app adapter: the encrypted callback in, the app's API out.

wechatpy 1.8.18 is used for what it does well — the callback crypto (WeChatCrypto) and XML message parsing.
Its API client is not: it is synchronous, retries an expired token by unbounded recursion and ignores the base
URL for tokens and media. So outbound calls go through WeComClient below, a small aiohttp client with a cached
token refreshed before it runs out, one refresh-and-retry on 40014/42001, and errors mapped to ChannelError.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.channels.base import ChannelError, Handle, MediaTooLarge, Pacing, Receipt, Unavailable, read_capped
from bot.i18n import N_
from bot.messages import ChatKind, Choice, Incoming, Location, Media, Payload, parse_text
from bot.render import Capabilities, Rendered

log = logging.getLogger(__name__)

CHANNEL = "wecom"
DEFAULT_API = "https://qyapi.weixin.qq.com/cgi-bin/"
TEXT_BYTES = 2048  # "最长不超过2048个字节，超过将截断"
MAX_CALLBACK_BYTES = 64 * 1024
CARD_BUTTONS = 6  # button_interaction: button_list ≤ 6
CAPABILITIES = Capabilities(
    buttons=True,
    max_buttons=CARD_BUTTONS,
    buttons_per_row=CARD_BUTTONS,
    max_button_label=20,
    cards=True,
    edit=False,
    max_text=2000,
    photos=True,
)
# App messages: ≤30/min per member (excess is dropped silently); group robots ≤20/min.
PACING = Pacing(
    private_seconds=2.0,
    group_seconds=3.0,
    overall_per_second=20.0,
    is_group=lambda chat_id: chat_id.startswith(("chat:", "robot:")),
)
TOKEN_EXPIRED = {40014, 42001}
RATE_LIMITED = {45009, 45033, 45011}
UNREACHABLE = {60111, 81013, 86003}  # user not found / not in the app's visible range / chat not found


def split_utf8(text: str, limit: int = TEXT_BYTES) -> list[str]:
    """Pieces of at most `limit` UTF-8 bytes, cut on character (and where possible line) boundaries."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        for ch in line:
            n = len(ch.encode())
            if size + n > limit:
                parts.append("".join(current))
                current, size = [], 0
            current.append(ch)
            size += n
    if current or not parts:
        parts.append("".join(current))
    return [p.rstrip("\n") for p in parts]


class WeComClient:
    """The app's API over aiohttp. Every call — token, send, media — goes to `base_url`."""

    def __init__(self, base_url: str, corp_id: str, secret: str, timeout: float = 15.0) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.corp_id = corp_id
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.token_fetches = 0

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def token(self, refused: str | None = None) -> str:
        """The current token; `refused`: the one WeCom just turned down, replaced unless a concurrent call
        has replaced it already (a burst of refusals costs one refresh)."""
        async with self._lock:
            # Refresh five minutes before it runs out, so no call carries a token that dies in flight.
            stale = refused is not None and refused == self._token
            if stale or self._token is None or time.monotonic() > self._expires_at - 300:
                body = await self._get("gettoken", {"corpid": self.corp_id, "corpsecret": self.secret})
                code = body.get("errcode", 0)
                if code:
                    raise ChannelError(
                        f"gettoken {code} {body.get('errmsg', '')}",
                        permanent=code in (40001, 40013),
                        retry_after=60 if code in RATE_LIMITED else None,
                    )
                self._token = str(body["access_token"])
                self._expires_at = time.monotonic() + float(body.get("expires_in", 7200))
                self.token_fetches += 1
            return self._token

    async def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self._http().get(self.base_url + path, params=params) as resp:
                if resp.status >= 500:
                    raise ChannelError(f"{path}: HTTP {resp.status}")
                return dict(await resp.json(content_type=None))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ChannelError(f"{path}: {type(exc).__name__}") from exc

    async def call(
        self,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        params: dict[str, Any] | None = None,
        form: aiohttp.FormData | Callable[[], aiohttp.FormData] | None = None,
    ) -> dict[str, Any]:
        """POST (or GET without a body); refreshes the token once and retries once when WeCom says it expired."""
        refused: str | None = None
        for attempt in (0, 1):
            token = await self.token(refused)
            query = {**(params or {}), "access_token": token}
            try:
                if payload is None and form is None:
                    request = self._http().get(self.base_url + path, params=query)
                else:
                    data = form() if callable(form) else form
                    request = self._http().post(self.base_url + path, params=query, json=payload, data=data)
                async with request as resp:
                    if resp.status >= 500:
                        raise ChannelError(f"{path}: HTTP {resp.status}")
                    body = dict(await resp.json(content_type=None))
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise ChannelError(f"{path}: {type(exc).__name__}") from exc
            code = int(body.get("errcode", 0) or 0)
            if code in TOKEN_EXPIRED and attempt == 0:
                refused = token
                continue
            if code in RATE_LIMITED:
                raise ChannelError(f"{path}: {code} rate limited", retry_after=60)
            if code in UNREACHABLE:
                raise ChannelError(f"{path}: {code} {body.get('errmsg', '')}", forbidden=True)
            if code:
                raise ChannelError(f"{path}: {code} {body.get('errmsg', '')}", permanent=code not in TOKEN_EXPIRED)
            return body
        raise ChannelError(f"{path}: token still refused after a refresh")

    async def download(self, media_id: str, max_bytes: int) -> bytes:
        refused: str | None = None
        for attempt in (0, 1):
            token = await self.token(refused)
            try:
                async with self._http().get(
                    self.base_url + "media/get", params={"access_token": token, "media_id": media_id}
                ) as resp:
                    if resp.status >= 500:
                        raise ChannelError(f"media/get: HTTP {resp.status}")
                    if resp.content_type in ("application/json", "text/plain"):
                        # WeCom answers errors with HTTP 200 and a JSON body, not with the file.
                        body = await resp.json(content_type=None)
                        code = int(body.get("errcode", 0) or 0)
                        if code in TOKEN_EXPIRED and attempt == 0:
                            refused = token
                            continue
                        raise ChannelError(f"media/get: {code} {body.get('errmsg', '')}", permanent=True)
                    if resp.content_length is not None and resp.content_length > max_bytes:
                        raise MediaTooLarge(media_id)
                    data = bytearray()
                    async for chunk in resp.content.iter_chunked(64 * 1024):
                        data += chunk
                        if len(data) > max_bytes:
                            raise MediaTooLarge(media_id)
                    return bytes(data)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise ChannelError(f"media/get: {type(exc).__name__}") from exc
        raise ChannelError("media/get: token still refused after a refresh")

    async def upload(self, data: bytes, kind: str = "image", filename: str = "photo.jpg") -> str:
        """Temporary media (3 days): `kind` image (≤10 MB) or file (≤20 MB)."""

        def form() -> aiohttp.FormData:
            f = aiohttp.FormData()
            f.add_field("media", data, filename=filename, content_type="application/octet-stream")
            return f

        body = await self.call("media/upload", params={"type": kind}, form=form)
        return str(body["media_id"])

    async def upload_image(self, data: bytes, filename: str = "photo.jpg") -> str:
        return await self.upload(data, "image", filename)


def to_incoming(msg: Any) -> Incoming | None:
    """The neutral form of a parsed callback; None for what no flow cares about."""
    user = str(msg.source)
    kind = msg.type
    payload: Payload | None = None
    raw = getattr(msg, "_data", {})
    if kind == "text":
        payload = parse_text(msg.content)
    elif kind == "image":
        payload = Media(msg.media_id, "photo")
    elif kind == "location":
        payload = Location(float(msg.location_x), float(msg.location_y), msg.label or None)
    elif kind == "event" and getattr(msg, "event", "") == "click":
        payload = Choice(str(msg.key))
    elif kind == "unknown" and raw.get("Event") == "template_card_event":
        # wechatpy 1.8.18 does not know this event; its fields are in the raw data.
        payload = Choice(str(raw.get("EventKey", "")))
    if payload is None:
        return None
    return Incoming(CHANNEL, user, ChatKind.PRIVATE, user, update_key(kind, msg, raw), payload, None, None, raw)


def update_key(kind: str, msg: Any, raw: dict[str, Any]) -> str:
    """Messages carry a MsgId. Events do not: their identity is who, when, and which event — two different
    presses by one member in the same second are two updates, WeCom's retries of one press are one."""
    if kind not in ("event", "unknown"):
        return f"m{msg.id}"
    parts = [str(raw.get(k, "")) for k in ("FromUserName", "CreateTime", "Event", "EventKey", "TaskId", "ResponseCode")]
    return "e" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


class WeComChannel:
    name = CHANNEL
    display_name = N_("WeCom")
    capabilities = CAPABILITIES
    pacing: Pacing | None = PACING

    def __init__(
        self,
        *,
        corp_id: str,
        agent_id: str,
        secret: str,
        token: str,
        aes_key: str,
        api_url: str,
        group_hint: str = "（请在应用私聊中办理 · Please act in the app's private chat）",
    ) -> None:
        self.agent_id = int(agent_id)
        self.crypto = WeChatCrypto(token, aes_key, corp_id)
        self.client = WeComClient(api_url or DEFAULT_API, corp_id, secret)
        self.handle: Handle | None = None
        self.group_hint = group_hint
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ids = itertools.count(1)
        self._cards: dict[str, dict[str, str]] = {}  # task_id → {button key: label}, to mark the pressed one
        self.events: deque[str] = deque(maxlen=100)  # "ack …" / "handled …": the acknowledge-first order

    async def start(self, handle: Handle) -> None:
        self.handle = handle  # callbacks arrive on routes(); nothing to start

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.close()

    # --- callback ------------------------------------------------------------------------------------------

    def routes(self, handle: Handle) -> list[web.RouteDef]:
        self.handle = handle
        return [web.get("/wecom/callback", self._verify), web.post("/wecom/callback", self._receive)]

    async def _verify(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            echo = self.crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
        except KeyError:
            return web.Response(status=400)
        except (InvalidSignatureException, InvalidCorpIdException):
            log.warning("WeCom URL verification with a bad signature refused")
            return web.Response(status=403)
        except Exception:  # undecryptable echostr
            return web.Response(status=400)
        return web.Response(text=echo if isinstance(echo, str) else echo.decode())

    async def _receive(self, request: web.Request) -> web.Response:
        body = await read_capped(request, MAX_CALLBACK_BYTES)
        if body is None:
            return web.Response(status=413)
        if _declares_entities(body):
            log.warning("WeCom callback with a DTD/entity declaration refused")
            return web.Response(status=400)
        q = request.query
        if not {"msg_signature", "timestamp", "nonce"} <= set(q):
            return web.Response(status=400)
        if not fresh(q["timestamp"], time.time()):
            log.warning("WeCom callback signed too long ago (or in the future) refused")
            return web.Response(status=403)
        try:
            xml = self.crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
        except KeyError:
            return web.Response(status=400)
        except (InvalidSignatureException, InvalidCorpIdException) as exc:
            log.warning("WeCom callback refused: %s", type(exc).__name__)
            return web.Response(status=403)
        except Exception as exc:  # malformed XML or ciphertext
            log.warning("WeCom callback unreadable: %s", type(exc).__name__)
            return web.Response(status=400)
        if _declares_entities(xml.encode() if isinstance(xml, str) else xml):
            return web.Response(status=400)
        try:
            msg = parse_message(xml)
            inc = to_incoming(msg)
        except Exception as exc:
            log.warning("WeCom message unreadable: %s", type(exc).__name__)
            return web.Response(status=400)
        if inc is not None and self.handle is not None:
            try:
                receipt = await self.handle(inc)
            except Unavailable:
                return web.Response(status=503)  # not stored: WeCom calls again (three times in all)
            # Stored: answer within WeCom's 5 s with an empty 200; the work and the replies come after.
            self.events.append(f"ack {inc.message_id}")
            task = asyncio.create_task(self._process(inc, receipt))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.Response(text="")

    async def _process(self, inc: Incoming, receipt: Receipt) -> None:
        try:
            await receipt.outcome()
        finally:
            self.events.append(f"handled {inc.message_id}")
        raw = inc.raw or {}
        if raw.get("Event") == "template_card_event" and raw.get("ResponseCode"):
            await self._mark_card(
                inc.user_id, str(raw.get("TaskId", "")), str(raw["ResponseCode"]), str(raw.get("EventKey", ""))
            )

    async def _mark_card(self, user: str, task_id: str, response_code: str, key: str) -> None:
        label = self._cards.get(task_id, {}).get(key)
        try:
            await self.client.call(
                "message/update_template_card",
                {
                    "userids": [user],
                    "agentid": self.agent_id,
                    "response_code": response_code,
                    "button": {"replace_name": f"✓ {label}" if label else "✓"},
                },
            )
        except ChannelError as err:
            log.info("could not mark the pressed card %s: %s", task_id, err)

    # --- the chat port -------------------------------------------------------------------------------------

    async def send(self, chat_id: str, message: Rendered, media: bytes | None) -> str:
        if chat_id.startswith("robot:"):
            return await self._send_robot(chat_id[6:], message, media)
        if chat_id.startswith("chat:"):
            return await self._send_appchat(chat_id[5:], message, media)
        return await self._send_user(chat_id, message, media)

    async def edit(self, chat_id: str, message_id: str, message: Rendered) -> bool:
        return False  # app messages cannot be edited; a new one is posted

    async def fetch_media(self, ref: str, max_bytes: int) -> bytes:
        return await self.client.download(ref, max_bytes)

    def _text_for_group(self, message: Rendered) -> str:
        # Group chats cannot carry buttons (appchat has no template cards, robots only post).
        return message.text + (f"\n{self.group_hint}" if message.buttons and self.group_hint else "")

    async def _send_user(self, user: str, message: Rendered, media: bytes | None) -> str:
        base = {"touser": user, "agentid": self.agent_id}
        last = ""
        if message.photo and media is not None:
            media_id = await self.client.upload_image(media)
            body = await self.client.call("message/send", {**base, "msgtype": "image", "image": {"media_id": media_id}})
            last = str(body.get("msgid", ""))
        if message.buttons:
            return await self._send_card(base, message)
        if message.document and media is not None:
            media_id = await self.client.upload(media, "file", message.document[1])
            body = await self.client.call("message/send", {**base, "msgtype": "file", "file": {"media_id": media_id}})
            last = str(body.get("msgid", ""))
        for part in split_utf8(message.text) if message.text else []:
            body = await self.client.call("message/send", {**base, "msgtype": "text", "text": {"content": part}})
            last = str(body.get("msgid", ""))
        return last or f"w{next(self._ids)}"

    async def _send_card(self, base: dict[str, Any], message: Rendered) -> str:
        buttons = [b for row in message.buttons for b in row][:CARD_BUTTONS]
        lines = [line for line in message.text.splitlines() if line.strip()] or ["…"]
        title, rest = lines[-1], lines[:-1]
        if rest:  # the body as text first: card fields are short
            for part in split_utf8("\n".join(rest)):
                await self.client.call("message/send", {**base, "msgtype": "text", "text": {"content": part}})
        task_id = f"anz-{secrets.token_hex(8)}"
        self._cards[task_id] = dict(buttons)
        if len(self._cards) > 5000:
            self._cards.pop(next(iter(self._cards)))
        card = {
            "card_type": "button_interaction",
            "main_title": {"title": title[:36]},
            "task_id": task_id,
            "button_list": [{"text": label[:20], "style": 1, "key": value} for value, label in buttons],
        }
        if len(title) > 36:
            card["sub_title_text"] = title[:120]
        body = await self.client.call("message/send", {**base, "msgtype": "template_card", "template_card": card})
        return str(body.get("msgid", task_id))

    async def _send_appchat(self, chat: str, message: Rendered, media: bytes | None) -> str:
        last = ""
        if message.photo and media is not None:
            media_id = await self.client.upload_image(media)
            body = await self.client.call(
                "appchat/send", {"chatid": chat, "msgtype": "image", "image": {"media_id": media_id}}
            )
            last = str(body.get("msgid", ""))
        text = self._text_for_group(message)
        for part in split_utf8(text) if text else []:
            body = await self.client.call(
                "appchat/send", {"chatid": chat, "msgtype": "text", "text": {"content": part}}
            )
            last = str(body.get("msgid", ""))
        return last or f"w{next(self._ids)}"

    async def _send_robot(self, key: str, message: Rendered, media: bytes | None) -> str:
        async def post(payload: dict[str, Any]) -> None:
            try:
                async with self.client._http().post(
                    self.client.base_url + "webhook/send", params={"key": key}, json=payload
                ) as resp:
                    if resp.status >= 500:
                        raise ChannelError(f"webhook/send: HTTP {resp.status}")
                    body = await resp.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise ChannelError(f"webhook/send: {type(exc).__name__}") from exc
            code = int(body.get("errcode", 0) or 0)
            if code in RATE_LIMITED:
                raise ChannelError("robot rate limited", retry_after=60)
            if code in (93000,):  # invalid webhook key: the robot was removed
                raise ChannelError(f"webhook/send: {code}", forbidden=True)
            if code:
                raise ChannelError(f"webhook/send: {code} {body.get('errmsg', '')}", permanent=True)

        if message.photo and media is not None:
            await post(
                {
                    "msgtype": "image",
                    "image": {"base64": base64.b64encode(media).decode(), "md5": hashlib.md5(media).hexdigest()},
                }
            )
        text = self._text_for_group(message)
        for part in split_utf8(text) if text else []:
            await post({"msgtype": "text", "text": {"content": part}})
        return f"r{next(self._ids)}"


CALLBACK_WINDOW = 600  # seconds: a callback signed further from now than this is a replay, not a retry


def fresh(timestamp: str, now: float, window: float = CALLBACK_WINDOW) -> bool:
    """Whether a callback's signed timestamp is within the window of now."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    return abs(int(timestamp) - now) <= window


def _declares_entities(data: bytes) -> bool:
    """XML with a DTD is never legitimate here; refusing it stops entity expansion attacks before parsing."""
    upper = data.upper()
    return b"<!DOCTYPE" in upper or b"<!ENTITY" in upper
