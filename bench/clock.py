"""The clock at a province's size: 100,000 open hazards in 2,000 projects, with visits, revisits, complaints
and training sessions in proportion, on a real SQLite file (or ANZEBOT_BENCH_DATABASE_URL).

Each figure comes from a fresh child process (so its memory growth is its own): the first sweep after the data
arrives (it schedules everything), a sweep with nothing due (three times), the 08:30 sweep when 7,500 reminders
fall due at once, `anzebot due --json`, and `/help` messages answered while that 08:30 sweep runs.

    python -m bench.clock                 # full size (a few minutes, most of it seeding)
    BENCH_SCALE=0.1 python -m bench.clock
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

from bot.app import App
from bot.channels.memory import MemoryChannel
from bot.config import Settings
from bot.messages import ChatKind, Incoming, parse_text
from bot.render import RICH
from storage.models import (
    Acknowledgement,
    ChatBinding,
    Complaint,
    DigestItem,
    Hazard,
    HazardPhoto,
    Identity,
    MediaFile,
    Membership,
    Organisation,
    OutboxMessage,
    Person,
    Policy,
    Project,
    Reminder,
    Revisit,
    TrainingSession,
    Visit,
    VisitTask,
)

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
PROJECTS = max(1, int(2000 * SCALE))
PER_PROJECT = 50  # open hazards
DUE = int(7500 * SCALE)  # of them, this many have their day-before reminder at T1
TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)  # a Tuesday morning: nothing is due
T1 = dt.datetime(2026, 12, 2, 8, 30, tzinfo=TZ)  # Wednesday 08:30: the day-before reminders of Thursday's deadlines
SHA = "ab" * 32
CHUNK = 5000

# Person ids by role: project i has manager 10_000+i, safety officer 20_000+i, supervision 30_000+i, expert
# 40_000+i; twenty insurer contacts and ten authority officers share the projects.
INSURERS, AUTHORITIES = 20, 10


def url_of(folder: Path) -> str:
    return os.environ.get("ANZEBOT_BENCH_DATABASE_URL", f"sqlite+aiosqlite:///{folder}/clock.db")


def make_app(folder: Path, now: dt.datetime) -> tuple[App, MemoryChannel]:
    memory = MemoryChannel("bench", RICH)
    settings = Settings(database_url=url_of(folder), media_dir=folder / "media", webchat=False, _env_file=None)  # type: ignore[call-arg]
    return App(settings, channels={"bench": memory}, now=lambda: now.astimezone(dt.UTC)), memory


async def bulk(s: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await s.execute(insert(model), rows[start : start + CHUNK])


def deadline_of(n: int) -> dt.date:
    """The first DUE hazards are due on Thursday 3 December (reminded on Wednesday 08:30); the rest from
    Tuesday 8 December on, spread over eight weeks."""
    if n < DUE:
        return dt.date(2026, 12, 3)
    return dt.date(2026, 12, 8) + dt.timedelta(days=n % 56)


async def seed(folder: Path) -> dict[str, int]:
    """Bulk rows as an import would write them (the admin CLI would take an hour for this many)."""
    app, _ = make_app(folder, T0)
    await app.prepare()
    created = (T0 - dt.timedelta(days=1)).astimezone(dt.UTC)
    utc0 = T0.astimezone(dt.UTC)
    ids = range(1, PROJECTS + 1)
    async with app.sessions() as s, s.begin():
        await bulk(
            s,
            Organisation,
            [
                {"id": 1, "kind": "insurer", "name": "省安责险共保体", "region": "安徽省"},
                {"id": 2, "kind": "construction", "name": "某建工集团", "region": "安徽省"},
                {"id": 3, "kind": "supervision", "name": "某监理公司", "region": "安徽省"},
                {"id": 4, "kind": "agency", "name": "某安全服务机构", "region": "安徽省"},
                {"id": 5, "kind": "authority", "name": "省住建厅", "region": "安徽省"},
            ],
        )
        await bulk(s, Project, [{"id": i, "code": f"P{i:05d}", "name": f"项目{i}", "region": "安徽省"} for i in ids])
        await bulk(
            s,
            Policy,
            [
                {
                    "number": f"POL{i:05d}",
                    "project_id": i,
                    "insurer_org_id": 1,
                    "premium": 200000,
                    "start_date": dt.date(2026, 6, 1),
                    "end_date": dt.date(2027, 5, 31),
                }
                for i in ids
            ],
        )
        people: list[dict[str, Any]] = []
        members: list[dict[str, Any]] = []
        for base, org, role in (
            (10_000, 2, "project_manager"),
            (20_000, 2, "safety_officer"),
            (30_000, 3, "supervision_engineer"),
            (40_000, 4, "expert"),
        ):
            people += [{"id": base + i, "name": f"{role}{i}", "org_id": org} for i in ids]
            members += [{"person_id": base + i, "project_id": i, "role": role} for i in ids]
        people += [{"id": 100 + k, "name": f"保险{k}", "org_id": 1} for k in range(INSURERS)]
        people += [{"id": 200 + k, "name": f"监管{k}", "org_id": 5} for k in range(AUTHORITIES)]
        members += [{"person_id": 100 + i % INSURERS, "project_id": i, "role": "insurer"} for i in ids]
        members += [{"person_id": 200 + i % AUTHORITIES, "project_id": i, "role": "authority"} for i in ids]
        await bulk(s, Person, people)
        await bulk(s, Membership, members)
        await bulk(
            s,
            Identity,
            [
                {"channel": "bench", "user_id": str(p["id"]), "chat_id": str(p["id"]), "person_id": p["id"]}
                for p in people
            ],
        )
        await bulk(s, ChatBinding, [{"channel": "bench", "chat_id": f"g{i}", "project_id": i} for i in ids])
        await bulk(s, MediaFile, [{"sha256": SHA, "mime": "image/jpeg", "size": 1000, "width": 10, "height": 10}])
        hazards, photos, acks = [], [], []
        for n in range(PROJECTS * PER_PROJECT):
            project = n % PROJECTS + 1
            level = 1 if n % 50 == 0 else 2 if n % 10 == 1 else 3 if n % 3 == 0 else 4
            hazards.append(
                {
                    "id": n + 1,
                    "number": f"XC-2026-{n + 1:06d}",
                    "project_id": project,
                    "reporter_id": 40_000 + project,
                    "group_id": "G01",
                    "description": "临边防护缺失",
                    "location": "3号楼5层",
                    "level": level,
                    "suggestion": "立即设置防护栏杆",
                    "deadline": deadline_of(n),
                    "status": "rectifying",
                    "stop_work": level == 1,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            photos.append({"hazard_id": n + 1, "sha256": SHA, "position": 0})
            if level == 1:  # both sides acknowledged the same-day report: no repeats are due
                acks.append(
                    {"hazard_id": n + 1, "person_id": 100 + project % INSURERS, "role": "insurer", "at": created}
                )
                acks.append(
                    {"hazard_id": n + 1, "person_id": 200 + project % AUTHORITIES, "role": "authority", "at": created}
                )
        await bulk(s, Hazard, hazards)
        await bulk(s, HazardPhoto, photos)
        await bulk(s, Acknowledgement, acks)
        visits, tasks, revisits = [], [], []
        for i in ids:
            for k in range(2):  # two closed visits per project; the report and archive are still owed
                vid = 2 * i - 1 + k
                visits.append(
                    {
                        "id": vid,
                        "project_id": i,
                        "scheduled_on": dt.date(2026, 11, 25),
                        "leader_id": 40_000 + i,
                        "status": "closed",
                        "closed_at": utc0 - dt.timedelta(days=6),
                        "closed_on": dt.date(2026, 11, 25),
                        "summary": "检查完成",
                    }
                )
                tasks += [
                    {"visit_id": vid, "milestone": "report", "due_on": dt.date(2026, 12, 14)},
                    {"visit_id": vid, "milestone": "archive", "due_on": dt.date(2026, 12, 23)},
                ]
                revisits.append(
                    {
                        "visit_id": vid,
                        "project_id": i,
                        "contact_id": 10_000 + i,
                        "ask_on": dt.date(2026, 12, 10),
                        "limit_on": dt.date(2026, 12, 17),
                        "form": {"project": f"项目{i}", "insured": "某建工集团", "agency": "某安全服务机构"},
                    }
                )
        await bulk(s, Visit, visits)
        await bulk(s, VisitTask, tasks)
        await bulk(s, Revisit, revisits)
        await bulk(
            s,
            Complaint,
            [
                {
                    "number": f"TS-2026-{i:05d}",
                    "project_id": i,
                    "complainant_id": 10_000 + i,
                    "about": "service",
                    "text": "专家未按时到场",
                    "filed_at": utc0 - dt.timedelta(days=1),
                    "due_on": dt.date(2026, 12, 15),
                }
                for i in ids
                if i % 2 == 0
            ],
        )
        start = dt.datetime(2026, 12, 10, 9, 0, tzinfo=TZ).astimezone(dt.UTC)
        await bulk(
            s,
            TrainingSession,
            [
                {
                    "kind": "custom",
                    "topic": "高处作业安全",
                    "place": "项目部会议室",
                    "starts_at": start,
                    "ends_at": start + dt.timedelta(hours=2),
                    "projects": [i],
                    "roles": ["project_manager", "safety_officer"],
                    "organiser_id": 40_000 + i,
                    "code_hash": "0" * 64,
                }
                for i in ids
                if i % 4 == 0
            ],
        )
    counts = {}
    async with app.sessions() as s:
        for model in (Hazard, VisitTask, Revisit, Complaint, TrainingSession, Project):
            counts[model.__tablename__] = (await s.execute(select(func.count()).select_from(model))).scalar_one()
    await app.dispose()
    return counts


def status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> float:
    """The resident size now, and the kernel's high-water mark reset to it (Linux: clear_refs 5), so that the
    peak read afterwards is the peak of what follows, not of the imports."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return status_mib("VmRSS")


