"""Every user-facing string has a translation in both catalogs, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, T, catalog, normalise_locale, translate

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def source_messages() -> set[str]:
    found: set[str] = set()
    for pkg in ("bot", "handlers", "storage", "scheduler"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / pkg,
            method_map=[("**.py", "python")],
            keywords={"N_": None, "T": (1,)},
        ):
            if isinstance(message, tuple):
                message = message[0]
            if message:
                found.add(message)
    return found


def load(locale: str) -> dict[str, str]:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "anzebot.po").open("rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id}


MESSAGES = sorted(source_messages())


def test_the_extractor_finds_the_strings() -> None:
    assert len(MESSAGES) > 150
    assert "Submit rectification" in MESSAGES


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_message_is_translated(locale: str) -> None:
    cat = load(locale)
    missing = [m for m in MESSAGES if not cat.get(m)]
    assert not missing, f"{locale} lacks {len(missing)}: {missing[:5]}"


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_placeholders_match(locale: str) -> None:
    cat = load(locale)
    for msgid in MESSAGES:
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(cat[msgid])), (locale, msgid)


def test_zh_is_really_chinese() -> None:
    cat = load("zh_CN")
    untranslated = [m for m in MESSAGES if cat[m] == m and re.search("[A-Za-z]{4,}", PLACEHOLDER.sub("", m))]
    assert not untranslated, untranslated[:5]


def test_rendering_in_both_locales() -> None:
    msg = T("Hazard {number} reported", number="XC-2026-000001")
    assert translate(msg, "zh_CN") == "隐患 XC-2026-000001 已上报"
    assert translate(msg, "en") == "Hazard XC-2026-000001 reported"
    assert catalog("en") is catalog("en")


@pytest.mark.parametrize(
    ("raw", "locale"), [("zh-hans", "zh_CN"), ("zh_TW", "zh_CN"), ("en-GB", "en"), ("fr", "zh_CN"), (None, "zh_CN")]
)
def test_locale_hints(raw: str | None, locale: str) -> None:
    assert normalise_locale(raw) == locale


def test_every_literal_message_in_the_code_is_extracted() -> None:
    """Babel's extractor skips a T("…") nested inside some calls; such a string would stay English in Chinese."""
    import ast

    literal: set[tuple[str, int, str]] = set()
    for pkg in ("bot", "handlers", "storage", "scheduler"):
        for path in (ROOT / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in ("T", "N_")
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    literal.add((path.name, node.lineno, node.args[0].value))
    zh = load("zh_CN")
    assert literal and not [x for x in sorted(literal) if x[2] not in zh]
