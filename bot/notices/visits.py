"""Service plans and visits: the plan the insurer confirms, the visit's schedule, and the reminders of what a
closed visit still owes."""

from __future__ import annotations

import datetime as dt

from bot.i18n import N_, T
from bot.messages import Button, Card, Choices, Document, Item, Label, Msg, Text
from bot.notices.common import late_mark

CONFIRM_PLAN = Button("plan")  # plan:<plan>: the insurer confirms
AGREE_PLAN = Button("plagr")  # plagr:<plan>: the insured's representative agrees (000 §13)

VISIT_TASKS: dict[str, str] = {
    "material": N_("Upload of the visit material"),
    "report": N_("Service report"),
    "revisit": N_("Revisit of the insured"),
    "archive": N_("Records confirmed and archived"),
}


SERVICE_NAMES = {  # 004 附件2/3: what a plan or an agreement may contain
    "inspection": N_("hazard inspection"),
    "risk_assessment": N_("risk identification and assessment"),
    "training": N_("safety training"),
    "drill": N_("emergency drills"),
    "standardisation": N_("safety standardisation"),
    "emergency_plan": N_("emergency plans"),
    "technology": N_("safety technology"),
}


CONFIRM_REPORT = Button("vrok")  # vrok:<report>: the insured's or the insurer's sign-off of a service report


def report_to_confirm(report_id: int, project: str, on: dt.date, sha256: str, filename: str) -> list[Item]:
    """To the insured's representative and the insurer: the submitted service report, to confirm."""
    return [
        Document(sha256, filename),
        Card(
            T("Service report to confirm: {project}", project=project),
            ((T("Service date"), on.isoformat()),),
            (CONFIRM_REPORT.option(T("Confirm the report"), report_id),),
        ),
    ]


def report_final(project: str, sha256: str, filename: str) -> Document:
    return Document(sha256, filename, T("The service report of {project}, confirmed by both sides.", project=project))


def plan_document(sha256: str, filename: str, project: str) -> Document:
    return Document(sha256, filename, T("The confirmed service plan of {project}.", project=project))


PLAN_PARTS = {
    "overview": N_("Project overview"),
    "measures": N_("Measures and their basis"),
    "frequency": N_("Frequency"),
    "staff": N_("Staff"),
    "goals": N_("Expected goals"),
    "guarantees": N_("Guarantees"),
}


def _plan_fields(
    services: list[str], experts: list[str], leader: str, content: dict[str, str]
) -> list[tuple[Msg, Label]]:
    fields: list[tuple[Msg, Label]] = [
        (T("Services"), ", ".join(services)),
        (T("Expert group"), "、".join(experts)),
        (T("Leader"), leader),
    ]
    fields += [(T(name), content[key]) for key, name in PLAN_PARTS.items() if content.get(key)]
    return fields


def plan_to_agree(
    plan_id: int, project: str, services: list[str], experts: list[str], leader: str, content: dict[str, str]
) -> Card:
    """To the insured's representative: the plan the agency proposes, to agree to (000 §13)."""
    return Card(
        T("Service plan proposed for {project}", project=project),
        tuple(_plan_fields(services, experts, leader, content)),
        (AGREE_PLAN.option(T("Agree to the plan"), plan_id),),
    )


def plan_to_confirm(
    plan_id: int,
    project: str,
    services: list[str],
    experts: list[str],
    leader: str,
    content: dict[str, str],
    agreed_by: str,
) -> Card:
    """To the insurer: the plan the insured agreed to, to confirm."""
    return Card(
        T("Service plan to confirm: {project}", project=project),
        (*_plan_fields(services, experts, leader, content), (T("Agreed by the insured"), agreed_by)),
        (CONFIRM_PLAN.option(T("Confirm the plan"), plan_id),),
    )


def visit_announced(project: str, on: dt.date, leader: str, kind: str) -> Text:
    """To the insured: the experts are coming (000 §13, 002 §12: 确认服务时间)."""
    return Text(
        T(
            "{kind} of {project} by the service experts on {date} (leader: {leader}). Please have the project's "
            "documents and the people responsible at hand.",
            kind=T(VISIT_KINDS[kind]),
            project=project,
            date=on.isoformat(),
            leader=leader,
        )
    )


VISIT_KINDS = {
    "inspection": N_("Inspection"),
    "deep": N_("Yearly deep inspection"),
    "campaign": N_("Special campaign"),
}


def visit_scheduled(project: str, on: dt.date) -> Text:
    return Text(
        T(
            "Visit to {project} scheduled on {date}. On the day, the leader starts it with /visit.",
            project=project,
            date=on.isoformat(),
        )
    )


def task_due(task: str, project: str, visited_on: dt.date, due_on: dt.date, late: bool) -> Choices:
    """A digest line: what a closed visit still owes, and by when."""
    line = T(
        "{task} of the visit to {project} on {date}: due {due}{late}",
        task=T(VISIT_TASKS[task]),
        project=project,
        date=visited_on.isoformat(),
        due=due_on.isoformat(),
        late=late_mark(late),
    )
    return Choices(line, ())


OBLIGATIONS = {
    "first-inspection": N_("First inspection after the policy starts"),
    "first-service": N_("First service after the policy starts"),
    "onsite": N_("On-site service {n}"),
    "deep": N_("Yearly deep inspection {n}"),  # 000 §14(二)2 年度深度排查
    "campaign": N_("Special campaign {n}"),  # 000 §14(二)2 专项排查行动
    "risks-stage": N_("Risk register refreshed for the new stage"),
}


def obligation_name(key: str) -> Msg:
    """first-inspection, onsite-2, quarter-2026Q4, deep-1, campaign-2 … in words."""
    if key.startswith("quarter-"):
        return T("Full inspection in {quarter}", quarter=key.removeprefix("quarter-"))
    if key.startswith("risks-") and key != "risks-stage":
        return T("Risk register refreshed in {quarter}", quarter=key.removeprefix("risks-"))
    if key.startswith("sources-"):
        return T("Every level-1/2 risk source checked in {quarter}", quarter=key.removeprefix("sources-"))
    family, _, n = key.rpartition("-")
    if family in OBLIGATIONS and n.isdigit():
        return T(OBLIGATIONS[family], n=n)
    return T(OBLIGATIONS.get(key, key))


def unscheduled(project: str, obligation: str, by: dt.date) -> Choices:
    """To the agency and the plan's people: a periodic inspection with nothing scheduled inside its period, or a
    register duty (risks-…, sources-…) not yet done."""
    what, date = obligation_name(obligation), by.isoformat()
    if obligation.startswith(("risks-", "sources-")):
        line = T("{project}: {what} is not done yet; it must be done by {date}.", project=project, what=what, date=date)
    else:
        line = T(
            "Nothing is scheduled for {project}: {what}; it must be done by {date}.",
            project=project,
            what=what,
            date=date,
        )
    return Choices(line, ())
