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
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from bot.channels.base import Handle
from bot.channels.memory import MemoryChannel
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
    async def link(self, user_id: str, person_id: int) -> None: ...
    async def media(self, sha: str) -> tuple[Path, str] | None: ...


class WebChat(MemoryChannel):
    """MemoryChannel plus a per-chat log that browsers poll."""

    def __init__(
        self,
        directory: Directory | None = None,
        password: str | None = None,
        capabilities: Capabilities = CAPABILITIES,
    ) -> None:
        super().__init__(CHANNEL, capabilities, N_("web chat"))
        self.directory = directory
        self.password = password
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

    async def user_said(self, chat_id: str, user: str, name: str, text: str, photo: str | None = None) -> str:
        mid = f"u{self._run}-{next(self._msg_ids)}"
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


def routes(
    chat: WebChat, handle: Handle, directory: Directory, password: str | None, poll_timeout: float = 25.0
) -> list[web.RouteDef]:
    tasks: set[asyncio.Task[None]] = set()

    def guard(fn: Callable[[web.Request], Awaitable[web.StreamResponse]], write: bool = False):  # type: ignore[no-untyped-def]
        async def wrapped(request: web.Request) -> web.StreamResponse:
            if not _check_password(request, password):
                return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="anzebot"'})
            if write and request.headers.get("X-Anzebot-Webchat") != "1":
                return web.json_response({"error": "missing header"}, status=403)
            try:
                return await fn(request)
            except (ValueError, KeyError, json.JSONDecodeError) as exc:
                return web.json_response({"error": f"bad request: {type(exc).__name__}"}, status=400)

        return wrapped

    async def work(inc: Incoming) -> None:
        await handle(inc)

    def _spawn(inc: Incoming) -> None:
        # Answer the browser at once and work after, as the real platforms require.
        task = asyncio.create_task(work(inc))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def _incoming(body: dict[str, Any], payload: Payload, message_id: str) -> Incoming:
        user = str(body["user"])
        chat_id = str(body.get("chat") or user)
        kind = ChatKind.GROUP if chat_id.startswith("g-") else ChatKind.PRIVATE
        if kind == ChatKind.PRIVATE and chat_id != user:
            raise ValueError("a private chat is the user's own")
        return Incoming(CHANNEL, chat_id, kind, user, message_id, payload, body.get("locale"), body.get("name"))

    async def page(request: web.Request) -> web.StreamResponse:
        html = resources.files("bot.channels").joinpath("static", "webchat.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html", headers={"X-Frame-Options": "DENY"})

    async def list_people(request: web.Request) -> web.StreamResponse:
        return web.json_response({"people": await directory.people()})

    async def login(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if body.get("visitor"):
            return web.json_response({"user": f"v{secrets.token_hex(4)}"})
        person_id = int(body["person"])
        await directory.link(f"p{person_id}", person_id)
        return web.json_response({"user": f"p{person_id}"})

    async def send(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        name = str(body.get("name") or body["user"])[:60]
        if "choice" in body:
            value = str(body["choice"])[:64]
            label = str(body.get("label") or value)[:100]
            mid = await chat.user_said(str(body.get("chat") or body["user"]), str(body["user"]), name, label)
            payload: Payload = Choice(value)
        elif "location" in body:
            lat, lon = float(body["location"][0]), float(body["location"][1])
            mid = await chat.user_said(
                str(body.get("chat") or body["user"]), str(body["user"]), name, f"📍 {lat},{lon}"
            )
            payload = Location(lat, lon)
        else:
            text = str(body["text"])
            if not text.strip():
                raise ValueError("empty")
            text = text[: MAX_TEXT_IN * 4]  # the handlers judge length; the page only stops absurd sizes
            mid = await chat.user_said(
                str(body.get("chat") or body["user"]), str(body["user"]), name, text[:MAX_TEXT_IN]
            )
            payload = parse_text(text)
        _spawn(_incoming(body, payload, mid))
        return web.json_response({"ok": True, "id": mid})

    async def upload(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        field = form.get("file")
        if not isinstance(field, web.FileField):
            raise ValueError("no file")
        data = field.file.read()
        body = {k: str(form[k]) for k in ("user", "chat", "name", "locale") if k in form}
        caption = str(form.get("caption") or "") or None
        ref = chat.upload(data)
        name = body.get("name") or body["user"]
        # The bubble shows the photo once the router has stored it under this hash.
        mid = await chat.user_said(
            body.get("chat") or body["user"], body["user"], name, caption or "", photo=hashlib.sha256(data).hexdigest()
        )
        _spawn(_incoming(body, Media(ref, "photo", caption, len(data), field.filename), mid))
        return web.json_response({"ok": True, "id": mid})

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
