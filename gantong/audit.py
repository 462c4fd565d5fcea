"""The append-only audit trail: each event carries the hash of the one before it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session

from gantong.extensions import db
from gantong.models import AuditEvent, utcnow

GENESIS = "0" * 64
# Any fixed number: the transaction-scoped PostgreSQL lock that serialises appends.
_PG_LOCK_KEY = 0x6A7C0DE


class AppendOnly(Exception):
    """Something tried to change or delete an audit event."""


@orm_event.listens_for(Session, "before_flush")
def _refuse_changes(session, flush_context, instances) -> None:
    # The app only ever appends: an ORM update or delete of an event is a bug or an attack.
    for obj in [*session.dirty, *session.deleted]:
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnly(f"audit event {obj.seq} may not be changed or deleted")


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(event: AuditEvent) -> bytes:
    """Serialise the hashed fields: sorted keys, UTC ISO time, no whitespace."""
    fields = {
        "seq": event.seq,
        "at": _utc_iso(event.at),
        "actor_id": event.actor_id,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def _lock_chain_head() -> None:
    # Two writers must not both read the same head and fork the chain. PostgreSQL: a lock of
    # its own for the chain. SQLite: a FOR UPDATE read takes the database's write lock
    # (gantong/unit_of_work.py), so the head read after it is the newest.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(db.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    else:
        db.session.execute(
            db.select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1).with_for_update()
        )


def append(
    action: str,
    subject_type: str,
    subject_id,
    *,
    actor=None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> AuditEvent:
    """Add an event to the current transaction; it commits (or not) with the change it records."""
    _lock_chain_head()
    head = db.session.scalars(
        db.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    event = AuditEvent(
        seq=(head.seq + 1) if head else 1,
        at=at or utcnow(),
        actor_id=getattr(actor, "id", actor),
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        before=json.dumps(before or {}, sort_keys=True, ensure_ascii=False, default=str),
        after=json.dumps(after or {}, sort_keys=True, ensure_ascii=False, default=str),
        reason=reason or "",
        prev_hash=head.hash if head else GENESIS,
    )
    event.hash = event_hash(event)
    db.session.add(event)
    db.session.flush()
    return event


@dataclass
class ChainCheck:
    ok: bool
    count: int
    head_hash: str
    first_broken: int | None = None
    problem: str = ""


def verify_chain(batch: int = 1000) -> ChainCheck:
    """Walk the whole chain in order; name the first event that does not fit."""
    expected_seq, prev_hash, count = 1, GENESIS, 0
    last_seq = 0
    while True:
        query = (
            db.select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
        )
        page = db.session.scalars(query).all()
        if not page:
            return ChainCheck(True, count, prev_hash)
        for event in page:
            if event.seq != expected_seq:
                return ChainCheck(
                    False,
                    count,
                    prev_hash,
                    event.seq,
                    f"expected event {expected_seq}, found {event.seq} (deleted or reordered)",
                )
            if event.prev_hash != prev_hash:
                return ChainCheck(
                    False, count, prev_hash, event.seq, "does not follow the event before it"
                )
            if event_hash(event) != event.hash:
                return ChainCheck(False, count, prev_hash, event.seq, "its content was changed")
            prev_hash, expected_seq, count = event.hash, expected_seq + 1, count + 1
        last_seq = page[-1].seq
        db.session.expunge_all()


def switch_active(
    target, action_prefix: str, subject_type: str, active: bool, actor, reason: str = ""
) -> None:
    """Take `target` (an account, a point) out of use or back, recorded as "<prefix>.deactivate"
    or "<prefix>.reactivate"; nothing happens if it is so already."""
    if target.active == active:
        return
    target.active = active
    append(
        f"{action_prefix}.reactivate" if active else f"{action_prefix}.deactivate",
        subject_type,
        target.id,
        actor=actor,
        before={"active": not active},
        after={"active": active},
        reason=reason,
    )
    db.session.flush()
