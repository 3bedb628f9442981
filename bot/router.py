"""Incoming message → one transaction: de-duplicate, know the person, restore the conversation, run the
handler, save the state, and write the replies to the outbox. Either all of it commits or none of it does."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from bot.channels.base import Channel, ChannelError, MediaTooLarge
from bot.domain.levels import Level
from bot.domain.workdays import WorkCalendar
from bot.i18n import T, normalise_locale, translate
from bot.messages import Choice, Incoming, Item, Media, StoredMedia, Text, TextIn, Toast
from bot.outbox import Pacer
from bot.render import match_offer
from handlers.context import Context
from handlers.dispatch import dispatch
from storage import conversations, outbox_store
from storage.media import MediaRejected, MediaStore
from storage.models import Identity, ProcessedUpdate
from storage.services import SqlServices, person_for_account

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What the adapter may still need after the update is handled: the pop-up answer to a button press."""

    toast: str | None = None
    duplicate: bool = False


@dataclass(frozen=True)
class RouterConfig:
    default_locale: str
    tz: ZoneInfo
    prefix: str
    deadline_days: dict[Level, int]
    calendar: WorkCalendar
    media_max_bytes: int


def send_rates(channels: Mapping[str, Channel]) -> dict[str, float]:
    """The rate each paced channel actually sends at (its limit less the dispatcher's safety margin)."""
    return {
        name: ch.pacing.overall_per_second / Pacer.SAFETY
        for name, ch in channels.items()
        if ch.pacing is not None and ch.pacing.overall_per_second
    }


