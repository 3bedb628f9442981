"""How fast the outbox dispatcher drains notices to an in-process channel (the database is the cost).

Prints rows/s for N single-message rows to N distinct chats, and peak RSS."""

from __future__ import annotations

import asyncio
import time

from bench.common import demo_app, rss_mib
from bot.i18n import T
from bot.messages import Card, Option
from storage import outbox_store

N = int(__import__("os").environ.get("BENCH_N", "2000"))


async def main() -> None:
    app, channel, _ = await demo_app()
    card = Card(
        T("Rectification notice"),
        ((T("Number"), "XC-2026-000001"), (T("Location"), "3#楼北侧")),
        (Option("rect:1", T("Submit rectification")), Option("h:1", T("Details"))),
    )
    t0 = time.perf_counter()
    async with app.sessions() as s, s.begin():
        for i in range(N):
            await outbox_store.enqueue(s, key=f"bench:{i}", channel="bench", chat_id=f"chat{i}", items=[card])
    enqueue_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sent = await app.dispatcher.drain(max_rounds=1000)
    drain_s = time.perf_counter() - t0
    assert sent == N and len(channel.sent) == N
    print(f"outbox: enqueued {N} rows in {enqueue_s:.2f} s ({N / enqueue_s:.0f} rows/s, one transaction)")
    print(
        f"outbox: delivered {N} rows in {drain_s:.2f} s ({N / drain_s:.0f} rows/s, rendered per recipient, "
        f"claim + progress + mark-sent per row)"
    )
    print(f"outbox: peak RSS {rss_mib():.0f} MiB")
    await app.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
