from __future__ import annotations

import pytest

from bot.domain import levels
from bot.domain.levels import Event, Level, Status, TransitionError
from bot.domain.numbering import format_number, looks_like_number, normalise
from bot.domain.roles import Action, OrgKind, Role, allowed, role_fits_org


@pytest.mark.parametrize(
    ("status", "event", "after"),
    [
        (Status.RECTIFYING, Event.SUBMIT_EVIDENCE, Status.SUBMITTED),
        (Status.SUBMITTED, Event.APPROVE, Status.CLOSED),
        (Status.SUBMITTED, Event.REJECT, Status.RECTIFYING),
    ],
)
def test_lifecycle_transitions(status: Status, event: Event, after: Status) -> None:
    assert levels.transition(status, event) == after


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (Status.RECTIFYING, Event.APPROVE),
        (Status.RECTIFYING, Event.REJECT),
        (Status.SUBMITTED, Event.SUBMIT_EVIDENCE),
        (Status.CLOSED, Event.SUBMIT_EVIDENCE),
        (Status.CLOSED, Event.APPROVE),
        (Status.CLOSED, Event.REJECT),
    ],
)
def test_impossible_transitions_are_refused(status: Status, event: Event) -> None:
    with pytest.raises(TransitionError):
        levels.transition(status, event)


def test_major_hazard_forces_level_one() -> None:
    assert levels.effective_level(Level.FOUR, major_hazard=True) == Level.ONE
    assert levels.effective_level(None, major_hazard=True) == Level.ONE
    assert levels.effective_level(Level.THREE, major_hazard=False) == Level.THREE
    with pytest.raises(ValueError):
        levels.effective_level(None, major_hazard=False)


def test_reviewers_follow_the_level() -> None:
    # 001 §二(二): levels 1–2 by the reporting expert, 3–4 followed by the supervision unit.
    assert levels.reviewer_roles(Level.ONE) == {Role.EXPERT}
    assert levels.reviewer_roles(Level.TWO) == {Role.EXPERT}
    assert levels.reviewer_roles(Level.THREE) == {Role.SUPERVISION_ENGINEER}
    assert levels.reviewer_roles(Level.FOUR) == {Role.SUPERVISION_ENGINEER}


def test_notice_plans() -> None:
    one = levels.notice_plan(Level.ONE)
    assert one.stop_work and one.same_day_report == {Role.INSURER, Role.AUTHORITY}
    two = levels.notice_plan(Level.TWO)
    assert not two.stop_work and two.reported_to == {Role.INSURER} and not two.same_day_report
    assert levels.notice_plan(Level.TWO, may_cause_accident=True).reported_to == {Role.INSURER, Role.AUTHORITY}
    assert not levels.notice_plan(Level.THREE, may_cause_accident=True).reported_to
    for lvl in (Level.THREE, Level.FOUR):
        plan = levels.notice_plan(lvl)
        assert not plan.stop_work and not plan.same_day_report and Role.INSURER not in plan.followers
        assert plan.responsible == {Role.PROJECT_MANAGER, Role.SAFETY_OFFICER}


def test_numbers() -> None:
    assert format_number("XC", 2026, 123) == "XC-2026-000123"
    assert format_number("SX", 2027, 1234567) == "SX-2027-1234567"
    assert looks_like_number(" xc-2026-000123 ")
    assert normalise(" xc-2026-000123 ") == "XC-2026-000123"
    assert not looks_like_number("2026-000123")
    with pytest.raises(ValueError):
        format_number("XC", 2026, 0)


def test_permissions() -> None:
    assert allowed({Role.EXPERT}, Action.REPORT_HAZARD)
    assert allowed({Role.SAFETY_OFFICER}, Action.SUBMIT_RECTIFICATION)
    assert not allowed({Role.EXPERT}, Action.SUBMIT_RECTIFICATION)
    assert not allowed({Role.INSURER}, Action.REPORT_HAZARD)
    assert not allowed({Role.WORKER}, Action.SUBMIT_RECTIFICATION)
    assert allowed({Role.WORKER, Role.SAFETY_OFFICER}, Action.SUBMIT_RECTIFICATION)
    assert not allowed(set(), Action.VIEW_HAZARDS)
    assert role_fits_org(Role.EXPERT, OrgKind.AGENCY)
    assert not role_fits_org(Role.PROJECT_MANAGER, OrgKind.INSURER)
