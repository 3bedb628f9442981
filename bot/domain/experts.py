"""The expert library (专家库, 002 §8–9): who may serve on a group and who may lead one.

A leader (组长库) holds a senior technical title or above, or is a registered safety engineer (建筑施工安全类,
intermediate or above), with ≥ 10 years in building and municipal works safety; a member (组员库) holds an
intermediate title or above with ≥ 5 years. Pure; the thresholds are the deployment's rules (`expert_groups`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

TITLE_LEVELS = ("none", "junior", "intermediate", "senior", "professor")  # 无 / 初级 / 中级 / 高级 / 正高级
SPECIALITIES = ("civil", "mechanical", "electrical", "fire")  # 土建 / 机械 / 电气 / 消防


@dataclass(frozen=True)
class Certificate:
    name: str  # 注册安全工程师, 安全生产考核合格证书 …
    number: str
    valid_until: dt.date | None  # None: does not expire


@dataclass(frozen=True)
class Qualification:
    title: str  # as written: 高级工程师
    title_level: str  # one of TITLE_LEVELS
    registered_safety_engineer: bool  # 注册安全工程师（建筑施工安全类）, intermediate or above
    years: int  # in building and municipal works safety
    specialities: frozenset[str] = field(default_factory=frozenset)
    certificates: tuple[Certificate, ...] = ()

    def rank(self) -> int:
        return TITLE_LEVELS.index(self.title_level)

    def expired(self, today: dt.date) -> list[Certificate]:
        return [c for c in self.certificates if c.valid_until is not None and c.valid_until < today]


def can_serve(q: Qualification, member_title: str, member_years: int) -> bool:
    return q.rank() >= TITLE_LEVELS.index(member_title) and q.years >= member_years


def can_lead(q: Qualification, leader_title: str, leader_years: int) -> bool:
    titled = q.rank() >= TITLE_LEVELS.index(leader_title) or q.registered_safety_engineer
    return titled and q.years >= leader_years


def parse_certificate(text: str) -> Certificate:
    """ "注册安全工程师:0012345:2028-06-30" (the date may be left out); ValueError when it is not that."""
    name, _, rest = text.partition(":")
    number, _, until = rest.partition(":")
    if not name.strip() or not number.strip():
        raise ValueError(f"{text!r} is not NAME:NUMBER[:YYYY-MM-DD]")
    return Certificate(name.strip(), number.strip(), dt.date.fromisoformat(until.strip()) if until.strip() else None)
