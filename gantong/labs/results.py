"""Labs, their API tokens, and the test results they post (docs/openapi.yaml, lab-results).

A batch is read result by result (gantong/core/lab_results.py): a bad one is refused with its
reason, the rest kept. A result is stored once per (lab, sample id): posted again, it is
reported as stored already. Each is matched to a holder by document, as holders' documents
are stored (type, issuing country for passports, number); one for a person not registered yet
waits (LAB_UNMATCHED_DAYS) and is matched when they register, pre-entry included.

A positive result never turns a code red by itself: it opens a pending official record
("confirmed", the lab as its source) that an officer of the holder's district puts in force,
as every record that would turn a code red needs two parties (docs/colour-rules.md).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from gantong import audit
from gantong.core import divisions, lab_results, rules
from gantong.core.kinds import OfficialRecordState
from gantong.extensions import db
from gantong.models import (
    Holder,
    Lab,
    LabApiToken,
    LabResult,
    OfficialRecord,
    User,
    utcnow,
)

TOKEN_PREFIX = "gtl_"
# Rows per IN (...) list: far below SQLite's 32,766 bound variables, few round trips.
CHUNK = 500


class TooMany(ValueError):
    """The batch has more results than LAB_BATCH_LIMIT."""


def origin_of(lab: Lab) -> str:
    return f"lab:{lab.id}"


def add_lab(
    name: str, district_code: str, public_key: bytes | None = None, actor: User | None = None
) -> Lab:
    """Add a lab (its accounts are asked for through the two-administrator rule)."""
    lab = Lab(name=name, district_code=district_code, public_key=public_key, active=True)
    db.session.add(lab)
    db.session.flush()
    audit.append(
        "lab.create",
        "lab",
        lab.id,
        actor=actor,
        after={"name": name, "district_code": district_code, "signs": public_key is not None},
    )
    return lab


def active_labs() -> list[Lab]:
    return list(db.session.scalars(db.select(Lab).where(Lab.active).order_by(Lab.name)))


def all_labs() -> list[Lab]:
    return list(db.session.scalars(db.select(Lab).order_by(Lab.id)))


def lab_accounts(lab: Lab) -> list[User]:
    query = db.select(User).where(User.role == "lab", User.lab_id == lab.id).order_by(User.id)
    return list(db.session.scalars(query))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token(account: User, label: str = "") -> str:
    """Make a token for the lab account's lab; return it (shown once): only its hash is kept."""
    if account.role != "lab" or account.lab_id is None:
        raise ValueError("only a lab account makes a lab API token")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = LabApiToken(
        lab_id=account.lab_id, account_id=account.id, token_hash=_hash(token), label=label
    )
    db.session.add(row)
    db.session.flush()
    audit.append(
        "lab.api_token.create", "lab", account.lab_id, actor=account, after={"token_id": row.id}
    )
    return token


def revoke_api_token(row: LabApiToken, actor: User) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.append(
            "lab.api_token.revoke", "lab", row.lab_id, actor=actor, after={"token_id": row.id}
        )
        db.session.flush()


def api_tokens(lab: Lab) -> list[LabApiToken]:
    query = db.select(LabApiToken).where(LabApiToken.lab_id == lab.id)
    return list(db.session.scalars(query.order_by(LabApiToken.id.desc())))


def caller_for_token(token: str) -> tuple[Lab, User] | None:
    """Return the active lab and the active lab account behind a live token, or None."""
    row = db.session.execute(
        db.select(Lab, User)
        .join(LabApiToken, LabApiToken.lab_id == Lab.id)
        .join(User, User.id == LabApiToken.account_id)
        .where(
            LabApiToken.token_hash == _hash(token),
            LabApiToken.revoked_at.is_(None),
            Lab.active,
            User.active,
            User.lab_id == Lab.id,
        )
    ).first()
    return (row[0], row[1]) if row else None


@dataclass
class BatchOutcome:
    """What a batch did: results stored now, stored before, refused (each with its reason)."""

    stored: list[dict] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)
    matched: int = 0
    positives: int = 0


def _chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _document(result) -> tuple[str, str, str]:
    return (result.doc_type, result.doc_country, result.doc_number)


def _holders_by_document(documents: set[tuple[str, str, str]]) -> dict[tuple, int]:
    # Each column IN its own list (the unique index on the three serves it on both databases)
    # and the exact triples kept here: a row-value IN of hundreds of tuples cost more to bind
    # than the search itself.
    found: dict[tuple, int] = {}
    for chunk in _chunks(sorted(documents), CHUNK * 2):
        rows = db.session.execute(
            db.select(Holder.id, Holder.doc_type, Holder.doc_country, Holder.doc_number).where(
                Holder.doc_type.in_({document[0] for document in chunk}),
                Holder.doc_country.in_({document[1] for document in chunk}),
                Holder.doc_number.in_([document[2] for document in chunk]),
            )
        )
        wanted = set(chunk)
        for holder_id, *document in rows:
            if tuple(document) in wanted:
                found[tuple(document)] = holder_id
    return found


