"""Official case records: what an officer records, with its legal basis, about a holder.

A record that would turn a code red (confirmed, suspected, close contact) stays pending until a
second, different officer of the holder's district approves it; nobody approves their own. A
"cleared" record can only lower a colour and is in force at once.
"""

from __future__ import annotations

from datetime import date, datetime

from gantong import audit
from gantong.core import date_windows, rules
from gantong.core.kinds import OfficialRecordState
from gantong.extensions import db
from gantong.holders import notifications, registry
from gantong.models import Holder, OfficialRecord, User, utcnow
from gantong.review import decisions
from gantong.review.decisions import NotPending, OutOfDistrict, ReasonRequired  # noqa: F401 (callers catch them from here)

STATUSES = rules.OFFICIAL_STATUSES
NEEDS_SECOND_OFFICER = frozenset({"confirmed", "suspected", "close_contact"})
PENDING, IN_FORCE, REJECTED = OfficialRecordState


class SelfApproval(Exception):
    """The officer who recorded a record may not approve it."""


class InvalidRecord(Exception):
    """The status or basis is missing or unknown, or the contact date missing or outside the
    rules' look-back (date_windows.recent)."""


def record(
    holder: Holder,
    officer: User,
    status: str,
    basis: str,
    contact_date: date | None = None,
    now: datetime | None = None,
) -> OfficialRecord:
    """Record a case status; pending if it needs a second officer, else in force at once."""
    moment = now or utcnow()
    basis = (basis or "").strip()
    if (
        status not in STATUSES
        or not basis
        or len(basis) > 100
        or (
            status == "close_contact"
            and (
                contact_date is None
                or contact_date not in date_windows.recent(rules.local_date(moment))
            )
        )
    ):
        raise InvalidRecord()
    decisions.check_officer(officer, holder)
    registry.lock(holder)
    state = PENDING if status in NEEDS_SECOND_OFFICER else IN_FORCE
    entry = OfficialRecord(
        holder_id=holder.id,
        status=status,
        basis=basis,
        contact_date=contact_date if status == "close_contact" else None,
        department=officer.department or "",
        recorded_by=officer.id,
        recorded_at=moment,
        state=state,
        decided_at=moment if state == IN_FORCE else None,
    )
    db.session.add(entry)
    db.session.flush()
    # Subject ids only: the status itself is health data and stays out of the trail.
    audit.append(
        "official.record",
        "official_record",
        entry.id,
        actor=officer,
        after={"state": state, "holder_id": holder.id},
        reason=basis,
        at=moment,
    )
    if state == IN_FORCE:
        _came_into_force(entry, holder, officer, moment)
    db.session.flush()
    return entry


def approve(
    entry: OfficialRecord, officer: User, reason: str, now: datetime | None = None
) -> OfficialRecord:
    """Put a pending record in force: a second officer of the district, never its author."""
    return _decide(entry, officer, True, reason, now)


def reject(
    entry: OfficialRecord, officer: User, reason: str, now: datetime | None = None
) -> OfficialRecord:
    """Reject a pending record; its author may too (withdrawing a mistake)."""
    return _decide(entry, officer, False, reason, now)


def _decide(
    entry: OfficialRecord, officer: User, approve: bool, reason: str, now: datetime | None
) -> OfficialRecord:
    moment = now or utcnow()
    reason = decisions.required_reason(reason)
    holder = entry.holder
    decisions.check_officer(officer, holder)
    if approve and officer.id == entry.recorded_by:
        raise SelfApproval()
    decisions.lock_pending(entry, "state")
    entry.state = IN_FORCE if approve else REJECTED
    entry.approved_by = officer.id if approve else None
    entry.decided_at = moment
    entry.decision_reason = reason
    audit.append(
        "official.approve" if approve else "official.reject",
        "official_record",
        entry.id,
        actor=officer,
        before={"state": PENDING},
        after={"state": entry.state},
        reason=reason,
        at=moment,
    )
    if approve:
        _came_into_force(entry, holder, officer, moment)
    db.session.flush()
    return entry


def _came_into_force(
    entry: OfficialRecord, holder: Holder, officer: User, moment: datetime
) -> None:
    notifications.notify(
        holder,
        notifications.OFFICIAL_RECORD,
        at=moment,
        status=entry.status,
        basis=entry.basis,
        department=officer.department or "",
        badge=officer.badge_number or "",
    )
    db.session.flush()
    registry.store_colour(holder, moment, actor=officer, reason=entry.basis)


def for_holder(holder: Holder) -> list[OfficialRecord]:
    """Return the holder's official records, newest first."""
    query = (
        db.select(OfficialRecord)
        .where(OfficialRecord.holder_id == holder.id)
        .order_by(OfficialRecord.id.desc())
    )
    return list(db.session.scalars(query))


def officers_among(user_ids) -> dict[int, User]:
    """Return the officer (and lab) accounts among these ids, to name who recorded or decided
    what: a lab's positive is recorded in its lab account's name."""
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return {}
    query = db.select(User).where(User.id.in_(wanted), User.role.in_(("officer", "lab")))
    return {user.id: user for user in db.session.scalars(query)}
