from __future__ import annotations

import pytest

from bot.domain.levels import Level
from bot.domain.quickpath import read_caption
from bot.domain.taxonomy import taxonomy


def test_every_major_criterion_of_2024_is_reachable_from_one_group() -> None:
    tax = taxonomy()
    ids = [m.id for g in tax.groups for m in g.major]
    assert len(ids) == 53 and len(set(ids)) == 53
    assert all(m.basis.startswith("建质规〔2024〕5号 第") for g in tax.groups for m in g.major)


def test_the_2022_edition_001_cites_is_shipped_and_reachable() -> None:
    tax = taxonomy("2022")
    ids = [m.id for g in tax.groups for m in g.major]
    assert len(ids) == 34 and len(set(ids)) == 34  # every criterion of 建质规〔2022〕2号 under one group
    assert tax.standard == "建质规〔2022〕2号"
    assert all(m.basis.startswith("建质规〔2022〕2号 第") for g in tax.groups for m in g.major)
    assert tax.major("MH2024-4-1") is None and tax.major("MH2022-4-1") is not None
    with pytest.raises(ValueError):
        taxonomy("2019")


def test_groups_carry_jgj59_items_and_names_in_both_languages() -> None:
    tax = taxonomy()
    scaffold = tax.group("scaffold")
    assert scaffold is not None and scaffold.name.zh == "脚手架" and scaffold.name.en == "Scaffolding"
    assert any(c.item == "架体与建筑结构拉结" and c.section == "3.3" for c in scaffold.checks)
    assert tax.check("scaffold", 0) is not None and tax.check("scaffold", 999) is None
    assert tax.major("MH2024-4-1") is not None and tax.major("nope") is None


@pytest.mark.parametrize(
    ("caption", "level", "group", "location", "description"),
    [
        ("三级 脚手架连墙件缺失 位置：3#楼北侧", Level.THREE, "scaffold", "3#楼北侧", "脚手架连墙件缺失"),
        ("配电箱未接地 2级", Level.TWO, "electric", None, "配电箱未接地"),
        ("L1 基坑周边堆载超限", Level.ONE, "excavation", None, "基坑周边堆载超限"),
        ("临边防护缺失", None, "height", None, "临边防护缺失"),
        ("现场有问题", None, None, None, "现场有问题"),
        ("🙂 🙂", None, None, None, "🙂 🙂"),
    ],
)
def test_caption_quick_path(
    caption: str, level: Level | None, group: str | None, location: str | None, description: str
) -> None:
    facts = read_caption(caption, taxonomy())
    assert facts.level == level
    assert facts.group_id == group
    assert facts.location == location
    assert facts.description == description
