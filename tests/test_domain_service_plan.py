"""The service plan's content (000 §13; 004 附件3): every part is there, nothing else is."""

from __future__ import annotations

import pytest

from bot.domain.service_plan import ContentError, parse_content

FULL = """
overview = "锦城花园二期，框剪结构"
measures = "每季度全覆盖排查（JGJ 59）"
frequency = "每季度 1 次"
goals = "重大事故隐患动态清零"
guarantees = "预防费用专款专用"
"""


def test_a_full_plan_is_read_part_by_part() -> None:
    content = parse_content(FULL + 'staff = "另派消防专家 1 名"\n')
    assert content["overview"] == "锦城花园二期，框剪结构" and content["staff"] == "另派消防专家 1 名"
    assert "staff" not in parse_content(FULL)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (FULL.replace('goals = "重大事故隐患动态清零"\n', ""), "goals: missing"),
        (FULL.replace('"预防费用专款专用"', '"  "'), "guarantees: missing"),
        (FULL + "budget = 3\n", "not a part of a plan: budget"),
        (FULL.replace('"每季度 1 次"', "4"), "frequency: missing"),
        (FULL + "overview = 'again'\n", "not TOML"),
        (FULL.replace('"锦城花园二期，框剪结构"', '"' + "长" * 2001 + '"'), "overview: longer than 2000"),
    ],
)
def test_what_is_missing_or_unknown_is_named(text: str, message: str) -> None:
    with pytest.raises(ContentError, match=message):
        parse_content(text)
