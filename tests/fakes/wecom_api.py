"""A fake WeCom API on loopback (`/cgi-bin/…`) with recorded calls and injectable faults, and a builder of
encrypted callbacks made with wechatpy's WeChatCrypto, as WeCom's servers make them."""

from __future__ import annotations

import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import xmltodict
from aiohttp import web
from aiohttp.test_utils import TestServer
from wechatpy.enterprise.crypto import WeChatCrypto

from tests.fakes.recorder import Recorder

CORP_ID = "ww1436e0e65a779aee"
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
AGENT_ID = "1000002"
SECRET = "app-secret-123"


@dataclass
class Call:
    path: str
    params: dict[str, Any]
    body: dict[str, Any]
    at: float
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def text(self) -> str:
        b = self.body
        if b.get("msgtype") == "text":
            return str(b["text"]["content"])
        if b.get("msgtype") == "template_card":
            card = b["template_card"]
            return str(card["main_title"]["title"]) + "\n" + str(card.get("sub_title_text", ""))
        return ""

    @property
    def buttons(self) -> list[tuple[str, str]]:
        card = self.body.get("template_card") or {}
        return [(btn["key"], btn["text"]) for btn in card.get("button_list", [])]

    @property
    def to(self) -> str:
        return str(self.body.get("touser") or self.body.get("chatid") or self.params.get("key") or "")


class SendLimits:
    """WeCom's documented send limits: an app may send each member at most 30 messages a minute (the excess is
    dropped without an error), a group robot at most 20 a minute (errcode 45009). time.time() is the clock."""

    MEMBER, ROBOT = (30, 60.0), (20, 60.0)

    def __init__(self) -> None:
        self.windows: dict[str, deque[float]] = {}

    def allow(self, who: str, limit: tuple[int, float], now: float) -> bool:
        count, window = limit
        times = self.windows.setdefault(who, deque())
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= count:
            return False
        times.append(now)
        return True


class FakeWeCom(Recorder):
    def __init__(self, limits: bool = False) -> None:
        super().__init__()
        self.limits = SendLimits() if limits else None
        self.dropped: list[Call] = []  # over the per-member limit: "accepted" by WeCom, never delivered
        self.limited: list[Call] = []  # answered 45009
        self.calls: list[Call] = []
        self.faults: dict[str, list[dict[str, Any]]] = {}
        self.faulted: list[Call] = []  # calls answered with an injected error
        self.media: dict[str, bytes] = {}
        self.valid_tokens: set[str] = set()
        self._tokens = itertools.count(1)
        self._ids = itertools.count(1)
        self.server: TestServer | None = None

    async def start(self) -> str:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/cgi-bin/{path:.+}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return f"http://127.0.0.1:{self.server.port}/cgi-bin/"

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def fail(self, path: str, *, errcode: int | None = None, status: int = 200, times: int = 1) -> None:
        self.faults.setdefault(path, []).extend([{"errcode": errcode, "status": status}] * times)

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    def add_media(self, data: bytes) -> str:
        media_id = f"MEDIA_{next(self._ids)}"
        self.media[media_id] = data
        return media_id

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        params = dict(request.query)
        body: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.method == "POST":
            if request.content_type.startswith("multipart/"):
                form = await request.post()
                files = {k: v.file.read() for k, v in form.items() if isinstance(v, web.FileField)}
            else:
                raw = await request.read()
                body = json.loads(raw) if raw else {}
        call = Call(path, params, body, time.time(), files)
        self.calls.append(call)
        await self.notify()
        faults = self.faults.get(path)
        if faults:
            fault = faults.pop(0)
            self.faulted.append(call)
            if fault["status"] >= 500:
                return web.Response(status=fault["status"], text="upstream error")
            return web.json_response({"errcode": fault["errcode"], "errmsg": "injected"})
        if path == "gettoken":
            if params.get("corpid") != CORP_ID or params.get("corpsecret") != SECRET:
                return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
            token = f"TOKEN{next(self._tokens)}"
            self.valid_tokens.add(token)
            return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})
        if path == "webhook/send":
            if self.limits is not None and not self.limits.allow(
                "robot:" + params.get("key", ""), SendLimits.ROBOT, call.at
            ):
                self.limited.append(call)
                return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
            return web.json_response({"errcode": 0, "errmsg": "ok"})
        if params.get("access_token") not in self.valid_tokens:
            self.faulted.append(call)
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if path == "media/get":
            data = self.media.get(params.get("media_id", ""))
            if data is None:  # WeCom's errors come back as HTTP 200 with JSON
                return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
            return web.Response(body=data, content_type="image/jpeg")
        if path == "media/upload":
            media_id = self.add_media(next(iter(files.values())))
            return web.json_response({"errcode": 0, "type": "image", "media_id": media_id, "created_at": "1"})
        if path == "appchat/create":
            return web.json_response({"errcode": 0, "errmsg": "ok", "chatid": f"CHAT{next(self._ids)}"})
        member = str(body.get("touser"))
        if path == "message/send" and self.limits and not self.limits.allow(member, SendLimits.MEMBER, call.at):
            self.dropped.append(call)
        result: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "msgid": f"msg{next(self._ids)}"}
        if body.get("msgtype") == "template_card":
            result["response_code"] = f"rc{next(self._ids)}"
        return web.json_response(result)

    def sent(self, to: str | None = None) -> list[Call]:
        """Messages that were delivered (not those answered with an error, nor those dropped over a limit)."""
        refused = {id(c) for c in self.faulted + self.dropped + self.limited}
        out = [
            c for c in self.calls if c.path in ("message/send", "appchat/send", "webhook/send") and id(c) not in refused
        ]
        return [c for c in out if to is None or c.to == to]


