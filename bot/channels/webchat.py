"""The local web chat (development and demo channel): pick a person, chat privately or in a project group,
press buttons, upload photos. On by default only on loopback; elsewhere only with a password (Basic auth).

State-changing requests must carry the X-Anzebot-Webchat header, which a cross-site form cannot send, so a web
page open in the same browser cannot drive the bot.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import math
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from bot.channels.base import Handle, Unavailable, read_capped
from bot.channels.memory import MemoryChannel
from bot.domain.numbering import parse_id
from bot.i18n import N_
from bot.messages import ChatKind, Choice, Incoming, Location, Media, Payload, parse_text
from bot.render import RICH, Capabilities, Rendered

log = logging.getLogger(__name__)

CHANNEL = "webchat"
CAPABILITIES = Capabilities(
    buttons=True, max_buttons=60, buttons_per_row=2, max_button_label=40, cards=True, edit=True, max_text=4096
)
MAX_LOG = 500
MAX_TEXT_IN = 4000
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
MAX_BODY = 256 * 1024  # a chat message as JSON


@dataclass
class LogEntry:
    seq: int
    chat_id: str
    sender: str  # "bot" or the person's name
    message: Rendered
    message_id: str
    mine_user: str | None = None

    def to_json(self) -> dict[str, Any]:
        m = self.message
        return {
            "seq": self.seq,
            "id": self.message_id,
            "from": self.sender,
            "user": self.mine_user,
            "text": m.text,
            "buttons": [[list(b) for b in row] for row in m.buttons],
            "photo": f"/media/{m.photo}" if m.photo else None,
        }


class Directory(Protocol):
    """What the page needs of the database: the person picker, linking the browser to a person, photos."""

    async def people(self) -> list[dict[str, Any]]: ...
    async def link(self, user_id: str, person_id: int) -> bool: ...
    async def media(self, sha: str) -> tuple[Path, str] | None: ...


class WebChat(MemoryChannel):
    """MemoryChannel plus a per-chat log that browsers poll."""

    def __init__(
        self,
        directory: Directory | None = None,
        password: str | None = None,
        capabilities: Capabilities = CAPABILITIES,
        *,
        hosts: frozenset[str] = frozenset(LOOPBACK_NAMES),
        max_upload: int = 20 * 1024 * 1024,
    ) -> None:
        super().__init__(CHANNEL, capabilities, N_("web chat"))
        self.directory = directory
        self.password = password
        self.hosts = frozenset(h.lower() for h in hosts) | frozenset(LOOPBACK_NAMES)
        self.max_upload = max_upload
        self.log: list[LogEntry] = []
        self._seq = itertools.count(1)
        self._msg_ids = itertools.count(1)
        # Update ids must stay unique across restarts: they are the de-duplication key of incoming messages.
        self._run = secrets.token_hex(4)

    def _append(self, entry: LogEntry) -> None:
        self.log.append(entry)
        if len(self.log) > MAX_LOG * 20:
            del self.log[: len(self.log) - MAX_LOG * 10]

    async def send(self, chat_id: str, message: Rendered, media: bytes | None) -> str:
        mid = await super().send(chat_id, message, media)
        self._append(LogEntry(next(self._seq), chat_id, "bot", message, mid))
        await self._notify()
        return mid

    async def edit(self, chat_id: str, message_id: str, message: Rendered) -> bool:
        if not await super().edit(chat_id, message_id, message):
            return False
        for entry in self.log:
            if entry.message_id == message_id and entry.chat_id == chat_id and entry.sender == "bot":
                entry.message = message
                entry.seq = next(self._seq)  # pollers see the edit as new
        self.log.sort(key=lambda e: e.seq)
        await self._notify()
        return True

    def next_id(self) -> str:
        """A new update id; unique across restarts, as it is the de-duplication key of incoming messages."""
        return f"u{self._run}-{next(self._msg_ids)}"

    async def user_said(
        self, chat_id: str, user: str, name: str, text: str, photo: str | None = None, message_id: str | None = None
    ) -> str:
        mid = message_id or self.next_id()
        self._append(LogEntry(next(self._seq), chat_id, name, Rendered(text, photo=photo), mid, user))
        await self._notify()
        return mid

    def since(self, chat_id: str, after: int) -> list[LogEntry]:
        return [e for e in self.log if e.chat_id == chat_id and e.seq > after][-MAX_LOG:]

    def routes(self, handle: Handle) -> list[web.RouteDef]:
        assert self.directory is not None, "a served web chat needs its directory"
        return routes(self, handle, self.directory, self.password)

    async def wait(self, chat_id: str, after: int, seconds: float) -> list[LogEntry]:
        entries = self.since(chat_id, after)
        if entries or seconds <= 0:
            return entries
        async with self.changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait_for(lambda: bool(self.since(chat_id, after))), seconds)
        return self.since(chat_id, after)


def _check_password(request: web.Request, password: str | None) -> bool:
    if password is None:
        return True
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        _, _, given = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(given.encode(), password.encode())


def host_allowed(value: str | None, allowed: frozenset[str]) -> bool:
    """Whether a Host header (or an Origin's host) names this server: a page on another name that resolves here
    (DNS rebinding) must not drive the chat."""
    if not value:
        return False
    host = value.strip().lower()
    if host.startswith("["):  # [::1]:8080
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    return host in allowed


def origin_host(origin: str) -> str | None:
    _, sep, rest = origin.partition("://")
    return rest.split("/", 1)[0] if sep else None


def _user(value: Any) -> str:
    """A browser's user id as the page got it from /api/login (p<person id> or v<hex>)."""
    if not isinstance(value, str) or not 2 <= len(value) <= 40 or not value.isascii() or not value.isalnum():
        raise ValueError("user")
    return value


def _coordinate(value: Any, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > limit:
        raise ValueError("location")
    return float(value)


def routes(
    chat: WebChat, handle: Handle, directory: Directory, password: str | None, poll_timeout: float = 25.0
) -> list[web.RouteDef]:
    allowed = chat.hosts

    def guard(fn: Callable[[web.Request], Awaitable[web.StreamResponse]], write: bool = False):  # type: ignore[no-untyped-def]
        async def wrapped(request: web.Request) -> web.StreamResponse:
            if not host_allowed(request.headers.get("Host"), allowed):
                return web.json_response({"error": "unknown host"}, status=403)
            origin = request.headers.get("Origin")
            if origin is not None and not host_allowed(origin_host(origin), allowed):
                return web.json_response({"error": "foreign origin"}, status=403)
            if not _check_password(request, password):
                return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="anzebot"'})
            if write and request.headers.get("X-Anzebot-Webchat") != "1":
                return web.json_response({"error": "missing header"}, status=403)
            try:
                return await fn(request)
            except (ValueError, KeyError, TypeError, IndexError, RecursionError) as exc:
                return web.json_response({"error": f"bad request: {type(exc).__name__}"}, status=400)
            except Unavailable:
                return web.json_response({"error": "not stored, please send it again"}, status=503)

        return wrapped

    async def _json(request: web.Request) -> dict[str, Any]:
        body = await read_capped(request, MAX_BODY)
        if body is None:
            raise ValueError("too large")
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data

    def _incoming(body: dict[str, Any], payload: Payload, message_id: str) -> Incoming:
        user = _user(body["user"])
        chat_id = str(body.get("chat") or user)[:100]
        kind = ChatKind.GROUP if chat_id.startswith("g-") else ChatKind.PRIVATE
        if kind == ChatKind.PRIVATE and chat_id != user:
            raise ValueError("a private chat is the user's own")
        locale = body.get("locale") if isinstance(body.get("locale"), str) else None
        return Incoming(CHANNEL, chat_id, kind, user, message_id, payload, locale, str(body.get("name") or "")[:60])

    async def page(request: web.Request) -> web.StreamResponse:
        html = resources.files("bot.channels").joinpath("static", "webchat.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html", headers={"X-Frame-Options": "DENY"})

    async def list_people(request: web.Request) -> web.StreamResponse:
        return web.json_response({"people": await directory.people()})

    async def login(request: web.Request) -> web.StreamResponse:
        body = await _json(request)
        if body.get("visitor") is True:
            return web.json_response({"user": f"v{secrets.token_hex(4)}"})
        person = body.get("person")
        person_id = parse_id(person) if isinstance(person, str) else person
        if isinstance(person_id, bool) or not isinstance(person_id, int) or not 0 < person_id < 2**31:
            raise ValueError("person")
        if not await directory.link(f"p{person_id}", person_id):
            raise ValueError("no such person")
        return web.json_response({"user": f"p{person_id}"})

    async def send(request: web.Request) -> web.StreamResponse:
        body = await _json(request)
        user = _user(body["user"])
        chat_id = str(body.get("chat") or user)[:100]
        name = str(body.get("name") or user)[:60]
        if "choice" in body:
            value = str(body["choice"])[:64]
            label = str(body.get("label") or value)[:100]
            inc = _incoming(body, Choice(value), chat.next_id())
            shown = label
        elif "location" in body:
            where = body["location"]
            if not isinstance(where, list) or len(where) != 2:
                raise ValueError("location")
            lat, lon = _coordinate(where[0], 90), _coordinate(where[1], 180)
            inc = _incoming(body, Location(lat, lon), chat.next_id())
            shown = f"📍 {lat},{lon}"
        else:
            text = body["text"]
            if not isinstance(text, str) or not text.strip():
                raise ValueError("empty")
            text = text[: MAX_TEXT_IN * 4]  # the handlers judge length; the page only stops absurd sizes
            inc = _incoming(body, parse_text(text), chat.next_id())
            shown = text[:MAX_TEXT_IN]
        await handle(inc)  # stored before the browser hears it arrived; the answer comes by the log
        await chat.user_said(chat_id, user, name, shown, message_id=inc.message_id)
        return web.json_response({"ok": True, "id": inc.message_id})

    async def upload(request: web.Request) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > chat.max_upload + 64 * 1024:
            return web.json_response({"error": "too large"}, status=413)
        form = await request.post()
        field = form.get("file")
        if not isinstance(field, web.FileField):
            raise ValueError("no file")
        data = field.file.read(chat.max_upload + 1)
        if len(data) > chat.max_upload:
            return web.json_response({"error": "too large"}, status=413)
        body = {k: str(form[k]) for k in ("user", "chat", "name", "locale") if k in form}
        user = _user(body.get("user"))
        caption = str(form.get("caption") or "")[:MAX_TEXT_IN] or None
        inc = _incoming(body, Media(chat.upload(data), "photo", caption, len(data), field.filename), chat.next_id())
        try:
            await handle(inc)
        except Unavailable:
            chat.uploads.pop(inc.payload.ref, None)  # type: ignore[union-attr]
            raise
        # The bubble shows the photo once the router has stored it under this hash.
        await chat.user_said(
            inc.chat_id,
            user,
            body.get("name") or user,
            caption or "",
            photo=hashlib.sha256(data).hexdigest(),
            message_id=inc.message_id,
        )
        return web.json_response({"ok": True, "id": inc.message_id})

    async def messages(request: web.Request) -> web.StreamResponse:
        chat_id = request.query["chat"]
        after = int(request.query.get("after", "0"))
        timeout = min(float(request.query.get("wait", poll_timeout)), poll_timeout)
        entries = await chat.wait(chat_id, after, timeout)
        return web.json_response({"messages": [e.to_json() for e in entries]})

    async def media(request: web.Request) -> web.StreamResponse:
        sha = request.match_info["sha"]
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise web.HTTPNotFound()
        found = await directory.media(sha)
        if found is None or not found[0].exists():
            raise web.HTTPNotFound()
        path, mime = found
        return web.FileResponse(path, headers={"Content-Type": mime, "X-Content-Type-Options": "nosniff"})

    # aiohttp's client_max_size defaults to 1 MiB; uploads are checked against the media limit by the router.
    return [
        web.get("/", guard(page)),
        web.get("/api/people", guard(list_people)),
        web.post("/api/login", guard(login, write=True)),
        web.post("/api/send", guard(send, write=True)),
        web.post("/api/upload", guard(upload, write=True)),
        web.get("/api/messages", guard(messages)),
        web.get("/media/{sha}", guard(media)),
    ]


__all__ = ["CHANNEL", "RICH", "WebChat", "routes"]
