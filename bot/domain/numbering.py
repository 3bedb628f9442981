"""Hazard numbers such as XC-2026-000123 (prefix per deployment, year of report, running number per year)."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"^([A-Z][A-Z0-9]{0,9})-(\d{4})-(\d{6,})$")


def format_number(prefix: str, year: int, sequence: int) -> str:
    if sequence < 1:
        raise ValueError("sequence starts at 1")
    return f"{prefix}-{year:04d}-{sequence:06d}"


def looks_like_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip().upper()))


def normalise(text: str) -> str:
    return text.strip().upper()


def counter_name(prefix: str, year: int) -> str:
    return f"hazard:{prefix}:{year}"
