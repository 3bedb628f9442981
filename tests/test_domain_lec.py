from __future__ import annotations

import pytest

from bot.domain.lec import score, tables


@pytest.mark.parametrize(
    ("lik", "e", "c", "d", "rank", "band_zh"),
    [
        (10, 10, 100, 10000, 1, "极其危险，不能继续作业"),
        (6, 6, 40, 1440, 1, "极其危险，不能继续作业"),
        (3, 6, 15, 270, 2, "高度危险，需立即整改"),
        (1, 10, 40, 400, 1, "极其危险，不能继续作业"),
        # Band edges: the lower bound is inclusive (D = 320 is major, 160 considerable, 70 moderate).
        (1, 2, 40, 80, 3, "显著危险，需要整改"),
        (10, 2, 7, 140, 3, "显著危险，需要整改"),
        (1, 6, 7, 42, 4, "一般危险，需要注意"),
        (0.5, 1, 15, 7.5, 4, "稍有危险，可以接受"),
        (0.1, 0.5, 1, 0.05, 4, "稍有危险，可以接受"),
    ],
)
def test_lec_scores(lik: float, e: float, c: float, d: float, rank: int, band_zh: str) -> None:
    r = score(lik, e, c)
    assert d == r.D
    assert r.rank == rank
    assert r.band.zh == band_zh


@pytest.mark.parametrize(("d", "rank"), [(320, 1), (319.99, 2), (160, 2), (159.99, 3), (70, 3), (69.99, 4)])
def test_level_edges_are_inclusive_at_the_lower_bound(d: float, rank: int) -> None:
    levels = tables().levels
    assert next(r for lower, r, _, _ in levels if d >= lower) == rank


def test_products_that_land_on_a_band_edge() -> None:
    # 70 and 20 are the only edges the tables can hit exactly; both belong to the band above.
    assert score(10, 1, 7).D == 70 and score(10, 1, 7).rank == 3
    assert score(10, 1, 7).band.zh == "显著危险，需要整改"
    assert score(10, 2, 1).D == 20 and score(10, 2, 1).band.zh == "一般危险，需要注意"


def test_values_outside_the_tables_are_refused() -> None:
    with pytest.raises(ValueError):
        score(4, 6, 15)
    with pytest.raises(ValueError):
        score(3, 7, 15)
    with pytest.raises(ValueError):
        score(3, 6, 20)


def test_tables_are_complete_and_bilingual() -> None:
    t = tables()
    assert [f.score for f in t.L] == [10, 6, 3, 1, 0.5, 0.2, 0.1]
    assert [f.score for f in t.E] == [10, 6, 3, 2, 1, 0.5]
    assert [f.score for f in t.C] == [100, 40, 15, 7, 3, 1]
    for f in (*t.L, *t.E, *t.C):
        assert f.desc.zh and f.desc.en
