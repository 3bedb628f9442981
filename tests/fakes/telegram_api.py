"""A fake Telegram Bot API on loopback for the real python-telegram-bot client: `/bot{token}/{method}` and
`/file/bot{token}/{path}`, a queue of updates for getUpdates, a record of every call, and injectable faults.
Update builders produce the JSON shapes Telegram sends."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.fakes.recorder import Recorder

BOT = {
    "id": 900001,
    "is_bot": True,
    "first_name": "anzebot",
    "username": "anzebot_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
JSON_FIELDS = {
    "chat_id",
    "message_id",
    "reply_markup",
    "offset",
    "limit",
    "timeout",
    "allowed_updates",
    "commands",
    "scope",
    "show_alert",
    "max_connections",
    "drop_pending_updates",
    "reply_parameters",
}
HOLD_SECONDS = 0.3  # getUpdates long-poll hold; short so that stopping is quick


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.time(): the test's controlled clock
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def chat(self) -> str:
        return str(self.params.get("chat_id"))

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[tuple[str, str]]:
        markup = self.params.get("reply_markup") or {}
        return [(b["callback_data"], b["text"]) for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class Fault:
    status: int
    description: str
    retry_after: int | None = None
    chat: str | None = None  # only calls to this chat
    migrate_to: int | None = None


SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument")


class FloodLimits:
    """Telegram's flood limits, enforced the way the platform does: a 429 with retry_after when a bot sends more
    than 30 messages in any second, more than one per second to a private chat, or more than 20 per minute to a
    group. Times are time.time(): the controlled clock in tests, the real one in benchmarks."""

    OVERALL, GROUP = (30, 1.0), (20, 60.0)
    PRIVATE = (1, 1.0)

    def __init__(self) -> None:
        self.overall: deque[float] = deque()
        self.chats: dict[str, deque[float]] = {}

    @staticmethod
    def _full(times: deque[float], limit: tuple[int, float], now: float) -> float | None:
        count, window = limit
        while times and times[0] <= now - window:
            times.popleft()
        return times[0] + window - now if len(times) >= count else None

    def check(self, chat: str, now: float) -> float | None:
        """None when the message may go (and it is counted), else seconds to wait."""
        times = self.chats.setdefault(chat, deque())
        wait = self._full(self.overall, self.OVERALL, now)
        wait = wait or self._full(times, self.GROUP if chat.startswith("-") else self.PRIVATE, now)
        if wait is not None:
            return wait
        self.overall.append(now)
        times.append(now)
        return None


class FakeTelegram(Recorder):
    def __init__(self, token: str = "123456:TEST-token", limits: bool = False) -> None:
        super().__init__()
        self.token = token
        self.limits = FloodLimits() if limits else None
        self.limited: list[Call] = []  # calls refused for going over a flood limit
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.faults: dict[str, list[Fault]] = {}
        self.faulted: list[Call] = []  # calls that got an injected error
        self.files: dict[str, tuple[str, bytes, int]] = {}  # file_id → (path, bytes, declared size)
        self._new_update = asyncio.Event()
        self._message_ids = itertools.count(5000)
        self._update_ids = itertools.count(700000)
        self._file_ids = itertools.count(1)
        self.edit_refusals: set[int] = set()
        self.server: TestServer | None = None

    # --- server --------------------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return f"http://127.0.0.1:{self.server.port}"

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            params = await request.json()
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                elif key in JSON_FIELDS:
                    params[key] = json.loads(value)
                else:
                    params[key] = value
        return params, files

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params, files = await self._params(request)
        if method != "getUpdates":
            await self._record(Call(method, params, time.time(), files))
        faults = self.faults.get(method, [])
        fault = next((f for f in faults if f.chat is None or f.chat == str(params.get("chat_id"))), None)
        if fault is not None:
            faults.remove(fault)
            self.faulted.append(self.calls[-1])
            body: dict[str, Any] = {"ok": False, "error_code": fault.status, "description": fault.description}
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            if fault.migrate_to is not None:
                body["parameters"] = {"migrate_to_chat_id": fault.migrate_to}
            return web.json_response(body, status=fault.status)
        if self.limits is not None and method in SEND_METHODS:
            wait = self.limits.check(str(params.get("chat_id")), time.time())
            if wait is not None:
                self.limited.append(self.calls[-1])
                retry = max(1, math.ceil(wait))
                return web.json_response(
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {retry}",
                        "parameters": {"retry_after": retry},
                    },
                    status=429,
                )
        handler = getattr(self, f"_m_{method}", None)
        result = await handler(params, files) if handler else True
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for stored_path, data, _ in self.files.values():
            if stored_path == path:
                return web.Response(body=data)
        return web.Response(status=404)

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        await self.notify()

    # --- methods -------------------------------------------------------------------------------------------

    async def _m_getMe(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return BOT

    async def _m_getUpdates(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), HOLD_SECONDS)
        return [u for u in self.updates if u["update_id"] >= offset][:100]

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id < 0:
            chat["title"] = "项目群"
        msg = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat, "from": BOT, **extra}
        if params.get("reply_markup"):
            msg["reply_markup"] = params["reply_markup"]
        return msg

    async def _m_sendMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return self._message(params, text=params["text"])

    async def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        file_id = f"sent-photo-{next(self._file_ids)}"
        return self._message(
            params,
            caption=params.get("caption"),
            photo=[{"file_id": file_id, "file_unique_id": file_id, "width": 64, "height": 48}],
        )

    async def _m_sendDocument(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        file_id = f"sent-doc-{next(self._file_ids)}"
        return self._message(
            params, caption=params.get("caption"), document={"file_id": file_id, "file_unique_id": file_id}
        )

    async def _m_editMessageText(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if int(params["message_id"]) in self.edit_refusals:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: message can't be edited"}, status=400
            )
        return self._message(params, text=params["text"]) | {"message_id": int(params["message_id"])}

    async def _m_getFile(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        file_id = params["file_id"]
        if file_id not in self.files:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}, status=400
            )
        path, _data, size = self.files[file_id]
        if size > 20 * 1024 * 1024:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: file is too big"}, status=400
            )
        return {"file_id": file_id, "file_unique_id": file_id, "file_size": size, "file_path": path}

    # --- test controls ---------------------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
        chat: int | None = None,
        migrate_to: int | None = None,
    ) -> None:
        fault = Fault(status, description, retry_after, str(chat) if chat is not None else None, migrate_to)
        self.faults.setdefault(method, []).extend([fault] * times)

    def add_file(self, data: bytes, declared_size: int | None = None, ext: str = "jpg") -> str:
        n = next(self._file_ids)
        file_id = f"AgAC-file-{n}"
        self.files[file_id] = (
            f"photos/file_{n}.{ext}",
            data,
            declared_size if declared_size is not None else len(data),
        )
        return file_id

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        self.updates.append(update)
        self._new_update.set()
        return update

    def sent(self, chat: str | int | None = None, method: str | None = None) -> list[Call]:
        refused = {id(c) for c in self.limited}
        out = [
            c
            for c in self.calls
            if c.method in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText") and id(c) not in refused
        ]
        if chat is not None:
            out = [c for c in out if c.chat == str(chat)]
        if method is not None:
            out = [c for c in out if c.method == method]
        return out

    # --- update builders (Telegram's JSON shapes) -------------------------------------------------------------

    def user(self, uid: int, name: str, lang: str | None = "zh-hans") -> dict[str, Any]:
        user = {"id": uid, "is_bot": False, "first_name": name}
        if lang:
            user["language_code"] = lang
        return user

    @staticmethod
    def chat(chat_id: int, user: dict[str, Any] | None = None) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": (user or {}).get("first_name", "")}
        return {"id": chat_id, "type": "supergroup", "title": "项目群"}

    def _base(self, user: dict[str, Any], chat_id: int) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id, user),
            "from": user,
        }

    def text(
        self, user: dict[str, Any], text: str, chat_id: int | None = None, reply_to: int | None = None
    ) -> dict[str, Any]:
        message = self._base(user, chat_id or user["id"]) | {"text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if reply_to is not None:
            message["reply_to_message"] = {
                "message_id": reply_to,
                "date": int(time.time()),
                "chat": self.chat(chat_id or user["id"]),
                "from": BOT,
                "text": "…",
            }
        return {"update_id": next(self._update_ids), "message": message}

    def photo(
        self,
        user: dict[str, Any],
        data: bytes,
        caption: str | None = None,
        chat_id: int | None = None,
        declared_size: int | None = None,
    ) -> dict[str, Any]:
        small = self.add_file(data[:100] or data)
        large = self.add_file(data, declared_size)
        size = declared_size if declared_size is not None else len(data)
        message = self._base(user, chat_id or user["id"]) | {
            "photo": [
                {"file_id": small, "file_unique_id": small + "u", "width": 90, "height": 67, "file_size": 100},
                {"file_id": large, "file_unique_id": large + "u", "width": 1280, "height": 960, "file_size": size},
            ]
        }
        if caption:
            message["caption"] = caption
        return {"update_id": next(self._update_ids), "message": message}

    def document(
        self,
        user: dict[str, Any],
        data: bytes,
        mime: str,
        name: str,
        chat_id: int | None = None,
        declared_size: int | None = None,
    ) -> dict[str, Any]:
        file_id = self.add_file(data, declared_size, ext=name.rsplit(".", 1)[-1])
        message = self._base(user, chat_id or user["id"]) | {
            "document": {
                "file_id": file_id,
                "file_unique_id": file_id + "u",
                "file_name": name,
                "mime_type": mime,
                "file_size": declared_size if declared_size is not None else len(data),
            }
        }
        return {"update_id": next(self._update_ids), "message": message}

    def press(self, user: dict[str, Any], call: Call, label: str) -> dict[str, Any]:
        """A press of the button labelled `label` on the message a recorded call produced."""
        data = next(value for value, text in call.buttons if label in text)
        return self.callback(user, call, data)

    def callback(self, user: dict[str, Any], call: Call, data: str) -> dict[str, Any]:
        chat_id = int(call.params["chat_id"])
        message = {
            "message_id": call.params.get("_message_id", 1),
            "date": int(time.time()),
            "chat": self.chat(chat_id, user),
            "from": BOT,
            "text": call.text,
        }
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": f"cq{next(self._update_ids)}",
                "from": user,
                "chat_instance": "ci",
                "data": data,
                "message": message,
            },
        }
