"""回访: the invitation to the survey (and its reminder), the agency's phone task, the record to confirm, and the
note that hazards the insured calls unfixed are reopened."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from bot.i18n import N_, T
from bot.messages import Button, Card, Msg, Text

ANSWER = Button("rsv")  # rsv:<revisit>
CONFIRM = Button("rsvok")  # rsvok:<revisit>

OVERALL_NAMES = {
    "very": N_("Very satisfied"),
    "satisfied": N_("Satisfied"),
    "neutral": N_("Neutral"),
    "dissatisfied": N_("Dissatisfied"),
}


def overall_label(answer: str) -> Msg:
    """The revisit's overall satisfaction answer, worded."""
    return T(OVERALL_NAMES.get(answer, answer))


def invitation(revisit_id: int, form: Mapping[str, Any], again: bool) -> Card:
    return Card(
        T("Revisit: how was our service?") if not again else T("Reminder: revisit of our service"),
        (
            (T("Project"), str(form.get("project", ""))),
            (T("Service date"), str(form.get("service_date", ""))),
            (T("Service agency"), str(form.get("agency", ""))),
            (T("Experts"), "、".join(form.get("experts", []))),
        ),
        (ANSWER.option(T("Answer (about one minute)"), revisit_id),),
    )


def phone_the_insured(project: str, contact: str, limit: dt.date) -> Text:
    return Text(
        T(
            "The insured of {project} has not answered the revisit survey. Please phone {contact} before {limit}.",
            project=project,
            contact=contact,
            limit=limit.isoformat(),
        )
    )


def reopened(project: str, numbers: list[str], visit_on: dt.date) -> Text:
    return Text(
        T(
            "Revisit of {project}: the insured says {hazards} are not fixed. They are reopened and a "
            "re-inspection is booked for {date}.",
            project=project,
            hazards="、".join(numbers),
            date=visit_on.isoformat(),
        )
    )


def record_to_confirm(revisit_id: int, project: str, answered_by: str, overall: str) -> Card:
    return Card(
        T("Revisit record to confirm"),
        ((T("Project"), project), (T("Answered by"), answered_by), (T("Overall"), overall_label(overall))),
        (CONFIRM.option(T("Confirm the record"), revisit_id),),
    )
