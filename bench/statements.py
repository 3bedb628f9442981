"""What one text update costs the database, counted rather than timed (the count does not drift with the machine):
SQL statements and transactions per `/help` and `/hazards` from joined people, in process, from the inbox write to
the reply marked sent. Prints the statements by kind.

    python -m bench.statements
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from typing import Any

import time_machine
from sqlalchemy import event

from bench.common import demo_app
from bot.messages import ChatKind, Incoming, parse_text
from storage import admin

UPDATES = 300
PEOPLE = ("陈经理", "周保险", "王建国", "刘安全", "孙监理")


def kind(statement: str) -> str:
    words = statement.split()
    if words[0] in ("INSERT", "DELETE"):
        return " ".join(words[:3])
    if words[0] == "UPDATE":
        return " ".join(words[:2])
    if words[0] == "SELECT":
        table = words[words.index("FROM") + 1] if "FROM" in words else "?"
        return f"SELECT … FROM {table}"
    return words[0] if words[0] != "BEGIN" else " ".join(words[:2])


async def main() -> None:
    app, channel, _ = await demo_app()
    async with app.sessions() as s, s.begin():
        people = {p.name: p.id for p, _, _ in await admin.people(s)}
        for name in PEOPLE:
            await admin.link_account(s, "bench", name, name, people[name], app.now())
    await app.start(serve=False)
    counted: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counted[kind(statement)] += 1

    ids = iter(range(10**9))

    async def update(i: int, clock: time_machine.Traveller) -> None:
        if i % len(PEOPLE) == 0:
            clock.shift(15)  # people type: no account near the limit of 30 updates a minute
        user = PEOPLE[i % len(PEOPLE)]
        text = "/help" if i % 2 else "/hazards"
        await app.router.handle(Incoming("bench", user, ChatKind.PRIVATE, user, f"s{next(ids)}", parse_text(text)))

    with time_machine.travel(dt.datetime.now(dt.UTC), tick=True) as clock:
        for i in range(20):  # warm caches first
            await update(i, clock)
        await app.dispatcher.drain()
        engines = {app.engine.sync_engine, app.inbox_engine.sync_engine}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", count)
        sent = len(channel.sent)
        started = time.process_time()
        for i in range(UPDATES):
            await update(i, clock)
        await app.dispatcher.drain()
        await app.router.inbox.settle()
        cpu = (time.process_time() - started) / UPDATES * 1000
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    await app.stop()
    total = sum(counted.values())
    transactions = sum(v for k, v in counted.items() if k.startswith("BEGIN"))
    print(
        f"statements per update: {total / UPDATES:.1f}, transactions {transactions / UPDATES:.1f} "
        f"({UPDATES} updates, {len(channel.sent) - sent} messages sent; CPU {cpu:.1f} ms per update, all threads)"
    )
    for name, n in counted.most_common():
        print(f"  {n / UPDATES:5.2f}  {name}")


if __name__ == "__main__":
    asyncio.run(main())
