"""The risk register's wording: accident types, a level-1/2 source entered, a stage change, a register's line."""

from __future__ import annotations

from bot.domain.lec import format_score
from bot.i18n import N_, T
from bot.messages import Button, Msg, Text
from bot.ports import RiskInfo

CHECK = Button("rchk")  # rchk:<risk>: a level-1/2 source checked on site this quarter

ACCIDENT_TYPES = {
    "collapse": N_("collapse"),
    "fall": N_("fall from height"),
    "struck": N_("struck by objects"),
    "lifting": N_("lifting injury"),
    "electric": N_("electric shock"),
    "machinery": N_("machinery injury"),
    "fire": N_("fire"),
    "asphyxia": N_("poisoning and asphyxia"),
    "vehicle": N_("vehicle injury"),
}
RANKS = {1: N_("major risk"), 2: N_("large risk"), 3: N_("general risk"), 4: N_("low risk")}


def line(r: RiskInfo) -> Msg:
    checked = T("checked {date}", date=r.checked_on.isoformat()) if r.checked_on else T("not checked yet")
    return T(
        "{work} · {name} ({type}) · D {d}, {rank} · {stage} · measures: {measures} · {checked}",
        work=r.work,
        name=r.name,
        type=T(ACCIDENT_TYPES.get(r.accident_type, r.accident_type)),
        d=format_score(r.lec_d),
        rank=T(RANKS.get(r.rank, "")),
        stage=r.stage or "—",
        measures=r.measures,
        checked=checked if r.rank <= 2 else "",
    )


def source_entered(r: RiskInfo) -> Text:
    """To the site's managers: a level-1/2 risk source is on the register."""
    return Text(
        T(
            "Level-{rank} risk source on the register of {project}: {name} ({work}). Control measures: {measures}",
            rank=r.rank,
            project=r.project_name,
            name=r.name,
            work=r.work,
            measures=r.measures,
        )
    )


def stage_changed(project: str, stage: str) -> Text:
    return Text(
        T(
            "{project} is now at the stage “{stage}”: refresh its risk register (/risk) for this stage.",
            project=project,
            stage=stage,
        )
    )
