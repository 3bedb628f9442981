"""Hazard categories: JGJ 59-2011 check tables grouped, and the major-hazard criteria (建质规〔2024〕5号).

A hazard is filed under a group; if it matches a major-hazard criterion it is level 1 and the criterion's
article becomes its basis (依据). Otherwise the basis may be a JGJ 59 check item of the group.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from bot.domain.datafiles import load
from bot.domain.text import Localized

MAJOR_STANDARD = "建质规〔2024〕5号"
MAJOR_TITLE = "房屋市政工程生产安全重大事故隐患判定标准（2024版）"
JGJ59 = "JGJ 59-2011"


@dataclass(frozen=True)
class MajorHazard:
    id: str
    category: str
    article: str
    text: str

    @property
    def basis(self) -> str:
        return f"{MAJOR_STANDARD} {self.article}：{self.text}"


@dataclass(frozen=True)
class CheckItem:
    index: int
    section: str
    table: str
    item: str

    @property
    def basis(self) -> str:
        return f"{JGJ59} {self.section} {self.table}：{self.item}"


@dataclass(frozen=True)
class Group:
    id: str
    name: Localized
    major: tuple[MajorHazard, ...]
    checks: tuple[CheckItem, ...]
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    groups: tuple[Group, ...]

    def group(self, group_id: str) -> Group | None:
        return next((g for g in self.groups if g.id == group_id), None)

    def major(self, major_id: str) -> MajorHazard | None:
        for g in self.groups:
            for m in g.major:
                if m.id == major_id:
                    return m
        return None

    def check(self, group_id: str, index: int) -> CheckItem | None:
        g = self.group(group_id)
        if g is None or not 0 <= index < len(g.checks):
            return None
        return g.checks[index]

    def guess_group(self, text: str) -> Group | None:
        """The group whose words appear most often in free text (photo-with-caption quick path); None if none do."""
        lowered = text.lower()
        best, hits = None, 0
        for g in self.groups:
            words = {g.name.zh, g.name.en.lower(), *g.keywords, *(c.table for c in g.checks)}
            n = sum(1 for w in words if w and w in lowered)
            if n > hits:
                best, hits = g, n
        return best


@cache
def taxonomy() -> Taxonomy:
    majors = [
        MajorHazard(m["id"], m["category"], m["article"], m["text"]) for m in load("major_hazards_2024.json")["items"]
    ]
    groups = []
    for g in load("categories.json")["groups"]:
        cats = set(g["major_categories"])
        checks = tuple(CheckItem(i, c["section"], c["table"], c["item"]) for i, c in enumerate(g["check_items"]))
        groups.append(
            Group(
                g["id"],
                Localized(g["zh"], g["en"]),
                tuple(m for m in majors if m.category in cats),
                checks,
                tuple(g.get("keywords", ())),
            )
        )
    return Taxonomy(tuple(groups))
