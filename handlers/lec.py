"""LEC risk scoring (D = L × E × C): the /lec flow, and the same questions as an optional report step."""

from __future__ import annotations

from typing import Any

from bot.domain.lec import LecResult, format_score, score, tables
from bot.i18n import N_, T
from bot.messages import Button, Choice, Msg, Option, Payload
from handlers.context import Context
from handlers.registry import open_flow, public_action, public_command

FACTORS = ("L", "E", "C")
PROMPTS = {
    "L": N_("L – how likely is an accident?"),
    "E": N_("E – how often are people exposed?"),
    "C": N_("C – how bad would the consequence be?"),
}
COLOURS = {"red": N_("red"), "orange": N_("orange"), "yellow": N_("yellow"), "blue": N_("blue")}
MENU = Button("menu:lec")


def next_factor(scores: dict[str, Any]) -> str | None:
    return next((f for f in FACTORS if f not in scores), None)


def _table(kind: str) -> Any:
    return {"L": tables().L, "E": tables().E, "C": tables().C}[kind]


def ask_factor(ctx: Context[Any], kind: str) -> None:
    ctx.ask(
        T(PROMPTS[kind]),
        [
            Option(
                f"f:lec{kind}:{format_score(f.score)}", T("{score} · {desc}", score=format_score(f.score), desc=f.desc)
            )
            for f in _table(kind)
        ],
    )


def take_factor(kind: str, payload: Payload) -> float | None:
    """The score of a pressed (or typed) option of this factor's table, else None."""
    if not isinstance(payload, Choice) or not payload.value.startswith(f"f:lec{kind}:"):
        return None
    try:
        value = float(payload.value.rsplit(":", 1)[1])
    except ValueError:
        return None
    return value if any(f.score == value for f in _table(kind)) else None


def result_message(r: LecResult) -> Msg:
    return T(
        "LEC: L={l} × E={e} × C={c} = D {d}\nDanger: {band}\nRisk level: {level} ({rank})\nRule: {rule}",
        l=format_score(r.L),
        e=format_score(r.E),
        c=format_score(r.C),
        d=format_score(r.D),
        band=r.band,
        level=r.level_name,
        rank=T(COLOURS[r.colour]),
        rule=T("D ≥ 320 major, 160–319 considerable, 70–159 moderate, below 70 low"),
    )


async def _resume(ctx: Context[Any]) -> None:
    kind = next_factor(ctx.data)
    if kind:
        ask_factor(ctx, kind)


async def _on_input(ctx: Context[Any], payload: Payload) -> None:
    kind = next_factor(ctx.data)
    assert kind is not None
    value = take_factor(kind, payload)
    if value is None:
        if isinstance(payload, Choice) and payload.value.startswith("f:lec"):
            ctx.refuse(T("That button belongs to an earlier question."))
        else:
            ctx.say(T("Please pick one of the options."))
        ask_factor(ctx, kind)
        return
    ctx.data[kind] = value
    if next_factor(ctx.data) is None:
        ctx.say(result_message(score(ctx.data["L"], ctx.data["E"], ctx.data["C"])))
        ctx.finish()
    else:
        await _resume(ctx)


FLOW = open_flow("lec", N_("LEC risk score"), _on_input, _resume)


@public_command("lec", help=N_("/lec – score a risk with the LEC method"), starts_flow=True)
async def lec(ctx: Context[Any], args: tuple[str, ...]) -> None:
    ctx.start("lec")
    await _resume(ctx)


@public_action(MENU, starts_flow=True)
async def lec_menu(ctx: Context[Any], args: tuple[str, ...]) -> None:
    await lec(ctx, ())
