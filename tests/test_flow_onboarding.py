"""Joining with invite codes, binding a group, language per person."""

from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import select

from storage import admin
from storage.models import ChatBinding, Identity, Invite, Membership
from tests.harness import Harness, texts


async def new_invite(
    h: Harness, person: str | None = None, role: str | None = None, project: str = "XC-P001", days: int = 7
) -> str:
    pid = str(await h.person_id(person)) if person else None
    async with h.app.sessions() as s, s.begin():
        code, _ = await admin.invite(s, project=project, person=pid, role=role, days=days, now=h.app.now())
    return code


async def test_join_with_a_code_then_nobody_else_can_use_it(h: Harness) -> None:
    code = await new_invite(h, "张班长", "worker")
    r = await h.say("tg-new", "你好")
    assert "邀请码" in texts(r)
    r = await h.say("tg-new", code.lower())  # typed in lower case from a phone keyboard
    assert "欢迎，张班长" in texts(r) and "作业人员" in texts(r)
    r = await h.say("tg-other", f"/start {code}")
    assert "已被使用" in texts(r)
    async with h.app.readonly() as s:
        ident = (await s.execute(select(Identity).where(Identity.user_id == "tg-new"))).scalar_one()
        assert ident.person_id == await h.person_id("张班长")
        assert not (await s.execute(select(Identity).where(Identity.user_id == "tg-other"))).first()
        inv = (await s.execute(select(Invite).where(Invite.used_by == "test:tg-new"))).scalar_one()
        assert inv.used_at is not None


async def test_expired_unknown_and_group_codes_are_refused_in_private(h: Harness) -> None:
    expired = await new_invite(h, "张班长", "worker", days=1)
    group_code = await new_invite(h)
    with time_machine.travel(h.app.now() + dt.timedelta(days=2), tick=False):
        assert "已过期" in texts(await h.say("x1", f"/start {expired}"))
    assert "无效" in texts(await h.say("x1", "ZZZZZZZZ"))
    assert "用途不符" in texts(await h.say("x1", group_code))


async def test_an_account_cannot_become_someone_else(h: Harness) -> None:
    manager = await h.login("陈经理")
    code = await new_invite(h, "孙监理", "supervision_engineer")
    r = await h.say(manager, f"/start {code}")
    assert "已绑定其他对象" in texts(r)
    async with h.app.readonly() as s:
        roles = (
            (await s.execute(select(Membership.role).where(Membership.person_id == await h.person_id("陈经理"))))
            .scalars()
            .all()
        )
        assert roles == ["project_manager"]


async def test_group_binding_needs_a_project_role(h: Harness) -> None:
    code = await new_invite(h, project="XC-P002")
    manager = await h.login("陈经理")  # only in XC-P001
    r = await h.say(manager, f"/bind {code}", chat="g-new")
    assert "没有此操作权限" in texts(r)
    safety = await h.login("刘安全")  # safety officer in both projects
    r = await h.say(safety, f"/bind {code}", chat="g-new")
    assert "已绑定「宛陵湖综合管廊一期」" in texts(r)
    r = await h.say(safety, f"/bind {code}", chat="g-other")
    assert "已被使用" in texts(r)
    async with h.app.readonly() as s:
        binding = (await s.execute(select(ChatBinding).where(ChatBinding.chat_id == "g-new"))).scalar_one()
        assert binding.active and binding.project_id == 2
    # A report started in the bound group is filed under its project without asking.
    r = await h.say(safety, "/report", chat="g-new")
    assert "哪个项目" not in texts(r) and "照片" in texts(r)


async def test_language_is_per_person_and_notices_follow_the_reader(h: Harness) -> None:
    expert = await h.login("王建国")
    emma = await h.login("Emma Clark")  # stored locale en
    r = await h.say(emma, "/help")
    assert "Commands:" in texts(r) and "/report – report a hazard" in texts(r)
    r = await h.say(expert, "/lang")
    r = await h.pick(expert, "English", r)
    assert texts(r) == "Language set to English."
    r = await h.say(expert, "/lec")
    assert "L – how likely is an accident?" in texts(r)
    r = await h.say(expert, "/lang")
    r = await h.pick(expert, "中文", r)
    assert texts(r) == "语言已设为中文。"
    # An unknown account gets the platform's language hint.
    r = await h.say("stranger", "hello", locale="en-US")
    assert "invite code" in texts(r)
