"""Checkpoint verification: read a code, open a verification record, take the submitted record."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from gantong import audit
from gantong.codes import paper, trust_list
from gantong.core import credentials, rules, tokens
from gantong.core.kinds import Decision
from gantong.entry import preentry
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import (
    Device,
    FeverFinding,
    Holder,
    HolderCredential,
    InformationPoint,
    SigningKey,
    TrustedIssuer,
    User,
    VerificationRecord,
    utcnow,
)

DECISIONS = tuple(Decision)
# A record may wait in a browser this long (a day's shift offline) before it is refused.
REFERENCE_MAX_AGE = 48 * 3600


class Refused(Exception):
    """The code could not be verified; `reason` says why (each has its own screen)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class InvalidReference(Exception):
    """The record's verification reference is missing, forged, or too old."""


class Conflict(Exception):
    """The record id was stored already with a different body."""


@dataclass
class RecordBody:
    temperature: float | None  # None at a verify-only point (gantong/checkpoint/gate.py)
    decision: str  # as chosen; empty when the volunteer chose none (see `decided`)
    note: str = ""
    latitude: float | None = None
    longitude: float | None = None
    accuracy: float | None = None
    # The volunteer ticked "pass despite the colour": a pass for a yellow or red code needs it.
    override: bool = False

    def decided(self, colour: str | None) -> RecordBody:
        """Return the body with its decision settled for a code of `colour`, and `override`
        true only for a pass that overrides a yellow or red colour (rules.record_decision).

        Raises rules.PassNeedsOverride for a pass of a yellow or red code without the override.
        """
        decision, overrides = rules.record_decision(
            self.decision, self.temperature, colour, self.override
        )
        return dataclasses.replace(self, decision=decision.value, override=overrides)

    def canonical(self) -> dict:
        """The fields a record's digest covers; without `override` when it is false, so the
        digests of records stored before it existed stay the same."""
        fields = dict(self.__dict__)
        if not fields["override"]:
            del fields["override"]
        return fields

    def digest(self) -> str:
        canonical = json.dumps(
            self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Known:
    """What a batch of scans names, read beforehand in one statement (scan_records): it answers
    for every name the batch's codes carry, so nothing missing from it exists.

    Rows, not ORM objects: keys (kid, public_key, retired_at, signs_from, created_at), holders
    (id, code_id, colour, colour_at), paper codes (serial, kid, revoked_at, holder_id).
    """

    keys: dict[str, object]
    holders_by_code: dict[str, object]
    holders_by_id: dict[int, object]
    removed_devices: dict[
        str, datetime | None
    ]  # a presentation's credential id: its device's removal
    papers: dict[str, object]


@lru_cache(maxsize=64)
def _public_key(public_bytes: bytes):
    # Parsed once per process and key, not once per scan.
    return tokens.public_key_from_bytes(public_bytes)


def _own_key(kid: str, known: Known | None):
    if known is not None:
        return known.keys.get(kid)
    return db.session.get(SigningKey, kid)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="verification-reference")