class Router:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, Channel],
        media: MediaStore,
        config: RouterConfig,
        on_enqueued: Callable[[], None] = lambda: None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        readonly: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.sessions = sessions
        self.readonly = readonly or sessions
        self.channels = channels
        self.media = media
        self.config = config
        self.on_enqueued = on_enqueued
        self.clock = clock
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self.handled = 0
        self.duplicates = 0
        self.errors = 0

    def _lock(self, inc: Incoming) -> asyncio.Lock:
        key = (inc.channel, inc.chat_id, inc.user_id)
        lock = self._locks.get(key)
        if lock is None:
            if len(self._locks) > 10000:  # forget idle conversations' locks
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def handle(self, inc: Incoming) -> Outcome:
        """Process one update exactly once; replies go out through the outbox."""
        outcome = Outcome()
        async with self._lock(inc):
            for attempt in range(3):
                try:
                    outcome = await self._handle(inc)
                    break
                except (StaleDataError, IntegrityError) as exc:
                    # Another instance wrote the same conversation or counter first: run again on fresh state.
                    log.info("retrying %s:%s after %s", inc.channel, inc.message_id, type(exc).__name__)
                    if attempt == 2:
                        await self._fail(inc)
                except Exception:
                    log.exception("handling %s:%s failed", inc.channel, inc.message_id)
                    await self._fail(inc)
                    break
        self.on_enqueued()
        return outcome

    async def _seen(self, s: AsyncSession, inc: Incoming) -> bool:
        return (await s.get(ProcessedUpdate, (inc.channel, inc.message_id))) is not None

    async def _fetch(self, inc: Incoming) -> tuple[bytes | None, Item | None]:
        payload = inc.payload
        if not isinstance(payload, Media):
            return None, None
        channel = self.channels[inc.channel]
        if payload.size_hint is not None and payload.size_hint > self.config.media_max_bytes:
            return None, self._too_large()
        try:
            return await channel.fetch_media(payload.ref, self.config.media_max_bytes), None
        except MediaTooLarge:
            return None, self._too_large()
        except ChannelError:
            log.warning("could not download %s from %s", payload.ref, inc.channel, exc_info=True)
            return None, Text(T("I could not download that file. Please send it again."))

    def _too_large(self) -> Item:
        return Text(
            T(
                "That file is too large (at most {mb} MB). Please send a smaller photo.",
                mb=self.config.media_max_bytes // (1024 * 1024),
            )
        )

    async def _handle(self, inc: Incoming) -> Outcome:
        async with self.readonly() as s:
            if await self._seen(s, inc):
                self.duplicates += 1
                return Outcome(duplicate=True)
        data, problem = await self._fetch(inc)  # outside the transaction: downloads can be slow
        now = self.clock()
        toast = None
        async with self.sessions() as s, s.begin():
            if await self._seen(s, inc):
                self.duplicates += 1
                return Outcome(duplicate=True)
            s.add(ProcessedUpdate(channel=inc.channel, update_key=inc.message_id, at=now))
            person = await person_for_account(s, inc.channel, inc.user_id)
            if person is not None:
                ident = (
                    await s.execute(
                        select(Identity).where(Identity.channel == inc.channel, Identity.user_id == inc.user_id)
                    )
                ).scalar_one()
                ident.last_seen_at = now
            locale = normalise_locale(
                (person.locale if person else None) or inc.locale_hint, self.config.default_locale
            )
            replies: list[Item] = []
            if problem is not None:
                replies.append(problem)
            else:
                inc = await self._prepare(s, inc, data, replies)
            if not replies:
                conv = await conversations.load(s, inc.channel, inc.chat_id, inc.user_id)
                services = SqlServices(
                    s,
                    prefix=self.config.prefix,
                    deadline_days=self.config.deadline_days,
                    tz=self.config.tz,
                    now=now,
                    calendar=self.config.calendar,
                    rates=send_rates(self.channels),
                )
                ctx = Context(
                    inc,
                    person,
                    locale,
                    services,
                    conv.flow,
                    copy.deepcopy(conv.data),  # handlers mutate it; the row must see a change
                    now.astimezone(self.config.tz).date(),
                    self.config.calendar,
                    self.config.deadline_days,
                    self.config.tz,
                )
                await dispatch(ctx)
                conversations.save(conv, ctx.flow, ctx.data, now)
                replies, locale, person = ctx.replies, ctx.locale, ctx.person
            channel = self.channels.get(inc.channel)
            if channel is not None and channel.capabilities.toasts and isinstance(inc.payload, Choice):
                toasts = [r for r in replies if isinstance(r, Toast)]
                if toasts:
                    toast = "\n".join(translate(t.msg, locale) for t in toasts)
                    replies = [r for r in replies if not isinstance(r, Toast)]
            if replies:
                await outbox_store.enqueue(
                    s,
                    key=f"re:{inc.channel}:{inc.message_id}",
                    channel=inc.channel,
                    chat_id=inc.chat_id,
                    items=replies,
                    person_id=person.id if person and inc.chat_kind == "private" else None,
                    locale=locale,
                )
        self.handled += 1
        return Outcome(toast=toast)

    async def _prepare(self, s: AsyncSession, inc: Incoming, data: bytes | None, replies: list[Item]) -> Incoming:
        """Store an incoming photo; read a typed number or label as the option it names."""
        payload = inc.payload
        if isinstance(payload, Media):
            assert data is not None
            try:
                stored: StoredMedia = await self.media.store(s, data, payload.caption)
            except MediaRejected as rej:
                replies.append(
                    self._too_large()
                    if rej.reason == "too_large"
                    else Text(T("That is not a photo I can read. Please send a JPEG or PNG picture."))
                )
                return inc
            return inc.with_payload(stored)
        if isinstance(payload, TextIn):
            offers = await outbox_store.offers_for(s, inc.channel, inc.chat_id)
            value = match_offer(payload.text, offers) if offers else None
            if value is not None:
                return inc.with_payload(Choice(value))
        return inc

    async def _fail(self, inc: Incoming) -> None:
        """Nothing of the failed attempt was kept; the person hears so, once."""
        self.errors += 1
        try:
            async with self.sessions() as s, s.begin():
                if await self._seen(s, inc):
                    return
                s.add(ProcessedUpdate(channel=inc.channel, update_key=inc.message_id, at=self.clock()))
                await outbox_store.enqueue(
                    s,
                    key=f"re:{inc.channel}:{inc.message_id}",
                    channel=inc.channel,
                    chat_id=inc.chat_id,
                    items=[Text(T("Sorry, something went wrong and nothing was saved. Please try again."))],
                    locale=normalise_locale(inc.locale_hint, self.config.default_locale),
                )
        except Exception:
            log.exception("could not even record the failure of %s:%s", inc.channel, inc.message_id)
