"""A broadcast to 5,000 Telegram chats and 2,000 WeCom members, delivered by the real service (`anzebot run` in
a child process) to fake platforms on loopback that enforce the platforms' limits: Telegram answers 429 over
30 messages/s, 1/s per private chat or 20/min per group; WeCom silently drops an app's messages to a member
over 30/min. Run twice from the same database: once straight through, once killed with SIGKILL halfway and
restarted. Prints rates against the limits, 429s, drops, duplicates, missed chats, times and peak memory.

    python -m bench.broadcast            # full size (about 7 minutes)
    BENCH_SCALE=0.1 python -m bench.broadcast
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bot.app import App
from bot.config import Settings
from bot.domain.broadcast import Scope, Target
from bot.ports import BroadcastDraft
from storage import broadcasts
from storage.models import ChatBinding, Identity, Membership, Organisation, Person, Policy, Project
from storage.people import person_info
from tests.fakes import wecom_api
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.wecom_api import FakeWeCom

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
PROJECTS = int(2500 * SCALE)  # each: a Telegram group and a manager on Telegram
WECOM = int(2000 * SCALE)  # of them, this many with a safety officer on WeCom
TEXT = "【台风预警】今年第18号台风预计明日14时前后登陆，请各项目今晚18:00前完成塔吊锁定、临边加固并撤离低洼作业人员。"
LIMITS = {"telegram": 30.0, "wecom": None}  # per second overall; WeCom publishes per member only


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def seed(db: Path) -> None:
    """Bulk rows (the admin CLI would take minutes for this many), then the broadcast through the service."""
    app = App(Settings(database_url=f"sqlite+aiosqlite:///{db}", webchat=False, _env_file=None))  # type: ignore[call-arg]
    await app.prepare()
    today = dt.date.today()
    async with app.sessions() as s, s.begin():
        await s.execute(
            insert(Organisation),
            [
                {"id": 1, "kind": "insurer", "name": "省安责险共保体", "region": "安徽省"},
                {"id": 2, "kind": "construction", "name": "某建工集团", "region": "安徽省"},
            ],
        )
        await s.execute(insert(Person), [{"id": 1, "name": "保险联系人", "org_id": 1}])
        await s.execute(
            insert(Project),
            [
                {"id": i, "code": f"P{i:05d}", "name": f"项目{i}", "region": "安徽省宣城市"}
                for i in range(1, PROJECTS + 1)
            ],
        )
        await s.execute(
            insert(Policy),
            [
                {
                    "number": f"POL{i:05d}",
                    "project_id": i,
                    "insurer_org_id": 1,
                    "premium": 50000,
                    "start_date": today - dt.timedelta(days=30),
                    "end_date": today + dt.timedelta(days=300),
                }
                for i in range(1, PROJECTS + 1)
            ],
        )
        await s.execute(
            insert(ChatBinding),
            [
                {"channel": "telegram", "chat_id": str(-1003000000000 - i), "project_id": i, "title": f"群{i}"}
                for i in range(1, PROJECTS + 1)
            ],
        )
        people, members, identities = [], [], []
        for i in range(1, PROJECTS + 1):
            people.append({"id": 1000 + i, "name": f"经理{i}", "org_id": 2})
            members.append({"person_id": 1000 + i, "project_id": i, "role": "project_manager"})
            identities.append({"channel": "telegram", "user_id": str(700000 + i), "chat_id": str(700000 + i)})
            identities[-1]["person_id"] = 1000 + i
            if i <= WECOM:
                people.append({"id": 100000 + i, "name": f"安全员{i}", "org_id": 2})
                members.append({"person_id": 100000 + i, "project_id": i, "role": "safety_officer"})
                identities.append(
                    {"channel": "wecom", "user_id": f"aq{i}", "chat_id": f"aq{i}", "person_id": 100000 + i}
                )
        await s.execute(insert(Person), people)
        await s.execute(insert(Membership), members)
        await s.execute(insert(Identity), identities)
    t0 = time.perf_counter()
    async with app.sessions() as s, s.begin():
        sender = await person_info(s, 1)
        draft = BroadcastDraft(TEXT, Scope.ALL, "", (Target.GROUP, Target.MANAGER, Target.SAFETY), True)
        await broadcasts.Broadcasts(app.turn(s)).send(sender, draft)
    print(f"confirm: {PROJECTS * 2 + WECOM} targets and outbox rows written in {time.perf_counter() - t0:.2f} s")
    await app.engine.dispose()


@dataclass
class Child:
    proc: subprocess.Popen[bytes]
    started: float

    def peak_mib(self) -> float:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0


def start_child(db: Path, folder: Path, tg_url: str, wecom_url: str, token: str) -> Child:
    env = {
        **os.environ,
        "ANZEBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "ANZEBOT_MEDIA_DIR": str(folder / "media"),
        "ANZEBOT_HTTP_PORT": str(free_port()),
        "ANZEBOT_WEBCHAT": "false",
        "ANZEBOT_TELEGRAM_TOKEN": token,
        "ANZEBOT_TELEGRAM_API_URL": tg_url,
        "ANZEBOT_WECOM_CORP_ID": wecom_api.CORP_ID,
        "ANZEBOT_WECOM_AGENT_ID": wecom_api.AGENT_ID,
        "ANZEBOT_WECOM_SECRET": wecom_api.SECRET,
        "ANZEBOT_WECOM_TOKEN": wecom_api.TOKEN,
        "ANZEBOT_WECOM_AES_KEY": wecom_api.AES_KEY,
        "ANZEBOT_WECOM_API_URL": wecom_url,
    }
    with (folder / "service.log").open("ab") as log:  # a pipe nobody reads would fill and stall the service
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, stdout=log, stderr=log)
    return Child(proc, time.monotonic())


def outbox_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as con:
        rows = con.execute("SELECT status, count(*) FROM outbox WHERE broadcast_id IS NOT NULL GROUP BY status")
        return dict(rows.fetchall())


class Platforms:
    def __init__(self) -> None:
        self.tg = FakeTelegram(limits=True)
        self.wecom = FakeWeCom(limits=True)

    async def start(self) -> tuple[str, str]:
        return await self.tg.start(), await self.wecom.start()

    def delivered(self) -> dict[str, list[float]]:
        """Broadcast deliveries per chat ("telegram:<chat>", "wecom:<member>") with their arrival times."""
        out: dict[str, list[float]] = {}
        for c in self.tg.sent(method="sendMessage"):
            if c not in self.tg.faulted and TEXT in c.text:
                out.setdefault(f"telegram:{c.chat}", []).append(c.at)
        for w in self.wecom.sent():
            if w.path == "message/send" and TEXT in w.text:
                out.setdefault(f"wecom:{w.to}", []).append(w.at)
        return out


async def wait_until(predicate: Any, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        await asyncio.sleep(0.2)
    return predicate()


async def run(label: str, db: Path, folder: Path, kill_at: float | None) -> None:
    platforms = Platforms()
    tg_url, wecom_url = await platforms.start()
    total = PROJECTS * 2 + WECOM
    expected = {f"telegram:{-1003000000000 - i}" for i in range(1, PROJECTS + 1)}
    expected |= {f"telegram:{700000 + i}" for i in range(1, PROJECTS + 1)}
    expected |= {f"wecom:aq{i}" for i in range(1, WECOM + 1)}
    t0 = time.time()
    child = start_child(db, folder, tg_url, wecom_url, platforms.tg.token)
    peak = 0.0
    in_doubt = 0
    restarted_at = t0
    if kill_at is not None:
        await wait_until(lambda: len(platforms.delivered()) >= total * kill_at, 3600)
        peak = child.peak_mib()
        child.proc.send_signal(signal.SIGKILL)
        child.proc.wait()
        in_doubt = outbox_counts(db).get("sending", 0)
        print(f"{label}: SIGKILL after {len(platforms.delivered())} of {total} chats; {in_doubt} rows in flight")
        restarted_at = time.time()
        child = start_child(db, folder, tg_url, wecom_url, platforms.tg.token)

    def finished() -> bool:
        counts = outbox_counts(db)
        return counts.get("sent", 0) + counts.get("failed", 0) >= total

    done = await wait_until(finished, 3600)
    peak = max(peak, child.peak_mib())
    child.proc.send_signal(signal.SIGTERM)
    try:
        child.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.proc.kill()
    delivered = platforms.delivered()
    duplicates = sum(len(v) - 1 for v in delivered.values() if len(v) > 1)
    missed = len(expected - set(delivered))
    tg_times = sorted(t for k, v in delivered.items() if k.startswith("telegram:") for t in v)
    wc_times = sorted(t for k, v in delivered.items() if k.startswith("wecom:") for t in v)
    last = max(tg_times[-1:] + wc_times[-1:])

    def rate(times: list[float]) -> float:
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0

    print(f"{label}: {'finished' if done else 'DID NOT FINISH'}; counts {outbox_counts(db)}")
    print(
        f"{label}: telegram {len(tg_times)} messages at {rate(tg_times):.1f}/s (limit 30/s, "
        f"{100 * rate(tg_times) / 30:.0f} %), 429s received {len(platforms.tg.limited)}"
    )
    print(
        f"{label}: wecom {len(wc_times)} members at {rate(wc_times):.1f}/s (limit 30/min per member), "
        f"dropped over the member limit {len(platforms.wecom.dropped)}, 45009s {len(platforms.wecom.limited)}"
    )
    if platforms.tg.limited:
        first = min(c.at for c in platforms.tg.limited) - t0
        print(f"{label}: 429s at {sorted(round(c.at - t0, 2) for c in platforms.tg.limited)} s after start")
        if kill_at is not None:
            print(f"{label}: restart at {restarted_at - t0:.2f} s; first 429 {first:.2f} s")
    print(f"{label}: duplicates {duplicates}, missed chats {missed}")
    print(f"{label}: service start to last delivery {last - t0:.1f} s; peak RSS of the service {peak:.0f} MiB")
    await platforms.tg.close()
    await platforms.wecom.close()


async def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="anzebot-bench-broadcast-"))
    template = folder / "seeded.db"
    await seed(template)
    for label, kill_at in (("straight", None), ("sigkill-halfway", 0.5)):
        db = folder / f"{label}.db"
        shutil.copy(template, db)
        await run(label, db, folder, kill_at)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
