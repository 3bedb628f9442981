"""What a service plan (事故预防技术服务方案) states (000 §13; 004 附件3): the project overview, the measures and
their basis, the frequency, the staff (the expert group, plus anything added), the expected goals and what
guarantees them (funds, people, other). Written by the agency as a TOML file; pure."""

from __future__ import annotations

import tomllib

SERVICES = ("inspection", "risk_assessment", "training", "drill", "standardisation", "emergency_plan", "technology")
PARTS = ("overview", "measures", "frequency", "goals", "guarantees")  # each required
OPTIONAL = ("staff",)  # the expert group is listed anyway; more people here
MAX_PART = 2000


def services_problem(services: list[str]) -> str | None:
    """Why a list of services cannot stand in a plan or an agreement, or None."""
    if not services or any(x not in SERVICES for x in services):
        return f"services must be some of {', '.join(SERVICES)}"
    return None


class ContentError(ValueError):
    pass


def parse_content(text: str) -> dict[str, str]:
    """The plan's parts from a TOML text (overview = "…" and so on); ContentError naming what is wrong."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ContentError(f"not TOML: {exc}") from None
    unknown = sorted(set(raw) - set(PARTS) - set(OPTIONAL))
    if unknown:
        raise ContentError(f"not a part of a plan: {', '.join(unknown)} (parts: {', '.join(PARTS + OPTIONAL)})")
    out: dict[str, str] = {}
    for key in PARTS + OPTIONAL:
        value = raw.get(key)
        if value is None and key in OPTIONAL:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ContentError(f"{key}: missing (000 §13 asks for it)")
        if len(value) > MAX_PART:
            raise ContentError(f"{key}: longer than {MAX_PART} characters")
        out[key] = value.strip()
    return out
