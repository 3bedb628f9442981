"""The composition root: settings → database → media store → channels → router and outbox → HTTP server and
clock. Nothing else constructs these; tests build an App with their own settings and channels."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select, text

from bot import calendar_file
from bot.channels.base import Channel
from bot.channels.webchat import WebChat
from bot.channels.webchat import routes as webchat_routes
from bot.config import Settings
from bot.domain.escalation import DEFAULT_CHAIN, ChainStep
from bot.i18n import T, normalise_locale, translate
from bot.outbox import Dispatcher
from bot.router import Router, RouterConfig
from scheduler import clock as scheduler_clock
from storage import admin, outbox_store
from storage.db import make_engine, migrate, readonly_sessions, sessions
from storage.media import MediaStore
from storage.models import ChatBinding, MediaFile, Membership, Project
from storage.reminders import Clock, ClockConfig, parse_hhmm

log = logging.getLogger(__name__)


def escalation_chain(days: dict[str, int]) -> tuple[ChainStep, ...]:
    return tuple(replace(step, days=days.get(step.key, step.days)) for step in DEFAULT_CHAIN)


def bot_commands() -> dict[str, list[tuple[str, str]]]:
    """The command menu per language, from the handlers' own help lines ("/name – what it does")."""
    from handlers import dispatch  # noqa: F401  (registers the commands)
    from handlers.registry import COMMANDS

    menus: dict[str, list[tuple[str, str]]] = {}
    for key, locale in (("default", "zh_CN"), ("zh", "zh_CN"), ("en", "en")):
        menu = []
        for spec in COMMANDS.values():
            if spec.help:
                line = translate(T(spec.help), locale)
                description = line.split("–", 1)[1].strip() if "–" in line else line
                menu.append((spec.name, description))
        menus[key] = menu
    return menus


