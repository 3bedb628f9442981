"""The form engine (handlers/form.py) through the flows built on it: change one field at the summary, what
depends on it is asked again, stale buttons are refused, and working out the next question never changes the
draft."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from sqlalchemy import select

from bot.domain.deployment import Deployment
from bot.i18n import normalise_locale
from bot.messages import ChatKind, Incoming, TextIn
from bot.ports import PersonInfo
from handlers import broadcast, complaint, hazard_report, rectification, revisit, training
from handlers.context import Context
from storage.models import Hazard
from tests.harness import Harness, texts
from tests.test_flow_robustness import walk_report


async def summary(h: Harness, user: str) -> list[Any]:
    """Walk a whole report to its summary."""
    return await walk_report(h, user, "confirm")


async def test_one_field_is_changed_at_the_summary_and_nothing_else_is_asked(h: Harness) -> None:
    expert = await h.login("王建国")
    r = await summary(h, expert)
    assert "请核对上报内容" in texts(r) and "5 层临边无防护栏杆" in texts(r)
    r = await h.pick(expert, "修改某项", r)
    assert "要修改哪一项" in texts(r)
    r = await h.pick(expert, "问题描述", r)
    assert "请用一句话描述" in texts(r)
    r = await h.say(expert, "5 层东侧临边缺少挡脚板")
    assert "请核对上报内容" in texts(r) and "5 层东侧临边缺少挡脚板" in texts(r)
    r = await h.pick(expert, "提交", r)
    async with h.app.readonly() as s:
        hazard = (await s.execute(select(Hazard))).scalar_one()
    assert hazard.description == "5 层东侧临边缺少挡脚板" and hazard.location == "1#楼 5 层东侧"


async def test_changing_the_category_asks_again_what_depends_on_it(h: Harness) -> None:
    expert = await h.login("王建国")
    r = await summary(h, expert)
    r = await h.pick(expert, "修改某项", r)
    r = await h.pick(expert, "类型", r)
    r = await h.pick(expert, "起重机械与吊装", r)  # a group with major-hazard criteria of its own
    assert "重大事故隐患判定情形" in texts(r)
    r = await h.pick(expert, "第八条（一）", r)
    assert "请核对上报内容" in texts(r)  # description, place, measures, deadline kept; the level is now 1
    assert "一级" in texts(r)
    await h.pick(expert, "提交", r)
    async with h.app.readonly() as s:
        hazard = (await s.execute(select(Hazard))).scalar_one()
    assert (hazard.group_id, hazard.level, hazard.stop_work) == ("lifting", 1, True)
    assert hazard.major_id is not None and hazard.description == "5 层临边无防护栏杆 😟"


async def test_a_button_of_an_earlier_question_is_refused(rich: Harness) -> None:
    h = rich
    expert = await h.login("王建国")
    r = await walk_report(h, expert, "description")
    r = await h.press(expert, "f:group:scaffold")  # the category question was answered already
    assert "该按钮属于之前的问题" in texts(r) and "请用一句话描述" in texts(r)


class _NoServices:
    """The next question is worked out from the draft alone; a step that needs a service would fail here."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"no service may be called: {name}")


def _context(data: dict[str, Any]) -> Context[PersonInfo]:
    inc = Incoming("test", "u1", ChatKind.PRIVATE, "u1", "m1", TextIn("x"))
    person = PersonInfo(1, "王建国", None, "皖南安全", "agency")
    return Context(
        inc, person, normalise_locale(None), _NoServices(), "report", data, dt.datetime.now(dt.UTC), Deployment()
    )  # type: ignore[arg-type]


def test_working_out_the_next_question_never_changes_the_draft() -> None:
    drafts: list[dict[str, Any]] = [
        {},
        {"project": 1, "photos": ["a" * 64]},
        {"project": 1, "photos": ["a" * 64], "photos_done": True, "group": "height"},
        {"project": 1, "photos": ["a" * 64], "photos_done": True, "group": "lifting", "major": "none"},
        {"project": 1, "photos": ["a"], "photos_done": True, "group": "lifting", "major": "none", "check": None},
        {"project": 1, "photos": ["a"], "photos_done": True, "group": "electric", "level": 3, "description": "x"},
    ]
    forms = [hazard_report.FORM, rectification.FORM, broadcast.FORM, revisit.FORM, training.NEW, complaint.FILING]
    for form in forms:
        for draft in drafts:
            before = copy.deepcopy(draft)
            ctx = _context(draft)
            form.current(ctx, draft)
            for step in form.steps(draft):
                step.applies(ctx, draft)
                step.done(draft)
            assert draft == before, (form.name, before, draft)


def test_a_major_hazard_is_level_one_whatever_the_draft_says() -> None:
    ctx = _context({})
    draft: dict[str, Any] = {"group": "lifting", "major": "none", "level": 3}
    assert hazard_report.level_of(draft) == 3
    levels = next(s for s in hazard_report.STEPS if s.key == "level")
    assert levels.applies(ctx, draft)
    draft["major"] = "lifting-8"
    assert hazard_report.level_of(draft) == 1 and not levels.applies(ctx, draft)
