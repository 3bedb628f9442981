"""The outbox dispatcher: renders each pending row in its recipient's language and sends it through its
channel, once per key. Rows are claimed atomically, so two dispatchers (or a tick fired twice) never send the
same row; parts already sent are recorded, so a retry after a partial failure does not repeat them.

Nothing is given up because a platform is down: a channel that keeps failing opens its circuit — its lane pauses
and probes every 30 s, and rows keep their tries meanwhile. A row is given up only on a permanent refusal, or
when it is older than the outbox's maximum age. A level-1 notice not delivered within ten minutes also goes to
the person's other accounts, and the operator hears of it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import Channel, ChannelError, Pacing
from bot.i18n import normalise_locale, translate
from bot.messages import Msg, Text, from_json
from bot.notices import common
from bot.notices import operator as wording
from bot.render import Rendered, render
from storage import outbox_store
from storage.db import transient
from storage.media import MediaStore
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=2)
CIRCUIT_FAILURES = 5  # transient failures in a row that open a channel's circuit
PROBE_EVERY = dt.timedelta(seconds=30)
URGENT_WITHIN = dt.timedelta(minutes=10)


def backoff(attempt: int) -> float:
    return float(min(2**attempt, 600))


@dataclass
class Stats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    parts: int = 0
    expired: int = 0
    rerouted: int = 0
    by_channel: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class Circuit:
    """A channel's health as its sends see it: closed (sending), or open (paused, probed every 30 s)."""

    failures: int = 0  # transient failures in a row
    opened_at: dt.datetime | None = None
    probe_at: dt.datetime | None = None

    @property
    def open(self) -> bool:
        return self.opened_at is not None


class Operator:
    """What an operator must know: always in the log at ERROR; in ANZEBOT_OPERATOR_CHAT as well where it is set,
    once per subject an hour and at most twenty an hour, so a storm is one message, not a thousand."""

    PER_HOUR = 20

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        target: str | None,
        default_locale: str,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self.target = tuple(target.split(":", 1)) if target else None
        self.default_locale = default_locale
        self.now = now
        self.on_enqueued = on_enqueued
        self._told: dict[str, dt.datetime] = {}
        self._recent: deque[dt.datetime] = deque()
        self.reports: list[str] = []  # what was reported, in English (tests and /metrics)
        self.unqueued: dict[str, Msg] = {}  # outbox key → report the database has not taken yet
        self._flushing = asyncio.Lock()

    async def tell(self, subject: str, msg: Msg) -> None:
        text = translate(msg, "en")
        log.error("operator: %s", text)
        now = self.now()
        last = self._told.get(subject)
        if last is not None and now - last < dt.timedelta(hours=1):
            return
        while self._recent and self._recent[0] <= now - dt.timedelta(hours=1):
            self._recent.popleft()
        if len(self._recent) >= self.PER_HOUR:
            return
        self._told[subject] = now
        self._recent.append(now)
        self.reports.append(text)
        if self.target is None:
            return
        self.unqueued[f"op:{subject}:{now:%Y%m%d%H}"] = msg
        await self.flush()

    async def flush(self) -> None:
        """Queue the reports not queued yet. One the database refused (its writer busy, the disk full) stays
        here and is tried again at the next report and at every outbox pass, so the operator still hears of it
        once the database takes writes again."""
        if self.target is None or not self.unqueued or self._flushing.locked():
            return
        async with self._flushing:
            pending = dict(self.unqueued)
            try:
                await self._queue(pending)
            except Exception as exc:
                # Only the log: reporting this to the operator's chat would need the very write that failed.
                log.warning("could not queue %d operator report(s) yet (%s); tried again later", len(pending), exc)
                return
            for key in pending:
                self.unqueued.pop(key, None)
        self.on_enqueued()

    async def _queue(self, reports: Mapping[str, Msg]) -> None:
        assert self.target is not None
        channel, chat_id = self.target
        async with self.sessions() as s, s.begin():
            for key, msg in reports.items():
                await outbox_store.enqueue(
                    s,
                    key=key,
                    channel=channel,
                    chat_id=chat_id,
                    items=[Text(msg)],
                    locale=self.default_locale,
                    priority=outbox_store.URGENT,
                )


