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


MAX_ID = 2**63 - 1  # every backend's BIGINT


def parse_id(text: str) -> int | None:
    """A row id as typed or carried by a button: ASCII digits only (`str.isdigit()` also takes "²" and "٣") and
    small enough for the database; None for anything else."""
    text = text.strip()
    if not text or not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
