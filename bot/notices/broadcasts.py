"""通知群发: what every chat of a broadcast receives, and its read-receipt button."""

from __future__ import annotations

from bot.i18n import T
from bot.messages import Button, Choices, Document, Item, Photo, Text

ACKNOWLEDGE = Button("bcack")  # bcack:<broadcast>


def broadcast_items(
    broadcast_id: int,
    org_name: str,
    text: str,
    needs_ack: bool,
    media: tuple[str, str, str | None] | None = None,
    reminder: bool = False,
) -> list[Item]:
    """The sender's text under its organisation's name, the photo or file if one was attached, and the
    read-receipt button when one was asked for."""
    head = T("Reminder: please confirm you have read this notice.\n") if reminder else ""
    body = T("{head}【Notice from {org}】\n{text}", head=head, org=org_name, text=text)
    items: list[Item] = []
    if media is not None:
        sha, kind, name = media
        items.append(Photo(sha) if kind == "photo" else Document(sha, name or "file"))
    if needs_ack:
        items.append(Choices(body, (ACKNOWLEDGE.option(T("Confirm I have read it"), broadcast_id),)))
    else:
        items.append(Text(body))
    return items
