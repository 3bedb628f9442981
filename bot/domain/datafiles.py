"""Reads the data files shipped inside the package (static reference data, not run-time I/O)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> Any:
    return json.loads(resources.files("bot.domain").joinpath("data", name).read_text(encoding="utf-8"))
