"""The channel-neutral message model: what comes in (Incoming) and what handlers answer (reply items).

Reply items carry untranslated message ids and parameters; they are rendered in the recipient's language at
send time, so the same item serialised into the outbox reads right for every person it reaches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.domain.text import Localized

__all__ = [
    "Button",
    "Card",
    "ChatKind",
    "Choice",
    "Choices",
    "Command",
    "Document",
    "Incoming",
    "Localized",
    "Location",
    "Media",
    "Msg",
    "Option",
    "Photo",
    "StoredMedia",
    "Text",
    "TextIn",
    "Toast",
    "from_json",
    "incoming_from_json",
    "incoming_to_json",
    "parse_text",
    "to_json",
]


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"


# --- incoming payloads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextIn:
    text: str


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Choice:
    value: str


@dataclass(frozen=True)
class Media:
    """A photo or file still on the platform: the adapter downloads `ref` on demand."""

    ref: str
    kind: str = "photo"  # photo | file
    caption: str | None = None
    size_hint: int | None = None
    filename: str | None = None


@dataclass(frozen=True)
class StoredMedia:
    """A photo after the router stored it in the media store (what handlers see)."""

    sha256: str
    mime: str
    size: int
    width: int
    height: int
    caption: str | None = None


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    label: str | None = None


Payload = TextIn | Command | Choice | Media | StoredMedia | Location


@dataclass(frozen=True)
class Incoming:
    channel: str
    chat_id: str
    chat_kind: ChatKind
    user_id: str
    message_id: str
    payload: Payload
    locale_hint: str | None = None
    user_name: str | None = None
    raw: Any = field(default=None, compare=False, repr=False)

    def with_payload(self, payload: Payload) -> Incoming:
        return Incoming(
            self.channel,
            self.chat_id,
            self.chat_kind,
            self.user_id,
            self.message_id,
            payload,
            self.locale_hint,
            self.user_name,
            self.raw,
        )


def parse_text(text: str) -> TextIn | Command:
    """`/name arg…` (Telegram's `/name@bot` too) is a command; anything else is text."""
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1 and not stripped[1].isspace():
        head, *args = stripped[1:].split()
        name = head.split("@", 1)[0].lower()
        if name.replace("_", "").isalnum() and name.isascii():
            return Command(name, tuple(args))
    return TextIn(text)


# --- reply items -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Msg:
    """A translatable message: gettext id plus parameters (which may be Msg or Localized themselves)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


Label = Msg | Localized | str


@dataclass(frozen=True)
class Option:
    value: str  # stable value the handlers dispatch on; short (Telegram callback data ≤ 64 bytes)
    label: Label


@dataclass(frozen=True)
class Button:
    """A button kind, named by the prefix of its value (`prefix:arg:…`). The notice that makes the button and the
    `@action` that answers it use this one object, so the two cannot drift apart."""

    prefix: str

    def option(self, label: Label, *args: object) -> Option:
        return Option(":".join([self.prefix, *(str(a) for a in args)]), label)


@dataclass(frozen=True)
class Text:
    msg: Msg


@dataclass(frozen=True)
class Choices:
    prompt: Msg
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Toast:
    """A short answer to a button press (refused, stale, already handled): a pop-up where the channel has one
    (Telegram's answerCallbackQuery), an ordinary message elsewhere."""

    msg: Msg


@dataclass(frozen=True)
class Photo:
    sha256: str
    caption: Msg | None = None


@dataclass(frozen=True)
class Document:
    sha256: str
    filename: str
    caption: Msg | None = None


@dataclass(frozen=True)
class Card:
    """A structured notice. `key` names a living card (e.g. one per hazard per chat): a later card with the same
    key edits the earlier message where the channel can, and is posted anew where it cannot."""

    title: Msg
    fields: tuple[tuple[Msg, Label], ...] = ()
    options: tuple[Option, ...] = ()
    photo: str | None = None
    key: str | None = None
    footer: Msg | None = None


Item = Text | Choices | Photo | Document | Card | Toast


# --- (de)serialisation for the outbox ------------------------------------------------------------------


def _label_json(label: Label) -> Any:
    if isinstance(label, Msg):
        return {"k": label.key, "p": {k: _label_json(v) for k, v in label.params.items()}}
    if isinstance(label, Localized):
        return {"zh": label.zh, "en": label.en}
    if isinstance(label, list | tuple):
        return [_label_json(v) for v in label]  # rendered one per line
    return label


def _label_from(data: Any) -> Any:
    if isinstance(data, dict):
        if "k" in data:
            return Msg(data["k"], {k: _label_from(v) for k, v in data.get("p", {}).items()})
        if "zh" in data:
            return Localized(data["zh"], data["en"])
    if isinstance(data, list):
        return [_label_from(v) for v in data]
    return data


def _msg_from(data: Any) -> Msg:
    value = _label_from(data)
    assert isinstance(value, Msg)
    return value


def _options_json(options: tuple[Option, ...]) -> list[Any]:
    return [[o.value, _label_json(o.label)] for o in options]


def _options_from(data: list[Any]) -> tuple[Option, ...]:
    return tuple(Option(v, _label_from(label)) for v, label in data)


def to_json(items: list[Item]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Text):
            out.append({"t": "text", "m": _label_json(item.msg)})
        elif isinstance(item, Toast):
            out.append({"t": "toast", "m": _label_json(item.msg)})
        elif isinstance(item, Choices):
            out.append({"t": "choices", "m": _label_json(item.prompt), "o": _options_json(item.options)})
        elif isinstance(item, Photo):
            out.append({"t": "photo", "s": item.sha256, "c": _label_json(item.caption) if item.caption else None})
        elif isinstance(item, Document):
            out.append(
                {
                    "t": "doc",
                    "s": item.sha256,
                    "f": item.filename,
                    "c": _label_json(item.caption) if item.caption else None,
                }
            )
        else:
            out.append(
                {
                    "t": "card",
                    "title": _label_json(item.title),
                    "fields": [[_label_json(a), _label_json(b)] for a, b in item.fields],
                    "o": _options_json(item.options),
                    "photo": item.photo,
                    "key": item.key,
                    "footer": _label_json(item.footer) if item.footer else None,
                }
            )
    return out


def from_json(data: list[dict[str, Any]]) -> list[Item]:
    items: list[Item] = []
    for d in data:
        t = d["t"]
        if t == "text":
            items.append(Text(_msg_from(d["m"])))
        elif t == "toast":
            items.append(Toast(_msg_from(d["m"])))
        elif t == "choices":
            items.append(Choices(_msg_from(d["m"]), _options_from(d["o"])))
        elif t == "photo":
            items.append(Photo(d["s"], _msg_from(d["c"]) if d.get("c") else None))
        elif t == "doc":
            items.append(Document(d["s"], d["f"], _msg_from(d["c"]) if d.get("c") else None))
        elif t == "card":
            items.append(
                Card(
                    _msg_from(d["title"]),
                    tuple((_msg_from(a), _label_from(b)) for a, b in d["fields"]),
                    _options_from(d["o"]),
                    d.get("photo"),
                    d.get("key"),
                    _msg_from(d["footer"]) if d.get("footer") else None,
                )
            )
        else:
            raise ValueError(f"unknown reply item type {t!r}")
    return items


# --- (de)serialisation of updates for the inbox ----------------------------------------------------------


def _payload_json(p: Payload) -> dict[str, Any]:
    if isinstance(p, TextIn):
        return {"t": "text", "text": p.text}
    if isinstance(p, Command):
        return {"t": "command", "name": p.name, "args": list(p.args)}
    if isinstance(p, Choice):
        return {"t": "choice", "value": p.value}
    if isinstance(p, Media):
        return {
            "t": "media",
            "ref": p.ref,
            "kind": p.kind,
            "caption": p.caption,
            "size": p.size_hint,
            "file": p.filename,
        }
    if isinstance(p, Location):
        return {"t": "location", "lat": p.latitude, "lon": p.longitude, "label": p.label}
    raise ValueError(f"{type(p).__name__} is not an incoming payload")  # StoredMedia exists only inside a turn


def _payload_from(d: Mapping[str, Any]) -> Payload:
    t = d["t"]
    if t == "text":
        return TextIn(str(d["text"]))
    if t == "command":
        return Command(str(d["name"]), tuple(str(a) for a in d["args"]))
    if t == "choice":
        return Choice(str(d["value"]))
    if t == "media":
        return Media(d["ref"], d["kind"], d.get("caption"), d.get("size"), d.get("file"))
    if t == "location":
        return Location(float(d["lat"]), float(d["lon"]), d.get("label"))
    raise ValueError(f"unknown payload {t!r}")


def incoming_to_json(inc: Incoming) -> dict[str, Any]:
    """An update as the inbox keeps it; `raw` only when it is plain strings (WeCom's event fields)."""
    raw = inc.raw if isinstance(inc.raw, dict) and all(isinstance(v, str) for v in inc.raw.values()) else None
    return {
        "channel": inc.channel,
        "chat": inc.chat_id,
        "kind": inc.chat_kind.value,
        "user": inc.user_id,
        "id": inc.message_id,
        "payload": _payload_json(inc.payload),
        "locale": inc.locale_hint,
        "name": inc.user_name,
        "raw": raw,
    }


def incoming_from_json(d: Mapping[str, Any]) -> Incoming:
    return Incoming(
        d["channel"],
        d["chat"],
        ChatKind(d["kind"]),
        d["user"],
        d["id"],
        _payload_from(d["payload"]),
        d.get("locale"),
        d.get("name"),
        d.get("raw"),
    )
