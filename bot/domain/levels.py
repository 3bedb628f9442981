"""Hazard levels, the lifecycle state machine and who is told what (001 §二(二), DOMAIN.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from bot.domain.roles import Role


class Level(IntEnum):
    ONE = 1  # 一级: stop-work opinion, same-day report to insurer and authority
    TWO = 2  # 二级: immediate rectification, insurer informed
    THREE = 3  # 三级: rectification followed by the supervision unit
    FOUR = 4  # 四级


class Status(StrEnum):
    RECTIFYING = "rectifying"  # notice issued, waiting for the responsible unit's evidence
    SUBMITTED = "submitted"  # evidence submitted, waiting for re-inspection
    CLOSED = "closed"  # re-inspection passed


class Event(StrEnum):
    SUBMIT_EVIDENCE = "submit_evidence"
    APPROVE = "approve"
    REJECT = "reject"
    REOPEN = "reopen"  # the insured says at the revisit that it is not (fully) fixed


_TRANSITIONS: dict[tuple[Status, Event], Status] = {
    (Status.RECTIFYING, Event.SUBMIT_EVIDENCE): Status.SUBMITTED,
    (Status.SUBMITTED, Event.APPROVE): Status.CLOSED,
    (Status.SUBMITTED, Event.REJECT): Status.RECTIFYING,
    (Status.SUBMITTED, Event.REOPEN): Status.RECTIFYING,
    (Status.CLOSED, Event.REOPEN): Status.RECTIFYING,
}


class TransitionError(ValueError):
    def __init__(self, status: Status, event: Event) -> None:
        super().__init__(f"{event} is not possible while the hazard is {status}")
        self.status = status
        self.event = event


def transition(status: Status, event: Event) -> Status:
    try:
        return _TRANSITIONS[(status, event)]
    except KeyError:
        raise TransitionError(status, event) from None


def parse_level(value: int | str) -> Level:
    return Level(int(value))


def effective_level(chosen: Level | None, major_hazard: bool) -> Level:
    """A match with a major-hazard criterion (重大事故隐患) forces level 1 whatever was chosen."""
    if major_hazard:
        return Level.ONE
    if chosen is None:
        raise ValueError("a level is required unless a major-hazard criterion matched")
    return chosen


def reviewer_roles(level: Level) -> frozenset[Role]:
    """Levels 1–2 are re-inspected by the reporting expert, 3–4 followed by the supervision unit (001 §二(二))."""
    if level <= Level.TWO:
        return frozenset({Role.EXPERT})
    return frozenset({Role.SUPERVISION_ENGINEER})


def reviewer_is_reporter(level: Level) -> bool:
    return level <= Level.TWO


@dataclass(frozen=True)
class NoticePlan:
    """Who receives the rectification notice when a hazard is reported."""

    responsible: frozenset[Role]
    followers: frozenset[Role]  # told so they can follow up
    stop_work: bool
    same_day_report: frozenset[Role]  # level 1: insurer and authority, the same day
    reported_to: frozenset[Role] = frozenset()  # level 2: the report to the insurer (and the authority, 001 §二(二))


RESPONSIBLE = frozenset({Role.PROJECT_MANAGER, Role.SAFETY_OFFICER})


def notice_plan(level: Level, may_cause_accident: bool = False) -> NoticePlan:
    """Who hears of a new hazard. A level-2 hazard is reported to the insurer; one that may cause an accident to
    the local authority as well (001 §二(二): 可能导致事故的，应及时报告承保机构和属地主管部门)."""
    if level == Level.ONE:
        return NoticePlan(
            responsible=RESPONSIBLE,
            followers=frozenset({Role.SUPERVISION_ENGINEER}),
            stop_work=True,
            same_day_report=frozenset({Role.INSURER, Role.AUTHORITY}),
        )
    if level == Level.TWO:
        reported = {Role.INSURER, Role.AUTHORITY} if may_cause_accident else {Role.INSURER}
        return NoticePlan(
            responsible=RESPONSIBLE,
            followers=frozenset({Role.SUPERVISION_ENGINEER}),
            stop_work=False,
            same_day_report=frozenset(),
            reported_to=frozenset(reported),
        )
    return NoticePlan(
        responsible=RESPONSIBLE,
        followers=frozenset({Role.SUPERVISION_ENGINEER}),
        stop_work=False,
        same_day_report=frozenset(),
    )
