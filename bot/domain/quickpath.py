"""Reading what an expert already said in a photo caption, so the report asks only for what is missing."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.levels import Level
from bot.domain.taxonomy import Taxonomy

_LEVEL = re.compile(r"(?:([1-4一二三四])\s*级|[Ll](?:evel)?\s*([1-4]))")
_CN_DIGIT = {"一": 1, "二": 2, "三": 3, "四": 4}
_LOCATION = re.compile(r"(?:位置|地点|location)\s*[:：]\s*([^,，;；\n]+)", re.IGNORECASE)


@dataclass(frozen=True)
class CaptionFacts:
    level: Level | None
    group_id: str | None
    location: str | None
    description: str


def read_caption(caption: str, tax: Taxonomy) -> CaptionFacts:
    text = caption.strip()
    level = None
    m = _LEVEL.search(text)
    if m:
        raw = m.group(1) or m.group(2)
        level = Level(_CN_DIGIT.get(raw) or int(raw))
        text = (text[: m.start()] + text[m.end() :]).strip()
    location = None
    loc = _LOCATION.search(text)
    if loc:
        location = loc.group(1).strip()
        text = (text[: loc.start()] + text[loc.end() :]).strip()
    group = tax.guess_group(text)
    description = text.strip(" ,，;；")
    return CaptionFacts(level, group.id if group else None, location, description)
