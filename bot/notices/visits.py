"""Service plans and visits: the plan the insurer confirms, the visit's schedule, and the reminders of what a
closed visit still owes."""

from __future__ import annotations

import datetime as dt

from bot.i18n import N_, T
from bot.messages import Button, Card, Choices, Msg, Text
from bot.notices.common import late_mark

CONFIRM_PLAN = Button("plan")  # plan:<plan>

VISIT_TASKS: dict[str, str] = {
    "material": N_("Upload of the visit material"),
    "report": N_("Service report"),
    "revisit": N_("Revisit of the insured"),
    "archive": N_("Records confirmed and archived"),
}


def plan_to_confirm(plan_id: int, project: str, services: list[str], experts: list[str], leader: str) -> Card:
    return Card(
        T("Service plan to confirm: {project}", project=project),
        ((T("Services"), ", ".join(services)), (T("Expert group"), "、".join(experts)), (T("Leader"), leader)),
        (CONFIRM_PLAN.option(T("Confirm the plan"), plan_id),),
    )


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
}


def obligation_name(key: str) -> Msg:
    """first-inspection, onsite-2, quarter-2026Q4, deep-1, campaign-2 … in words."""
    if key.startswith("quarter-"):
        return T("Full inspection in {quarter}", quarter=key.removeprefix("quarter-"))
    family, _, n = key.rpartition("-")
    if family in OBLIGATIONS and n.isdigit():
        return T(OBLIGATIONS[family], n=n)
    return T(OBLIGATIONS.get(key, key))


def unscheduled(project: str, obligation: str, by: dt.date) -> Choices:
    """To the agency and the plan's people: a periodic inspection with nothing scheduled inside its period."""
    line = T(
        "Nothing is scheduled for {project}: {what}; it must be done by {date}.",
        project=project,
        what=obligation_name(obligation),
        date=by.isoformat(),
    )
    return Choices(line, ())
