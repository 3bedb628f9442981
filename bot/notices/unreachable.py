"""What the project's admins hear when a chat can no longer be reached (the bot was removed or blocked)."""

from __future__ import annotations

from bot.i18n import T
from bot.messages import Text


def group_unreachable(title: str, project: str) -> Text:
    return Text(
        T(
            "I can no longer post in the group chat “{title}” of {project} (removed or blocked). Add me "
            "back and send /bind with a new group code.",
            title=title,
            project=project,
        )
    )


def person_blocked(name: str, channel: str) -> Text:
    return Text(
        T(
            "{name} has blocked me on {channel}; notices to them are not delivered there. Please reach "
            "them another way.",
            name=name,
            channel=channel,
        )
    )
