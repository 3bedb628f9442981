"""Training sessions and drills: the invitation and the two reminders, each with the sign-in button."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n import N_, T
from bot.messages import Button, Card, Msg
from bot.ports import TrainingInfo

SIGN_IN = Button("trs")  # trs:<session>
RECORD = Button("trp")  # trp:<session> (the organiser's photos and evaluation)

KIND_NAMES = {
    "citywide": N_("City-wide training"),
    "custom": N_("Project training"),
    "prestart": N_("Pre-start briefing"),
    "seasonal": N_("Seasonal training"),
    "drill": N_("Emergency drill"),
}


def _card(t: TrainingInfo, tz: ZoneInfo, title: Msg) -> Card:
    start, end = t.starts_at.astimezone(tz), t.ends_at.astimezone(tz)
    return Card(
        title,
        (
            (T("Topic"), t.topic),
            (T("Kind"), T(KIND_NAMES[t.kind])),
            (T("Time"), f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"),
            (T("Place"), t.place),
        ),
        (SIGN_IN.option(T("Sign in (code at the venue)"), t.id),),
    )


def invitation(t: TrainingInfo, tz: ZoneInfo) -> Card:
    return _card(t, tz, T("Invitation: {kind}", kind=T(KIND_NAMES[t.kind])))


def reminder(t: TrainingInfo, tz: ZoneInfo, which: str) -> Card:
    """`which`: "day" (the day before) or "2h" (two hours before)."""
    title = T("Tomorrow: {topic}", topic=t.topic) if which == "day" else T("In two hours: {topic}", topic=t.topic)
    return _card(t, tz, title)