async def counts(app: App) -> dict[str, int]:
    async with app.sessions() as s:
        return {
            model.__tablename__: (await s.execute(select(func.count()).select_from(model))).scalar_one()
            for model in (Reminder, DigestItem, OutboxMessage)
        }


async def job_once(folder: Path, at: dt.datetime, job: str) -> dict[str, Any]:
    """In a child process: one sweep (or the digest) at `at`; its time, what it did, and how far the process's
    peak grew."""
    app, _ = make_app(folder, at)
    async with app.sessions() as s:  # connect and load the models before the baseline is taken
        await s.execute(select(func.count()).select_from(Project))
    rows = await counts(app)
    before = reset_peak()
    t = time.perf_counter()
    handled = await (app.jobs.sweep() if job == "sweep" else app.jobs.digest())
    seconds = time.perf_counter() - t
    grew = status_mib("VmHWM") - before
    after = await counts(app)
    await app.dispose()
    return {
        "seconds": seconds,
        "handled": handled,
        "peak_growth_mib": grew,
        "new_rows": {k: after[k] - rows[k] for k in after},
    }


async def help_during_sweep(folder: Path, at: dt.datetime, rate: float, count: int, sweep_too: bool) -> dict[str, Any]:
    """In a child process: joined people send `/help` `rate` times a second, while the sweep at `at` runs
    (or, for the baseline, with no sweep); how long each answer took (into the outbox: the reply is durable)."""
    app, _ = make_app(folder, at)
    await app.prepare()
    latencies: list[float] = []
    sweep = asyncio.create_task(app.jobs.sweep() if sweep_too else asyncio.sleep(0, 0))
    t0 = time.perf_counter()

    async def one(n: int) -> None:
        await asyncio.sleep(max(0.0, t0 + n / rate - time.perf_counter()))
        sent = time.perf_counter()
        user = str(10_001 + n % PROJECTS)
        await app.router.handle(Incoming("bench", user, ChatKind.PRIVATE, user, f"help{n}", parse_text("/help")))
        latencies.append((time.perf_counter() - sent) * 1000)

    await asyncio.gather(*(one(n) for n in range(count)))
    await sweep
    await app.dispose()
    ordered = sorted(latencies)
    return {
        "answered": len(latencies),
        "p50_ms": statistics.median(ordered),
        "p99_ms": ordered[max(0, int(len(ordered) * 0.99) - 1)],
        "max_ms": ordered[-1],
    }


