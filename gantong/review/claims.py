"""My Claim (我的申诉): a holder says a fact behind their code is wrong, and an officer decides.

An accepted claim never edits the wrong fact: it adds the correction (a new declaration, or an
official "cleared" record) and a clearance of the hit, and the colour is recomputed.
"""

from __future__ import annotations

from datetime import datetime

from gantong import audit
from gantong.core import rules
from gantong.core.kinds import ClaimState
from gantong.extensions import db
from gantong.holders import notifications, registry
from gantong.models import Claim, Clearance, Declaration, Holder, OfficialRecord, User, utcnow
from gantong.review import decisions
from gantong.review.decisions import NotPending, OutOfDistrict, ReasonRequired  # noqa: F401 (callers catch them from here)

PENDING, ACCEPTED, REJECTED, WITHDRAWN = ClaimState


class FactUnavailable(Exception):
    """The named fact is not behind the code now, or a pending claim names it already."""


class BasisRequired(Exception):
    """Correcting an official record needs a legal basis."""


def hit_source(hit_key: str) -> str:
    """Return where a hit came from: "decl", "official", "fever", or "" for no named hit."""
    parts = hit_key.split(":")
    return parts[1] if len(parts) > 2 else ""


def pending_keys(holder: Holder) -> set[str]:
    rows = db.session.scalars(
        db.select(Claim.hit_key).where(Claim.holder_id == holder.id, Claim.status == PENDING)
    )
    return {key for key in rows if key}


def open_hits(holder: Holder, now: datetime | None = None) -> list[rules.Hit]:
    """Return the active hits the holder may claim are wrong now (none under a pending claim)."""
    waiting = pending_keys(holder)
    return [hit for hit in registry.colour_of(holder, now).hits if hit.key not in waiting]


def file(
    holder: Holder,
    hit_key: str,
    wrong_fact: str,
    correct_fact: str,
    explanation: str,
    applicant: User | None,
    now: datetime | None = None,
) -> Claim:
    """File a claim about one fact ("" for something else); the holder has acknowledged the warning."""
    moment = now or utcnow()
    registry.lock(holder)
    if hit_key and hit_key not in {hit.key for hit in open_hits(holder, moment)}:
        raise FactUnavailable(hit_key)
    claim = Claim(
        holder_id=holder.id,
        applicant_id=applicant.id if applicant else None,
        hit_key=hit_key,
        wrong_fact=wrong_fact,
        correct_fact=correct_fact,
        explanation=explanation,
        acknowledged=True,
        status=PENDING,
        created_at=moment,
    )
    return decisions.file_pending(claim, "claim", applicant, moment)


def withdraw(claim: Claim, user: User, now: datetime | None = None) -> None:
    """Withdraw a pending claim (the applicant's account only; the view checks it)."""
    decisions.withdraw(claim, "claim", user, now or utcnow())


def decide(
    claim: Claim,
    officer: User,
    accept: bool,
    reason: str,
    basis: str = "",
    now: datetime | None = None,
) -> Claim:
    """Accept (writing the correction) or reject, with a reason; the colour is recomputed."""
    moment = now or utcnow()
    reason, basis = decisions.required_reason(reason), (basis or "").strip()
    if accept and hit_source(claim.hit_key) == "official" and not basis:
        raise BasisRequired()
    holder = claim.holder
    decisions.check_officer(officer, holder)
    decisions.lock_pending(claim)
    status = ACCEPTED if accept else REJECTED
    decisions.record_decision(claim, officer, status, reason, moment)
    if accept:
        claim.correction = _write_correction(claim, holder, officer, reason, basis, moment)
    audit.append(
        "claim.accept" if accept else "claim.reject",
        "claim",
        claim.id,
        actor=officer,
        before={"status": PENDING},
        after={"status": status, "correction": claim.correction},
        reason=reason,
        at=moment,
    )
    notifications.notify(
        holder,
        notifications.CLAIM_DECIDED,
        at=moment,
        number=claim.id,
        status=status,
        reason=reason,
    )
    db.session.flush()
    registry.store_colour(holder, moment, actor=officer, reason=reason)
    db.session.flush()
    return claim


def _write_correction(
    claim: Claim, holder: Holder, officer: User, reason: str, basis: str, moment: datetime
) -> str:
    source = hit_source(claim.hit_key)
    if source == "official":
        # "Cleared" ends the wrong case status; it can only lower a colour, so one officer may.
        record = OfficialRecord(
            holder_id=holder.id,
            status="cleared",
            basis=basis,
            department=officer.department or "",
            recorded_by=officer.id,
            recorded_at=moment,
            state="in_force",
            decided_at=moment,
            decision_reason=reason,
        )
        db.session.add(record)
        db.session.flush()
        audit.append(
            "official.record",
            "official_record",
            record.id,
            actor=officer,
            after={"state": "in_force", "holder_id": holder.id, "claim_id": claim.id},
            reason=basis,
            at=moment,
        )
        return f"official:{record.id}"
    correction = ""
    if source == "decl":
        # The corrected fact as the officer takes it down: a declaration without the wrong part.
        declaration = Declaration(
            holder=holder,
            author_id=officer.id,
            made_at=moment,
            symptoms="",
            close_contact=False,
            acknowledged=True,
        )
        db.session.add(declaration)
        db.session.flush()
        correction = f"declaration:{declaration.id}"
    if source:
        clearance = Clearance(
            holder_id=holder.id,
            hit_key=claim.hit_key,
            source=f"claim:{claim.id}",
            officer_id=officer.id,
            at=moment,
        )
        db.session.add(clearance)
        db.session.flush()
        correction = correction or f"clearance:{clearance.id}"
    return correction


def for_holder(holder: Holder) -> list[Claim]:
    """Return the holder's claims, newest first."""
    query = db.select(Claim).where(Claim.holder_id == holder.id).order_by(Claim.id.desc())
    return list(db.session.scalars(query))