def _seconds(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def read_token(
    text: str, now: datetime, known: Known | None = None
) -> tuple[tokens.Token, TrustedIssuer | None]:
    """Verify a scanned token, ours or a trusted issuer's; raise Refused with the reason.

    Returns the token and its issuer (None for our own codes). `known`: our keys read already.
    """
    try:
        claimed = tokens.decode(text)
    except tokens.TokenError as error:
        raise Refused(error.reason) from error
    own_key = _own_key(claimed.kid, known)
    issuer = None if own_key is not None else trust_list.by_kid(claimed.kid)
    if own_key is not None:
        public = _public_key(bytes(own_key.public_key))
    elif issuer is not None:
        public = trust_list.public_key(issuer)
    else:
        raise Refused("unknown_key")
    try:
        token = tokens.verify(text, {claimed.kid: public}, int(now.timestamp()))
    except tokens.TokenError as error:
        raise Refused(error.reason) from error
    # Checked after the signature, so only a genuine code learns that its key is no longer trusted.
    if own_key is not None and own_key.retired_at is not None:
        raise Refused("key_retired")
    if own_key is not None and tokens.issued_before_its_key(
        token, _seconds(own_key.signs_from), _seconds(own_key.created_at)
    ):
        raise Refused("key_not_yet_signing")
    if issuer is not None:
        issuer_state = trust_list.state(issuer, now)
        if issuer_state != trust_list.TRUSTED:
            raise Refused(f"issuer_{issuer_state}")
        if token.type == tokens.PAPER:
            # It carries no colour, and we hold no record of the partner's holders to look one up.
            raise Refused("partner_paper")
        if token.issued_at - int(now.timestamp()) > tokens.PARTNER_CLOCK_SKEW:
            raise Refused("not_yet_valid")
        # Whatever TTL the partner wrote, its screenshot is no pass for longer than the cap.
        if int(now.timestamp()) >= token.issued_at + current_app.config["PARTNER_MAX_TTL"]:
            raise Refused("over_partner_cap")
    return token, issuer


def holder_for_presentation(
    text: str, now: datetime, known: Known | None = None
) -> tuple[Holder, tokens.Token]:
    """Verify a phone's presentation (docs/token-format.md, 8.7 and 8.8); raise Refused.

    Returns the holder and the presentation seen as a screen token (the credential's colour,
    stamped when the phone made it, living max_presentation_age), so every record, stale-colour
    flag and answer treats it as it treats a screen code.
    """
    at = int(now.timestamp())
    try:
        presentation = credentials.decode(text)
    except credentials.CredentialError as error:
        raise Refused(error.reason) from error
    credential = presentation.credential
    own_key = _own_key(credential.kid, known)
    if own_key is None:
        raise Refused("unknown_key")
    try:
        credentials.verify_credential(
            presentation.credential_bytes, _public_key(bytes(own_key.public_key))
        )
    except credentials.CredentialError as error:
        raise Refused(error.reason) from error
    if own_key.retired_at is not None and at >= int(own_key.retired_at.timestamp()):
        raise Refused("key_retired")
    start = _seconds(own_key.signs_from) or _seconds(own_key.created_at)
    if start is not None and credential.valid_from < start - tokens.MAX_CLOCK_SKEW:
        raise Refused("key_not_yet_signing")
    if not credentials.device_signature_ok(presentation):
        raise Refused("bad_device_signature")
    max_age = int(current_app.config["MAX_PRESENTATION_AGE"])
    try:
        credentials.check_time(presentation, at, tokens.MAX_CLOCK_SKEW, max_age)
    except credentials.CredentialError as error:
        raise Refused(error.reason) from error
    if known is not None:
        removed = known.removed_devices.get(presentation.credential_id)
        holder = known.holders_by_code.get(credential.code_id)
    else:
        removed = db.session.scalar(
            db.select(Device.removed_at)
            .join(HolderCredential, HolderCredential.device_id == Device.id)
            .where(HolderCredential.id == presentation.credential_id)
        )
        holder = db.session.scalar(db.select(Holder).where(Holder.code_id == credential.code_id))
    if removed is not None and removed <= now:
        raise Refused("revoked")
    if holder is None:
        raise Refused("unknown_holder")
    token = tokens.Token(
        type=tokens.SCREEN,
        kid=credential.kid,
        subject=credential.code_id,
        colour=credential.colour,
        issued_at=presentation.presented_at,
        ttl=max_age,
        masked_name=credential.masked_name,
        doc_tail=credential.doc_tail,
    )
    return holder, token


def holder_for_token(
    text: str, now: datetime, known: Known | None = None
) -> tuple[Holder | None, tokens.Token]:
    """Verify a scanned token or a phone's presentation and return its holder; raise Refused
    with the reason.

    The holder is None for a trusted partner's code: we hold no record of their holders.
    `known`: what a batch's codes name, read beforehand in one statement; the holder is then
    its row (id, code_id, colour, colour_at), not the ORM object.
    """
    if credentials.is_presentation(text):
        return holder_for_presentation(text, now, known)
    token, issuer = read_token(text, now, known)
    if issuer is not None:
        return None, token
    if token.type == tokens.PAPER:
        if known is not None:
            paper_code = known.papers.get(token.subject)
            holder = known.holders_by_id.get(paper_code.holder_id) if paper_code else None
        else:
            paper_code = paper.by_serial(token.subject)
            holder = paper_code.holder if paper_code else None
        if paper_code is None or paper_code.kid != token.kid:
            raise Refused("paper_unknown")
        if paper_code.revoked_at is not None:
            raise Refused("paper_revoked")
        return holder, token
    if known is not None:
        holder = known.holders_by_code.get(token.subject)
    else:
        holder = db.session.scalar(db.select(Holder).where(Holder.code_id == token.subject))
    if holder is None:
        raise Refused("unknown_holder")
    return holder, token


def holder_for_number(number: str, now: datetime) -> Holder:
    digits = "".join(ch for ch in number if ch in "0123456789")
    if len(digits) != 8:
        raise Refused("number_format")
    found = registry.holders_by_number(digits, now)
    if len(found) != 1:
        # Two codes showing one number in the same minute is rare: ask for the QR instead.
        raise Refused("number_unknown" if not found else "number_ambiguous")
    return found[0]


def holder_for_document(doc_number: str, name: str, staff: User, point: InformationPoint) -> Holder:
    """Find a holder by document number and name together, for people without a code.

    Every lookup is audited, found or not: the lane must not become a way to look people up.
    """
    number = "".join(doc_number.split()).upper()
    query = db.select(Holder).where(Holder.doc_number == number, Holder.name == name.strip())
    holder = db.session.scalars(query).first()
    audit.append(
        "checkpoint.no_code_lookup",
        "point",
        point.id,
        actor=staff,
        after={"found": holder is not None, "holder_id": holder.id if holder else None},
    )
    if holder is None:
        raise Refused("no_match")
    if not registry.has_code(holder):
        # Registered but not declared yet: there is no colour to show.
        raise Refused("no_code")
    return holder


def read_photo(data: bytes) -> str:
    """Decode a QR from an uploaded photo (the no-JavaScript photo fallback)."""
    import zxingcpp
    from PIL import Image, ImageOps

    try:
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    except Exception as error:
        raise Refused("photo_unreadable") from error
    # A 12 MP photo decodes badly at full size; try a few downscaled copies.
    for side in (None, 1024, 800, 640):
        candidate = image.copy()
        if side:
            candidate.thumbnail((side, side))
        results = zxingcpp.read_barcodes(candidate.convert("L"))
        if results:
            return results[0].text
    raise Refused("photo_no_code")


def open_record(
    holder: Holder | None,
    point: InformationPoint,
    staff: User | None,
    method: str,
    token: tokens.Token | None,
    now: datetime,
) -> tuple[VerificationRecord, rules.Result]:
    """Open a verification record; the colour comes from the database, refreshed now.

    A trusted partner's code (holder None) keeps the colour its token carries: the record names
    the issuer and the partner's code id instead of a holder.
    """
    record = VerificationRecord(
        record_id=str(uuid.uuid4()),
        point_id=point.id,
        staff_id=staff.id if staff else None,
        method=method,
        verified_at=now,
        token_colour=token.colour if token else None,
    )
    if holder is None:
        issuer = trust_list.by_kid(token.kid) if token else None
        if issuer is None:
            raise ValueError("a record without a holder needs a partner's token")
        result = rules.Result(colour=token.colour, hits=())
        record.issuer_id, record.partner_code_id = issuer.id, token.subject
    else:
        # The first verification in the province is a pre-entry holder's actual arrival, and
        # the colour is decided on the holder's row read under its lock.
        registry.lock(holder)
        preentry.note_checkpoint_arrival(holder, now, actor=staff)
        result = registry.store_colour(holder, now)
        record.holder_id = holder.id
        if token is not None and token.type == tokens.PAPER:
            record.paper_serial = token.subject
    record.colour = result.colour
    db.session.add(record)
    db.session.flush()
    return record, result


def reference_for(record: VerificationRecord) -> str:
    """A signed reference that lets this record be submitted later, even offline."""
    return _serializer().dumps({"r": record.record_id, "p": record.point_id, "s": record.staff_id})


def read_reference(reference: str, record_id: str) -> dict:
    try:
        data = _serializer().loads(reference, max_age=REFERENCE_MAX_AGE)
    except (BadSignature, SignatureExpired) as error:
        raise InvalidReference() from error
    if not isinstance(data, dict) or data.get("r") != record_id:
        raise InvalidReference()
    return data


def _still_allowed(record: VerificationRecord, data: dict) -> bool:
    """Whether the point and the volunteer that opened the record may still submit it.

    A reference outlives a session (it waits in an offline browser), so a point switched off
    or an account deactivated since must not be able to use the references it got before.
    """
    if record.point_id != data.get("p") or record.staff_id != data.get("s"):
        return False
    if record.point is None or not record.point.active:
        return False
    if record.staff_id is not None:
        staff = db.session.get(User, record.staff_id)
        if staff is None or not staff.active or staff.role != "staff":
            return False
    return True


def submit_record(
    reference: str, record_id: str, body: RecordBody, now: datetime | None = None
) -> tuple[VerificationRecord, bool]:
    """Store the record once; a repeat returns it, a different body raises Conflict.

    The decision is settled for the colour the record page showed (RecordBody.decided): a pass
    for a yellow or red code without the override raises rules.PassNeedsOverride.
    """
    data = read_reference(reference, record_id)
    moment = now or utcnow()
    # The row locked first (on SQLite the write lock), so two submissions of one id can't both
    # see it empty.
    query = (
        db.select(VerificationRecord)
        .where(VerificationRecord.record_id == record_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    record = db.session.scalars(query).one_or_none()
    if record is None or not _still_allowed(record, data):
        raise InvalidReference()
    body = body.decided(record.colour)
    digest = body.digest()
    if record.body_hash is not None:
        if record.body_hash != digest:
            raise Conflict()
        return record, False
    point = record.point
    fill_record(record, body, (point.latitude, point.longitude), moment, digest)
    if record.is_fever and record.holder_id:
        registry.lock(record.holder)  # before the finding that refers to it
        record_fever(record, record.holder, point.name, moment)
    db.session.flush()
    return record, True


def record_fever(
    record: VerificationRecord,
    holder: Holder,
    point_name: str,
    moment: datetime,
    at: datetime | None = None,
) -> None:
    """Keep a fever found at a checkpoint as a finding of its own (it outlives the record's
    retention) and store the colour it gives. The caller holds the holder's lock, taken before
    the record was written: on PostgreSQL a row that refers to the holder takes a key-share lock
    on it, and upgrading that lock later can deadlock with a code page waiting for the same row.

    `at` dates the finding when it is not the record's time (a late scan record's arrival).
    """
    db.session.add(
        FeverFinding(
            holder_id=holder.id,
            record_id=record.record_id,
            point_name=point_name,
            temperature=record.temperature,
            at=at or record.verified_at,
        )
    )
    db.session.flush()
    registry.store_colour(holder, moment)


def fill_record(
    record: VerificationRecord,
    body: RecordBody,
    point_position: tuple[float | None, float | None],
    moment: datetime,
    digest: str,
) -> None:
    """Write the volunteer's part, its decision settled (RecordBody.decided), into an opened
    record (the page's form, or a queued scan record).

    Without a GPS fix the record takes the point's position, `point_position` (latitude, longitude).
    """
    record.temperature, record.decision, record.note = body.temperature, body.decision, body.note
    record.pass_override = body.override
    record.recorded_at = moment
    record.body_hash = digest
    if body.latitude is not None and body.longitude is not None:
        record.latitude, record.longitude, record.accuracy = (
            body.latitude,
            body.longitude,
            body.accuracy,
        )
        record.position_source = "gps"
    else:
        record.latitude, record.longitude = point_position
        record.position_source = "point"


def can_void(record: VerificationRecord, user: User) -> bool:
    if record.voided_at is not None or record.recorded_at is None:
        return False
    if user.role == "staff":
        return record.staff_id == user.id
    if user.role == "officer":
        districts = {
            record.point.district_code,
            record.holder.district_code if record.holder else None,
        }
        return user.district_code in districts
    return False


def void_record(
    record: VerificationRecord, user: User, reason: str, now: datetime | None = None
) -> None:
    """Void a mistaken record (audited); a voided fever withdraws its hit."""
    moment = now or utcnow()
    finding = db.session.scalar(
        db.select(FeverFinding).where(FeverFinding.record_id == record.record_id)
    )
    withdraws_a_fever = finding is not None and finding.voided_at is None
    if withdraws_a_fever:
        # The holder first, the audit trail's lock after, in the order every colour change takes them.
        registry.lock(record.holder)
    record.voided_at = moment
    record.voided_by = user.id
    record.void_reason = reason
    audit.append(
        "checkpoint.void",
        "verification_record",
        record.record_id,
        actor=user,
        before={"voided": False},
        after={"voided": True},
        reason=reason,
        at=moment,
    )
    if withdraws_a_fever:
        finding.voided_at = moment
        db.session.flush()
        registry.store_colour(record.holder, moment, actor=user)
    db.session.flush()


def checks_for_holder(holder: Holder, limit: int = 50) -> list[VerificationRecord]:
    """Where the holder's code was checked: newest first (no volunteer identities)."""
    query = (
        db.select(VerificationRecord)
        .where(VerificationRecord.holder_id == holder.id)
        .order_by(VerificationRecord.verified_at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def count_today(point: InformationPoint, now: datetime) -> int:
    """Return how many records the point made since midnight in Shanghai."""
    query = (
        db.select(db.func.count())
        .select_from(VerificationRecord)
        .where(
            VerificationRecord.point_id == point.id,
            VerificationRecord.verified_at >= rules.day_start(rules.local_date(now)),
        )
    )
    return db.session.scalar(query)


def latest_records(point: InformationPoint, limit: int = 10) -> list[VerificationRecord]:
    """Return the point's newest records, newest first."""
    query = (
        db.select(VerificationRecord)
        .where(VerificationRecord.point_id == point.id)
        .order_by(VerificationRecord.verified_at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def record_by_id(record_id: str) -> VerificationRecord | None:
    """Return the record with this client-made id, if it has arrived."""
    return db.session.scalar(
        db.select(VerificationRecord).where(VerificationRecord.record_id == record_id)
    )
