"""Refusals from the services, said in the person's language."""

from __future__ import annotations

from bot.i18n import N_, T
from bot.messages import Msg
from bot.notices.hazards import STATUS_NAMES
from bot.ports import ServiceError

REASONS: dict[str, str] = {
    "access_denied": N_("You do not have permission to do that in this project."),
    "not_found": N_("I could not find that. Check the number and try again."),
    "conflict": N_("This has already been handled; it is now: {status}."),
    "unknown": N_("That invite code is not valid. Check it and send it again."),
    "used": N_("That invite code has already been used. Ask your administrator for a new one."),
    "expired": N_("That invite code has expired. Ask your administrator for a new one."),
    "wrong_kind": N_("That code is for something else (a person or a group chat). Check which code you were given."),
    "already_bound": N_("This chat is already linked to someone or something else."),
    "throttled": N_("Too many wrong codes. Please wait {minutes} minutes, then try again."),
    "bad_category": N_("That category is not in the list. Please pick one of the buttons."),
    "photo_required": N_("At least one photo is needed."),
    "photo_missing": N_("A photo could not be found any more; please send it again."),
    "too_long": N_("That text is too long (at most 1000 characters)."),
    "reason_required": N_("Please give a reason for rejecting."),
    "broadcast_text": N_("The notice needs a text of at most 1500 characters."),
    "broadcast_audience": N_("That audience is not complete. Please start again with /broadcast."),
    "broadcast_empty": N_("No chat can be reached with that choice. Nothing was sent."),
    "broadcast_no_ack": N_("That broadcast did not ask for read receipts."),
    "revisit_incomplete": N_("Some questions are not answered yet. Please press the button again."),
    "complaint_incomplete": N_("The complaint needs a text. Please start again with /complaint."),
    "extension_days": N_("That extension is too long."),
    "risk_incomplete": N_("The risk needs every answer. Please start again with /risk."),
    "stage": N_("A stage name is 1 to 40 characters."),
    "period": N_("That period is not one of the buttons."),
    "export_too_big": N_(
        "That is more than 2000 hazards: ask the operator for it (anzebot report ledger), or pick "
        "one project or a shorter period."
    ),
    "answer_parts": N_("The answer needs all three parts: the request, the facts with their basis, the measures."),
    "sign_in_early": N_("Sign-in opens 30 minutes before the session starts."),
    "sign_in_closed": N_("The session is over; sign-in is closed."),
    "sign_in_code": N_("That code is not right. Check the code shown at the venue and type it again."),
    "sign_in_again": N_("You have already signed in to this session."),
    "training_invalid": N_("That session cannot be created (check the time and the choices). Nothing was sent."),
    "not_today": N_("This visit is scheduled for another day; start it on the day."),
    "report_by_issuing": N_(
        "The service report is done by issuing it: draft it, submit it, and it is done once both sides confirm it."
    ),
}


OTHER_STATES = {
    "confirmed": N_("confirmed"),
    "started": N_("in progress"),
    "closed": N_("closed"),
    "done": N_("done"),
    "draft": N_("waiting for confirmation"),
    "replaced": N_("replaced"),
    "open": N_("open"),
    "answered": N_("answered"),
    "accepted": N_("accepted"),
    "referred": N_("referred to the authority"),
    "checking": N_("being checked"),
    "extended": N_("extended"),
    "received": N_("signed for"),
    "submitted": N_("submitted, waiting for both sides to confirm"),
    "final": N_("confirmed by both sides"),
    "asked": N_("more time asked of the complainant"),
    "agreed": N_("extended with the complainant's agreement"),
    "declined": N_("more time not agreed"),
}


def explain(error: ServiceError) -> Msg:
    key = REASONS.get(error.reason, N_("That did not work. Please try again."))
    if error.reason == "conflict":
        status = error.details.get("status", "")
        return T(key, status=T(STATUS_NAMES[status]) if status in STATUS_NAMES else T(OTHER_STATES.get(status, status)))
    if error.reason == "throttled":
        return T(key, minutes=error.details.get("minutes", 10))
    return T(key)