class Pacer:
    """Keeps one channel inside its platform's flood limits: a gap between messages to one chat (longer in
    groups) and at most `overall_per_second` messages in any sliding second. Both carry a small safety margin,
    because the platform counts arrival times and ours are taken a moment before the request leaves. A
    rate-limit answer pauses the whole channel until its retry_after."""

    SAFETY = 1.05
    WINDOW = dt.timedelta(seconds=1) * SAFETY

    def __init__(self, pacing: Pacing) -> None:
        self.pacing = pacing
        self.chat_free: dict[str, dt.datetime] = {}
        self.recent: deque[dt.datetime] = deque()
        self.paused_until: dt.datetime | None = None

    def _capacity(self) -> int:
        return max(1, int(self.pacing.overall_per_second)) if self.pacing.overall_per_second else 0

    def _trim(self, now: dt.datetime) -> None:
        while self.recent and self.recent[0] <= now - self.WINDOW:
            self.recent.popleft()

    def free(self, now: dt.datetime) -> int:
        """How many messages may start now (ignoring per-chat gaps)."""
        if self.paused_until is not None and self.paused_until > now:
            return 0
        capacity = self._capacity()
        if not capacity:
            return 1_000_000
        self._trim(now)
        return max(0, capacity - len(self.recent))

    def next_slot(self, now: dt.datetime) -> dt.datetime:
        if self.paused_until is not None and self.paused_until > now:
            return self.paused_until
        self._trim(now)
        return self.recent[0] + self.WINDOW if self.recent else now

    def chat_ready(self, chat_id: str, now: dt.datetime) -> dt.datetime:
        """When the chat itself may have its next message (now, or later)."""
        return max(now, self.chat_free.get(chat_id, now))

    def when(self, chat_id: str, now: dt.datetime, parts: int = 1) -> dt.datetime:
        """The earliest time `parts` messages to this chat fit inside every limit."""
        at = self.chat_ready(chat_id, now)
        if self.paused_until is not None and self.paused_until > at:
            at = self.paused_until
        capacity = self._capacity()
        if capacity:
            self._trim(now)
            over = len(self.recent) + min(parts, capacity) - capacity
            if over > 0:
                at = max(at, self.recent[over - 1] + self.WINDOW)
        return at

    def take(self, chat_id: str, now: dt.datetime, parts: int = 1) -> None:
        gap = dt.timedelta(seconds=self.pacing.gap(chat_id) * self.SAFETY)
        self.chat_free[chat_id] = now + gap * parts
        if self._capacity():
            self.recent.extend([now] * parts)
        if len(self.chat_free) > 50_000:  # forget chats that are free again
            self.chat_free = {c: t for c, t in self.chat_free.items() if t > now}

    def started(self, reserved_at: dt.datetime, at: dt.datetime) -> None:
        """A message reserved at `reserved_at` leaves now: the overall window counts it from now, not from when
        it was picked (a pass's requests leave one after another, and the platform counts their arrival)."""
        if not self._capacity():
            return
        with contextlib.suppress(ValueError):  # trimmed already if the reservation is older than the window
            self.recent.remove(reserved_at)
        self.recent.append(at)

    def answered(self, chat_id: str, at: dt.datetime, parts_left: int = 0) -> None:
        """The chat's gap runs from the answer: the message had arrived by then, however long it travelled."""
        gap = dt.timedelta(seconds=self.pacing.gap(chat_id) * self.SAFETY)
        self.chat_free[chat_id] = max(self.chat_free.get(chat_id, at), at + gap * (parts_left + 1))

    def pause(self, until: dt.datetime) -> None:
        """Nothing goes out on this channel before `until`."""
        self.paused_until = max(self.paused_until or until, until)


