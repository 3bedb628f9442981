"""End-to-end latency of a conversation step: Incoming → router transaction → handlers → outbox → channel.

Runs complete hazard reports (13 messages each, photos included) and a rectification + review for each, and
prints per-message latency and hazards per minute on one core."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import random
import time
from collections import Counter

import time_machine
from PIL import Image, ImageDraw
from sqlalchemy import select

from bench.common import demo_app, rss_mib, summary
from bot.messages import ChatKind, Choice, Incoming, Media, Payload, parse_text
from storage.models import Hazard

REPORTS = 40


def photo(n: int) -> bytes:
    """A distinct site photo per n: the service refuses a photo that looks like one already filed (perceptual
    hash), so plain colour fields, which all hash alike, would not do."""
    rng = random.Random(n)
    image = Image.new("RGB", (1280, 960), (rng.randrange(256), rng.randrange(256), 90))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(1200), rng.randrange(900)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x, y, x + rng.randrange(20, 400), y + rng.randrange(20, 300)), fill=colour)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85)
    return buf.getvalue()


async def main() -> None:
    # People type: the service holds back an account sending over 30 updates a minute, so each report (14
    # messages) and each rectification starts a minute after the last one on the service's clock.
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=True) as clock:
        await run(clock)


async def run(clock: time_machine.Traveller) -> None:
    app, channel, _ = await demo_app()
    from storage import admin

    async with app.sessions() as s, s.begin():
        for name, user in (("王建国", "expert"), ("陈经理", "manager"), ("孙监理", "engineer")):
            people = {p.name: p.id for p, _, _ in await admin.people(s)}
            await admin.link_account(s, "bench", user, user, people[name], app.now())
    samples: list[float] = []
    counter = iter(range(10**9))

    async def send(user: str, payload: Payload) -> None:
        inc = Incoming("bench", user, ChatKind.PRIVATE, user, f"b{next(counter)}", payload)
        t0 = time.perf_counter()
        await app.router.handle(inc)
        await app.dispatcher.drain()
        samples.append((time.perf_counter() - t0) * 1000)

    def last_value(user: str, fragment: str) -> str:
        for m in reversed(channel.messages(user)):
            for value, label in m.message.offers:
                if fragment in label:
                    return value
        raise AssertionError((fragment, [m.message.text[:80] for m in channel.messages(user)][-4:]))

    started = time.perf_counter()
    for i in range(REPORTS):
        clock.shift(60)
        await send("expert", parse_text("/report"))
        await send("expert", Choice("f:project:1"))
        await send("expert", Media(channel.upload(photo(i)), "photo"))
        await send("expert", Choice("f:photos:done"))
        await send("expert", Choice("f:group:scaffold"))
        await send("expert", Choice("f:major:none"))
        await send("expert", Choice("f:check:skip"))
        await send("expert", parse_text(f"第 {i} 处连墙件缺失"))
        await send("expert", parse_text("3#楼北侧"))
        await send("expert", Choice("f:level:3"))
        await send("expert", Choice("f:suggestion:std"))
        await send("expert", Choice(last_value("expert", "7 个工作日")))
        await send("expert", Choice("f:lec:skip"))
        await send("expert", Choice("f:confirm:submit"))
    report_s = time.perf_counter() - started
    print(
        f"flow: {REPORTS} hazard reports, {len(samples)} messages in {report_s:.1f} s "
        f"({REPORTS / report_s * 60:.0f} reports/min)"
    )
    print(f"flow: per message {summary(samples)}")
    samples.clear()
    # The rectification button of each hazard's notice, one hazard after another.
    buttons = [v for m in channel.messages("manager") for v, label in m.message.offers if "提交整改" in label]
    for i, button in enumerate(dict.fromkeys(buttons)):
        clock.shift(60)
        await send("manager", Choice(button))
        await send("manager", Media(channel.upload(photo(1000 + i)), "photo"))
        await send("manager", Choice(last_value("manager", "完成")))
        await send("manager", parse_text("已整改"))
        await send("manager", Choice(last_value("manager", "提交")))
        await send("engineer", Choice(last_value("engineer", "复查通过")))
    print(f"flow: rectify + review, per message {summary(samples)}")
    async with app.readonly() as s:
        statuses = Counter((await s.execute(select(Hazard.status))).scalars())
    # The figures count only if every step did what it should: each report filed, rectified and closed.
    assert statuses == {"closed": REPORTS}, statuses
    print(f"flow: peak RSS {rss_mib():.0f} MiB, {len(channel.sent)} messages delivered")
    await app.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
