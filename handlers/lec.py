"""LEC risk scoring (D = L × E × C): the /lec flow, and the same questions as an optional report step."""

from __future__ import annotations

from typing import Any

from bot.domain.lec import LecResult, format_score, score, tables
from bot.i18n import N_, T
from bot.messages import Choice, Msg, Option, Payload
from handlers.context import Context
from handlers.registry import action, command, flow

FACTORS = ("L", "E", "C")
PROMPTS = {
    "L": N_("L – how likely is an accident?"),
    "E": N_("E – how often are people exposed?"),
    "C": N_("C – how bad would the consequence be?"),
}


def next_factor(scores: dict[str, Any]) -> str | None:
    return next((f for f in FACTORS if f not in scores), None)


def ask_factor(ctx: Context, kind: str) -> None:
    table = {"L": tables().L, "E": tables().E, "C": tables().C}[kind]
    ctx.ask(
        T(PROMPTS[kind]),
        [
            Option(
                f"f:lec{kind}:{format_score(f.score)}", T("{score} · {desc}", score=format_score(f.score), desc=f.desc)
            )
            for f in table
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
    table = {"L": tables().L, "E": tables().E, "C": tables().C}[kind]
    return value if any(f.score == value for f in table) else None


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


COLOURS = {"red": N_("red"), "orange": N_("orange"), "yellow": N_("yellow"), "blue": N_("blue")}


async def _resume(ctx: Context) -> None:
    kind = next_factor(ctx.data)
    if kind:
        ask_factor(ctx, kind)


async def _on_input(ctx: Context, payload: Payload) -> None:
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


FLOW = flow("lec", N_("LEC risk score"), _on_input, _resume)


@command("lec", help=N_("/lec – score a risk with the LEC method"), starts_flow=True, needs_person=False)
async def lec(ctx: Context, args: tuple[str, ...]) -> None:
    ctx.start("lec")
    await _resume(ctx)


@action("menu:lec", starts_flow=True, needs_person=False)
async def lec_menu(ctx: Context, args: tuple[str, ...]) -> None:
    await lec(ctx, ())
