"""gettext catalogs in locales/ (zh_CN default, en complete), loaded from the .po files with babel.

Reply items keep message ids; `translate` renders them in one locale at send time. `N_` marks ids for extraction
where the text is not translated on the spot.
"""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.domain.text import Localized
from bot.messages import Msg

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "anzebot"
SUPPORTED = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"


def N_(message: str) -> str:
    """Mark a message id for extraction; it is translated later, in the reader's locale."""
    return message


def T(message: str, **params: Any) -> Msg:
    """A translatable message with parameters (rendered at send time)."""
    return Msg(message, params)


def normalise_locale(value: str | None, default: str = DEFAULT_LOCALE) -> str:
    if not value:
        return default
    v = value.replace("-", "_").lower()
    if v.startswith("zh"):
        return "zh_CN"
    if v.startswith("en"):
        return "en"
    return default


@cache
def catalog(locale: str) -> gettext.NullTranslations:
    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        log.warning("no catalog for %s at %s", locale, po_path)
        return gettext.NullTranslations()
    with po_path.open("rb") as fh:
        cat = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, cat)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def gettext_for(locale: str, message: str) -> str:
    return catalog(locale).gettext(message)


def render_value(value: Any, locale: str) -> str:
    if isinstance(value, Msg):
        return translate(value, locale)
    if isinstance(value, Localized):
        return value.get(locale)
    if isinstance(value, list | tuple):
        return "\n".join(render_value(v, locale) for v in value)
    return str(value)


def translate(msg: Msg, locale: str) -> str:
    text = gettext_for(locale, msg.key)
    if not msg.params:
        return text
    params: Mapping[str, str] = {k: render_value(v, locale) for k, v in msg.params.items()}
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        # A broken translation must not lose the message: fall back to the source text.
        log.error("translation of %r for %s does not format", msg.key, locale)
        return msg.key.format(**params)
