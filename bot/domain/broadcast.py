"""Broadcast rules: who may send one, which audiences and targets exist, and how long delivery takes at the
platforms' limits (a preview the sender sees before confirming)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import StrEnum

from bot.domain.roles import OrgKind, Role

# Insurers send to the projects they insure; authorities and associations to the projects of their region.
SENDER_KINDS = frozenset({OrgKind.INSURER, OrgKind.AUTHORITY, OrgKind.ASSOCIATION})
RISKS = ("high", "medium", "low")
MAX_TEXT = 1500
MAX_LIST = 200


class Scope(StrEnum):
    ALL = "all"  # every project in the sender's reach
    REGION = "region"
    RISK = "risk"
    OPEN = "open"  # projects with open level-1/2 hazards
    LIST = "list"  # project codes typed by the sender


class Target(StrEnum):
    GROUP = "group"  # the project's bound group chats
    MANAGER = "manager"
    SAFETY = "safety"


TARGET_ROLES: dict[Target, Role] = {Target.MANAGER: Role.PROJECT_MANAGER, Target.SAFETY: Role.SAFETY_OFFICER}


def may_broadcast(org_kind: str) -> bool:
    return org_kind in SENDER_KINDS


def in_region(project_region: str, sender_region: str) -> bool:
    """A region covers its sub-regions: 浙江省绍兴市 covers 浙江省绍兴市越城区."""
    return bool(sender_region) and project_region.startswith(sender_region)


def parse_codes(text: str) -> list[str]:
    """Project codes typed as a list: separated by spaces, commas (either width) or new lines; order kept."""
    seen: dict[str, None] = {}
    for code in re.split(r"[\s,，、;；]+", text.strip()):
        if code:
            seen.setdefault(code.upper(), None)
    return list(seen)


def estimate_seconds(counts: Mapping[str, int], rates: Mapping[str, float]) -> int:
    """Channels deliver side by side, so the slowest one sets the time; a channel without a rate limit (web
    chat) is immediate. Whole seconds, rounded up."""
    longest = 0.0
    for channel, n in counts.items():
        rate = rates.get(channel)
        if rate and n:
            longest = max(longest, n / rate)
    return math.ceil(longest)
