"""Pre-entry registration: overseas returnees, foreigners and people from Hubei, before arrival.

Quarantine counts from the planned arrival date until the actual arrival is known (the first
verification at a checkpoint in the province, or an officer's confirmation), then from the actual
date. The registration writes the facts the colour rules already know, so that every page,
the recompute job and the checkpoint agree:

- overseas categories: a declaration with entry_date = the planned arrival and the entry port;
  the overseas rule then counts from Facts.arrival_date once the actual arrival is known;
- Hubei: a declared stay in the origin ending on the planned arrival (people leave Hubei the day
  they arrive here); the key-area rule counts from its end, which becomes the actual arrival once
  known. It is yellow only while the origin is a key area, which administrators decide.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime

from gantong import audit
from gantong.codes import intl_trust
from gantong.core import date_windows, intl_certs, rules
from gantong.extensions import db
from gantong.holders import registry
from gantong.labs import results
from gantong.models import (
    Declaration,
    ForeignCertificate,
    Holder,
    PreEntry,
    Stay,
    User,
    utcnow,
)
from gantong.web.paging import Page, page_of

OVERSEAS_RETURNEE, FOREIGNER, HUBEI = "overseas_returnee", "foreigner", "hubei"
CATEGORIES = (OVERSEAS_RETURNEE, FOREIGNER, HUBEI)
OVERSEAS = frozenset({OVERSEAS_RETURNEE, FOREIGNER})
HUBEI_CODE = "42"
# How far ahead one may register (the window is in the pure core, beside the rules).
MAX_DAYS_AHEAD = date_windows.MAX_DAYS_AHEAD
ARRIVALS_PAGE = 50


@dataclass
class Trip:
    category: str
    planned_arrival: date
    destination_district: str
    contact_phone: str
    origin_country: str | None = None
    origin_division: str | None = None
    entry_port: str = ""
    transport_number: str = ""


def register(
    account: User | None, person: registry.Identity, trip: Trip, now: datetime | None = None
) -> PreEntry:
    """Create the holder, the pre-entry and the facts that start the quarantine count, at once.

    The destination district is the holder's district until they have a residence.
    Raises registry.DocumentTaken (nothing written) if the document is registered already.
    """
    if trip.category not in CATEGORIES:
        raise ValueError(f"unknown pre-entry category {trip.category!r}")
    moment = now or utcnow()
    person = replace(person, district_code=trip.destination_district)
    has_self = account is not None and any(holder.is_self for holder in account.holders)
    holder = registry.add_holder(account, person, is_self=account is not None and not has_self)
    pre_entry = PreEntry(
        holder_id=holder.id,
        category=trip.category,
        origin_country=trip.origin_country if trip.category in OVERSEAS else None,
        origin_division=trip.origin_division if trip.category == HUBEI else None,
        entry_port=trip.entry_port,
        transport_number=trip.transport_number,
        planned_arrival=trip.planned_arrival,
        destination_district=trip.destination_district,
        contact_phone=trip.contact_phone,
        created_at=moment,
    )
    db.session.add(pre_entry)
    declaration = Declaration(
        holder=holder,
        author_id=account.id if account else None,
        made_at=moment,
        symptoms="",
        close_contact=False,
        acknowledged=True,
    )
    if trip.category in OVERSEAS:
        declaration.entry_date = trip.planned_arrival
        declaration.entry_port = trip.entry_port or None
    else:
        left_from = min(rules.local_date(moment), trip.planned_arrival)
        declaration.stays = [
            Stay(place_code=trip.origin_division, start=left_from, end=trip.planned_arrival)
        ]
    db.session.add(declaration)
    db.session.flush()
    audit.append(
        "preentry.register",
        "holder",
        holder.id,
        actor=account,
        at=moment,
        after={
            "category": trip.category,
            "planned_arrival": trip.planned_arrival,
            "destination_district": trip.destination_district,
        },
    )
    registry.store_colour(holder, moment, actor=account)
    db.session.flush()
    return pre_entry


def note_checkpoint_arrival(holder: Holder, now: datetime, actor: User | None = None) -> bool:
    """At a holder's first verification in the province, record it as the actual arrival.

    Part of the caller's transaction (no commit); return whether an arrival was recorded.
    """
    pre_entry = registry.pre_entry_of(holder)
    if pre_entry is None or pre_entry.actual_arrival is not None:
        return False
    pre_entry.actual_arrival = rules.local_date(now)
    pre_entry.arrival_source = "checkpoint"
    pre_entry.arrival_noted_at = now
    audit.append(
        "preentry.arrival",
        "holder",
        holder.id,
        actor=actor,
        at=now,
        before={"actual_arrival": None},
        after={"actual_arrival": pre_entry.actual_arrival, "source": "checkpoint"},
    )
    db.session.flush()
    return True


def confirm_arrival(
    pre_entry: PreEntry, arrival: date, officer: User, now: datetime | None = None
) -> None:
    """An officer confirms (or corrects) the actual arrival date; the colour follows (audited).

    Raises ValueError (nothing written) for a day outside date_windows.arrival.
    """
    moment = now or utcnow()
    window = date_windows.arrival(
        pre_entry.planned_arrival, rules.local_date(pre_entry.created_at), rules.local_date(moment)
    )
    refusal = window.refusal(arrival)
    if refusal is not None:
        # The form refuses it with a message; a caller that skipped the form gets no clamping.
        raise ValueError(
            f"arrival {arrival} refused: {refusal} ({window.earliest}..{window.latest})"
        )
    registry.lock(pre_entry.holder)
    db.session.refresh(pre_entry)
    before = {"actual_arrival": pre_entry.actual_arrival, "source": pre_entry.arrival_source}
    pre_entry.actual_arrival = arrival
    pre_entry.arrival_source = "officer"
    pre_entry.arrival_confirmed_by = officer.id
    pre_entry.arrival_noted_at = moment
    audit.append(
        "preentry.arrival",
        "holder",
        pre_entry.holder_id,
        actor=officer,
        at=moment,
        before=before,
        after={"actual_arrival": arrival, "source": "officer"},
    )
    db.session.flush()
    registry.store_colour(pre_entry.holder, moment, actor=officer)
    db.session.flush()


def arrivals(district_code: str, arrived: bool | None = None, page: int = 1) -> Page:
    """Return one page of the district's pre-entry registrations.

    Expected arrivals come soonest first; arrived ones latest first.
    """
    query = (
        db.select(PreEntry)
        .join(Holder, Holder.id == PreEntry.holder_id)
        .where(PreEntry.destination_district == district_code)
    )
    if arrived is None:
        query = query.order_by(PreEntry.planned_arrival.desc(), PreEntry.id.desc())
    elif arrived:
        query = query.where(PreEntry.actual_arrival.is_not(None)).order_by(
            PreEntry.actual_arrival.desc(), PreEntry.id.desc()
        )
    else:
        query = query.where(PreEntry.actual_arrival.is_(None)).order_by(
            PreEntry.planned_arrival, PreEntry.id
        )
    return page_of(query, page, ARRIVALS_PAGE)


def people_without_phone(district_code: str, limit: int = 200) -> list[Holder]:
    """Return the district's holders without an account (paper codes only), newest first."""
    query = (
        db.select(Holder)
        .where(Holder.account_id.is_(None), Holder.district_code == district_code)
        .order_by(Holder.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


# ---- international certificates attached at pre-entry ---------------------------------------


class CertificateRefused(ValueError):
    """A certificate that cannot be attached: `reason` is "unreadable" or "bad_signature"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_certificate(text: str, now: datetime | None = None) -> intl_certs.Verification:
    """Verify a pasted or scanned certificate against the trust lists, before it is attached.

    Raises CertificateRefused for one that cannot be read, or whose signature does not match
    (altered or forged). Any other outcome (issuer not trusted, expired, revoked) is attached
    with it, for the officer to see.
    """
    try:
        verification = intl_trust.verify_text(text.strip(), now or utcnow())
    except intl_certs.CertificateError as error:
        raise CertificateRefused("unreadable") from error
    if verification.status == "bad_signature":
        raise CertificateRefused("bad_signature")
    return verification


def attach_certificate(
    pre_entry: PreEntry,
    text: str,
    verification: intl_certs.Verification,
    actor: User | None,
    now: datetime | None = None,
) -> ForeignCertificate:
    """Keep a checked certificate with the registration, as its verification found it."""
    cert = verification.certificate
    details = dict(cert.details) | {"_issuer": cert.issuer}
    row = ForeignCertificate(
        pre_entry_id=pre_entry.id,
        text=text.strip(),
        format=cert.format,
        kind=cert.kind,
        status=verification.status,
        signer=verification.signer[:200],
        name=cert.name[:200],
        birth_date=cert.birth_date[:20],
        issued_at=cert.issued_at,
        expires_at=cert.expires_at,
        details=json.dumps(details, ensure_ascii=False, default=str),
        verified_at=now or utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    if verification.negative_test():
        _keep_as_verified_result(pre_entry, text, verification, actor, now)
    audit.append(
        "preentry.certificate",
        "holder",
        pre_entry.holder_id,
        actor=actor,
        after={"format": row.format, "kind": row.kind, "status": row.status, "signer": row.signer},
    )
    return row


# The DCC's test types (gantong.core.intl_certs) as lab results name them.
RESULT_TEST_TYPES = {"naat": "pcr", "antigen": "antigen"}


def _when(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return moment if moment.tzinfo else None


def _keep_as_verified_result(pre_entry, text, verification, actor, now) -> None:
    """A verified negative test counts as a verified result for the rules: kept as one, its
    source the certificate. (A SMART Health Card names no test type we can map: not kept.)"""
    cert = verification.certificate
    test_type = RESULT_TEST_TYPES.get(cert.details.get("test_type", ""))
    sampled_at = _when(cert.details.get("sampled_at", ""))
    if test_type is None or sampled_at is None:
        return
    sample_id = cert.details.get("certificate_id") or hashlib.sha256(text.encode()).hexdigest()
    results.record_certificate_result(
        pre_entry.holder,
        issuer_name=verification.signer,
        issuer_key_id=cert.key_id,
        certificate_id=sample_id,
        test_type=test_type,
        outcome="negative",
        sampled_at=sampled_at,
        resulted_at=cert.issued_at or sampled_at,
        now=now,
    )


def certificates_for(pre_entry_ids: list[int]) -> dict[int, list[ForeignCertificate]]:
    """The certificates attached to each of these registrations, newest first."""
    found: dict[int, list[ForeignCertificate]] = {}
    if not pre_entry_ids:
        return found
    query = (
        db.select(ForeignCertificate)
        .where(ForeignCertificate.pre_entry_id.in_(pre_entry_ids))
        .order_by(ForeignCertificate.verified_at.desc(), ForeignCertificate.id.desc())
    )
    for row in db.session.scalars(query):
        found.setdefault(row.pre_entry_id, []).append(row)
    return found
