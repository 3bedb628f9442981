"""Fill the catalogs after `make locales`: English msgstr = msgid (the source language), Chinese from a JSON
file of {msgid: translation} written by the translator. Prints what is still untranslated."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "locales"


def fill(locale: str, table: dict[str, str]) -> list[str]:
    path = ROOT / locale / "LC_MESSAGES" / "anzebot.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    left: list[str] = []
    for message in catalog:
        if not message.id or message.string:
            continue
        text = message.id if locale == "en" else table.get(str(message.id))
        if text is None:
            left.append(str(message.id))
        else:
            message.string = text
    with path.open("wb") as f:
        write_po(f, catalog, width=0, omit_header=False, no_location=True)
    return left


if __name__ == "__main__":
    zh = json.loads(Path(sys.argv[1]).read_text("utf-8")) if len(sys.argv) > 1 else {}
    for loc, table in (("en", {}), ("zh_CN", zh)):
        for msgid in fill(loc, table):
            print(f"{loc}: untranslated: {msgid!r}")
