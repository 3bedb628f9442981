"""The notices the hazard lifecycle sends (整改通知单, stop-work opinion, same-day report, review requests),
built as reply items so each recipient reads them in their own language."""

from __future__ import annotations

from bot.domain.lec import format_score, score
from bot.domain.levels import Status
from bot.domain.taxonomy import taxonomy
from bot.i18n import N_, T
from bot.messages import Card, Choices, Document, Item, Label, Msg, Option, Photo, Text
from bot.ports import HazardInfo, RectificationInfo

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
    return Option(f"rect:{h.id}", T("Submit rectification"))


def details_option(h: HazardInfo) -> Option:
    return Option(f"h:{h.id}", T("Details"))


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


def responsible_notice(h: HazardInfo) -> list[Card | Text | Photo]:
    items: list[Card | Text | Photo] = [
        Card(
            T("Rectification notice: your project must fix this hazard"),
            hazard_fields(h),
            (rectify_option(h), details_option(h)),
            photo=h.photos[0] if h.photos else None,
            footer=T("Fix it by the deadline, then press “Submit rectification” and send photos of the result."),
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


def follower_notice(h: HazardInfo) -> list[Card | Text | Photo]:
    return [
        Card(
            T("Hazard reported in your project"),
            hazard_fields(h),
            (details_option(h),),
            photo=h.photos[0] if h.photos else None,
        )
    ]


def acknowledge_option(h: HazardInfo) -> Option:
    return Option(f"ack:{h.id}", T("Acknowledge receipt"))


def same_day_report(h: HazardInfo) -> list[Card | Text | Photo]:
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


def insurer_notice(h: HazardInfo) -> list[Card | Text | Photo]:
    return [
        Card(
            T("Level-2 hazard reported"),
            hazard_fields(h),
            (details_option(h),),
            photo=h.photos[0] if h.photos else None,
        )
    ]


def review_request(h: HazardInfo, r: RectificationInfo) -> list[Card | Text | Photo]:
    items: list[Card | Text | Photo] = [Photo(sha) for sha in r.photos[:5]]
    items.append(
        Card(
            T("Re-inspection requested"),
            (*hazard_fields(h, full=False), (T("Rectification note"), r.note), (T("Submitted by"), r.submitted_by)),
            (Option(f"rv:{r.id}:ok", T("Approve, close it")), Option(f"rv:{r.id}:no", T("Reject")), details_option(h)),
        )
    )
    return items


def approved_notice(h: HazardInfo) -> list[Card | Text | Photo]:
    return [Card(T("Rectification approved: hazard closed"), hazard_fields(h, full=False), (details_option(h),))]


def rejected_notice(h: HazardInfo, reason: str) -> list[Card | Text | Photo]:
    return [
        Card(
            T("Rectification rejected: please rectify again"),
            (*hazard_fields(h, full=False), (T("Reason"), reason)),
            (rectify_option(h), details_option(h)),
        )
    ]


REMINDER_TITLES: dict[str, str] = {
    "due-1": N_("Rectification due tomorrow"),
    "due-0": N_("Rectification due today"),
    "overdue": N_("Rectification overdue"),
    "escalation": N_("Overdue hazard: escalated to you"),
}


KIND_TITLE = {"reminder": "due-0", "overdue": "overdue", "escalation": "escalation"}


def reminder_title(milestone_key: str, kind: str) -> Msg:
    return T(REMINDER_TITLES.get(milestone_key) or REMINDER_TITLES[KIND_TITLE[kind]])


def reminder_notice(h: HazardInfo, milestone_key: str, kind: str, to_responsible: bool) -> list[Card | Text | Photo]:
    options = (rectify_option(h), details_option(h)) if to_responsible else (details_option(h),)
    return [Card(reminder_title(milestone_key, kind), hazard_fields(h, full=False), options)]


def reminder_line(h: HazardInfo, milestone_key: str, kind: str) -> Msg:
    return T(
        "{title}: {number} · {project} · due {deadline}",
        title=reminder_title(milestone_key, kind),
        number=h.number,
        project=h.project_name,
        deadline=h.deadline.isoformat(),
    )


def same_day_renotice(h: HazardInfo) -> list[Card | Text | Photo]:
    return [
        Card(
            T("Not yet acknowledged: level-1 same-day report"),
            hazard_fields(h, full=False),
            (acknowledge_option(h), details_option(h)),
        )
    ]


VISIT_TASKS: dict[str, str] = {
    "material": N_("Upload of the visit material"),
    "report": N_("Service report"),
    "revisit": N_("Revisit of the insured"),
    "archive": N_("Records confirmed and archived"),
}


def broadcast_items(
    broadcast_id: int,
    org_name: str,
    text: str,
    needs_ack: bool,
    media: tuple[str, str, str | None] | None = None,
    reminder: bool = False,
) -> list[Item]:
    """What every chat of a broadcast receives: the sender's text under its organisation's name, the photo or
    file if one was attached, and the read-receipt button when one was asked for."""
    head = T("Reminder: please confirm you have read this notice.\n") if reminder else ""
    body = T("{head}【Notice from {org}】\n{text}", head=head, org=org_name, text=text)
    items: list[Item] = []
    if media is not None:
        sha, kind, name = media
        items.append(Photo(sha) if kind == "photo" else Document(sha, name or "file"))
    if needs_ack:
        items.append(Choices(body, (Option(f"bcack:{broadcast_id}", T("Confirm I have read it")),)))
    else:
        items.append(Text(body))
    return items


OVERALL_NAMES = {
    "very": N_("Very satisfied"),
    "satisfied": N_("Satisfied"),
    "neutral": N_("Neutral"),
    "dissatisfied": N_("Dissatisfied"),
}


def overall_label(answer: str) -> Msg:
    """The revisit's overall satisfaction answer, worded."""
    return T(OVERALL_NAMES.get(answer, answer))
