"""Logging that never carries a secret: every record is redacted as it is made — the configured secrets (bot
token, app secret, callback token and key, webhook secret, web chat password, database password) and anything
shaped like a credential in a URL (Telegram's /bot<token>/ path, access_token=, key=, a group robot's key) —
whatever the handler, level or library that writes it. HTTP client libraries log at WARNING: their INFO lines
are request URLs."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from typing import Any

MASK = "***"
SHAPES = (
    re.compile(r"(?<=/bot)\d{3,}:[A-Za-z0-9_-]{20,}"),  # Telegram: …/bot<id>:<secret>/getMe, /file/bot…/
    re.compile(r"(?<![A-Za-z0-9])\d{6,}:[A-Za-z0-9_-]{30,}"),  # a bare Telegram token
    re.compile(r"(?<=[?&])(?:access_token|corpsecret|secret|key|token|echostr)=[^&\s'\"]+", re.IGNORECASE),
    re.compile(r"(?<=robot:)[A-Za-z0-9_-]+"),  # a WeCom group robot's webhook key, as our chat ids carry it
    re.compile(r"(?<=://)[^/\s:@]+:[^@/\s]+(?=@)"),  # user:password@ in a database URL
)
QUIET_LIBRARIES = ("httpx", "httpcore", "telegram", "apscheduler.executors.default", "aiosqlite")

_secrets: set[str] = set()
_installed = False


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for shape in SHAPES:
        text = shape.sub(lambda m: m.group(0).split("=", 1)[0] + "=" + MASK if "=" in m.group(0) else MASK, text)
    return text


def _redacting(factory: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = factory(*args, **kwargs)
        try:
            record.msg = redact(record.getMessage())
            record.args = None
            if record.exc_info and record.exc_info[0] is not None:
                record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
                record.exc_info = None  # the redacted text stands in for it
        except Exception:  # a record that cannot be formatted is kept as it is, minus its arguments
            record.msg, record.args = redact(str(record.msg)), None
        return record

    return make


def protect(secrets: Iterable[str | None]) -> None:
    """Redact these (and every credential shape) from all log records from now on, in this process."""
    global _installed
    _secrets.update(s for s in secrets if s and len(s) >= 4)
    if not _installed:
        logging.setLogRecordFactory(_redacting(logging.getLogRecordFactory()))
        _installed = True
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
