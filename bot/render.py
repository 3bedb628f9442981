"""How reply items degrade per channel: native buttons → card → numbered text options; long text is split.

The renderer is the one place that knows channel capabilities; adapters only make API calls with its output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.i18n import T, render_value, translate
from bot.messages import Card, Choices, Document, Item, Option, Photo, Text, Toast


@dataclass(frozen=True)
class Capabilities:
    buttons: bool = True
    max_buttons: int = 100
    buttons_per_row: int = 2
    max_button_label: int = 40
    cards: bool = False
    edit: bool = False
    max_text: int = 4096
    photos: bool = True
    toasts: bool = False  # answers to button presses as pop-ups


TEXT_ONLY = Capabilities(buttons=False, cards=False, edit=False, max_text=2048)
RICH = Capabilities(buttons=True, cards=True, edit=True, max_text=4096)


@dataclass(frozen=True)
class Rendered:
    """One outgoing platform message."""

    text: str
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()  # rows of (value, label)
    photo: str | None = None  # media sha256
    document: tuple[str, str] | None = None  # (sha256, filename)
    card_key: str | None = None
    offers: tuple[tuple[str, str], ...] = field(default=())  # every option shown, for typed "2" / label replies


def _label(option: Option, locale: str) -> str:
    return render_value(option.label, locale)


def _rows(options: list[tuple[str, str]], per_row: int, max_label: int) -> tuple[tuple[tuple[str, str], ...], ...]:
    # Long labels get a row of their own so a gloved thumb can hit them.
    rows: list[tuple[tuple[str, str], ...]] = []
    current: list[tuple[str, str]] = []
    for value, label in options:
        if len(label) > max_label // 2:
            if current:
                rows.append(tuple(current))
                current = []
            rows.append(((value, label[: max_label - 1] + "…" if len(label) > max_label else label),))
            continue
        current.append((value, label))
        if len(current) == per_row:
            rows.append(tuple(current))
            current = []
    if current:
        rows.append(tuple(current))
    return tuple(rows)


def split_text(text: str, limit: int) -> list[str]:
    """Split at line ends where possible, never inside a character; every part ≤ limit characters."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:].lstrip("\n")
    if rest:
        parts.append(rest)
    return parts


def _numbered(options: list[tuple[str, str]], locale: str) -> str:
    lines = [f"{i}. {label}" for i, (_, label) in enumerate(options, 1)]
    lines.append(translate(T("(Reply with the number or the text of your choice.)"), locale))
    return "\n".join(lines)


def _with_choices(
    body: str, options: list[tuple[str, str]], caps: Capabilities, locale: str, **extra: object
) -> list[Rendered]:
    offers = tuple(options)
    if options and caps.buttons and len(options) <= caps.max_buttons:
        parts = split_text(body, caps.max_text)
        head = [Rendered(p) for p in parts[:-1]]
        rows = _rows(options, caps.buttons_per_row, caps.max_button_label)
        return [*head, Rendered(parts[-1], buttons=rows, offers=offers, **extra)]  # type: ignore[arg-type]
    text = body + ("\n" + _numbered(options, locale) if options else "")
    parts = split_text(text, caps.max_text)
    out = [Rendered(p) for p in parts[:-1]]
    out.append(Rendered(parts[-1], offers=offers, **extra))  # type: ignore[arg-type]
    return out


def card_text(card: Card, locale: str) -> str:
    lines = [f"【{translate(card.title, locale)}】"]
    for label, value in card.fields:
        lines.append(f"{translate(label, locale)}：{render_value(value, locale)}")
    if card.footer:
        lines.append(translate(card.footer, locale))
    return "\n".join(lines)


def render(items: list[Item], locale: str, caps: Capabilities) -> list[Rendered]:
    out: list[Rendered] = []
    for item in items:
        if isinstance(item, Text | Toast):
            out.extend(Rendered(p) for p in split_text(translate(item.msg, locale), caps.max_text))
        elif isinstance(item, Choices):
            options = [(o.value, _label(o, locale)) for o in item.options]
            out.extend(_with_choices(translate(item.prompt, locale), options, caps, locale))
        elif isinstance(item, Photo):
            caption = translate(item.caption, locale) if item.caption else ""
            out.append(Rendered(caption, photo=item.sha256) if caps.photos else Rendered(caption or "[photo]"))
        elif isinstance(item, Document):
            caption = translate(item.caption, locale) if item.caption else item.filename
            out.append(Rendered(caption, document=(item.sha256, item.filename)))
        else:
            options = [(o.value, _label(o, locale)) for o in item.options]
            if item.photo and caps.photos:
                out.append(Rendered("", photo=item.photo))
            out.extend(_with_choices(card_text(item, locale), options, caps, locale, card_key=item.key))
    return out


def match_offer(text: str, offers: list[tuple[str, str]]) -> str | None:
    """The value of an offered option picked by typing its number or its label (case-insensitive)."""
    typed = text.strip().rstrip(".。")
    if typed.isascii() and typed.isdigit():
        n = int(typed)
        return offers[n - 1][0] if 1 <= n <= len(offers) else None
    lowered = typed.casefold()
    for value, label in offers:
        if label.casefold() == lowered:
            return value
    return None


def take_toasts(items: list[Item], locale: str, caps: Capabilities) -> tuple[str | None, list[Item]]:
    """Where the channel answers a button press with a pop-up, the refusals among the replies become that pop-up's
    text (the rest is sent as usual); elsewhere a Toast is an ordinary message and nothing is taken."""
    if not caps.toasts:
        return None, items
    toasts = [translate(i.msg, locale) for i in items if isinstance(i, Toast)]
    if not toasts:
        return None, items
    return "\n".join(toasts), [i for i in items if not isinstance(i, Toast)]
