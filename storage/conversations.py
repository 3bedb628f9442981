"""Conversation state per (channel, chat, user) with a version column: a restart resumes a half-finished flow,
and two instances writing the same conversation at once conflict instead of overwriting each other."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation


async def load(session: AsyncSession, channel: str, chat_id: str, user_id: str) -> Conversation:
    row = await session.get(Conversation, (channel, chat_id, user_id))
    if row is None:
        row = Conversation(channel=channel, chat_id=chat_id, user_id=user_id, flow=None, data={})
        session.add(row)
    return row


def save(row: Conversation, flow: str | None, data: dict[str, Any], now: dt.datetime) -> None:
    if row.flow != flow or row.data != data:
        row.flow = flow
        row.data = dict(data)  # a new object so the JSON column is seen as changed
        row.updated_at = now