def _stored_sample_ids(origin: str, sample_ids: list[str]) -> set[str]:
    stored: set[str] = set()
    for chunk in _chunks(sample_ids):
        stored.update(
            db.session.scalars(
                db.select(LabResult.sample_id).where(
                    LabResult.origin == origin, LabResult.sample_id.in_(chunk)
                )
            )
        )
    return stored


def post_batch(lab: Lab, account: User, items: list, now: datetime | None = None) -> BatchOutcome:
    """Store a lab's batch of results: each good one once, each bad one refused with its reason.

    :raise TooMany: if the batch is longer than LAB_BATCH_LIMIT (nothing is stored).
    """
    moment = now or utcnow()
    if len(items) > current_app.config["LAB_BATCH_LIMIT"]:
        raise TooMany()
    outcome = BatchOutcome()
    provinces = divisions.province_codes()
    read: list[tuple[int, lab_results.PostedResult]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        sample_id = item.get("sample_id") if isinstance(item, dict) else None
        try:
            result = lab_results.read_result(item, moment, provinces, lab.public_key)
            if result.sample_id in seen:
                raise lab_results.Refused("duplicate_in_batch", "sample_id")
        except lab_results.Refused as refusal:
            outcome.refused.append(
                {
                    "index": index,
                    "sample_id": sample_id if isinstance(sample_id, str) else None,
                    "reason": refusal.reason,
                    "field": refusal.field or None,
                    "message": refusal.message,
                }
            )
            continue
        seen.add(result.sample_id)
        read.append((index, result))
    origin = origin_of(lab)
    stored_before = _stored_sample_ids(origin, [result.sample_id for _i, result in read])
    fresh = [(index, result) for index, result in read if result.sample_id not in stored_before]
    outcome.already = sorted(stored_before)
    holders = _holders_by_document({_document(result) for _i, result in fresh})
    rows = [
        {
            "source": lab_results.ResultSource.LAB.value,
            "origin": origin,
            "lab_id": lab.id,
            "issuer_name": lab.name,
            "sample_id": result.sample_id,
            "doc_type": result.doc_type,
            "doc_country": result.doc_country,
            "doc_number": result.doc_number,
            "test_type": result.test_type.value,
            "result": result.result.value,
            "sampled_at": result.sampled_at,
            "resulted_at": result.resulted_at,
            "received_at": moment,
            "signed": result.signed,
            "holder_id": holders.get(_document(result)),
            "matched_at": moment if _document(result) in holders else None,
        }
        for _index, result in fresh
    ]
    kept = _insert(rows)
    outcome.stored = [
        {"index": index, "sample_id": result.sample_id, "matched": _document(result) in holders}
        for index, result in fresh
        if result.sample_id in kept
    ]
    # A concurrent post of the same sample stored it first: it is stored, once.
    outcome.already += sorted({row["sample_id"] for row in rows} - kept)
    outcome.matched = sum(1 for row in rows if row["holder_id"] and row["sample_id"] in kept)
    positives = [
        row
        for row in rows
        if row["result"] == rules.POSITIVE and row["holder_id"] and row["sample_id"] in kept
    ]
    if positives:
        stored = db.session.scalars(
            db.select(LabResult).where(
                LabResult.origin == origin,
                LabResult.sample_id.in_([row["sample_id"] for row in positives]),
            )
        )
        for lab_result in stored:
            _open_positive_record(lab_result, account, moment)
            outcome.positives += 1
    if outcome.stored:
        # Health data arrived: the trail says how much, from whom (never whose results).
        audit.append(
            "lab.results_post",
            "lab",
            lab.id,
            actor=account,
            after={
                "stored": len(outcome.stored),
                "already": len(outcome.already),
                "refused": len(outcome.refused),
            },
            at=moment,
        )
    db.session.flush()
    return outcome


def _insert(rows: list[dict]) -> set[str]:
    """Insert the rows in a few statements; return the sample ids stored (a row another request
    stored meanwhile is skipped, one row at a time, only when the bulk insert collides)."""
    if not rows:
        return set()
    try:
        with db.session.begin_nested():
            for chunk in _chunks(rows):
                db.session.execute(insert(LabResult), chunk)
        return {row["sample_id"] for row in rows}
    except IntegrityError:
        kept = set()
        for row in rows:
            try:
                with db.session.begin_nested():
                    db.session.execute(insert(LabResult), [row])
                kept.add(row["sample_id"])
            except IntegrityError:
                continue
        return kept


def _open_positive_record(lab_result: LabResult, account: User, moment: datetime) -> None:
    """A positive for a known holder: a pending official record an officer puts in force."""
    exists = db.session.scalar(
        db.select(OfficialRecord.id).where(OfficialRecord.lab_result_id == lab_result.id)
    )
    if exists is not None:
        return
    entry = OfficialRecord(
        holder_id=lab_result.holder_id,
        status="confirmed",
        basis=f"{lab_result.issuer_name} {lab_result.sample_id}"[:100],
        department=lab_result.issuer_name,
        recorded_by=account.id,
        recorded_at=moment,
        state=OfficialRecordState.PENDING,
        lab_result_id=lab_result.id,
    )
    db.session.add(entry)
    db.session.flush()
    audit.append(
        "official.record",
        "official_record",
        entry.id,
        actor=account,
        after={
            "state": entry.state,
            "holder_id": lab_result.holder_id,
            "lab_result": lab_result.id,
        },
        reason=entry.basis,
        at=moment,
    )


def record_certificate_result(
    holder: Holder,
    issuer_name: str,
    issuer_key_id: str,
    certificate_id: str,
    test_type: str,
    outcome: str,
    sampled_at: datetime,
    resulted_at: datetime | None = None,
    now: datetime | None = None,
) -> LabResult:
    """Keep a verified certificate's test (an EU DCC or SMART Health Card test entry whose
    signature verified) as a verified result of the holder's; return it (stored once).

    The certificate side calls this after verification: `issuer_key_id` is the signer's key id
    (DCC `kid`, SHC `iss` + `kid`), `certificate_id` the certificate's own id (DCC `ci`, or a
    hash of the SHC payload); together they identify the result, so attaching the same
    certificate again stores nothing new. A positive here is kept but opens no record: a
    certificate is evidence, and an officer records a case from it in the usual way.
    """
    moment = now or utcnow()
    test_type = lab_results.TestType(test_type).value
    outcome = lab_results.Outcome(outcome).value
    origin = f"cert:{issuer_key_id}"[:40]
    sample_id = certificate_id[: lab_results.SAMPLE_ID_MAX]
    existing = db.session.scalar(
        db.select(LabResult).where(LabResult.origin == origin, LabResult.sample_id == sample_id)
    )
    if existing is not None:
        return existing
    row = {
        "source": lab_results.ResultSource.CERTIFICATE.value,
        "origin": origin,
        "lab_id": None,
        "issuer_name": issuer_name[:100],
        "sample_id": sample_id,
        "doc_type": holder.doc_type,
        "doc_country": holder.doc_country,
        "doc_number": holder.doc_number,
        "test_type": test_type,
        "result": outcome,
        "sampled_at": sampled_at,
        "resulted_at": resulted_at or sampled_at,
        "received_at": moment,
        "signed": True,
        "holder_id": holder.id,
        "matched_at": moment,
    }
    _insert([row])
    return db.session.scalar(
        db.select(LabResult).where(LabResult.origin == origin, LabResult.sample_id == sample_id)
    )


def match_new_holder(holder: Holder, now: datetime | None = None) -> int:
    """Give a newly registered holder the results waiting for their document; return how many.

    A waiting positive opens its pending official record, in the name of the account that made
    the token its lab posted it with (the first party).
    """
    moment = now or utcnow()
    waiting = list(
        db.session.scalars(
            db.select(LabResult).where(
                LabResult.holder_id.is_(None),
                LabResult.doc_type == holder.doc_type,
                LabResult.doc_country == holder.doc_country,
                LabResult.doc_number == holder.doc_number,
            )
        )
    )
    for lab_result in waiting:
        lab_result.holder_id = holder.id
        lab_result.matched_at = moment
    db.session.flush()
    for lab_result in waiting:
        if lab_result.result == rules.POSITIVE and lab_result.lab_id is not None:
            poster = _poster_of(lab_result)
            if poster is not None:
                _open_positive_record(lab_result, poster, moment)
    return len(waiting)


def _poster_of(lab_result: LabResult) -> User | None:
    query = (
        db.select(User)
        .join(LabApiToken, LabApiToken.account_id == User.id)
        .where(LabApiToken.lab_id == lab_result.lab_id)
        .order_by(LabApiToken.id)
        .limit(1)
    )
    return db.session.scalar(query)


def for_holder(holder: Holder, limit: int | None = None) -> list[LabResult]:
    """The holder's verified results, the latest sample first."""
    query = (
        db.select(LabResult)
        .where(LabResult.holder_id == holder.id)
        .order_by(LabResult.sampled_at.desc(), LabResult.id.desc())
    )
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def citable(holder: Holder, now: datetime, after: datetime | None = None) -> list[LabResult]:
    """The holder's negatives that may back a transcoding application now (the rules decide)."""
    rows = for_holder(holder)
    facts = [
        rules.TestResult(
            id=row.id,
            source=row.source,
            issuer=row.issuer_name,
            test_type=row.test_type,
            result=row.result,
            sampled_at=row.sampled_at,
            signed=row.signed,
        )
        for row in rows
    ]
    chosen = {result.id for result in rules.citable_results(facts, now, policy(), after)}
    return [row for row in rows if row.id in chosen]


def for_lab(lab: Lab, limit: int = 50) -> list[LabResult]:
    """A lab's latest results, newest received first (its own account's page)."""
    query = (
        db.select(LabResult)
        .where(LabResult.lab_id == lab.id)
        .order_by(LabResult.received_at.desc(), LabResult.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def policy() -> rules.Policy:
    """The province's rules for test results, from the deployment's settings."""
    config = current_app.config
    return rules.Policy(
        citable_hours=config["LAB_CITABLE_HOURS"],
        release_test_hours=config["LAB_RELEASE_TEST_HOURS"],
    )


def unmatched_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=current_app.config["LAB_UNMATCHED_DAYS"])