class App:
    def __init__(
        self,
        settings: Settings,
        *,
        channels: Mapping[str, Channel] | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.tz = ZoneInfo(settings.timezone)
        self.engine = make_engine(settings.database_url)
        self.sessions = sessions(self.engine)
        self.readonly = readonly_sessions(self.engine)
        self.media = MediaStore(settings.media_dir, settings.media_max_bytes, self.tz)
        self.channels: dict[str, Channel] = dict(channels or {})
        self.webchat: WebChat | None = None
        if settings.webchat_enabled and "webchat" not in self.channels:
            self.webchat = WebChat()
            self.channels["webchat"] = self.webchat
        elif settings.webchat and not settings.webchat_enabled:
            log.warning(
                "web chat is off: %s is not loopback and ANZEBOT_WEBCHAT_PASSWORD is not set", settings.http_host
            )
        default_locale = normalise_locale(settings.default_locale)
        self.dispatcher = Dispatcher(
            self.sessions, self.channels, self.media, default_locale, clock=clock, readonly=self.readonly
        )
        self.router = Router(
            self.sessions,
            self.channels,
            self.media,
            RouterConfig(
                default_locale,
                self.tz,
                settings.hazard_prefix,
                settings.deadline_map(),
                calendar_file.load(settings.calendar_file),
                settings.media_max_bytes,
            ),
            on_enqueued=self.dispatcher.kick,
            clock=clock,
            readonly=self.readonly,
        )
        quiet_start, quiet_end = (parse_hhmm(t) for t in settings.quiet_hours.split("-"))
        self.clock_work = Clock(
            self.sessions,
            ClockConfig(
                self.tz,
                self.router.config.calendar,
                quiet_start,
                quiet_end,
                escalation_chain(settings.escalation_days),
                settings.hazard_prefix,
            ),
            now=clock,
        )
        self.telegram: Any = None
        if settings.telegram_token:
            from bot.channels.telegram import TelegramChannel

            self.telegram = TelegramChannel(
                settings.telegram_token,
                self.router.handle,
                api_url=settings.telegram_api_url,
                webhook_url=settings.telegram_webhook_url,
                webhook_secret=settings.telegram_webhook_secret,
                commands=bot_commands(),
                poll_timeout=settings.telegram_poll_timeout,
                on_migrated=self._chat_migrated,
            )
            self.channels["telegram"] = self.telegram
        self.wecom: Any = None
        if settings.wecom_corp_id:
            from bot.channels.wecom import WeComChannel

            assert settings.wecom_agent_id and settings.wecom_secret and settings.wecom_token
            assert settings.wecom_aes_key
            self.wecom = WeComChannel(
                corp_id=settings.wecom_corp_id,
                agent_id=settings.wecom_agent_id,
                secret=settings.wecom_secret,
                token=settings.wecom_token,
                aes_key=settings.wecom_aes_key,
                api_url=settings.wecom_api_url,
                handle=self.router.handle,
                group_hint=translate(
                    T("To act on it, open the app's private chat: /hazards or /hazard <number>."), default_locale
                ),
            )
            self.channels["wecom"] = self.wecom
        self._stop = asyncio.Event()
        self._jobs = asyncio.Lock()  # a clock job in progress finishes before the database is closed
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self.scheduler: Any = None

    # --- HTTP --------------------------------------------------------------------------------------------

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.media_max_bytes + 1024 * 1024)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        if self.telegram is not None and self.settings.telegram_webhook_url:
            app.add_routes([self.telegram.webhook_route()])
        if self.wecom is not None:
            app.add_routes(self.wecom.routes())
        if self.webchat is not None:
            app.add_routes(
                webchat_routes(
                    self.webchat,
                    self.router.handle,
                    self._people,
                    self._link,
                    self._media_info,
                    self.settings.webchat_password,
                )
            )
        return app

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            async with self.readonly() as s:
                await s.execute(text("SELECT 1"))
        except Exception:
            return web.json_response({"ok": False}, status=503)
        return web.json_response({"ok": True})

    async def _metrics(self, request: web.Request) -> web.Response:
        async with self.readonly() as s:
            pending = await outbox_store.pending_count(s)
        st = self.dispatcher.stats
        lines = [
            "# TYPE anzebot_updates_handled_total counter",
            f"anzebot_updates_handled_total {self.router.handled}",
            "# TYPE anzebot_updates_duplicate_total counter",
            f"anzebot_updates_duplicate_total {self.router.duplicates}",
            "# TYPE anzebot_update_errors_total counter",
            f"anzebot_update_errors_total {self.router.errors}",
            "# TYPE anzebot_outbox_sent_total counter",
            f"anzebot_outbox_sent_total {st.sent}",
            "# TYPE anzebot_outbox_retried_total counter",
            f"anzebot_outbox_retried_total {st.retried}",
            "# TYPE anzebot_outbox_failed_total counter",
            f"anzebot_outbox_failed_total {st.failed}",
            "# TYPE anzebot_outbox_pending gauge",
            f"anzebot_outbox_pending {pending}",
        ]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    async def _sweep(self) -> None:
        async with self._jobs:
            if not self._stop.is_set() and await self.clock_work.sweep():
                self.dispatcher.kick()

    async def _digest(self) -> None:
        async with self._jobs:
            if not self._stop.is_set() and await self.clock_work.digest():
                self.dispatcher.kick()

    async def _outbox_sweep(self) -> None:
        async with self._jobs:
            if not self._stop.is_set():
                await self.dispatcher.run_once()

    async def _people(self) -> list[dict[str, Any]]:
        async with self.readonly() as s:
            rows = await admin.people(s)
            groups = (
                await s.execute(
                    select(ChatBinding.chat_id, ChatBinding.title, Project.id, Project.name)
                    .join(Project, Project.id == ChatBinding.project_id)
                    .where(ChatBinding.channel == "webchat", ChatBinding.active.is_(True))
                )
            ).all()
            member_of = (
                await s.execute(select(Membership.person_id, Membership.project_id).where(Membership.active.is_(True)))
            ).all()
        projects_of: dict[int, set[int]] = {}
        for pid, proj in member_of:
            projects_of.setdefault(pid, set()).add(proj)
        return [
            {
                "id": p.id,
                "name": p.name,
                "org": org.name,
                "roles": [f"{code}:{role}" for code, role in roles],
                "groups": [
                    {"chat": chat, "title": title or name}
                    for chat, title, proj, name in groups
                    if proj in projects_of.get(p.id, set())
                ],
            }
            for p, org, roles in rows
        ]

    async def _chat_migrated(self, old_chat_id: str, new_chat_id: str) -> None:
        async with self.sessions() as s, s.begin():
            await admin.move_chat(s, "telegram", old_chat_id, new_chat_id)

    async def _link(self, user_id: str, person_id: int) -> None:
        async with self.sessions() as s, s.begin():
            await admin.link_account(s, "webchat", user_id, user_id, person_id, self.clock())

    async def _media_info(self, sha: str) -> tuple[Path, str] | None:
        async with self.readonly() as s:
            row = await s.get(MediaFile, sha)
        return (self.media.path(sha), row.mime) if row else None

    # --- life cycle --------------------------------------------------------------------------------------

    async def prepare(self) -> None:
        await migrate(self.engine)

    async def start(self, *, serve: bool = True) -> None:
        if self.telegram is not None:
            await self.telegram.start()
        if self.wecom is not None:
            await self.wecom.start()
        self._tasks.append(
            asyncio.create_task(self.dispatcher.run_forever(self._stop, self.settings.outbox_poll_seconds))
        )
        self.scheduler = scheduler_clock.build(
            self.tz, self._outbox_sweep, self._sweep, self._digest, parse_hhmm(self.settings.digest_time)
        )
        self.scheduler.start()
        if serve:
            self._runner = web.AppRunner(self.web_app(), access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
            await site.start()

    async def stop(self) -> None:
        if self.telegram is not None:
            await self.telegram.stop()
        if self.wecom is not None:
            await self.wecom.stop()
        self._stop.set()
        self.dispatcher.kick()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        async with self._jobs:  # let a running sweep or digest finish
            pass
        if self._tasks:  # the dispatcher ends its pass and stops by itself; cancel only if it hangs
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        await self.engine.dispose()

    async def run_until_signalled(self) -> None:
        await self.prepare()
        await self.start()
        where = f"http://{self.settings.http_host}:{self.settings.http_port}/"
        if self.webchat is not None:
            print(f"anzebot is running. Web chat: {where}", flush=True)
        else:
            print(f"anzebot is running on {where} (web chat off)", flush=True)
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, done.set)
        await done.wait()
        await self.stop()
