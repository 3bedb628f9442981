"""Running the real service as a child process (the crash drill, the benchmarks): start it, and wait until it
takes updates."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import aiohttp


def run_service(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`anzebot run` with these settings; its output goes to `log` (a pipe nobody reads would stall it)."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, stdout=out, stderr=out)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    """Until /healthz answers 200 (the inbox and the database take writes); bounded for a broken start."""
    async with aiohttp.ClientSession() as http:
        for _ in range(int(seconds * 10)):
            if proc.poll() is not None:
                raise AssertionError(f"the service exited: {tail(log)}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"the service did not start: {tail(log)}")
