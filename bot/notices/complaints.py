"""投诉与异议: the complaint to the agency, what the complainant is told (checking, extension, the answer), the
referral to the authority, and the reminders of the answer's due date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from bot.i18n import N_, T
from bot.messages import Button, Card, Item, Photo, Text
from bot.notices.common import late_mark
from bot.ports import ComplaintInfo

ANSWER = Button("cpa")  # cpa:<complaint>
NEEDS_CHECKING = Button("cpc")
EXTEND = Button("cpx")
AGREE_EXTENSION = Button("cpxy")  # cpxy:<complaint>: the complainant agrees to the extension asked (004 §6.4)
DECLINE_EXTENSION = Button("cpxn")
ACCEPT = Button("cpok")
REFER = Button("cpref")

ABOUT_NAMES = {
    "service": N_("a service"),
    "expert": N_("an expert"),
    "decision": N_("a decision"),
}


def filed(info: ComplaintInfo, photos: list[str], check_days: int = 30) -> list[Item]:
    """To the agency's managers: the complaint (or a revisit's objection) with its first photos and the three
    ways to handle it."""
    items: list[Item] = [Photo(sha) for sha in photos[:3]]
    title = (
        T("Objection {number} to hazard {hazard}", number=info.number, hazard=info.hazard_number)
        if info.hazard_number
        else T("Complaint {number}", number=info.number)
    )
    what = T("The insured disagrees with the finding: {text}", text=info.text) if info.hazard_number else info.text
    items.append(
        Card(
            title,
            (
                (T("Project"), info.project_name),
                (T("From"), info.complainant),
                (T("About"), T(ABOUT_NAMES[info.about])),
                (T("Complaint"), what),
                (T("Answer by"), info.due_on.isoformat()),
            ),
            (
                ANSWER.option(T("Answer"), info.id),
                NEEDS_CHECKING.option(T("Needs checking ({n} working days)", n=check_days), info.id),
                EXTEND.option(T("Ask for more time (once)"), info.id),
            ),
        )
    )
    return items


def objection_filed(info: ComplaintInfo) -> Text:
    """To the insured: their objection at the revisit is on record with its number and answer date."""
    return Text(
        T(
            "Your objection to hazard {hazard} is recorded as {number}; the agency will answer by {date}.",
            hazard=info.hazard_number,
            number=info.number,
            date=info.due_on.isoformat(),
        )
    )


def being_checked(number: str, due_on: dt.date) -> Text:
    return Text(
        T(
            "Your complaint {number} needs the facts checked; the answer will come by {date}.",
            number=number,
            date=due_on.isoformat(),
        )
    )


def extended(number: str, due_on: dt.date, reason: str) -> Text:
    return Text(
        T(
            "The answer to your complaint {number} is extended to {date}. Reason: {reason}",
            number=number,
            date=due_on.isoformat(),
            reason=reason,
        )
    )


def extension_asked(complaint_id: int, number: str, due_on: dt.date, new_due: dt.date, reason: str) -> Card:
    """To the complainant: the agency asks for more time; it stands only if they agree (004 §6.4)."""
    return Card(
        T("More time for your complaint {number}?", number=number),
        (
            (T("Answer due"), due_on.isoformat()),
            (T("Asked until"), new_due.isoformat()),
            (T("Reason"), reason),
        ),
        (
            AGREE_EXTENSION.option(T("Agree"), complaint_id),
            DECLINE_EXTENSION.option(T("Do not agree"), complaint_id),
        ),
    )


def extension_answered(number: str, due_on: dt.date, agreed: bool) -> Text:
    """To the agency: what the complainant said about the extension."""
    if agreed:
        return Text(
            T("The complainant agreed: complaint {number} is now due {date}.", number=number, date=due_on.isoformat())
        )
    return Text(
        T(
            "The complainant did not agree to more time: complaint {number} stays due {date}.",
            number=number,
            date=due_on.isoformat(),
        )
    )


def answer(complaint_id: int, number: str, parts: Mapping[str, str]) -> Card:
    return Card(
        T("Answer to your complaint {number}", number=number),
        (
            (T("Your request"), parts["request"]),
            (T("Facts found and their basis"), parts["facts"]),
            (T("Measures"), parts["measures"]),
        ),
        (ACCEPT.option(T("I accept"), complaint_id), REFER.option(T("Refer to the authority"), complaint_id)),
    )


def referred(info: ComplaintInfo) -> Card:
    return Card(
        T("Complaint {number} referred to you", number=info.number),
        (
            (T("Project"), info.project_name),
            (T("From"), info.complainant),
            (T("Complaint"), info.text),
            (T("Facts found and their basis"), info.answer.get("facts", "")),
            (T("Measures"), info.answer.get("measures", "")),
        ),
    )


def answer_due(number: str, due_on: dt.date, late: bool) -> Text:
    return Text(
        T(
            "Complaint {number} must be answered by {date}{late}.",
            number=number,
            date=due_on.isoformat(),
            late=late_mark(late),
        )
    )
