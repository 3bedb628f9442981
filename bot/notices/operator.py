"""What the operator hears (ANZEBOT_OPERATOR_CHAT): what waiting will not fix, or what must be known at once."""

from __future__ import annotations

from bot.i18n import T
from bot.messages import Msg


def circuit_opened(channel: str, error: str) -> Msg:
    return T(
        "[anzebot] {channel} keeps failing ({error}): sending is paused and tried again every 30 s; nothing is "
        "given up while it lasts.",
        channel=channel,
        error=error,
    )


def circuit_closed(channel: str, minutes: int) -> Msg:
    return T(
        "[anzebot] {channel} answers again after {minutes} min; the queued messages are going out.",
        channel=channel,
        minutes=minutes,
    )


def update_failed(channel: str, update: str, error: str) -> Msg:
    return T(
        "[anzebot] An incoming {channel} update ({update}) could not be processed: {error}. It is kept; retry it "
        "with: anzebot inbox --retry",
        channel=channel,
        update=update,
        error=error,
    )


def urgent_stuck(person: str, channel: str, minutes: int, other: int) -> Msg:
    return T(
        "[anzebot] A level-1 notice to {person} on {channel} is not delivered after {minutes} min; it was sent to "
        "their {n} other accounts too.",
        person=person,
        channel=channel,
        minutes=minutes,
        n=other,
    )


def expired(channel: str, count: int, hours: int) -> Msg:
    return T(
        "[anzebot] {n} messages on {channel} could not be delivered within {hours} h and were given up.",
        n=count,
        channel=channel,
        hours=hours,
    )


def photo_missing(sha: str) -> Msg:
    return T("[anzebot] A stored photo is missing from the media folder: {sha}. It was sent without it.", sha=sha)


def audit_broken(event: int, reason: str) -> Msg:
    return T(
        "[anzebot] The daily audit check failed at event {event}: {reason}. Run anzebot archive verify.",
        event=event,
        reason=reason,
    )
