"""Documents at a province's size: the yearly hazard ledger of 10,000 hazards with photos (goal ≤ 15 s and ≤ 300
MiB peak), a visit's service report with 200 hazards and their photos (goal ≤ 10 s), and one hazard's notice and
re-inspection record as PDF, each by `anzebot report` in a child process
(its own memory), on a real SQLite file.

    python -m bench.reports
    BENCH_SCALE=0.1 python -m bench.reports
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image
from sqlalchemy import insert

from bot.app import App
from bot.config import Settings
from storage.models import (
    Hazard,
    HazardPhoto,
    Membership,
    Organisation,
    Person,
    Policy,
    Project,
    ProjectUnit,
    Rectification,
    Visit,
)

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
HAZARDS = int(10_000 * SCALE)
PROJECTS = max(1, HAZARDS // 50)
VISIT_HAZARDS = min(200, HAZARDS)  # found on one visit, printed in its service report
# Every hazard its own photo, and every closed one its own "after" photo: 800×600 JPEGs, as a chat app sends them.
TZ = ZoneInfo("Asia/Shanghai")
CHUNK = 5000


def photo(n: int) -> bytes:
    img = Image.new("RGB", (800, 600), ((n * 37) % 256, (n * 91) % 256, (n * 53) % 256))
    for x in range(0, 800, 40):  # some detail, so the JPEG is not trivially small
        img.paste(((n + x) % 256, x % 256, (n * x) % 256), (x, (x * 7 + n) % 540, x + 20, (x * 7 + n) % 540 + 60))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


async def bulk(s: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await s.execute(insert(model), rows[start : start + CHUNK])


async def seed(folder: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{folder}/reports.db",
        media_dir=folder / "media",
        webchat=False,
        _env_file=None,
    )  # type: ignore[call-arg]
    app = App(settings)
    await app.prepare()
    shas = []
    for first in range(0, 2 * HAZARDS, 1000):  # committed in batches: the media rows of one transaction stay small
        async with app.sessions() as s, s.begin():
            for n in range(first, min(first + 1000, 2 * HAZARDS)):
                shas.append((await app.media.store(s, photo(n))).sha256)
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=TZ).astimezone(dt.UTC)
    ids = range(1, PROJECTS + 1)
    async with app.sessions() as s, s.begin():
        await bulk(
            s,
            Organisation,
            [
                {"id": 1, "kind": "insurer", "name": "省安责险共保体", "region": "安徽省"},
                {"id": 2, "kind": "construction", "name": "某建工集团", "region": "安徽省"},
                {"id": 4, "kind": "agency", "name": "某安全服务机构", "region": "安徽省"},
            ],
        )
        await bulk(
            s, Project, [{"id": i, "code": f"P{i:05d}", "name": f"项目{i}", "region": "安徽省宣城市"} for i in ids]
        )
        await bulk(s, ProjectUnit, [{"project_id": i, "org_id": 2, "kind": "construction"} for i in ids])
        await bulk(
            s,
            Policy,
            [
                {
                    "number": f"POL{i:05d}",
                    "project_id": i,
                    "insurer_org_id": 1,
                    "premium": 200000,
                    "start_date": dt.date(2026, 1, 1),
                    "end_date": dt.date(2026, 12, 31),
                }
                for i in ids
            ],
        )
        await bulk(
            s,
            Person,
            [{"id": 10_000 + i, "name": f"经理{i}", "org_id": 2} for i in ids]
            + [{"id": 40_000 + i, "name": f"专家{i}", "org_id": 4} for i in ids],
        )
        await bulk(s, Membership, [{"person_id": 10_000 + i, "project_id": i, "role": "project_manager"} for i in ids])
        hazards, photos, rects = [], [], []
        for n in range(HAZARDS):
            project = 1 if n < VISIT_HAZARDS else n % PROJECTS + 1  # the visit's hazards are all of project 1
            found = start + dt.timedelta(minutes=50 * n)
            closed = n % 2 == 0
            hazards.append(
                {
                    "id": n + 1,
                    "number": f"XC-2026-{n + 1:06d}",
                    "project_id": project,
                    "reporter_id": 40_000 + project,
                    "group_id": "electric",
                    "description": "配电箱未接地，电缆拖地",
                    "location": f"{n % 9 + 1}#楼{n % 18 + 1}层",
                    "level": n % 4 + 1,
                    "suggestion": "更换合格配电箱并重新接地",
                    "deadline": (found + dt.timedelta(days=7)).date(),
                    "status": "closed" if closed else "rectifying",
                    "created_at": found,
                    "updated_at": found,
                    "closed_at": found + dt.timedelta(days=3) if closed else None,
                }
            )
            photos.append({"hazard_id": n + 1, "sha256": shas[2 * n], "position": 0})
            if closed:
                rects.append(
                    {
                        "id": n + 1,
                        "hazard_id": n + 1,
                        "submitted_by": 10_000 + project,
                        "note": "已整改",
                        "submitted_at": found + dt.timedelta(days=2),
                        "decision": "approved",
                        "decided_by": 40_000 + project,
                        "decided_at": found + dt.timedelta(days=3),
                    }
                )
                photos.append({"hazard_id": n + 1, "rectification_id": n + 1, "sha256": shas[2 * n + 1], "position": 0})
        # One visit of project 1 that found 200 hazards (each with its photo and, closed, its "after" photo: ~300).
        await bulk(
            s,
            Visit,
            [
                {
                    "id": 1,
                    "project_id": 1,
                    "scheduled_on": dt.date(2026, 3, 2),
                    "leader_id": 40_001,
                    "status": "closed",
                    "summary": "全面排查",
                }
            ],
        )
        visit_hazards = hazards[:VISIT_HAZARDS]
        for h in visit_hazards:
            h["visit_id"] = 1
        await bulk(s, Hazard, hazards)
        await bulk(s, Rectification, rects)
        await bulk(s, HazardPhoto, photos)
    await app.engine.dispose()
    await app.inbox_engine.dispose()


def run(folder: Path, args: list[str]) -> tuple[float, float, str]:
    """(seconds, the child's peak RSS in MiB, what it printed) of one `anzebot` command."""
    env = {
        **os.environ,
        "ANZEBOT_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/reports.db",
        "ANZEBOT_MEDIA_DIR": str(folder / "media"),
    }
    t = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args], env=env, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout is not None and child.stderr is not None
    out, err = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not the largest of all children so far
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t
    if child.returncode != 0:
        raise SystemExit(err.decode())
    return seconds, usage.ru_maxrss / 1024, out.decode().strip().splitlines()[-1]


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="anzebot-bench-reports-"))
    t = time.perf_counter()
    asyncio.run(seed(folder))
    print(
        f"seeded {HAZARDS} hazards in {PROJECTS} projects, {2 * HAZARDS} distinct 800×600 photos: "
        f"{time.perf_counter() - t:.1f} s"
    )
    ledger = [
        "report",
        "ledger",
        "--region",
        "安徽省",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--out",
        "ledger.xlsx",
    ]
    seconds, peak, said = run(folder, ledger)
    size = (folder / "ledger.xlsx").stat().st_size / 2**20
    print(
        f"yearly ledger: {seconds:.1f} s, peak RSS {peak:.0f} MiB, {size:.1f} MiB file ({said})"
        "  [goal ≤ 15 s, ≤ 300 MiB]"
    )
    seconds, peak, said = run(folder, ["report", "service-report", "--visit", "1", "--out", "report.pdf"])
    size = (folder / "report.pdf").stat().st_size / 2**20
    print(
        f"service report, 200 hazards with their photos: {seconds:.1f} s, peak RSS {peak:.0f} MiB, {size:.1f} MiB"
        "  [goal ≤ 10 s]"
    )
    for kind in ("notice", "recheck"):
        seconds, peak, said = run(folder, ["report", kind, "XC-2026-000001", "--out", f"{kind}.pdf"])
        print(f"{kind} PDF: {seconds:.2f} s (the whole command, start-up included), peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
