"""Transcoding applications (转码): a yellow or red holder asks an officer to clear named hits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from gantong import audit
from gantong.core import rules
from gantong.core.kinds import ApplicationState
from gantong.extensions import db
from gantong.holders import notifications, registry
from gantong.labs import results as lab_results
from gantong.models import Application, Clearance, Holder, User, utcnow
from gantong.review import decisions
from gantong.review.decisions import NotPending, OutOfDistrict, ReasonRequired  # noqa: F401 (callers catch them from here)

GROUNDS = ("isolation_completed", "negative_test", "other")
PENDING, APPROVED, REJECTED, WITHDRAWN = ApplicationState


class ResultNotCitable(Exception):
    """The cited test result is not the holder's recent negative (the rules' window)."""


class HitsUnavailable(Exception):
    """A named hit is not active, cannot be cleared by transcoding, or is pending already."""


@dataclass
class Evidence:
    grounds: str
    test_date: date | None = None
    institution: str = ""
    report_number: str = ""
    isolation_end: date | None = None
    note: str = ""
    # A verified result (a lab's or a certificate's) cited instead of typed test text.
    lab_result_id: int | None = None


def clearable(hit: rules.Hit) -> bool:
    # A case ends only with an official "cleared" record, never with a transcoding.
    return hit.rule != "case"


def pending_keys(holder: Holder) -> set[str]:
    """Return the keys of the holder's hits that a pending application names."""
    rows = db.session.scalars(
        db.select(Application.hit_keys).where(
            Application.holder_id == holder.id, Application.status == PENDING
        )
    )
    return {key for row in rows for key in row.split(",") if key}


def approved_on(holder: Holder) -> dict[str, datetime]:
    """Return the keys of the holder's hits an approved application named, with its decision time.

    Such a hit can still be active (a close contact ends 14 days after the contact, and only
    then with the approval): it needs no second application.
    """
    rows = db.session.execute(
        db.select(Application.hit_keys, Application.decided_at).where(
            Application.holder_id == holder.id, Application.status == APPROVED
        )
    )
    return {key: decided_at for keys, decided_at in rows for key in keys.split(",") if key}


def open_hits(holder: Holder, now: datetime | None = None) -> list[rules.Hit]:
    """Return the active hits the holder may apply to clear now (none pending or approved)."""
    waiting = {*pending_keys(holder), *approved_on(holder)}
    return [
        hit
        for hit in registry.colour_of(holder, now).hits
        if clearable(hit) and hit.key not in waiting
    ]


def apply(
    holder: Holder,
    hit_keys: list[str],
    evidence: Evidence,
    applicant: User | None,
    now: datetime | None = None,
) -> Application:
    """File an application to clear the named hits; raise HitsUnavailable if one can't be named."""
    moment = now or utcnow()
    registry.lock(holder)
    wanted = list(dict.fromkeys(hit_keys))
    available = {hit.key for hit in open_hits(holder, moment)}
    if not wanted or not set(wanted) <= available:
        raise HitsUnavailable(sorted(set(wanted) - available))
    if evidence.lab_result_id is not None:
        hits = {hit.key: hit for hit in open_hits(holder, moment)}
        began = max(rules.day_start(hits[key].since) for key in wanted)
        citable = {row.id for row in lab_results.citable(holder, moment, after=began)}
        if evidence.lab_result_id not in citable:
            raise ResultNotCitable()
    application = Application(
        holder_id=holder.id,
        applicant_id=applicant.id if applicant else None,
        hit_keys=",".join(wanted),
        grounds=evidence.grounds,
        test_date=evidence.test_date,
        institution=evidence.institution,
        report_number=evidence.report_number,
        isolation_end=evidence.isolation_end,
        note=evidence.note,
        lab_result_id=evidence.lab_result_id,
        status=PENDING,
        created_at=moment,
    )
    return decisions.file_pending(application, "application", applicant, moment)


def withdraw(application: Application, user: User, now: datetime | None = None) -> None:
    """Withdraw a pending application (the applicant's account only; the view checks it)."""
    decisions.withdraw(application, "application", user, now or utcnow())


def decide(
    application: Application, officer: User, approve: bool, reason: str, now: datetime | None = None
) -> Application:
    """Approve (clearing the named hits) or reject, with a reason; the colour is recomputed."""
    moment = now or utcnow()
    reason = decisions.required_reason(reason)
    holder = application.holder
    decisions.check_officer(officer, holder)
    decisions.lock_pending(application)
    status = APPROVED if approve else REJECTED
    decisions.record_decision(application, officer, status, reason, moment)
    if approve:
        for key in application.hit_keys.split(","):
            db.session.add(
                Clearance(
                    holder_id=holder.id,
                    hit_key=key,
                    source=f"application:{application.id}",
                    officer_id=officer.id,
                    at=moment,
                )
            )
    audit.append(
        "application.approve" if approve else "application.reject",
        "application",
        application.id,
        actor=officer,
        before={"status": PENDING},
        after={"status": status},
        reason=reason,
        at=moment,
    )
    notifications.notify(
        holder,
        notifications.APPLICATION_DECIDED,
        at=moment,
        number=application.id,
        status=status,
        reason=reason,
    )
    db.session.flush()
    registry.store_colour(holder, moment, actor=officer, reason=reason)
    db.session.flush()
    return application


def for_holder(holder: Holder) -> list[Application]:
    """Return the holder's applications, newest first."""
    query = (
        db.select(Application)
        .where(Application.holder_id == holder.id)
        .order_by(Application.id.desc())
    )
    return list(db.session.scalars(query))
