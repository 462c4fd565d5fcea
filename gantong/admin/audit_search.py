"""Reading the audit trail: filtered, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gantong.extensions import db
from gantong.models import AuditEvent, User
from gantong.stats import figures

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""  # an action, or its start: "account." finds every account event
    subject: str = ""  # a subject id, or "type:id" (e.g. user:12)
    actor_id: int | None = None
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    actors: dict[int, User]
    next_before: int | None  # the seq to ask for next (older events), None on the last page


def search(selection: AuditFilter, before: int | None = None, limit: int = PAGE_SIZE) -> AuditPage:
    """Events that match, newest first, older than seq `before` if given."""
    query = db.select(AuditEvent)
    if selection.action:
        query = query.where(AuditEvent.action.startswith(selection.action, autoescape=True))
    if selection.subject:
        subject_type, _, subject_id = selection.subject.rpartition(":")
        query = query.where(AuditEvent.subject_id == subject_id)
        if subject_type:
            query = query.where(AuditEvent.subject_type == subject_type)
    if selection.actor_id is not None:
        query = query.where(AuditEvent.actor_id == selection.actor_id)
    if selection.start:
        query = query.where(
            AuditEvent.at >= figures.day_bounds(selection.start, selection.start)[0]
        )
    if selection.end:
        query = query.where(AuditEvent.at < figures.day_bounds(selection.end, selection.end)[1])
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    events = list(db.session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit + 1)))
    more = len(events) > limit
    events = events[:limit]
    actor_ids = {event.actor_id for event in events if event.actor_id is not None}
    actors = {
        user.id: user for user in db.session.scalars(db.select(User).where(User.id.in_(actor_ids)))
    }
    return AuditPage(events, actors, events[-1].seq if more else None)
