"""What applications, claims and official records share: the officer's district check, the
required reason, locking a pending item for a decision, withdrawing, and their exceptions."""

from __future__ import annotations

from datetime import datetime

from gantong import audit
from gantong.core.kinds import ApplicationState
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Holder, User

# Applications and claims share these two states.
PENDING, WITHDRAWN = ApplicationState.PENDING, ApplicationState.WITHDRAWN


class NotPending(Exception):
    """The item was decided or withdrawn already."""


class ReasonRequired(Exception):
    """A decision needs the officer's reason."""


class OutOfDistrict(Exception):
    """The officer is not of the holder's district."""


def required_reason(reason: str | None) -> str:
    """Return the reason stripped.

    :raise ReasonRequired: if it is empty.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    return reason


def check_officer(officer: User, holder: Holder) -> None:
    """:raise OutOfDistrict: unless `officer` is an officer of the holder's district."""
    if (
        officer.role != "officer"
        or not officer.district_code
        or officer.district_code != holder.district_code
    ):
        raise OutOfDistrict()


def lock_pending(item, state_attribute: str = "status") -> None:
    """Lock the item's holder and re-read the item, so that two decisions cannot both pass.

    :raise NotPending: if it was decided or withdrawn meanwhile.
    """
    registry.lock(item.holder)
    db.session.refresh(item)
    if getattr(item, state_attribute) != PENDING:
        raise NotPending()


def record_decision(item, officer: User, status: str, reason: str, moment: datetime) -> None:
    """Write an officer's decision on a pending application or claim: the new status, who, when, why."""
    item.status = status
    item.decided_by = officer.id
    item.decided_at = moment
    item.decision_reason = reason


def file_pending(item, kind: str, applicant: User | None, moment: datetime):
    """Store a new pending application or claim, with its audit event."""
    db.session.add(item)
    db.session.flush()
    audit.append(
        f"{kind}.create",
        kind,
        item.id,
        actor=applicant,
        after={"status": PENDING, "holder_id": item.holder_id},
        at=moment,
    )
    db.session.flush()
    return item


def withdraw(item, kind: str, user: User, moment: datetime) -> None:
    """Withdraw a pending application or claim (the applicant's account only; the view checks it)."""
    lock_pending(item)
    item.status = WITHDRAWN
    item.decided_at = moment
    audit.append(
        f"{kind}.withdraw",
        kind,
        item.id,
        actor=user,
        before={"status": PENDING},
        after={"status": WITHDRAWN},
        at=moment,
    )
    db.session.flush()
