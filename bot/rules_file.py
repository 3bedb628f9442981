"""The deployment's rules file (ANZEBOT_RULES_FILE, TOML): every threshold the seeds set or differ on, each key
optional (the seeds' defaults stand for the rest). `bot/domain/rules.py` lists the keys and their clauses; a file
that cannot be used stops the start with one line naming the key."""

from __future__ import annotations

from pathlib import Path

from bot.domain.rules import Rules, RulesError, parse


def load(path: Path | None) -> Rules:
    if path is None:
        return Rules()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"rules file {path}: {exc.strerror or exc}") from None
    try:
        return parse(text)
    except RulesError as exc:
        raise RulesError(f"rules file {path}: {exc}") from None
