"""The channels a deployment runs, from its settings: the web chat (loopback, or behind a password), Telegram
when a token is set, WeCom when a corp id is set. The one place that knows which adapters exist."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from bot.channels.base import Adapter
from bot.channels.telegram import TelegramChannel
from bot.channels.webchat import Directory, WebChat
from bot.channels.wecom import WeComChannel
from bot.config import Settings
from bot.i18n import T, translate

log = logging.getLogger(__name__)

Migrated = Callable[[str, str], Awaitable[None]]


def enabled(
    settings: Settings,
    *,
    default_locale: str,
    directory: Directory,
    commands: Mapping[str, Sequence[tuple[str, str]]],
    on_migrated: Migrated,
) -> dict[str, Adapter]:
    adapters: dict[str, Adapter] = {}
    if settings.webchat_enabled:
        adapters["webchat"] = WebChat(
            directory,
            settings.webchat_password,
            hosts=frozenset([settings.http_host, *settings.webchat_hosts]),
            max_upload=settings.media_max_bytes,
        )
    elif settings.webchat:
        log.warning("web chat is off: %s is not loopback and ANZEBOT_WEBCHAT_PASSWORD is not set", settings.http_host)
    if settings.telegram_token:
        adapters["telegram"] = TelegramChannel(
            settings.telegram_token,
            api_url=settings.telegram_api_url,
            webhook_url=settings.telegram_webhook_url,
            webhook_secret=settings.telegram_webhook_secret,
            commands=commands,
            poll_timeout=settings.telegram_poll_timeout,
            on_migrated=on_migrated,
        )
    if settings.wecom_corp_id:
        assert settings.wecom_agent_id and settings.wecom_secret and settings.wecom_token and settings.wecom_aes_key
        adapters["wecom"] = WeComChannel(
            corp_id=settings.wecom_corp_id,
            agent_id=settings.wecom_agent_id,
            secret=settings.wecom_secret,
            token=settings.wecom_token,
            aes_key=settings.wecom_aes_key,
            api_url=settings.wecom_api_url,
            group_hint=translate(
                T("To act on it, open the app's private chat: /hazards or /hazard <number>."), default_locale
            ),
        )
    return adapters
