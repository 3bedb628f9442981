"""Incoming message → stored in the inbox → one transaction: de-duplicate, know the person, restore the
conversation, run the handler, save the state, and write the replies to the outbox. Either all of it commits or
none of it does; the inbox row is marked done after it.

`receive` is what the adapters call: it returns once the update is durable (so the platform may hear 200) and
processes it in the background. A transient database failure puts the row back with a back-off; a bug marks it
failed and the person hears that nothing was saved. Either way the update stays in the inbox until it is done."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import logging
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from bot.channels.base import Adapter, ChannelError, MediaTooLarge, Outcome, Receipt, Unavailable
from bot.domain.deployment import Deployment
from bot.i18n import T, normalise_locale
from bot.messages import ChatKind, Choice, Incoming, Item, Media, StoredMedia, Text, TextIn
from bot.render import match_offer, take_toasts
from handlers.context import Anyone
from handlers.dispatch import dispatch
from storage import conversations, outbox_store
from storage.db import transient
from storage.inbox import Entry, Inbox, InboxUnavailable
from storage.media import MediaRejected, MediaStore
from storage.models import OutboxMessage, ProcessedUpdate
from storage.services import SqlServices
from storage.turn import Turn

log = logging.getLogger(__name__)

PROCESSORS = 4  # updates processed at once (each conversation in order, whatever the processor)
INBOUND_LIMIT = 30  # updates an account may have processed at once in a minute; more wait their turn in the inbox
INBOUND_WINDOW = dt.timedelta(minutes=1)
RACES = (StaleDataError, IntegrityError)  # another writer changed the same rows first: run again at once


class Direct(Protocol):
    """Where a committed reply goes at once (the outbox dispatcher)."""

    def lease_until(self, now: dt.datetime) -> dt.datetime: ...

    def send(self, row: OutboxMessage) -> None: ...


class _Duplicate(Exception):
    """The update was processed before (its `processed_updates` key exists)."""


@dataclass(frozen=True)
class RouterConfig:
    setup: Deployment
    default_locale: str
    media_max_bytes: int


class Router:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        adapters: Mapping[str, Adapter],
        media: MediaStore,
        config: RouterConfig,
        inbox: Inbox,
        on_enqueued: Callable[[], None] = lambda: None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        readonly: async_sessionmaker[AsyncSession] | None = None,
        on_failed: Callable[[Incoming, str], Awaitable[None]] | None = None,
        direct: Direct | None = None,
    ) -> None:
        self.direct = direct  # sends a turn's reply right after its commit
        self.sessions = sessions
        self.inbox = inbox
        self.on_failed = on_failed  # the operator hears of an update that failed for good
        self.readonly = readonly or sessions
        self.adapters = adapters
        self.media = media
        self.config = config
        self.on_enqueued = on_enqueued
        self.now = now
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        # Taken updates wait here for one of a few processors: a burst is acknowledged at once, and its processing
        # (the CPU-heavy part) does not crowd out the acknowledgements of what is still arriving.
        self._queue: asyncio.Queue[tuple[Entry, asyncio.Future[Outcome]]] = asyncio.Queue()
        self._processors: list[asyncio.Task[None]] = []
        self._working = 0
        self._receiving = 0  # updates being stored right now: their acknowledgements go first
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._settled = asyncio.Event()  # nothing queued or being processed
        self._settled.set()
        self._inbound: dict[tuple[str, str], deque[dt.datetime]] = defaultdict(deque)
        self._waiting: dict[tuple[str, str], int] = defaultdict(int)  # an account's updates left to the worker
        self.handled = 0
        self.duplicates = 0
        self.errors = 0
        self.retried = 0
        self.refused = 0  # updates not stored: the platform was told to deliver them again

    def _lock(self, inc: Incoming) -> asyncio.Lock:
        key = (inc.channel, inc.chat_id, inc.user_id)
        lock = self._locks.get(key)
        if lock is None:
            if len(self._locks) > 10000:  # forget idle conversations' locks
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def receive(self, inc: Incoming) -> Receipt:
        """Store the update, then process it in the background. Raises Unavailable when it cannot be stored."""
        self._receiving += 1
        self._quiet.clear()
        try:
            row_id = await self.inbox.accept(inc)
        except InboxUnavailable as exc:
            self.refused += 1
            raise Unavailable(str(exc)) from exc
        finally:
            self._receiving -= 1
            if not self._receiving:
                self._quiet.set()
        if row_id is None:
            self.duplicates += 1
            return Receipt()
        if self._flooding((inc.channel, inc.user_id)):
            return Receipt(later=True)  # stored; the worker takes it when its lease runs out, in order
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((Entry(row_id, inc, 0), done))
        self._settled.clear()
        self._start_processors()
        return Receipt(done)

    def _start_processors(self) -> None:
        self._processors = [t for t in self._processors if not t.done()]
        while len(self._processors) < PROCESSORS:
            self._processors.append(asyncio.create_task(self._processor()))

    async def _processor(self) -> None:
        while True:
            entry, done = await self._queue.get()
            await self._quiet.wait()  # a burst being stored is answered before its first update is processed
            self._working += 1
            try:
                outcome = await self.process(entry)
                if not done.done():
                    done.set_result(outcome)
            except BaseException as exc:  # cancelled at shutdown: the row stays in the inbox for the next start
                if not done.done():
                    done.set_exception(exc)
                raise
            finally:
                self._working -= 1
                self._queue.task_done()
                if not self.busy:
                    self._settled.set()

    def _flooding(self, account: tuple[str, str]) -> bool:
        """One account sending faster than anyone types: its updates beyond the limit (and those after them, so
        their order holds) are left in the inbox for the worker instead of being processed at once."""
        now = self.now()
        recent = self._inbound[account]
        while recent and recent[0] <= now - INBOUND_WINDOW:
            recent.popleft()
        if self._waiting[account] or len(recent) >= INBOUND_LIMIT:
            self._waiting[account] += 1
            return True
        recent.append(now)
        if len(self._inbound) > 10_000:  # forget quiet accounts
            self._inbound = defaultdict(deque, {k: v for k, v in self._inbound.items() if v})
        return False

    async def handle(self, inc: Incoming) -> Outcome:
        """Store and process one update, and wait for it (tests, benchmarks)."""
        return await (await self.receive(inc)).outcome()

    @property
    def busy(self) -> bool:
        """Whether an update is being processed, or waits for a processor, right now."""
        return self._working > 0 or not self._queue.empty()

    async def give_way(self, longest: float = 1.0) -> None:
        """Let the updates in hand now go first, for at most `longest` seconds: the clock calls this between its
        batches, so a message arriving during a sweep waits for one short batch, not for the whole sweep."""
        await asyncio.sleep(0)  # the updates that just arrived reach the queue
        if self.busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settled.wait(), longest)

    async def drain(self) -> None:
        """Wait for the updates taken so far to be processed, then stop the processors (shutdown)."""
        if self._processors:
            await self._queue.join()
        await self.inbox.settle()
        for task in self._processors:
            task.cancel()
        await asyncio.gather(*self._processors, return_exceptions=True)
        self._processors = []

    async def process(self, entry: Entry) -> Outcome:
        """Process one inbox row exactly once in effect: the turn commits with its `processed_updates` key, so a
        row processed twice (a worker and a receiver, two instances) changes nothing the second time."""
        inc = entry.inc
        outcome = Outcome()
        async with self._lock(inc):
            for attempt in range(3):
                try:
                    outcome = await self._handle(inc)
                    break
                except RACES as exc:
                    # Another instance wrote the same conversation or counter first: run again on fresh state.
                    log.info("retrying %s:%s after %s", inc.channel, inc.message_id, type(exc).__name__)
                    if attempt == 2:
                        await self._later(entry, exc)
                        return outcome
                except Exception as exc:
                    if transient(exc):
                        await self._later(entry, exc)
                    else:
                        log.exception("handling %s:%s failed", inc.channel, inc.message_id)
                        await self._fail(entry, exc)
                    return outcome
        await self._done(entry)
        return outcome

    async def process_due(self, limit: int = 50, orphans_before: dt.datetime | None = None) -> int:
        """The worker's pass: rows whose receiver died, or whose back-off is over."""
        entries = await self.inbox.due(limit, orphans_before)
        for entry in entries:
            await self.process(entry)
            account = (entry.inc.channel, entry.inc.user_id)
            if self._waiting.get(account):
                self._waiting[account] -= 1
                if not self._waiting[account]:
                    del self._waiting[account]
        return len(entries)

    async def _done(self, entry: Entry) -> None:
        self.inbox.done(entry.id)

    async def _later(self, entry: Entry, exc: BaseException) -> None:
        """The database cannot take the turn now: the row waits and is tried again after a back-off."""
        self.retried += 1
        error = f"{type(exc).__name__}: {exc}"[:300]
        log.warning("update %s:%s not processed yet (%s); trying again later", entry.inc.channel, entry.id, error)
        try:
            again = await self.inbox.retry_later(entry.id, error)
        except Exception:
            log.error("could not even put inbox row %s back; its lease brings it back", entry.id)
            return
        if not again:
            self.errors += 1
            await self._report(entry.inc, error)

    async def _report(self, inc: Incoming, error: str) -> None:
        if self.on_failed is not None:
            try:
                await self.on_failed(inc, error)
            except Exception:
                log.exception("could not report the failed update %s:%s", inc.channel, inc.message_id)

    async def _seen(self, s: AsyncSession, inc: Incoming) -> bool:
        return (await s.get(ProcessedUpdate, (inc.channel, inc.message_id))) is not None

    async def _fetch(self, inc: Incoming) -> tuple[bytes | None, Item | None]:
        payload = inc.payload
        if not isinstance(payload, Media):
            return None, None
        if payload.size_hint is not None and payload.size_hint > self.config.media_max_bytes:
            return None, self._too_large()
        try:
            return await self.adapters[inc.channel].fetch_media(payload.ref, self.config.media_max_bytes), None
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
        try:
            return await self._turn(inc)
        except _Duplicate:
            self.duplicates += 1
            return Outcome(duplicate=True)

    async def _turn(self, inc: Incoming) -> Outcome:
        if isinstance(inc.payload, Media):  # a photo processed before is not downloaded again
            async with self.readonly() as s:
                if await self._seen(s, inc):
                    raise _Duplicate
        data, problem = await self._fetch(inc)  # outside the transaction: downloads can be slow
        now = self.now()
        async with self.sessions() as s, s.begin():
            # The update's key first: a second processing of the same update stops here (the key is unique).
            s.add(ProcessedUpdate(channel=inc.channel, update_key=inc.message_id, at=now))
            try:
                await s.flush()
            except IntegrityError:
                raise _Duplicate from None
            turn = Turn(s, now, self.config.setup, media=self.media)
            services = SqlServices(turn)
            person = await services.people.account(inc.channel, inc.user_id)
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
                ctx: Anyone = Anyone(
                    inc,
                    person,
                    locale,
                    services,
                    conv.flow,
                    copy.deepcopy(conv.data),  # handlers mutate it; the row must see a change
                    now,
                    self.config.setup,
                    {name: adapter.display_name for name, adapter in self.adapters.items()},
                    await services.people.group_project(inc.channel, inc.chat_id)
                    if inc.chat_kind == ChatKind.GROUP
                    else None,
                )
                await dispatch(ctx)
                conversations.save(conv, ctx.flow, ctx.data, now)
                replies, locale, person = ctx.replies, ctx.locale, ctx.person
            await turn.flush()  # the turn's notices, before the reply: they were caused first
            toast = None
            adapter = self.adapters.get(inc.channel)
            if adapter is not None and isinstance(inc.payload, Choice):
                toast, replies = take_toasts(replies, locale, adapter.capabilities)
            reply = None
            if replies:  # its key is the update's, new by the key above: no look-up
                reply = outbox_store.add_new(
                    s,
                    key=f"re:{inc.channel}:{inc.message_id}",
                    channel=inc.channel,
                    chat_id=inc.chat_id,
                    items=replies,
                    person_id=person.id if person and inc.chat_kind == ChatKind.PRIVATE else None,
                    locale=locale,
                    priority=outbox_store.REPLY if person is not None else outbox_store.STRANGER,
                    lease_until=self.direct.lease_until(now) if self.direct is not None else None,
                )
        self.handled += 1
        if reply is not None and self.direct is not None:
            self.direct.send(reply)  # committed and taken: it goes now, without waiting for a dispatcher pass
        if outbox_store.queued(s):
            self.on_enqueued()  # notices for the passes; a turn that only answered costs the dispatcher nothing
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

    async def _fail(self, entry: Entry, exc: BaseException) -> None:
        """A failure waiting will not fix: nothing of the attempt was kept, the person hears so once, the row is
        kept as failed (the operator retries it once the cause is fixed)."""
        inc = entry.inc
        self.errors += 1
        error = f"{type(exc).__name__}: {exc}"[:300]
        try:
            await self.inbox.fail(entry.id, error)
        except Exception:
            log.error("could not mark inbox row %s failed", entry.id)
        try:
            async with self.sessions() as s, s.begin():
                await outbox_store.enqueue(
                    s,
                    key=f"fail:{inc.channel}:{inc.message_id}",
                    channel=inc.channel,
                    chat_id=inc.chat_id,
                    items=[Text(T("Sorry, something went wrong and nothing was saved. Please try again."))],
                    locale=normalise_locale(inc.locale_hint, self.config.default_locale),
                )
        except Exception:
            log.exception("could not tell %s:%s that it failed", inc.channel, inc.message_id)
        await self._report(inc, error)
        self.on_enqueued()


__all__ = ["Outcome", "Router", "RouterConfig"]
