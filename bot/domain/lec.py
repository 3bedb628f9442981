"""LEC (Graham–Kinney) job-hazard scoring: D = L × E × C, its five-band reading and four-level mapping.

Band edges are inclusive at the lower bound (D ≥ 320 is the top band, 160 ≤ D < 320 the next …); the sources
disagree on the edges (see the research notes), so the rule is stated with every result.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from bot.domain.datafiles import load
from bot.domain.text import Localized


@dataclass(frozen=True)
class Factor:
    score: float
    desc: Localized


@dataclass(frozen=True)
class LecTables:
    L: tuple[Factor, ...]
    E: tuple[Factor, ...]
    C: tuple[Factor, ...]
    bands: tuple[tuple[float, Localized], ...]
    levels: tuple[tuple[float, int, Localized, str], ...]
    basis: str


@dataclass(frozen=True)
class LecResult:
    L: float
    E: float
    C: float
    D: float
    band: Localized
    rank: int  # 1 major (red) … 4 low (blue)
    level_name: Localized
    colour: str


@cache
def tables() -> LecTables:
    raw = load("lec.json")

    def factors(key: str) -> tuple[Factor, ...]:
        return tuple(Factor(float(f["score"]), Localized(f["zh"], f["en"])) for f in raw[key])

    return LecTables(
        L=factors("L"),
        E=factors("E"),
        C=factors("C"),
        bands=tuple((float(b["min"]), Localized(b["zh"], b["en"])) for b in raw["bands"]),
        levels=tuple(
            (float(v["min"]), int(v["rank"]), Localized(v["zh"], v["en"]), v["colour"]) for v in raw["levels"]
        ),
        basis=raw["basis"],
    )


def factor(kind: str, score: float) -> Factor:
    table = {"L": tables().L, "E": tables().E, "C": tables().C}[kind]
    for f in table:
        if f.score == score:
            return f
    raise ValueError(f"{score} is not a value of the {kind} table")


def score(likelihood: float, exposure: float, consequence: float) -> LecResult:
    t = tables()
    for kind, value in (("L", likelihood), ("E", exposure), ("C", consequence)):
        factor(kind, value)  # only table values are scores
    d = round(likelihood * exposure * consequence, 2)
    band = next(desc for lower, desc in t.bands if d >= lower)
    _, rank, name, colour = next(level for level in t.levels if d >= level[0])
    return LecResult(likelihood, exposure, consequence, d, band, rank, name, colour)


def format_score(value: float) -> str:
    return f"{value:g}"
