"""A realistic demo: one insurer, one service agency with three experts, two insured projects with their
group chats, site, supervision, insurer and authority people, and a few unused invite codes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage import admin, experts


@dataclass
class DemoResult:
    invites: list[tuple[str, str]]  # (what, code)


async def seed(
    session: AsyncSession,
    now: dt.datetime | None = None,
    channel: str = "webchat",
    groups: dict[str, str] | None = None,
) -> DemoResult:
    now = now or dt.datetime.now(dt.UTC)
    today = now.date()
    await admin.add_org(session, "insurer", "宣城安责险共保体", "安徽省宣城市")
    await admin.add_org(session, "agency", "皖南安全技术服务有限公司", "安徽省宣城市")
    await admin.add_org(session, "construction", "宣城建工集团有限公司", "安徽省宣城市")
    await admin.add_org(session, "supervision", "宣城正诚工程监理有限公司", "安徽省宣城市")
    await admin.add_org(session, "owner", "宣城城投置业有限公司", "安徽省宣城市")
    await admin.add_org(session, "authority", "宣城市宣州区住房和城乡建设局", "安徽省宣城市宣州区")

    units = [
        "宣城安责险共保体",
        "皖南安全技术服务有限公司",
        "宣城建工集团有限公司",
        "宣城正诚工程监理有限公司",
        "宣城城投置业有限公司",
        "宣城市宣州区住房和城乡建设局",
    ]
    await admin.add_project(
        session,
        code="XC-P001",
        name="锦城花园二期 3#–6# 楼",
        address="宣城市宣州区锦城南路 88 号",
        region="安徽省宣城市宣州区",
        stage="主体结构",
        risk="high",
        units=units,
        dangerous_works=["深基坑工程", "高大模板工程", "塔式起重机安装拆卸"],
    )
    await admin.add_project(
        session,
        code="XC-P002",
        name="宛陵湖综合管廊一期",
        address="宣城市宣州区宛陵湖东路",
        region="安徽省宣城市宣州区",
        stage="基础施工",
        risk="medium",
        units=units,
        dangerous_works=["深基坑工程", "起重吊装工程"],
    )
    await admin.add_policy(
        session,
        number="AZX-2026-0001",
        project="XC-P001",
        insurer="宣城安责险共保体",
        premium="126000",
        start=today - dt.timedelta(days=60),
        end=today + dt.timedelta(days=500),
    )
    await admin.add_policy(
        session,
        number="AZX-2026-0002",
        project="XC-P002",
        insurer="宣城安责险共保体",
        premium="48000",
        start=today - dt.timedelta(days=20),
        end=today + dt.timedelta(days=340),
    )

    people = [
        ("王建国", "皖南安全技术服务有限公司", "civil", [("XC-P001", "expert"), ("XC-P002", "expert")]),
        ("李机电", "皖南安全技术服务有限公司", "mechanical", [("XC-P001", "expert"), ("XC-P002", "expert")]),
        ("赵电工", "皖南安全技术服务有限公司", "electrical", [("XC-P001", "expert")]),
        ("陈经理", "宣城建工集团有限公司", None, [("XC-P001", "project_manager")]),
        ("刘安全", "宣城建工集团有限公司", None, [("XC-P001", "safety_officer"), ("XC-P002", "safety_officer")]),
        (
            "孙监理",
            "宣城正诚工程监理有限公司",
            None,
            [("XC-P001", "supervision_engineer"), ("XC-P002", "supervision_engineer")],
        ),
        ("周保险", "宣城安责险共保体", None, [("XC-P001", "insurer"), ("XC-P002", "insurer")]),
        ("吴监管", "宣城市宣州区住房和城乡建设局", None, [("XC-P001", "authority"), ("XC-P002", "authority")]),
        ("Emma Clark", "皖南安全技术服务有限公司", "civil", [("XC-P002", "agency_admin")]),
    ]
    invites: list[tuple[str, str]] = []
    for name, org, speciality, roles in people:
        locale = "en" if name == "Emma Clark" else None
        person = await admin.add_person(session, name=name, org=org, speciality=speciality, locale=locale)
        for project, role in roles:
            await admin.grant(session, person=str(person.id), project=project, role=role)
        # So each demo person can also join from Telegram or WeCom (the web chat picks people directly).
        project, role = roles[0]
        code, _ = await admin.invite(session, project=project, person=str(person.id), role=role, days=30, now=now)
        invites.append((f"{name} → {project} {role}", code))
    # The expert library (002 §8–9): the leader's senior title and years, the members' intermediate ones.
    library: tuple[tuple[str, str, str, int, list[str], list[str]], ...] = (
        ("王建国", "高级工程师", "senior", 15, ["civil", "fire"], ["注册安全工程师:ZA-2019-0451:2028-06-30"]),
        ("李机电", "工程师", "intermediate", 8, ["mechanical"], []),
        ("赵电工", "工程师", "intermediate", 6, ["electrical"], []),
        ("Emma Clark", "高级工程师", "senior", 12, ["civil"], []),
    )
    for name, title, level, years, fields, certificates in library:
        await experts.set_profile(
            session,
            person=name,
            title=title,
            level=level,
            years=years,
            specialities=fields,
            certificates=certificates,
            registered_safety_engineer=bool(certificates),
            now=now,
        )
    groups = groups or {"XC-P001": "g-XC-P001", "XC-P002": "g-XC-P002"}
    titles = {"XC-P001": "锦城花园二期项目群", "XC-P002": "宛陵湖管廊项目群"}
    for project, chat_id in groups.items():
        await admin.bind_chat(session, channel=channel, chat_id=chat_id, project=project, title=titles[project])

    if channel == "webchat":
        # The web chat's person picker stands for each demo person's own phone: notices reach them there.
        for person, _org, _roles in await admin.people(session):
            await admin.link_account(session, channel, f"p{person.id}", f"p{person.id}", person.id, now)

    worker = await admin.add_person(session, name="张班长", org="宣城建工集团有限公司")
    code, _ = await admin.invite(session, project="XC-P001", person=str(worker.id), role="worker", days=30, now=now)
    invites.append(("张班长 → XC-P001 worker", code))
    code, _ = await admin.invite(session, project="XC-P002", days=30, now=now)
    invites.append(("group chat → XC-P002", code))
    return DemoResult(invites)
