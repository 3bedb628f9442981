"""Bilingual data labels (taxonomy names, LEC descriptors) that are data, not UI strings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Localized:
    zh: str
    en: str

    def get(self, locale: str) -> str:
        return self.zh if locale.startswith("zh") else self.en
