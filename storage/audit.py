"""The append-only, hash-chained audit log, and its verification (`anzebot archive verify`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def event_hash(
    event_id: int,
    at: dt.datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    data: str,
    prev_hash: str,
) -> str:
    stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    material = "\x1f".join([str(event_id), stamp, str(actor_id or ""), action, object_type, object_id, data, prev_hash])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _of_this_transaction(session: Session, name: str, make: Callable[[], Any]) -> Any:
    """A value kept for the session's current transaction only (a new transaction, or a rollback, starts over)."""
    transaction = session.get_transaction()
    cached = session.info.get(name)
    if cached is None or cached[0] is not transaction:
        cached = session.info[name] = (transaction, make())
    return cached[1]


async def _head(session: AsyncSession) -> AuditHead:
    """The chain's head, read (and on PostgreSQL locked) once per transaction: a sweep appending hundreds of
    events reads it once, not once per event."""
    holder: list[AuditHead] = _of_this_transaction(session.sync_session, "audit_head", list)
    if not holder:
        found = (
            await session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update())
        ).scalar_one_or_none()
        if found is None:
            found = AuditHead(id=1, last_id=0, last_hash=GENESIS)
            session.add(found)
        holder.append(found)
    return holder[0]


@event.listens_for(Session, "before_flush")
def _write_pending(session: Session, _context: Any, _instances: Any) -> None:
    """Events appended since the last flush go in first, as plain rows in one statement (an ORM object per event
    cost more than everything else a sweep does). A flush always comes: appending moves the head, and the head
    is an ORM row, so neither a query that needs the events nor the commit can miss them."""
    rows: list[dict[str, Any]] = _of_this_transaction(session, "audit_pending", list)
    if rows:
        session.connection().execute(insert(AuditEvent), rows)
        rows.clear()


async def append(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str | int,
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Append one event in the caller's transaction (written with the transaction's next flush, in order).
    Locking the head row serialises writers on PostgreSQL; SQLite transactions are already serial (BEGIN
    IMMEDIATE)."""
    head = await _head(session)
    at = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    # Microseconds survive every backend; the stored value must hash the same when read back.
    payload = canonical(data or {})
    event_id = head.last_id + 1
    digest = event_hash(event_id, at, actor_id, action, object_type, str(object_id), payload, head.last_hash)
    pending: list[dict[str, Any]] = _of_this_transaction(session.sync_session, "audit_pending", list)
    pending.append(
        {
            "id": event_id,
            "at": at,
            "actor_id": actor_id,
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id),
            "data": payload,
            "prev_hash": head.last_hash,
            "hash": digest,
        }
    )
    head.last_id = event_id
    head.last_hash = digest


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    reason: str | None = None
    event: str = ""  # the bad event's action, object and time, where the row is there to say them


def _describe(ev: AuditEvent) -> str:
    return f"{ev.action} on {ev.object_type} {ev.object_id} at {ev.at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


async def verify(session: AsyncSession, batch: int = 5000) -> VerifyResult:
    prev = GENESIS
    expected_id = 1
    checked = 0
    last_id = 0
    while True:
        rows = (
            (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            break
        for ev in rows:
            if ev.id != expected_id:
                return VerifyResult(False, checked, expected_id, "missing row")
            if ev.prev_hash != prev:
                return VerifyResult(False, checked, ev.id, "previous hash does not match", _describe(ev))
            digest = event_hash(
                ev.id, ev.at, ev.actor_id, ev.action, ev.object_type, ev.object_id, ev.data, ev.prev_hash
            )
            if digest != ev.hash:
                return VerifyResult(False, checked, ev.id, "content does not match its hash", _describe(ev))
            prev = ev.hash
            expected_id += 1
            checked += 1
            last_id = ev.id
        session.expunge_all()
    head = (await session.execute(select(AuditHead).where(AuditHead.id == 1))).scalar_one_or_none()
    if head is not None and (head.last_id != checked or head.last_hash != prev):
        return VerifyResult(
            False,
            checked,
            checked + 1 if head.last_id > checked else head.last_id,
            "chain is shorter than its recorded head",
        )
    return VerifyResult(True, checked)


def data_of(event: AuditEvent) -> dict[str, Any]:
    value = json.loads(event.data)
    return value if isinstance(value, dict) else {}
