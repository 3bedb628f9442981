"""The outbox dispatcher: renders each pending row in its recipient's language and sends it through its
channel, once per key. Rows are claimed atomically, so two dispatchers (or a tick fired twice) never send the
same row; parts already sent are recorded, so a retry after a partial failure does not repeat them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import Channel, ChannelError, Pacing
from bot.i18n import normalise_locale
from bot.messages import from_json
from bot.render import Rendered, render
from storage import outbox_store
from storage.media import MediaStore
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = dt.timedelta(minutes=2)


def backoff(attempt: int) -> float:
    return float(min(2**attempt, 600))


@dataclass
class Stats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    parts: int = 0
    by_channel: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class Pacer:
    """Books a send time for each row so a burst to one chat or group is spread out instead of hitting the
    platform's flood limits; a rate-limit answer pauses the whole channel until its retry_after. A booking
    that has come due is still held back if something actually went out to that chat less than a gap ago
    (the dispatcher may reach several due rows at once)."""

    def __init__(self, pacing: Pacing) -> None:
        self.pacing = pacing
        self.next_free_chat: dict[str, dt.datetime] = {}
        self.next_free_overall: dt.datetime | None = None
        self.last_sent: dict[str, dt.datetime] = {}
        self.last_sent_overall: dt.datetime | None = None
        self.booked: dict[int, dt.datetime] = {}

    def _overall_gap(self) -> dt.timedelta:
        rate = self.pacing.overall_per_second
        return dt.timedelta(seconds=1 / rate) if rate else dt.timedelta(0)

    def _earliest(self, chat_id: str, now: dt.datetime) -> dt.datetime:
        gap = dt.timedelta(seconds=self.pacing.gap(chat_id))
        earliest = now
        if chat_id in self.last_sent:
            earliest = max(earliest, self.last_sent[chat_id] + gap)
        if self.last_sent_overall is not None:
            earliest = max(earliest, self.last_sent_overall + self._overall_gap())
        return earliest

    def book(self, row_id: int, chat_id: str, now: dt.datetime) -> dt.datetime:
        """When this row may go out (now, or the later time to defer it to)."""
        slot = self.booked.get(row_id)
        if slot is not None and slot > now:
            return slot
        if slot is not None and self._earliest(chat_id, now) <= now:
            return now
        slot = max(self._earliest(chat_id, now), self.next_free_chat.get(chat_id, now), self.next_free_overall or now)
        self.next_free_chat[chat_id] = slot + dt.timedelta(seconds=self.pacing.gap(chat_id))
        self.next_free_overall = slot + self._overall_gap()
        self.booked[row_id] = slot
        if len(self.next_free_chat) > 50_000:  # forget chats that are free again
            self.next_free_chat = {c: t for c, t in self.next_free_chat.items() if t > now}
            self.last_sent = {c: t for c, t in self.last_sent.items() if t > now - dt.timedelta(minutes=1)}
        return slot

    def sent(self, chat_id: str, at: dt.datetime) -> None:
        self.last_sent[chat_id] = at
        self.last_sent_overall = at

    def done(self, row_id: int) -> None:
        self.booked.pop(row_id, None)

    def pause(self, until: dt.datetime) -> None:
        """Nothing goes out on this channel before `until`; bookings are made again, spaced as before."""
        self.next_free_overall = max(self.next_free_overall or until, until)
        self.next_free_chat = {chat: max(t, until) for chat, t in self.next_free_chat.items()}
        self.booked.clear()


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, Channel],
        media: MediaStore,
        default_locale: str,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        readonly: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.sessions = sessions
        self.readonly = readonly or sessions
        self.channels = channels
        self.media = media
        self.default_locale = default_locale
        self.clock = clock
        self.pacers: dict[str, Pacer] = {}
        self.stats = Stats()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def kick(self) -> None:
        self._wake.set()

    async def run_once(self, limit: int = 200) -> int:
        """Send what is due now; returns how many rows were sent. One pass at a time per process."""
        async with self._lock:
            now = self.clock()
            async with self.sessions() as s, s.begin():
                await outbox_store.release_expired(s, now)
                rows = list(await outbox_store.due(s, now, limit))
            done = 0
            for row in rows:
                done += await self._deliver(row)
            return done

    async def drain(self, max_rounds: int = 50) -> int:
        """Send until nothing is due (tests and shutdown)."""
        total = 0
        for _ in range(max_rounds):
            n = await self.run_once()
            total += n
            if n == 0:
                break
        return total

    async def run_forever(self, stop: asyncio.Event, poll_seconds: float) -> None:
        while not stop.is_set():
            self._wake.clear()  # before the pass: a kick that arrives during it is not lost
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)

    async def _deliver(self, row: OutboxMessage) -> int:
        channel = self.channels.get(row.channel)
        now = self.clock()
        if channel is None:
            async with self.sessions() as s, s.begin():
                await outbox_store.mark_retry(s, row.id, now + dt.timedelta(minutes=5), f"channel {row.channel} is off")
            return 0
        pacer = self._pacer(row.channel, channel)
        if pacer is not None:
            slot = pacer.book(row.id, row.chat_id, now)
            if slot > now:
                async with self.sessions() as s, s.begin():
                    await outbox_store.defer(s, row.id, slot)
                return 0
        async with self.sessions() as s, s.begin():
            if not await outbox_store.claim(s, row.id, now, LEASE):
                return 0  # someone else has it
            locale = normalise_locale(
                await outbox_store.recipient_locale(s, row.person_id) or row.locale, self.default_locale
            )
        parts = render(from_json(row.items), locale, channel.capabilities)
        ids: list[str] = list(row.message_ids or [])
        try:
            for index in range(len(ids), len(parts)):
                part = parts[index]
                ids.append(await self._send_part(channel, row, part))
                self.stats.parts += 1
                if pacer is not None:
                    pacer.sent(row.chat_id, self.clock())
                # Record each part as it goes (a retry must not repeat it); the last one closes the row.
                async with self.sessions() as s, s.begin():
                    if part.offers:
                        await outbox_store.remember_offers(s, row.channel, row.chat_id, list(part.offers), now)
                    if part.card_key:
                        await outbox_store.remember_card(s, row.channel, row.chat_id, part.card_key, ids[-1])
                    if index == len(parts) - 1:
                        await outbox_store.mark_sent(s, row.id, self.clock(), ids)
                    else:
                        await outbox_store.record_progress(s, row.id, ids)
            if not parts:
                async with self.sessions() as s, s.begin():
                    await outbox_store.mark_sent(s, row.id, self.clock(), ids)
        except ChannelError as err:
            await self._failed(row, err)
            return 0
        except Exception as err:  # a bug in an adapter must not stop the other rows
            log.exception("sending outbox row %s failed", row.id)
            await self._failed(row, ChannelError(repr(err)))
            return 0
        finally:
            if pacer is not None:
                pacer.done(row.id)
        self.stats.sent += 1
        self.stats.by_channel[row.channel] += 1
        return 1

    async def _send_part(self, channel: Channel, row: OutboxMessage, part: Rendered) -> str:
        if part.card_key and channel.capabilities.edit:
            async with self.readonly() as s:
                earlier = await outbox_store.card_message(s, row.channel, row.chat_id, part.card_key)
            if earlier and await channel.edit(row.chat_id, earlier, part):
                return earlier
        media = None
        sha = part.photo or (part.document[0] if part.document else None)
        if sha:
            media = await asyncio.to_thread(self.media.read, sha)
        return await channel.send(row.chat_id, part, media)

    def _pacer(self, name: str, channel: Channel) -> Pacer | None:
        pacing = getattr(channel, "pacing", None)
        if pacing is None:
            return None
        if name not in self.pacers:
            self.pacers[name] = Pacer(pacing)
        return self.pacers[name]

    async def _failed(self, row: OutboxMessage, err: ChannelError) -> None:
        now = self.clock()
        attempts = row.attempts + 1
        if err.retry_after is not None and row.channel in self.pacers:
            self.pacers[row.channel].pause(now + dt.timedelta(seconds=err.retry_after))
        async with self.sessions() as s, s.begin():
            if err.forbidden:
                await outbox_store.deactivate_chat(s, row.channel, row.chat_id)
                await outbox_store.mark_failed(s, row.id, f"forbidden: {err}")
                await outbox_store.report_unreachable(s, row.channel, row.chat_id)
                self.stats.failed += 1
            elif err.permanent or attempts >= MAX_ATTEMPTS:
                await outbox_store.mark_failed(s, row.id, str(err))
                self.stats.failed += 1
            else:
                delay = err.retry_after if err.retry_after is not None else backoff(attempts)
                await outbox_store.mark_retry(s, row.id, now + dt.timedelta(seconds=delay), str(err))
                self.stats.retried += 1
        log.warning("outbox row %s to %s:%s: %s", row.id, row.channel, row.chat_id, err)
