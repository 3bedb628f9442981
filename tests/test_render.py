from __future__ import annotations

from bot.domain.text import Localized
from bot.i18n import T
from bot.messages import Card, Choices, Option, Photo, Text, from_json, to_json
from bot.render import RICH, TEXT_ONLY, Capabilities, match_offer, render, split_text


def test_choices_are_buttons_on_rich_and_numbered_text_on_text_only() -> None:
    items = [
        Choices(
            T("Which level is the hazard?"),
            (Option("f:level:1", T("Level 1 (major, stop work)")), Option("f:level:3", T("Level 3 (general)"))),
        )
    ]
    rich = render(items, "zh_CN", RICH)
    assert len(rich) == 1 and rich[0].text == "隐患级别？"
    assert [b for row in rich[0].buttons for b in row] == [
        ("f:level:1", "一级（重大，停工）"),
        ("f:level:3", "三级（一般）"),
    ]
    poor = render(items, "en", TEXT_ONLY)
    assert poor[0].buttons == ()
    assert "1. Level 1 (major, stop work)\n2. Level 3 (general)" in poor[0].text
    assert poor[0].offers == (("f:level:1", "Level 1 (major, stop work)"), ("f:level:3", "Level 3 (general)"))


def test_too_many_options_for_buttons_degrade_to_text() -> None:
    caps = Capabilities(buttons=True, max_buttons=6)
    options = tuple(Option(f"v{i}", f"option {i}") for i in range(8))
    out = render([Choices(T("Choose your language"), options)], "en", caps)
    assert out[0].buttons == () and "8. option 7" in out[0].text


def test_typed_number_or_label_picks_the_option() -> None:
    offers = [("a", "一级（重大，停工）"), ("b", "Skip")]
    assert match_offer("2", offers) == "b"
    assert match_offer(" 1。", offers) == "a"
    assert match_offer("skip", offers) == "b"
    assert match_offer("3", offers) is None
    assert match_offer("0", offers) is None
    assert match_offer("something else", offers) is None


def test_long_text_is_split_on_lines_and_never_exceeds_the_limit() -> None:
    text = "\n".join(f"第{i}行：脚手架连墙件缺失，需要整改到位。" for i in range(400))
    parts = split_text(text, 2048)
    assert all(len(p) <= 2048 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    one_line = "😀" * 5000
    parts = split_text(one_line, 2048)
    assert all(len(p) <= 2048 for p in parts) and "".join(parts) == one_line


def test_card_renders_fields_and_localized_values() -> None:
    card = Card(
        T("Rectification notice"),
        ((T("Category"), Localized("脚手架", "Scaffolding")), (T("Number"), "XC-2026-000001")),
        (Option("rect:1", T("Submit rectification")),),
        key="hz1",
    )
    zh = render([card], "zh_CN", RICH)[0]
    assert zh.text.splitlines() == ["【隐患整改通知单】", "类型：脚手架", "编号：XC-2026-000001"]
    assert zh.card_key == "hz1" and zh.buttons == ((("rect:1", "提交整改"),),)
    en = render([card], "en", TEXT_ONLY)[0]
    assert "Category：Scaffolding" in en.text and "1. Submit rectification" in en.text


def test_reply_items_survive_the_outbox_round_trip() -> None:
    items = [
        Text(T("Commands:\n{lines}", lines=[T("/help – what I can do"), "plain"])),
        Choices(T("Choose your language"), (Option("lang:en", "English"),)),
        Photo("ab" * 32, T("Hazard photo")),
        Card(
            T("Hazard {number}", number="X"),
            ((T("Category"), Localized("脚手架", "Scaffolding")),),
            (Option("h:1", T("Details")),),
            photo="cd" * 32,
            key="hz1",
            footer=T("History:\n{lines}", lines=[]),
        ),
    ]
    assert from_json(to_json(items)) == items
    assert render(from_json(to_json(items)), "en", RICH) == render(items, "en", RICH)
