"""Invite codes are kept only as hashes; what a person types is normalised first (gloves, phone keyboards)."""

from __future__ import annotations

import hashlib


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()
