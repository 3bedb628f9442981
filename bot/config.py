"""Settings from the environment (prefix ANZEBOT_) or a .env file; the operational contract in README.md."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


class ConfigError(ValueError):
    pass


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANZEBOT_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/anzebot.db"
    media_dir: Path = Path("var/media")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"

    hazard_prefix: str = Field(default="XC", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    media_max_bytes: int = 20 * 1024 * 1024
    invite_days: int = 7
    calendar_file: Path | None = None
    rules_file: Path | None = None  # TOML: thresholds, periods, the escalation chain (bot/domain/rules.py)

    webchat: bool = True
    webchat_password: str | None = None
    webchat_hosts: list[str] = Field(default_factory=list)  # names the page is served under besides http_host

    inbox_url: str | None = None  # default: beside an SQLite file, or the same PostgreSQL database
    # How long a write may wait for a lock: an update is answered 503 (and delivered again) rather than after
    # WeCom's 5 s; a turn that cannot get the database in time goes back to the inbox and is tried later.
    inbox_wait_ms: int = Field(default=3000, ge=50)
    database_wait_ms: int = Field(default=10000, ge=50)
    operator_chat: str | None = Field(default=None, pattern=r"^(telegram|wecom):[^\s]{1,100}$")
    outbox_max_age_hours: float = Field(default=72.0, gt=0)
    outbox_lease_seconds: float = Field(default=120.0, gt=0)

    telegram_token: str | None = None
    telegram_api_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,256}$")
    telegram_poll_timeout: int = 30

    wecom_corp_id: str | None = None
    wecom_agent_id: str | None = None
    wecom_secret: str | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_api_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"

    outbox_poll_seconds: float = 2.0
    inbox_poll_seconds: float = 5.0
    quiet_hours: str = Field(default="21:00-08:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    digest_time: str = Field(default="08:30", pattern=r"^\d{2}:\d{2}$")

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ConfigError("ANZEBOT_TELEGRAM_WEBHOOK_URL needs ANZEBOT_TELEGRAM_WEBHOOK_SECRET")
        if self.wecom_corp_id:
            absent = [name for name in ("agent_id", "secret", "token", "aes_key") if not getattr(self, f"wecom_{name}")]
            if absent:
                raise ConfigError(
                    "ANZEBOT_WECOM_CORP_ID needs " + ", ".join(f"ANZEBOT_WECOM_{a.upper()}" for a in absent)
                )
        return self

    def secrets(self) -> list[str | None]:
        """What must never reach a log."""
        password = make_url(self.database_url).password if "://" in self.database_url else None
        return [
            self.telegram_token,
            self.telegram_webhook_secret,
            self.wecom_secret,
            self.wecom_token,
            self.wecom_aes_key,
            self.webchat_password,
            str(password) if password else None,
        ]

    @property
    def loopback(self) -> bool:
        return _is_loopback(self.http_host)

    @property
    def webchat_enabled(self) -> bool:
        """The web chat is a development channel: on by default on loopback only, elsewhere only with a password."""
        if not self.webchat:
            return False
        return self.loopback or bool(self.webchat_password)
