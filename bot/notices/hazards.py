"""The notices of the hazard lifecycle (整改通知单, stop-work opinion, same-day report, review requests) and its
reminders, built as reply items so each recipient reads them in their own language."""

from __future__ import annotations

from bot.domain.lec import format_score, score
from bot.domain.levels import Status
from bot.domain.taxonomy import taxonomy
from bot.i18n import N_, T
from bot.messages import Button, Card, Choices, Item, Label, Msg, Option, Photo, Text
from bot.ports import HazardInfo, RectificationInfo

RECTIFY = Button("rect")  # rect:<hazard>
DETAILS = Button("h")  # h:<hazard>
ACKNOWLEDGE = Button("ack")  # ack:<hazard>
RECEIVE = Button("rcv")  # rcv:<hazard>: the responsible unit signs for the notice (签收)
PRINT = Button("pdf")  # pdf:<hazard>:notice|recheck: the form as a PDF document in this chat
REVIEW = Button("rv")  # rv:<rectification>:ok|no

LEVEL_NAMES: dict[int, str] = {
    1: N_("Level 1 (major, stop work)"),
    2: N_("Level 2 (serious)"),
    3: N_("Level 3 (general)"),
    4: N_("Level 4 (minor)"),
}
STATUS_NAMES: dict[str, str] = {
    Status.RECTIFYING: N_("Rectifying"),
    Status.SUBMITTED: N_("Awaiting re-inspection"),
    Status.CLOSED: N_("Closed"),
}


def level_label(level: int) -> Msg:
    return T(LEVEL_NAMES[int(level)])


def status_label(status: str) -> Msg:
    return T(STATUS_NAMES[status])


def card_key(hazard_id: int) -> str:
    return f"hz{hazard_id}"


def hazard_fields(h: HazardInfo, full: bool = True) -> tuple[tuple[Msg, Label], ...]:
    group = taxonomy().group(h.group_id)
    fields: list[tuple[Msg, Label]] = [
        (T("Number"), h.number),
        (T("Project"), h.project_name),
        (T("Level"), level_label(h.level)),
        (T("Status"), status_label(h.status)),
        (T("Category"), group.name if group else h.group_id),
        (T("Description"), h.description),
        (T("Location"), h.location),
    ]
    if full:
        if h.basis:
            fields.append((T("Basis"), h.basis))
        fields.append((T("Rectification measures"), h.suggestion))
    fields.append((T("Deadline"), h.deadline.isoformat()))
    if h.received_at is not None and h.received_by:
        signed = T("{name}, {at}", name=h.received_by, at=f"{h.received_at:%Y-%m-%d %H:%M}")
        fields.append((T("Signed for"), signed))
    if full and h.lec:
        result = score(h.lec[0], h.lec[1], h.lec[2])
        fields.append(
            (
                T("LEC"),
                T("D = {d} ({band}, {level})", d=format_score(result.D), band=result.band, level=result.level_name),
            )
        )
    return tuple(fields)


def rectify_option(h: HazardInfo) -> Option:
    return RECTIFY.option(T("Submit rectification"), h.id)


def details_option(h: HazardInfo) -> Option:
    return DETAILS.option(T("Details"), h.id)


def review_options(rectification_id: int) -> tuple[Option, Option]:
    return (
        REVIEW.option(T("Approve, close it"), rectification_id, "ok"),
        REVIEW.option(T("Reject"), rectification_id, "no"),
    )


def group_card(h: HazardInfo) -> Card:
    """The one living card per hazard in a project group; edited as the hazard moves on."""
    options: tuple[Option, ...] = (details_option(h),)
    if h.status == Status.RECTIFYING:
        options = (rectify_option(h), details_option(h))
    title = {
        Status.RECTIFYING: T("Rectification notice"),
        Status.SUBMITTED: T("Rectification submitted, awaiting re-inspection"),
        Status.CLOSED: T("Hazard closed"),
    }[h.status]
    return Card(
        title,
        hazard_fields(h, full=h.status == Status.RECTIFYING),
        options,
        photo=h.photos[0] if h.photos and h.status == Status.RECTIFYING else None,
        key=card_key(h.id),
    )


def responsible_notice(h: HazardInfo) -> list[Item]:
    items: list[Item] = [
        Card(
            T("Rectification notice: your project must fix this hazard"),
            hazard_fields(h),
            (RECEIVE.option(T("Sign for it"), h.id), rectify_option(h), details_option(h)),
            photo=h.photos[0] if h.photos else None,
            footer=T(
                "Press “Sign for it” to confirm you received this notice. Fix it by the deadline, then press "
                "“Submit rectification” and send photos of the result."
            ),
        )
    ]
    if h.stop_work:
        items.append(stop_work_opinion(h))
    return items


