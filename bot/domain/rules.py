"""Every value a deployment's rules may differ on, with the seeds' defaults and the clause each comes from.

One TOML file per deployment (ANZEBOT_RULES_FILE) overrides any of them; a key it does not know, or a value of the
wrong kind, refuses the file with one line naming the key (`RulesError`). `anzebot rules show` prints each value in
force, whether the default or the file set it, and its clause (`describe`). Pure: the file's text comes in."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.domain.levels import Level
from bot.domain.roles import Role


def rule(default: Any, clause: str, what: str, **limits: Any) -> Any:
    """A field with its source clause (printed by `rules show`)."""
    return Field(default, description=what, json_schema_extra={"clause": clause}, **limits)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hazards(_Section):
    deadline_days: dict[int, int] = rule(
        {1: 1, 2: 3, 3: 7, 4: 15},
        "001 §二(二); 000 §14",
        "default rectification period per level, in working days",
    )
    major_hazard_edition: Literal["2024", "2022"] = rule(
        "2024",
        "建质规〔2024〕5号; 001 §二(二) cites 建质规〔2022〕2号",
        "edition of the major-hazard criteria (重大事故隐患判定标准) that force level 1",
    )
    receipt_reminder_working_hours: float = rule(
        4.0,
        "000 附件3 (风险隐患整改提示单, signed for by the responsible unit)",
        "a rectification notice not signed for (签收) after this many working hours (08:30–17:30) is reminded (0: not)",
        ge=0,
        le=40,
    )
    level2_authority_default: bool = rule(
        False,
        "001 §二(二)",
        "the answer preselected when a level-2 report is asked whether it may cause an accident (then the "
        "authority is told as well)",
    )

    @field_validator("deadline_days")
    @classmethod
    def _every_level(cls, days: dict[int, int]) -> dict[int, int]:
        missing = [int(lvl) for lvl in Level if int(lvl) not in days]
        if missing:
            raise ValueError(f"lacks levels {missing}")
        if any(not 1 <= n <= 180 for n in days.values()):
            raise ValueError("each period is 1 to 180 working days")
        return days


class Step(_Section):
    key: str = Field(pattern=r"^[a-z0-9-]{1,20}$")
    days: int = Field(ge=0, le=60)  # working days after the overdue notice
    levels: dict[int, list[Role]]  # level → who is told


class Escalation(_Section):
    steps: tuple[Step, ...] = rule(
        (
            Step(
                key="esc-1",
                days=1,
                levels={
                    1: [Role.INSURER],
                    2: [Role.INSURER],
                    3: [Role.SUPERVISION_ENGINEER, Role.INSURER],
                    4: [Role.SUPERVISION_ENGINEER, Role.INSURER],
                },
            ),
            Step(
                key="esc-2",
                days=2,
                levels={1: [Role.AUTHORITY], 2: [Role.AUTHORITY], 3: [Role.AUTHORITY], 4: [Role.AUTHORITY]},
            ),
        ),
        "001 附件 item 6; 003 §6.2",
        "after the overdue notice: who is told how many working days later (any delay of any level reaches the "
        "insurer and the local construction authority)",
    )

    @model_validator(mode="after")
    def _distinct(self) -> Escalation:
        keys = [s.key for s in self.steps]
        if len(set(keys)) != len(keys):
            raise ValueError("step keys must differ")
        return self


class Visits(_Section):
    one_visit_premium: Decimal = rule(Decimal("15000"), "004 §5", "premium (CNY, inclusive) owing ≥ 1 on-site service")
    two_visits_premium: Decimal = rule(
        Decimal("100000"), "004 §5", "premium (CNY, inclusive) owing ≥ 2 on-site services"
    )
    first_service_months: int = rule(
        3, "004 §5; 004 附件2 二(一)", "months after the policy starts by which every policy has its first service"
    )
    first_service_months_pooled: int = rule(
        6, "004 §5", "the same when the insurer pools (统筹) the service: at most this many months", ge=1
    )
    pooled: bool = rule(False, "004 §5", "whether this deployment's services are pooled (统筹委托)")
    first_inspection_working_days: int = rule(
        10, "001 §二(一)", "first risk identification and inspection 'right after the contract', in working days", ge=1
    )
    quarter_warning_days: int = rule(
        15, "001 §二(一)", "days before a quarter ends at which an unscheduled full inspection is flagged", ge=1
    )
    deep_inspection_months: int = rule(
        12,
        "000 §14(二)2 (年度深度排查)",
        "one deep full-coverage inspection in every this many months of a policy",
        ge=1,
    )
    campaign_months: int = rule(
        6, "000 §14(二)2 (专项排查行动)", "one special campaign in every this many months of a policy", ge=1
    )
    risk_stage_refresh_working_days: int = rule(
        10,
        "000 §14(二)1 (按施工阶段动态更新)",
        "the risk register refreshed this many working days after a stage change",
        ge=1,
    )
    offline_training_is_onsite: bool = rule(
        True, "004 §5", "an offline training counts as an on-site service (现场服务（含线下培训）)"
    )
    material_working_days: int = rule(2, "002 §14", "visit material uploaded, working days after the service", ge=1)
    report_working_days: int = rule(5, "004 §6.2e", "service report issued, working days after the service", ge=1)
    revisit_working_days: int = rule(10, "003 §6.3; 004 §6.3", "revisit of the insured, working days after", ge=1)
    archive_working_days: int = rule(20, "003 §6.3; 004 §6.3", "records confirmed and archived, working days", ge=1)


class ExpertGroups(_Section):
    min_experts: int = rule(3, "002 §10", "experts in a visit's group", ge=1)
    specialities: tuple[str, ...] = rule(
        ("civil", "mechanical", "electrical"), "002 §10", "specialities a group must mix"
    )
    leader_required: bool = rule(True, "002 §10", "a group has a leader among its experts")
    no_ties: bool = rule(True, "002 §12", "no expert tied to the project's construction, supervision or owner units")
    library_required: bool = rule(
        True, "002 §8", "every expert of a group is in the expert library (`anzebot expert set`)"
    )
    leader_title: Literal["junior", "intermediate", "senior", "professor"] = rule(
        "senior", "002 §9", "a leader's technical title at least this (or a registered safety engineer)"
    )
    leader_years: int = rule(10, "002 §9", "a leader's years in building and municipal works safety", ge=0)
    member_title: Literal["junior", "intermediate", "senior", "professor"] = rule(
        "intermediate", "002 §9", "a member's technical title at least this"
    )
    member_years: int = rule(5, "002 §9", "a member's years in building and municipal works safety", ge=0)


class Complaints(_Section):
    answer_working_days: int = rule(10, "003 §6.4.2; 004 §6.4", "complaint answered, working days", ge=1)
    check_working_days: int = rule(30, "003 §6.4.2; 004 §6.4", "when the facts need checking, working days", ge=1)
    max_extension_days: int = rule(30, "003 §6.4.2; 004 §6.4", "one extension, at most this many (calendar) days", ge=1)
    extension_approver: Literal["officer", "complainant"] = rule(
        "officer",
        "003 §6.4.2 (officer); 004 §6.4 (complainant)",
        "who agrees to an extension: the agency's complaint officer, or the complainant",
    )


class Training(_Section):
    min_offline_hours: float = rule(2.0, "004 §5a", "an offline session under this many hours is flagged", gt=0)
    online_target_hours: float = rule(30.0, "000 §8; 003 §4.1.1", "online learning per manager per year", ge=0)
    drills_per_year: int = rule(1, "000 §14; 003 §4.1.3", "comprehensive drills per project per year", ge=0)
    project_trainings_high_risk: int = rule(2, "000 §14(二)3; 003 §4.1", "project trainings, high-risk project, a year")
    project_training_kinds: tuple[Literal["custom", "prestart", "seasonal"], ...] = rule(
        ("custom", "prestart", "seasonal"),
        "000 §14(二)3",
        "kinds of session that count as project trainings (pre-start briefings and seasonal trainings included)",
    )
    agency_staff_external_hours: float = rule(24.0, "004 §4.4", "external training of agency management staff a year")


class Band(_Section):
    from_amount: Decimal = Field(ge=0)  # CNY, inclusive
    share: Decimal = Field(ge=0, le=1)


class Sampling(_Section):
    post_policy: tuple[Band, ...] = rule(
        (
            Band(from_amount=Decimal(0), share=Decimal("0.10")),
            Band(from_amount=Decimal(15000), share=Decimal("0.20")),
            Band(from_amount=Decimal(100000), share=Decimal("0.40")),
        ),
        "004 §8.1b",
        "share of ended policies sampled, by premium band",
    )
    post_claim: tuple[Band, ...] = rule(
        (
            Band(from_amount=Decimal(10000), share=Decimal("0.10")),
            Band(from_amount=Decimal(100000), share=Decimal("0.30")),
            Band(from_amount=Decimal(500000), share=Decimal("1")),
        ),
        "004 §8.1c",
        "share of claims reviewed, by claim amount band",
    )


class Fees(_Section):
    association_fee_max_share: Decimal = rule(Decimal("0.21"), "002 第三条", "association fee, at most this of premium")
    provincial_pool_min_share: Decimal = rule(
        Decimal("0.30"), "004 §7.2", "a provincial insurer pools at least this share of the prevention fee"
    )


class Records(_Section):
    retention_years: int = rule(5, "000 §18; 001 附件 item 7; 003 §3.4; 004 §7.3", "archive kept at least", ge=5)
    self_assessment_month: int = rule(3, "004 §8.1d", "the previous year's self-assessment is due by this month's end")


class Rules(_Section):
    hazards: Hazards = Hazards()
    escalation: Escalation = Escalation()
    visits: Visits = Visits()
    expert_groups: ExpertGroups = ExpertGroups()
    complaints: Complaints = Complaints()
    training: Training = Training()
    sampling: Sampling = Sampling()
    fees: Fees = Fees()
    records: Records = Records()

    def deadline_days(self) -> dict[Level, int]:
        return {Level(k): v for k, v in self.hazards.deadline_days.items()}


class RulesError(ValueError):
    """A rules file that cannot be used: the message is one line naming the key."""


def parse(text: str) -> Rules:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"not TOML: {exc}") from None
    try:
        return Rules.model_validate(_int_keys(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(file)"
        why = "not a key of the rules" if first["type"] == "extra_forbidden" else first["msg"]
        raise RulesError(f"{key}: {why}") from None


def _int_keys(data: Any) -> Any:
    """TOML table keys are strings; the level tables are keyed by level ("1" = …)."""
    if isinstance(data, dict):  # (the value of a level table is checked by the model, not here)
        return {(int(k) if isinstance(k, str) and k.isdigit() else k): _int_keys(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_int_keys(v) for v in data]
    return data


@dataclass(frozen=True)
class Described:
    key: str  # dotted: visits.report_working_days
    value: Any
    source: str  # default | file
    clause: str
    what: str


def describe(rules: Rules) -> Iterator[Described]:
    """Every value in force, section by section, in declaration order."""
    for name in Rules.model_fields:
        section: BaseModel = getattr(rules, name)
        for key, f in type(section).model_fields.items():
            extra = f.json_schema_extra if isinstance(f.json_schema_extra, Mapping) else {}
            yield Described(
                f"{name}.{key}",
                section.model_dump(mode="json")[key],
                "file" if key in section.model_fields_set else "default",
                str(extra.get("clause", "")),
                f.description or "",
            )
