"""Role × action × own/foreign project, through the services every channel uses."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.deployment import Deployment
from bot.domain.levels import Level
from bot.domain.roles import ROLE_ORG_KIND, Role
from bot.domain.rules import Hazards, Rules
from bot.ports import AccessDenied, HazardDraft, NotFound
from storage import admin
from storage.db import make_engine, sessions
from storage.media import MediaStore
from storage.people import person_info
from storage.services import SqlServices
from storage.turn import Turn
from tests.harness import jpeg

NOW = dt.datetime(2026, 11, 17, 2, 0, tzinfo=dt.UTC)
TZ = ZoneInfo("Asia/Shanghai")
REPORTERS = {Role.EXPERT, Role.PROJECT_MANAGER, Role.SAFETY_OFFICER, Role.SUPERVISION_ENGINEER}
RECTIFIERS = {Role.PROJECT_MANAGER, Role.SAFETY_OFFICER}
BINDERS = {Role.PROJECT_MANAGER, Role.SAFETY_OFFICER, Role.SUPERVISION_ENGINEER, Role.EXPERT, Role.AGENCY_ADMIN}


def services(s: AsyncSession) -> SqlServices:
    return SqlServices(
        Turn(s, NOW, Deployment(tz=TZ, rules=Rules(hazards=Hazards(deadline_days={int(lvl): 3 for lvl in Level}))))
    )


@pytest.fixture(scope="module")
def world_db(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> tuple[str, dict[str, Any]]:
    """Built once for the module; every attempt runs in a transaction that is rolled back."""
    folder = tmp_path_factory.mktemp("matrix")
    shutil.copy(template_db, folder / "matrix.db")
    url = f"sqlite+aiosqlite:///{folder / 'matrix.db'}"

    async def build() -> dict[str, Any]:
        engine = make_engine(url)
        try:
            return await build_world(sessions(engine), folder)
        finally:
            await engine.dispose()

    return url, asyncio.run(build())


@pytest.fixture
async def session_factory(world_db: tuple[str, dict[str, Any]]) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(world_db[0])
    yield sessions(engine)
    await engine.dispose()


@pytest.fixture
def world(world_db: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return world_db[1]


async def build_world(session_factory: async_sessionmaker[AsyncSession], tmp_path: Path) -> dict[str, Any]:
    """Projects A (own) and B (foreign); one person per role in A; a level-3 and a level-2 hazard in each
    project, each with a rectification waiting for review, and a level-3 hazard still being rectified."""
    ids: dict[str, Any] = {"people": {}}
    media = MediaStore(tmp_path / "m", 10_000_000, TZ)
    async with session_factory() as s, s.begin():
        for kind in {k.value for k in ROLE_ORG_KIND.values()}:
            await admin.add_org(s, kind, f"org-{kind}")
        for code in ("A", "B"):
            await admin.add_project(s, code=code, name=f"project {code}")
        for role in Role:
            p = await admin.add_person(s, name=f"{role.value}-A", org=f"org-{ROLE_ORG_KIND[role].value}")
            await admin.grant(s, person=str(p.id), project="A", role=role.value)
            ids["people"][role] = p.id
        expert_b = await admin.add_person(s, name="expert-B", org="org-agency")
        await admin.grant(s, person=str(expert_b.id), project="B", role="expert")
        pm_b = await admin.add_person(s, name="pm-B", org="org-construction")
        await admin.grant(s, person=str(pm_b.id), project="B", role="project_manager")
        photo = (await media.store(s, jpeg())).sha256
        ids["photo"] = photo
        for code, expert_id, pm_id in (
            ("A", ids["people"][Role.EXPERT], ids["people"][Role.PROJECT_MANAGER]),
            ("B", expert_b.id, pm_b.id),
        ):
            svc = services(s)
            expert = await person_info(s, expert_id)
            pm = await person_info(s, pm_id)
            project_id = (await admin.find_project(s, code)).id
            for level in (Level.THREE, Level.TWO, Level.THREE):
                h = await svc.hazards.report(
                    expert,
                    HazardDraft(
                        project_id=project_id,
                        group_id="scaffold",
                        description="连墙件缺失",
                        location="3#楼",
                        suggestion="整改",
                        deadline=dt.date(2026, 11, 30),
                        level=level,
                        photos=[photo],
                    ),
                )
                ids.setdefault(code, []).append(h.id)
            for hazard_id in ids[code][:2]:
                await svc.hazards.submit_rectification(pm, hazard_id, [photo], "已整改")
            ids[f"{code}-project"] = project_id
            ids[f"{code}-rect"] = [r.id for hid in ids[code][:2] for r in await svc.hazards.rectifications(pm, hid)]
            ids[f"{code}-group-code"], _ = await admin.invite(s, project=code, now=NOW)
            await svc.turn.flush()
    return ids


async def attempt(
    factory: async_sessionmaker[AsyncSession],
    role: Role,
    world: dict[str, Any],
    fn: Callable[[SqlServices, Any], Awaitable[Any]],
) -> bool:
    """True when allowed, False on AccessDenied; the change is rolled back either way."""
    async with factory() as s:
        tx = await s.begin()
        try:
            person = await person_info(s, world["people"][role])
            await fn(services(s), person)
            return True
        except (AccessDenied, NotFound):  # outside their project a hazard does not exist for them
            return False
        finally:
            await tx.rollback()


def draft(world: dict[str, Any], project: str) -> HazardDraft:
    return HazardDraft(
        project_id=world[f"{project}-project"],
        group_id="height",
        description="临边无防护",
        location="5层",
        suggestion="设置防护栏杆",
        deadline=dt.date(2026, 11, 30),
        level=Level.FOUR,
        photos=[world["photo"]],
    )


ACTIONS: dict[str, tuple[Callable[[dict[str, Any], str], Callable[[SqlServices, Any], Awaitable[Any]]], set[Role]]] = {
    "report": (lambda w, p: lambda svc, me: svc.hazards.report(me, draft(w, p)), REPORTERS),
    "view": (lambda w, p: lambda svc, me: svc.hazards.find(me, w[p][0]), set(Role)),
    "history": (lambda w, p: lambda svc, me: svc.hazards.history(me, w[p][0]), set(Role)),
    "rectify": (
        lambda w, p: lambda svc, me: svc.hazards.submit_rectification(me, w[p][2], [w["photo"]], "done"),
        RECTIFIERS,
    ),
    # Level 3: the supervision unit re-inspects.
    "review-level3": (
        lambda w, p: lambda svc, me: svc.hazards.review(me, w[f"{p}-rect"][0], True, None),
        {Role.SUPERVISION_ENGINEER},
    ),
    # Level 2: the reporting expert re-inspects.
    "review-level2": (
        lambda w, p: lambda svc, me: svc.hazards.review(me, w[f"{p}-rect"][1], True, None),
        {Role.EXPERT},
    ),
    "bind": (
        lambda w, p: lambda svc, me: svc.people.bind_group(me, "test", f"g-{p}-{me.id}", w[f"{p}-group-code"], None),
        BINDERS,
    ),
}


@pytest.mark.parametrize("project", ["A", "B"])
@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("role", list(Role))
async def test_matrix(
    session_factory: async_sessionmaker[AsyncSession], world: dict[str, Any], role: Role, action: str, project: str
) -> None:
    make, allowed_roles = ACTIONS[action]
    expected = project == "A" and role in allowed_roles
    assert await attempt(session_factory, role, world, make(world, project)) is expected


async def test_open_hazards_list_only_own_projects(
    session_factory: async_sessionmaker[AsyncSession], world: dict[str, Any]
) -> None:
    async with session_factory() as s:
        for role in Role:
            person = await person_info(s, world["people"][role])
            listed = {h.id for h in await services(s).hazards.open(person)}
            assert listed == set(world["A"]), role