def stop_work_opinion(h: HazardInfo) -> Text:
    return Text(
        T(
            "STOP-WORK OPINION for {number}: stop work at {location} at once and keep people out until the "
            "re-inspection passes. Basis: {basis}",
            number=h.number,
            location=h.location,
            basis=h.basis or T("level-1 hazard"),
        )
    )


def follower_notice(h: HazardInfo) -> list[Item]:
    return [
        Card(
            T("Hazard reported in your project"),
            hazard_fields(h),
            (details_option(h),),
            photo=h.photos[0] if h.photos else None,
        )
    ]


def acknowledge_option(h: HazardInfo) -> Option:
    return ACKNOWLEDGE.option(T("Acknowledge receipt"), h.id)


def same_day_report(h: HazardInfo) -> list[Item]:
    """Level 1: the same-day report to the insurer and the construction authority (001 §二(二)), repeated until
    someone on each side acknowledges it."""
    return [
        Card(
            T("Same-day report: level-1 hazard, stop-work proposed"),
            hazard_fields(h),
            (acknowledge_option(h), details_option(h)),
            photo=h.photos[0] if h.photos else None,
            footer=T("Reported the same day as required for level-1 hazards."),
        )
    ]


def insurer_notice(h: HazardInfo) -> list[Item]:
    return [
        Card(
            T("Level-2 hazard reported"),
            hazard_fields(h),
            (details_option(h),),
            photo=h.photos[0] if h.photos else None,
        )
    ]


def review_request(h: HazardInfo, r: RectificationInfo) -> list[Item]:
    items: list[Item] = [Photo(sha) for sha in r.photos[:5]]
    items.append(
        Card(
            T("Re-inspection requested"),
            (*hazard_fields(h, full=False), (T("Rectification note"), r.note), (T("Submitted by"), r.submitted_by)),
            (*review_options(r.id), details_option(h)),
        )
    )
    return items


def approved_notice(h: HazardInfo) -> list[Item]:
    return [Card(T("Rectification approved: hazard closed"), hazard_fields(h, full=False), (details_option(h),))]


def rejected_notice(h: HazardInfo, reason: str) -> list[Item]:
    return [
        Card(
            T("Rectification rejected: please rectify again"),
            (*hazard_fields(h, full=False), (T("Reason"), reason)),
            (rectify_option(h), details_option(h)),
        )
    ]


REMINDER_TITLES: dict[str, str] = {
    "unreceived": N_("Rectification notice not yet signed for"),
    "due-1": N_("Rectification due tomorrow"),
    "due-0": N_("Rectification due today"),
    "overdue": N_("Rectification overdue"),
    "escalation": N_("Overdue hazard: escalated to you"),
}


KIND_TITLE = {"receipt": "unreceived", "reminder": "due-0", "overdue": "overdue", "escalation": "escalation"}


def reminder_title(milestone_key: str, kind: str) -> Msg:
    return T(REMINDER_TITLES.get(milestone_key) or REMINDER_TITLES[KIND_TITLE[kind]])


def reminder_notice(h: HazardInfo, milestone_key: str, kind: str, to_responsible: bool) -> list[Item]:
    options = (rectify_option(h), details_option(h)) if to_responsible else (details_option(h),)
    if kind == "receipt":  # chased for the signature: the button is on the reminder itself
        options = (RECEIVE.option(T("Sign for it"), h.id), *options)
    return [Card(reminder_title(milestone_key, kind), hazard_fields(h, full=False), options)]


def reminder_entry(h: HazardInfo, milestone_key: str, kind: str) -> Choices:
    """The hazard's line in a daily digest, with its details button."""
    line = T(
        "{title}: {number} · {project} · due {deadline}",
        title=reminder_title(milestone_key, kind),
        number=h.number,
        project=h.project_name,
        deadline=h.deadline.isoformat(),
    )
    return Choices(line, (DETAILS.option(h.number, h.id),))


def same_day_renotice(h: HazardInfo) -> list[Item]:
    return [
        Card(
            T("Not yet acknowledged: level-1 same-day report"),
            hazard_fields(h, full=False),
            (acknowledge_option(h), details_option(h)),
        )
    ]