@dataclass
class _Pick:
    row: OutboxMessage
    channel: Channel
    parts: list[Rendered]
    reserved_at: dt.datetime
    locale: str


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
        in_flight: int = 8,
        operator: Operator | None = None,
        max_age: dt.timedelta = dt.timedelta(hours=72),
        lease: dt.timedelta = LEASE,
    ) -> None:
        self.lease = lease  # a claimed row whose sender died is taken again after this
        self.sessions = sessions
        self.operator = operator or Operator(sessions, None, default_locale, clock)
        self.max_age = max_age
        self.circuits: dict[str, Circuit] = defaultdict(Circuit)
        self.readonly = readonly or sessions
        self.channels = channels
        self.media = media
        self.default_locale = default_locale
        self.clock = clock
        self.pacers: dict[str, Pacer] = {}
        self.stats = Stats()
        self.in_flight = in_flight  # concurrent requests per channel: a remote API's round trip is not our pace
        self.next_wake: dt.datetime | None = None
        self.wakes: dict[str, dt.datetime | None] = {}  # per channel: when a waiting row may go
        self.more: dict[str, bool] = {}  # per channel: whether its last pass left due rows unread
        self._warm = False
        self._warm_lock = asyncio.Lock()
        self._wakeups: dict[str, asyncio.Event] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._direct: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncSession]:
        """A write transaction (queued with every other writer of the process: storage.db.GatedSession)."""
        async with self.sessions() as s, s.begin():
            yield s

    @property
    def busy(self) -> bool:
        """Whether a pass, or a reply sent at once, is sending right now."""
        return bool(self._direct) or any(lock.locked() for lock in self._locks.values())

    # --- replies sent at once -----------------------------------------------------------------------------

    def lease_until(self, now: dt.datetime) -> dt.datetime:
        return now + self.lease

    def send(self, row: OutboxMessage) -> None:
        """A reply its turn committed already taken (status `sending`): sent now when its channel's pace allows,
        else handed back to the passes for when it does. Its delivery record is the only write it costs."""
        task = asyncio.create_task(self._send_taken(row))
        self._direct.add(task)
        task.add_done_callback(self._direct.discard)

    async def _send_taken(self, row: OutboxMessage) -> None:
        try:
            row.attempts = 0  # the copy: `_failed` counts this attempt as the claim does
            now = self.clock()
            circuit = self.circuits[row.channel]
            if circuit.open:
                at = circuit.probe_at or now
            else:
                await self._warm_up(now)
                picks, later, wake = self._pick([row], {}, now)
                if picks:
                    await self._deliver(picks[0])
                    return
                at = later[0][1] if later else (wake or now)
            async with self._tx() as s:
                await outbox_store.unclaim(s, row.id, at)
            self.wakes[row.channel] = min(at, self.wakes.get(row.channel) or at)
            self.kick()
        except Exception:
            log.exception("outbox row %s: sending at once failed; its lease brings it back", row.id)

    async def settle(self) -> None:
        """Wait for the replies being sent at once (tests, shutdown)."""
        while self._direct:
            await asyncio.gather(*list(self._direct), return_exceptions=True)

    def kick(self) -> None:
        for event in self._wakeups.values():
            event.set()

    async def run_once(self, limit: int = 200) -> int:
        """Send what is due now and fits the platforms' limits, on every channel side by side; returns how many
        rows were sent. The rest waits, untouched, for a later pass (`next_wake` says when)."""
        await self._housekeeping()
        results = await asyncio.gather(*(self._pass(name, limit) for name in self.channels))
        wakes = [w for w in (self.wakes.get(name) for name in self.channels) if w is not None]
        self.next_wake = min(wakes) if wakes else None
        return sum(results)

    async def _housekeeping(self) -> None:
        """Leases run out (a crashed sender's rows come back), rows for a channel that is off are put aside,
        rows past the maximum age are given up, and stuck level-1 notices are rerouted."""
        now = self.clock()
        await self._warm_up(now)
        async with self.readonly() as s:
            stray = list(await outbox_store.due(s, now, 200, not_in=list(self.channels)))
        async with self._tx() as s:
            await outbox_store.release_expired(s, now)
            for row in stray:
                await outbox_store.mark_retry(s, row.id, now + dt.timedelta(minutes=5), "channel is off")
            expired = await outbox_store.expire(s, now - self.max_age)
            stuck = await outbox_store.reroute_stuck(s, now - URGENT_WITHIN, now, outbox_store.URGENT)
        for channel, count in sorted(expired.items()):
            self.stats.expired += count
            hours = int(self.max_age.total_seconds() // 3600)
            await self.operator.tell(f"expired:{channel}", wording.expired(channel, count, hours))
        for person, channel, others in stuck:
            self.stats.rerouted += 1
            minutes = int(URGENT_WITHIN.total_seconds() // 60)
            await self.operator.tell(f"stuck:{person}", wording.urgent_stuck(person, channel, minutes, others))
        if stuck:
            self.kick()

    async def _pass(self, name: str, limit: int) -> int:
        """One channel's pass. It reads only as many due rows as the channel may send now, so a channel at its
        limit (Telegram during a broadcast) costs no reads and never holds up another channel."""
        await self.operator.flush()  # a report the database refused earlier goes first (nothing to do: no cost)
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            now = self.clock()
            await self._warm_up(now)
            channel = self.channels[name]
            pacer = self._pacer(name, channel)
            budget = limit if pacer is None else min(limit, pacer.free(now))
            circuit = self.circuits[name]
            if circuit.open and circuit.probe_at is not None:
                if now < circuit.probe_at:  # open: nothing goes out until the next probe
                    self.wakes[name] = circuit.probe_at
                    return 0
                budget = min(budget, 1)  # the probe: one row
            if budget <= 0:
                assert pacer is not None
                self.wakes[name] = pacer.next_slot(now)
                return 0
            async with self.readonly() as s:
                rows = list(await outbox_store.due(s, now, budget * 2, channel=name))
                locales = await outbox_store.recipient_locales(s, {r.person_id for r in rows if r.person_id})
            self.more[name] = len(rows) >= budget * 2  # fewer: everything due now was read (a kick brings new)
            picks, later, wake = self._pick(rows, locales, now)
            self.wakes[name] = wake
            if later:
                async with self._tx() as s:
                    for row_id, at in later:  # the chat itself is busy: look again when it is free
                        await outbox_store.defer(s, row_id, at)
            if not picks:
                return 0
            # One claim for the pass (a transaction per row would cost more than the platform's pace allows).
            # After a crash, claimed rows wait for their lease; only those whose request was in flight can
            # reach a chat twice.
            async with self._tx() as s:
                claimed = await outbox_store.claim_many(s, [p.row.id for p in picks], now, self.lease)
            picks = [p for p in picks if p.row.id in claimed]  # another dispatcher took the rest
            return await self._deliver_all(name, picks)

    async def _warm_up(self, now: dt.datetime) -> None:
        """A restarted process learns what went out in the last minute, so it does not burst into a window the
        previous process had already filled (the platform counts both). Once per process."""
        async with self._warm_lock:
            if self._warm:
                return
            async with self.readonly() as s:
                recent = await outbox_store.sent_since(s, now - dt.timedelta(minutes=1))
            for channel_name, chat_id, at in recent:
                channel = self.channels.get(channel_name)
                pacer = self._pacer(channel_name, channel) if channel is not None else None
                if pacer is not None:
                    pacer.take(chat_id, at)
            self._warm = True

    def _pick(
        self, rows: list[OutboxMessage], locales: Mapping[int, str | None], now: dt.datetime
    ) -> tuple[list[_Pick], list[tuple[int, dt.datetime]], dt.datetime | None]:
        picks: list[_Pick] = []
        later: list[tuple[int, dt.datetime]] = []
        wake: dt.datetime | None = None
        for row in rows:
            channel = self.channels[row.channel]
            locale = normalise_locale(
                (locales.get(row.person_id) if row.person_id else None) or row.locale, self.default_locale
            )
            parts = render(from_json(row.items), locale, channel.capabilities)
            progress = len(row.message_ids or [])
            pacer = self._pacer(row.channel, channel)
            if pacer is not None:
                at = pacer.when(row.chat_id, now, max(1, len(parts) - progress))
                if at > now:
                    if pacer.chat_ready(row.chat_id, now) > now:
                        later.append((row.id, pacer.chat_ready(row.chat_id, now)))
                    wake = at if wake is None else min(wake, at)
                    continue
                pacer.take(row.chat_id, now, max(1, len(parts) - progress))
            picks.append(_Pick(row, channel, parts, now, locale))
        return picks, later, wake

    async def _deliver_all(self, name: str, picks: list[_Pick]) -> int:
        gate = asyncio.Semaphore(self.in_flight)

        async def one(p: _Pick) -> int:
            async with gate:
                return await self._deliver(p)

        return sum(await asyncio.gather(*(one(p) for p in picks)))

    async def drain(self, max_rounds: int = 50) -> int:
        """Send until nothing is due (tests and shutdown)."""
        total = 0
        await self.settle()
        for _ in range(max_rounds):
            n = await self.run_once()
            total += n
            if n == 0:
                break
        return total

    async def run_forever(self, stop: asyncio.Event, poll_seconds: float) -> None:
        """One lane per channel, each at its own pace, and the housekeeping every poll."""

        async def housekeeping() -> None:
            while not stop.is_set():
                try:
                    await self._housekeeping()
                except Exception:
                    log.exception("outbox housekeeping failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll_seconds)

        await asyncio.gather(housekeeping(), *(self._lane(name, stop, poll_seconds) for name in self.channels))

    async def _lane(self, name: str, stop: asyncio.Event, poll_seconds: float) -> None:
        wake = self._wakeups.setdefault(name, asyncio.Event())
        while not stop.is_set():
            wake.clear()  # before the pass: a kick that arrives during it is not lost
            sent = 0
            try:
                sent = await self._pass(name, 200)
            except Exception:
                log.exception("outbox pass on %s failed", name)
            timeout = poll_seconds
            next_wake = self.wakes.get(name)
            if sent and self.more.get(name, True):
                timeout = 0  # there is more due right away
            elif next_wake is not None:  # rows wait for a pace slot: wake exactly then
                timeout = min(poll_seconds, max(0.0, (next_wake - self.clock()).total_seconds()))
            if timeout <= 0:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=timeout)

    async def _deliver(self, pick: _Pick) -> int:
        row, channel, parts = pick.row, pick.channel, pick.parts
        now = self.clock()
        ids: list[str] = list(row.message_ids or [])
        pacer = self.pacers.get(row.channel)
        try:
            for index in range(len(ids), len(parts)):
                part = parts[index]
                if pacer is not None and pacer.paused_until is not None and pacer.paused_until > self.clock():
                    # A rate-limit answer to a request sent alongside: this one waits out the pause too.
                    async with self._tx() as s:
                        if ids:
                            await outbox_store.record_progress(s, row.id, ids)
                        await outbox_store.unclaim(s, row.id, pacer.paused_until)
                    return 0
                if pacer is not None:
                    pacer.started(pick.reserved_at, self.clock())
                ids.append(await self._send_part(channel, row, part, pick.locale))
                if pacer is not None:
                    pacer.answered(row.chat_id, self.clock(), len(parts) - index - 1)
                self.stats.parts += 1
                # Record each part as it goes (a retry must not repeat it); the last one closes the row.
                async with self._tx() as s:
                    if part.offers:
                        await outbox_store.remember_offers(s, row.channel, row.chat_id, list(part.offers), now)
                    if part.card_key:
                        await outbox_store.remember_card(s, row.channel, row.chat_id, part.card_key, ids[-1])
                    if index == len(parts) - 1:
                        await outbox_store.mark_sent(s, row.id, self.clock(), ids)
                    else:
                        await outbox_store.record_progress(s, row.id, ids)
            if not parts:
                async with self._tx() as s:
                    await outbox_store.mark_sent(s, row.id, self.clock(), ids)
        except ChannelError as err:
            await self._failed(row, err)
            return 0
        except Exception as err:
            if transient(err):  # our database, not the platform: the row's lease brings it back
                log.warning("outbox row %s: the database is not taking writes (%s)", row.id, type(err).__name__)
                return 0
            log.exception("sending outbox row %s failed", row.id)  # a bug in an adapter must not stop the rest
            await self._failed(row, ChannelError(repr(err)))
            return 0
        await self._answered(row.channel)
        self.stats.sent += 1
        self.stats.by_channel[row.channel] += 1
        return 1

    async def _send_part(self, channel: Channel, row: OutboxMessage, part: Rendered, locale: str) -> str:
        if part.card_key and channel.capabilities.edit:
            async with self.readonly() as s:
                earlier = await outbox_store.card_message(s, row.channel, row.chat_id, part.card_key)
            if earlier and await channel.edit(row.chat_id, earlier, part):
                return earlier
        media = None
        sha = part.photo or (part.document[0] if part.document else None)
        if sha:
            try:
                media = await asyncio.to_thread(self.media.read, sha)
            except FileNotFoundError:
                # The message still goes out, saying what is missing; the operator restores the file.
                await self.operator.tell(f"photo:{sha}", wording.photo_missing(sha))
                missing = translate(common.photo_missing(), locale)
                part = Rendered(f"{part.text}\n{missing}" if part.text else missing, part.buttons, offers=part.offers)
        return await channel.send(row.chat_id, part, media)

    def _pacer(self, name: str, channel: Channel) -> Pacer | None:
        pacing = getattr(channel, "pacing", None)
        if pacing is None:
            return None
        if name not in self.pacers:
            self.pacers[name] = Pacer(pacing)
        return self.pacers[name]

    async def _answered(self, channel: str) -> None:
        """A send went through: the channel is healthy (again)."""
        circuit = self.circuits[channel]
        circuit.failures = 0
        if circuit.opened_at is not None:
            minutes = int((self.clock() - circuit.opened_at).total_seconds() // 60)
            circuit.opened_at = circuit.probe_at = None
            await self.operator.tell(f"circuit:{channel}:closed", wording.circuit_closed(channel, minutes))

    async def _failed(self, row: OutboxMessage, err: ChannelError) -> None:
        now = self.clock()
        attempts = row.attempts + 1  # the claim counted this attempt in the database, not on this copy
        if err.retry_after is not None and row.channel in self.pacers:
            self.pacers[row.channel].pause(now + dt.timedelta(seconds=err.retry_after))
        circuit = self.circuits[row.channel]
        opened = False
        async with self._tx() as s:
            if err.forbidden:
                await outbox_store.deactivate_chat(s, row.channel, row.chat_id)
                await outbox_store.mark_failed(s, row.id, f"forbidden: {err}")
                await outbox_store.report_unreachable(s, row.channel, row.chat_id)
                self.stats.failed += 1
            elif err.permanent:
                await outbox_store.mark_failed(s, row.id, str(err))
                self.stats.failed += 1
            elif err.retry_after is not None:  # the platform's pace: not a failure of the channel
                await outbox_store.mark_retry(s, row.id, now + dt.timedelta(seconds=err.retry_after), str(err))
                self.stats.retried += 1
            else:
                circuit.failures += 1
                if circuit.open or circuit.failures >= CIRCUIT_FAILURES:
                    # The channel is down, not this row: it waits for the next probe, its tries untouched.
                    opened = not circuit.open
                    circuit.opened_at = circuit.opened_at or now
                    circuit.probe_at = now + PROBE_EVERY
                    await outbox_store.unclaim(s, row.id, circuit.probe_at)
                    await outbox_store.note_error(s, row.id, str(err))
                else:
                    await outbox_store.mark_retry(s, row.id, now + dt.timedelta(seconds=backoff(attempts)), str(err))
                self.stats.retried += 1
        if circuit.open:
            self.wakes[row.channel] = circuit.probe_at
        if opened:
            await self.operator.tell(f"circuit:{row.channel}:open", wording.circuit_opened(row.channel, str(err)[:120]))
        log.warning("outbox row %s to %s: %s", row.id, row.channel, err)