def child(folder: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.clock", "child", str(folder), *args], capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def due_cli(folder: Path) -> tuple[float, int]:
    env = {**os.environ, "ANZEBOT_DATABASE_URL": url_of(folder), "ANZEBOT_WEBCHAT": "false"}
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "due", "--json"], env=env, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - t, len(json.loads(out.stdout))


def show(label: str, r: dict[str, Any], goal: str = "") -> None:
    print(
        f"{label:<44} {r['seconds']:8.2f} s  handled {r['handled']:>6}  peak +{r['peak_growth_mib']:5.1f} MiB"
        f"  new rows {r['new_rows']}{'  (goal ' + goal + ')' if goal else ''}",
        flush=True,
    )


def main() -> None:
    if sys.argv[1:2] == ["child"]:
        folder, what = Path(sys.argv[2]), sys.argv[3]
        at = dt.datetime.fromisoformat(sys.argv[4])
        if what in ("sweep", "digest"):
            result = asyncio.run(job_once(folder, at, what))
        else:
            rate, count = float(sys.argv[5]), int(sys.argv[6])
            result = asyncio.run(help_during_sweep(folder, at, rate, count, what == "help"))
        print(json.dumps(result))
        return
    folder = Path(tempfile.mkdtemp(prefix="anzebot-bench-clock-"))
    t = time.perf_counter()
    seeded = asyncio.run(seed(folder))
    print(f"seeded in {time.perf_counter() - t:.1f} s: {seeded}", flush=True)
    show("first sweep (schedules everything)", child(folder, "sweep", T0.isoformat()))
    for k in range(3):
        at = T0 + dt.timedelta(minutes=1 + k)
        show(f"sweep, nothing due ({k + 1})", child(folder, "sweep", at.isoformat()), "< 1 s, < 50 MiB")
    if (folder / "clock.db").exists():  # the 08:30 state, for the run with messages during the sweep
        shutil.copy(folder / "clock.db", folder / "before-0830.db")
    show(f"08:30 sweep, {DUE} reminders due", child(folder, "sweep", T1.isoformat()), "< 5 s, < 50 MiB")
    show("sweep a minute later, nothing due", child(folder, "sweep", (T1 + dt.timedelta(minutes=1)).isoformat()))
    show("09:00 digest (one message per person)", child(folder, "digest", (T1 + dt.timedelta(minutes=30)).isoformat()))
    seconds, rows = due_cli(folder)
    print(f"{'anzebot due --json':<44} {seconds:8.2f} s  rows {rows}  (goal < 5 s)", flush=True)
    if (folder / "before-0830.db").exists():
        for label, what in (
            ("/help at 2/s, no sweep (baseline)", "help-alone"),
            ("/help at 2/s during the 08:30 sweep", "help"),
        ):
            shutil.copy(folder / "before-0830.db", folder / "clock.db")
            for suffix in ("-wal", "-shm"):
                (folder / f"clock.db{suffix}").unlink(missing_ok=True)
            r = child(folder, what, T1.isoformat(), "2", "60")
            print(
                f"{label:<44} answered {r['answered']} of 60: p50 {r['p50_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms"
                f"  max {r['max_ms']:.1f} ms",
                flush=True,
            )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
