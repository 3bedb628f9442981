"""Shared set-up for the benchmarks: a real App on a fresh SQLite file (or ANZEBOT_BENCH_DATABASE_URL)."""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
from pathlib import Path

from bot.app import App
from bot.channels.memory import MemoryChannel
from bot.config import Settings
from bot.render import RICH
from storage import demo


async def demo_app(channel: str = "bench") -> tuple[App, MemoryChannel, Path]:
    folder = Path(tempfile.mkdtemp(prefix="anzebot-bench-"))
    url = os.environ.get("ANZEBOT_BENCH_DATABASE_URL", f"sqlite+aiosqlite:///{folder}/bench.db")
    memory = MemoryChannel(channel, RICH)
    app = App(
        Settings(database_url=url, media_dir=folder / "media", webchat=False, _env_file=None),  # type: ignore[call-arg]
        channels={channel: memory},
    )
    await app.prepare()
    async with app.sessions() as s, s.begin():
        await demo.seed(s, channel=channel)
    return app, memory, folder


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summary(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"
