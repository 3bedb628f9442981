"""The composition root: settings → database → media store → adapters → router and outbox → HTTP server and
timer. Nothing else constructs these; tests build an App with their own settings and channels."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession

from bot import adapters, calendar_file, logs, rules_file
from bot.channels.base import Adapter
from bot.config import ConfigError, Settings
from bot.domain.deployment import Deployment, QuietHours, parse_hhmm
from bot.i18n import T, normalise_locale, translate
from bot.messages import Incoming
from bot.notices import operator as operator_wording
from bot.outbox import Dispatcher, Operator, Pacer
from bot.router import Router, RouterConfig
from handlers.registry import COMMANDS
from scheduler import timer
from scheduler.jobs import Jobs
from storage import admin, outbox_store
from storage.db import make_engine, migrate, readonly_sessions, sessions, writable
from storage.inbox import Inbox, inbox_url
from storage.media import MediaStore
from storage.turn import Turn, work
from storage.webchat_directory import WebChatDirectory

log = logging.getLogger(__name__)

ACK_ROUTES = ("/telegram/webhook", "/wecom/callback", "/api/send", "/api/upload")


def quantile(samples: deque[float], q: str) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * float(q)))]


def bot_commands() -> dict[str, list[tuple[str, str]]]:
    """The command menu per language, from the handlers' own help lines ("/name – what it does")."""
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


def send_rates(channels: Mapping[str, Adapter]) -> dict[str, float]:
    """The rate each paced channel actually sends at (its limit less the dispatcher's safety margin)."""
    return {
        name: ch.pacing.overall_per_second / Pacer.SAFETY
        for name, ch in channels.items()
        if ch.pacing is not None and ch.pacing.overall_per_second
    }


def deployment(settings: Settings, channels: Mapping[str, Adapter]) -> Deployment:
    return Deployment(
        tz=ZoneInfo(settings.timezone),
        calendar=calendar_file.load(settings.calendar_file),
        prefix=settings.hazard_prefix,
        rules=rules_file.load(settings.rules_file),
        quiet=QuietHours.parse(settings.quiet_hours),
        send_rates=send_rates(channels),
    )