class Callbacks:
    """Encrypted callbacks as WeCom posts them to /wecom/callback."""

    def __init__(self, corp_id: str = CORP_ID) -> None:
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, corp_id)
        self._ids = itertools.count(1000)
        self._nonce = itertools.count(1)

    def _wrap(self, inner: str) -> tuple[str, bytes]:
        nonce = str(next(self._nonce))
        timestamp = str(int(time.time()))
        envelope = self.crypto.encrypt_message(inner, nonce, timestamp)
        sig = xmltodict.parse(envelope)["xml"]["MsgSignature"]
        query = urlencode({"msg_signature": sig, "timestamp": timestamp, "nonce": nonce})
        return f"/wecom/callback?{query}", envelope.encode()

    def _xml(self, user: str, kind: str, fields: str, msg_id: int | None = None, create: int | None = None) -> str:
        mid = f"<MsgId>{msg_id}</MsgId>" if msg_id is not None else ""
        return (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create or int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{fields}"
            f"{mid}<AgentID>{AGENT_ID}</AgentID></xml>"
        )

    def text(self, user: str, content: str, msg_id: int | None = None) -> tuple[str, bytes]:
        return self._wrap(
            self._xml(user, "text", f"<Content><![CDATA[{content}]]></Content>", msg_id or next(self._ids))
        )

    def image(self, user: str, media_id: str) -> tuple[str, bytes]:
        return self._wrap(
            self._xml(
                user,
                "image",
                f"<PicUrl><![CDATA[http://p/{media_id}]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>",
                next(self._ids),
            )
        )

    def card_press(self, user: str, card: Call, label: str, response_code: str = "rc-x") -> tuple[str, bytes]:
        key = next(k for k, text in card.buttons if label in text)
        task = card.body["template_card"]["task_id"]
        return self.press(user, key, task, response_code, create=next(self._ids))

    def press(self, user: str, key: str, task: str, response_code: str, create: int) -> tuple[str, bytes]:
        """A template-card button press as WeCom sends it (no MsgId; CreateTime in whole seconds)."""
        return self._wrap(
            self._xml(
                user,
                "event",
                (
                    f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
                    f"<TaskId><![CDATA[{task}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
                    f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode><SelectedItems></SelectedItems>"
                ),
                create=create,
            )
        )
