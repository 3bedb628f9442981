"""Hazard categories: JGJ 59-2011 check tables grouped, and the major-hazard criteria of the deployment's edition
(建质规〔2024〕5号 by default; 建质规〔2022〕2号, which 001 §二(二) cites, where the rules file says
`hazards.major_hazard_edition = "2022"`).

A hazard is filed under a group; if it matches a major-hazard criterion it is level 1 and the criterion's
article becomes its basis (依据). Otherwise the basis may be a JGJ 59 check item of the group.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from bot.domain.datafiles import load
from bot.domain.text import Localized

EDITIONS = ("2024", "2022")
JGJ59 = "JGJ 59-2011"


@dataclass(frozen=True)
class MajorHazard:
    id: str
    category: str
    article: str
    text: str
    standard: str  # 建质规〔2024〕5号

    @property
    def basis(self) -> str:
        return f"{self.standard} {self.article}：{self.text}"


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
    standard: str = "建质规〔2024〕5号"  # the major-hazard criteria's edition

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
def taxonomy(edition: str = "2024") -> Taxonomy:
    if edition not in EDITIONS:
        raise ValueError(f"no major-hazard criteria of {edition}: one of {EDITIONS}")
    data = load(f"major_hazards_{edition}.json")
    majors = [MajorHazard(m["id"], m["category"], m["article"], m["text"], data["standard"]) for m in data["items"]]
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
    return Taxonomy(tuple(groups), data["standard"])