class App:
    def __init__(
        self,
        settings: Settings,
        *,
        channels: Mapping[str, Adapter] | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.settings = settings
        logs.protect(settings.secrets())  # before anything can log one
        self.now = now  # the time source; tests pass a controlled one
        self.engine = make_engine(settings.database_url, busy_ms=settings.database_wait_ms)
        self.sessions = sessions(self.engine, settings.database_wait_ms)
        self.readonly = readonly_sessions(self.engine)
        # The inbox has its own engine (an SQLite file of its own): taking an update never waits for our work.
        self.inbox_engine = make_engine(
            settings.inbox_url or inbox_url(settings.database_url), synchronous="FULL", busy_ms=settings.inbox_wait_ms
        )
        self.inbox = Inbox(self.inbox_engine, now)
        # The health check's writes wait a second at most for the write lock.
        self.probe_engine = make_engine(settings.database_url, busy_ms=1000)
        tz = ZoneInfo(settings.timezone)
        self.media = MediaStore(settings.media_dir, settings.media_max_bytes, tz)
        default_locale = normalise_locale(settings.default_locale)
        self.adapters: dict[str, Adapter] = dict(channels or {})
        enabled = adapters.enabled(
            settings,
            default_locale=default_locale,
            directory=WebChatDirectory(self.sessions, self.readonly, self.media, now),
            commands=bot_commands(),
            on_migrated=self._chat_migrated,
        )
        for name, adapter in enabled.items():
            self.adapters.setdefault(name, adapter)
        self.setup = deployment(settings, self.adapters)
        self.operator = Operator(self.sessions, settings.operator_chat, default_locale, now)
        self.dispatcher = Dispatcher(
            self.sessions,
            self.adapters,
            self.media,
            default_locale,
            clock=now,
            readonly=self.readonly,
            operator=self.operator,
            max_age=dt.timedelta(hours=settings.outbox_max_age_hours),
            lease=dt.timedelta(seconds=settings.outbox_lease_seconds),
        )
        self.operator.on_enqueued = self.dispatcher.kick
        self.router = Router(
            self.sessions,
            self.adapters,
            self.media,
            RouterConfig(self.setup, default_locale, settings.media_max_bytes),
            self.inbox,
            on_enqueued=self.dispatcher.kick,
            now=now,
            readonly=self.readonly,
            on_failed=self._update_failed,
            direct=self.dispatcher,
        )
        # What the timer runs; between its batches the clock gives way to the messages in hand.
        self.jobs = Jobs(self.sessions, self.setup, now, self.operator, between=self.router.give_way)
        self.timer: AsyncIOScheduler | None = None
        self._stop = asyncio.Event()
        self._running = asyncio.Lock()  # a job in progress finishes before the database is closed
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self.acks: dict[str, deque[float]] = {path: deque(maxlen=10_000) for path in ACK_ROUTES}

    def idle(self) -> bool:
        """Nothing being processed or sent at this moment (tests move their controlled clock only then)."""
        return not self.router.busy and not self.dispatcher.busy

    def turn(self, s: AsyncSession) -> Turn:
        """A unit of work on `s` now, under this deployment's rules (for the CLI and tests); whoever commits it
        writes its notices first (`await turn.flush()`)."""
        return Turn(s, self.now(), self.setup, media=self.media)

    def work(self) -> AbstractAsyncContextManager[Turn]:
        """A turn now in a transaction of its own, committed with its notices when the block ends."""
        return work(self.sessions, self.now(), self.setup, self.media)

    # --- HTTP --------------------------------------------------------------------------------------------

    def web_app(self) -> web.Application:
        app = web.Application(
            client_max_size=self.settings.media_max_bytes + 1024 * 1024, middlewares=[self._timing_middleware()]
        )
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        for adapter in self.adapters.values():
            app.add_routes(adapter.routes(self.router.receive))
        return app

    def _timing_middleware(self) -> Any:
        """How long the platforms wait for our answer to an update (WeCom gives up after 5 s): per route."""

        @web.middleware
        async def timing(request: web.Request, handler: Any) -> web.StreamResponse:
            start = time.perf_counter()
            try:
                return await handler(request)  # type: ignore[no-any-return]
            finally:
                if request.method == "POST" and request.path in ACK_ROUTES:
                    self.acks[request.path].append(time.perf_counter() - start)

        return timing

    async def healthy(self) -> dict[str, bool]:
        """Whether an update can be taken (the inbox) and processed (the database) now: both take a write."""
        database, inbox = await asyncio.gather(writable(sessions(self.probe_engine), self.now()), self.inbox.writable())
        return {"database": database, "inbox": inbox}

    async def _healthz(self, request: web.Request) -> web.Response:
        parts = await self.healthy()
        ok = all(parts.values())
        return web.json_response({"ok": ok, **parts}, status=200 if ok else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        async with self.readonly() as s:
            pending = await outbox_store.pending_count(s)
        inbox = {"pending": 0, "failed": 0, **await self.inbox.counts()}
        inbox.pop("done", None)
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
            "# TYPE anzebot_outbox_expired_total counter",
            f"anzebot_outbox_expired_total {st.expired}",
            "# TYPE anzebot_outbox_rerouted_total counter",
            f"anzebot_outbox_rerouted_total {st.rerouted}",
            "# TYPE anzebot_updates_refused_total counter",
            f"anzebot_updates_refused_total {self.router.refused}",
            "# TYPE anzebot_updates_retried_total counter",
            f"anzebot_updates_retried_total {self.router.retried}",
            "# TYPE anzebot_inbox_rows gauge",
            *(f'anzebot_inbox_rows{{status="{status}"}} {n}' for status, n in sorted(inbox.items())),
            "# TYPE anzebot_ack_seconds summary",
            *(
                f'anzebot_ack_seconds{{route="{path}",quantile="{q}"}} {quantile(samples, q):.4f}'
                for path, samples in self.acks.items()
                if samples
                for q in ("0.5", "0.99", "1")
            ),
            *(f'anzebot_ack_seconds_count{{route="{path}"}} {len(samples)}' for path, samples in self.acks.items()),
            "# TYPE anzebot_channel_circuit_open gauge",
            *(
                f'anzebot_channel_circuit_open{{channel="{name}"}} {int(self.dispatcher.circuits[name].open)}'
                for name in self.adapters
            ),
        ]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    async def _run_job(self, job: Callable[[], Any]) -> None:
        """A timer job: not once stopping, one at a time with the database still open; the outbox is woken when
        the job queued anything."""
        async with self._running:
            if not self._stop.is_set() and await job():
                self.dispatcher.kick()

    async def _sweep(self) -> None:
        await self._run_job(self.jobs.sweep)

    async def _digest(self) -> None:
        await self._run_job(self.jobs.digest)

    async def _outbox_sweep(self) -> None:
        await self._run_job(self.dispatcher.run_once)

    async def _housekeeping(self) -> None:
        await self._run_job(self._keep_house)

    async def _keep_house(self) -> int:
        """Daily: prune what de-duplication no longer needs, and check the audit chain."""
        await self.inbox.prune()
        return await self.jobs.daily()

    async def _update_failed(self, inc: Incoming, error: str) -> None:
        subject = f"inbox:{inc.channel}:{inc.message_id}"
        await self.operator.tell(subject, operator_wording.update_failed(inc.channel, inc.message_id, error))

    async def _inbox_worker(self) -> None:
        """Updates whose receiver died (a crash after the 200) or whose back-off is over: at start — everything
        received before this process started — then every few seconds."""
        started: dt.datetime | None = self.now()
        while not self._stop.is_set():
            try:
                while await self.router.process_due(orphans_before=started):
                    pass
                started = None
            except Exception:
                log.exception("inbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.settings.inbox_poll_seconds)

    async def _chat_migrated(self, old_chat_id: str, new_chat_id: str) -> None:
        async with self.sessions() as s, s.begin():
            await admin.move_chat(s, "telegram", old_chat_id, new_chat_id)

    # --- life cycle --------------------------------------------------------------------------------------

    async def prepare(self) -> None:
        await migrate(self.engine)
        await self.inbox.prepare()

    async def start(self, *, serve: bool = True) -> None:
        for adapter in self.adapters.values():
            await adapter.start(self.router.receive)
        self._tasks.append(
            asyncio.create_task(self.dispatcher.run_forever(self._stop, self.settings.outbox_poll_seconds))
        )
        self._tasks.append(asyncio.create_task(self._inbox_worker()))
        self.timer = timer.build(
            self.setup.tz,
            self._outbox_sweep,
            self._sweep,
            self._digest,
            parse_hhmm(self.settings.digest_time),
            self._housekeeping,
        )
        self.timer.start()
        if serve:
            self._runner = web.AppRunner(self.web_app(), access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
            try:
                await site.start()
            except OSError as exc:
                await self.stop()
                host, port = self.settings.http_host, self.settings.http_port
                raise ConfigError(
                    f"cannot listen on {host}:{port} ({exc.strerror or exc}): set ANZEBOT_HTTP_PORT to a free port"
                ) from None

    async def stop(self) -> None:
        """In order: no new work from the clock; what was taken is processed (its replies are durable, sent now
        or at the next start); the outbox ends its pass; then the channels close and the HTTP server goes."""
        self._stop.set()
        if self.timer is not None:
            self.timer.shutdown(wait=False)
        async with self._running:  # let a running sweep or digest finish
            pass
        await self.router.drain()
        await self.dispatcher.settle()
        self.dispatcher.kick()
        if self._tasks:  # the dispatcher ends its pass and stops by itself; cancel only if it hangs
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for adapter in self.adapters.values():
            await adapter.stop()
        await self.router.drain()  # what the adapters handed over while closing
        if self._runner is not None:
            await self._runner.cleanup()
        await self.dispose()

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.inbox_engine.dispose()
        await self.probe_engine.dispose()

    async def run_until_signalled(self) -> None:
        await self.prepare()
        await self.start()
        where = f"http://{self.settings.http_host}:{self.settings.http_port}/"
        if "webchat" in self.adapters:
            print(f"anzebot is running. Web chat: {where}", flush=True)
        else:
            print(f"anzebot is running on {where} (web chat off)", flush=True)
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, done.set)
        await done.wait()
        await self.stop()
