"""The scan page's records, sent at once or queued offline: re-verified and stored once.

The scan page checks a code itself (static/js/verifier.js, with the verifier bundle) and
queues one record per person carrying the token text and the colour it showed. Here the
server verifies the signature again, stores the record once by its id, and flags it when the
colour shown was better than the holder's stored colour at the moment of the scan.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gantong.checkpoint import verification
from gantong.codes import paper, trust_list
from gantong.core import rules, tokens
from gantong.core.kinds import CheckMethod, Colour, Decision
from gantong.entry import preentry
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import (
    ColourChange,
    Holder,
    InformationPoint,
    SigningKey,
    User,
    VerificationRecord,
    utcnow,
)


@dataclass
class ScanRecord:
    record_id: str
    token: str
    scanned_at: int  # Unix seconds, the phone's time of the read
    shown_colour: str | None  # the colour the page showed (a paper code's from the bundle)
    offline: bool
    body: verification.RecordBody = field(
        default_factory=lambda: verification.RecordBody(0.0, Decision.PASS)
    )

    def colour_seen(self) -> str | None:
        """The colour the volunteer decided on: a screen code's own (its signature is verified
        before anything is stored), else the colour the page showed (a paper code's)."""
        try:
            token = tokens.decode(self.token)
        except tokens.TokenError:
            return self.shown_colour  # refused later, by the verification
        return token.colour if token.type == tokens.SCREEN else self.shown_colour

    def digest(self) -> str:
        canonical = json.dumps(
            {
                "token": self.token.strip(),
                "scanned_at": self.scanned_at,
                "shown": self.shown_colour,
                "body": self.body.canonical(),
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Stored:
    """What the scan page is told about a record, read before the commit (nothing to load after)."""

    record_id: str
    created: bool
    colour: str | None  # the holder's colour now, after this record (a partner code's own colour)
    token_colour: str | None
    stale_colour: bool
    fever: bool
    late: bool = False  # arrived more than LATE_AFTER after its scan time
    revoked_paper: bool = False  # a paper code scanned before its loss was reported


class TooOld(Exception):
    """The scan time is too far in the past or the future to be taken."""


# The phone's scan time is its own claim. A record whose scan time is more than this before its
# arrival is flagged late (officers see it) and its colour is checked at the arrival too; a
# partner's code is taken only while arriving within its cap plus this much (a genuine offline
# queue empties when the phone is back in reach, within minutes).
OFFLINE_GRACE = 15 * 60
LATE_AFTER = OFFLINE_GRACE


def oldest_scan(moment: datetime) -> datetime:
    """The earliest scan time taken at `moment`: no phone verifies offline with a bundle older
    than BUNDLE_REFUSE_SECONDS (its refuse_after), so no genuine queued scan is older either."""
    return moment - timedelta(seconds=int(current_app.config["BUNDLE_REFUSE_SECONDS"]))


def valid_record_id(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except (ValueError, TypeError, AttributeError):
        return False


def colour_at(holder: Holder, moment: datetime) -> str:
    """Return the holder's stored colour at ``moment``, from the colour history."""
    last = db.session.scalars(
        db.select(ColourChange)
        .where(ColourChange.holder_id == holder.id, ColourChange.at <= moment)
        .order_by(ColourChange.at.desc(), ColourChange.id.desc())
        .limit(1)
    ).first()
    if last is not None:
        return last.after
    first_after = db.session.scalars(
        db.select(ColourChange)
        .where(ColourChange.holder_id == holder.id, ColourChange.at > moment)
        .order_by(ColourChange.at, ColourChange.id)
        .limit(1)
    ).first()
    if first_after is not None and first_after.before:
        return first_after.before
    return holder.colour


def is_worse(colour: str | None, than: str | None) -> bool:
    """Whether `colour` is worse than `than`; False when either is not a colour (None, a typo)."""
    try:
        return Colour(colour).rank > Colour(than).rank
    except ValueError:
        return False


def submit(
    scan: ScanRecord, point: InformationPoint, staff: User, now: datetime | None = None
) -> Stored:
    """Re-verify the token as of the scan and store the record once.

    Raises verification.Refused (nothing stored) for a code the server does not accept,
    verification.Conflict when the id was stored with another body, TooOld for a scan time out
    of range, rules.PassNeedsOverride for a pass of a yellow or red code without the override
    (the decision is settled for the colour the volunteer saw, ScanRecord.colour_seen). The checks read without a lock (a reading request: on SQLite without the write
    lock); the record's insert takes it.
    """
    (answer,) = submit_many([scan], point, staff, now)
    if isinstance(answer, Exception):
        raise answer
    return answer


# What a record of a batch can be refused with: the same refusals as one record alone.
REFUSALS = (verification.Refused, verification.Conflict, TooOld, rules.PassNeedsOverride)


@dataclass
class _Pending:
    """A record checked and ready to insert, with what its answer and its fever need."""

    record: VerificationRecord
    stored: Stored
    holder: Holder | None
    late: bool


def submit_many(
    scans: list[ScanRecord], point: InformationPoint, staff: User, now: datetime | None = None
) -> list[Stored | Exception]:
    """Check every record as `submit` does and store the new ones with one multi-row INSERT.

    Returns, in the order of `scans`, each record's answer or the refusal it gets alone
    (one of REFUSALS). The ids are read in one statement; the INSERT skips an id stored by
    another request meanwhile (ON CONFLICT DO NOTHING), which is then answered as a repeat; a
    second record of the batch with an id seen earlier in it is a repeat of the first (or a
    conflict). A fever still adds its hit, under the holder's lock taken before the INSERT.
    Nothing commits here: the request commits the whole batch once.
    """
    moment = now or utcnow()
    answers: list[Stored | Exception | None] = [None] * len(scans)
    existing = {
        record.record_id: record
        for record in db.session.scalars(
            db.select(VerificationRecord).where(
                VerificationRecord.record_id.in_({scan.record_id for scan in scans})
            )
        )
    }
    known = _known_for(scans)
    pending: dict[int, _Pending] = {}
    first_index: dict[str, int] = {}
    digests: list[str | None] = [None] * len(scans)
    for index, scan in enumerate(scans):
        if scan.record_id in first_index:
            continue  # answered after the INSERT, as a repeat of the first
        first_index[scan.record_id] = index
        try:
            checked = _check(scan, point, staff, moment, existing.get(scan.record_id), known)
        except REFUSALS as refusal:
            answers[index] = refusal
            continue
        if isinstance(checked, Stored):
            answers[index] = checked
        else:
            pending[index] = checked
            digests[index] = checked.record.body_hash
    fevers = sorted(
        (p for p in pending.values() if p.stored.fever and p.holder is not None),
        key=lambda p: p.holder.id,
    )
    for fever in fevers:
        # Before the record refers to the holder (see verification.record_fever); in one order
        # of holders, so two batches never wait for each other's locks.
        registry.lock(fever.holder)
    inserted = _insert([p.record for p in pending.values()])
    for index, done in pending.items():
        if done.record.record_id in inserted:
            answers[index] = done.stored
            continue
        # The same id stored by another request meanwhile.
        try:
            answers[index] = _repeat(
                verification.record_by_id(done.record.record_id), done.record.body_hash
            )
        except verification.Conflict as conflict:
            answers[index] = conflict
    for fever in fevers:
        if fever.record.record_id not in inserted:
            continue
        # A late fever counts from its arrival: a claimed scan time never rewrites past colours.
        verification.record_fever(
            fever.record, fever.holder, point.name, moment, at=moment if fever.late else None
        )
        index = next(i for i, p in pending.items() if p is fever)
        answers[index] = dataclasses.replace(fever.stored, colour=fever.holder.colour)
    for index, scan in enumerate(scans):
        first = first_index[scan.record_id]
        if first == index:
            continue
        answer = answers[first]
        if isinstance(answer, Stored):
            same = (digests[first] or _digest_of(scans[first])) == _digest_of(scan)
            answer = dataclasses.replace(answer, created=False) if same else verification.Conflict()
        answers[index] = answer
    return answers


@dataclass
class _Known:
    """What a batch's tokens name, read once for the batch: our keys by kid (kept referenced,
    so the session's identity map answers read_token without a query) and holders by code."""

    keys: list[SigningKey]
    holders: dict[str, Holder]


def _known_for(scans: list[ScanRecord]) -> _Known:
    kids, codes = set(), set()
    for scan in scans:
        try:
            token = tokens.decode(scan.token)
        except tokens.TokenError:
            continue  # refused by the verification, record by record
        kids.add(token.kid)
        if token.type == tokens.SCREEN:
            codes.add(token.subject)
    keys = (
        list(db.session.scalars(db.select(SigningKey).where(SigningKey.kid.in_(kids))))
        if kids
        else []
    )
    holders = (
        {
            holder.code_id: holder
            for holder in db.session.scalars(db.select(Holder).where(Holder.code_id.in_(codes)))
        }
        if codes
        else {}
    )
    return _Known(keys, holders)


def _digest_of(scan: ScanRecord) -> str:
    try:
        return dataclasses.replace(scan, body=scan.body.decided(scan.colour_seen())).digest()
    except rules.PassNeedsOverride:
        return scan.digest()


_INSERTED_COLUMNS = [
    column for column in VerificationRecord.__table__.columns if column.key != "id"
]


def _insert(records: list[VerificationRecord]) -> set[str]:
    """Insert the records with one multi-row INSERT that skips an id stored meanwhile; return
    the ids it stored. SQLAlchemy sends the rows as one statement (its "insertmanyvalues")."""
    if not records:
        return set()
    rows = []
    for record in records:
        row = {}
        for column in _INSERTED_COLUMNS:
            value = record.__dict__.get(column.key)
            if value is None and column.default is not None and column.default.is_scalar:
                value = column.default.arg
            row[column.key] = value
        rows.append(row)
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(VerificationRecord.__table__)
        .on_conflict_do_nothing(index_elements=["record_id"])
        .returning(VerificationRecord.__table__.c.record_id)
    )
    return set(db.session.scalars(statement, rows))


def _check(
    scan: ScanRecord,
    point: InformationPoint,
    staff: User,
    moment: datetime,
    existing: VerificationRecord | None,
    known: _Known,
) -> Stored | _Pending:
    """Check one record as of its scan: the answer of a repeat, or the record to insert."""
    try:
        scanned = datetime.fromtimestamp(scan.scanned_at, UTC)
    except (OverflowError, OSError, ValueError):
        raise TooOld() from None
    if scanned > moment + timedelta(seconds=tokens.MAX_CLOCK_SKEW) or scanned < oldest_scan(moment):
        raise TooOld()
    late = (moment - scanned).total_seconds() > LATE_AFTER
    try:
        scan = dataclasses.replace(scan, body=scan.body.decided(scan.colour_seen()))
        needs_override = None
    except rules.PassNeedsOverride as error:
        # Said after the verification: a forged code is refused as forged first. A repeat of a
        # record stored before the rule existed is still answered as the repeat it is.
        needs_override = error
    digest = scan.digest()
    if existing is not None:
        return _repeat(existing, digest)
    # The time of the scan, not of arrival: a code valid at the gate stays valid when it arrives.
    holder, token, revoked_later = _holder_as_scanned(scan.token, scanned, known.holders)
    if (
        holder is None
        and int(moment.timestamp())
        >= token.issued_at + int(current_app.config["PARTNER_MAX_TTL"]) + OFFLINE_GRACE
    ):
        # By the server's clock: a claimed scan time inside the cap does not revive an old code.
        raise verification.Refused("over_partner_cap")
    if needs_override is not None:
        raise needs_override
    issuer_id = trust_list.by_kid(token.kid).id if holder is None else None
    record = VerificationRecord(
        record_id=scan.record_id,
        point_id=point.id,
        staff_id=staff.id,
        method=CheckMethod.CAMERA,
        verified_at=scanned,
        offline=scan.offline,
        token_colour=token.colour if token.type == tokens.SCREEN else scan.shown_colour,
        late_arrival=late,
        revoked_paper=revoked_later,
        stale_colour=False,
    )
    if holder is None:
        record.issuer_id, record.partner_code_id = issuer_id, token.subject
        record.colour = token.colour
    else:
        _colour_now(holder, moment, staff, scanned)  # locks the holder only for a change
        record.holder_id = holder.id
        record.colour = holder.colour
        if token.type == tokens.PAPER:
            record.paper_serial = token.subject
        # A paper code sent without the colour shown is taken at its worst: shown green.
        shown = record.token_colour or (Colour.GREEN if token.type == tokens.PAPER else None)
        stored = [_stored_colour_at(holder, scanned)]
        if late or shown != record.token_colour:
            # The scan time may be back-dated to before a change: the arrival counts too.
            stored.append(holder.colour)
        record.stale_colour = any(is_worse(colour, shown) for colour in stored)
    verification.fill_record(record, scan.body, (point.latitude, point.longitude), moment, digest)
    return _Pending(
        record=record,
        stored=Stored(
            record_id=record.record_id,
            created=True,
            colour=record.colour,
            token_colour=record.token_colour,
            stale_colour=bool(record.stale_colour),
            fever=record.is_fever,
            late=late,
            revoked_paper=revoked_later,
        ),
        holder=holder,
        late=late,
    )


def _holder_as_scanned(
    text: str, scanned: datetime, holders_by_code: dict[str, Holder] | None = None
) -> tuple[Holder | None, tokens.Token, bool]:
    """verification.holder_for_token as of the scan, and whether the token is a paper code whose
    loss was reported after the scan (kept: it was a good code at the gate). A paper code scanned
    at or after its revocation is refused as before."""
    try:
        holder, token = verification.holder_for_token(text, scanned, holders_by_code)
        return holder, token, False
    except verification.Refused as refusal:
        if refusal.reason != "paper_revoked":
            raise
        token = tokens.decode(text)  # verified by holder_for_token before the paper was looked up
        printed = paper.by_serial(token.subject)
        if printed is None or printed.revoked_at is None or printed.revoked_at <= scanned:
            raise
        return printed.holder, token, True


def _colour_now(holder: Holder, moment: datetime, staff: User, scanned: datetime) -> None:
    """Bring the holder's stored colour up to now, and a pre-entry holder's arrival.

    As on the code page the colour is read without the write lock and written only when it
    changed, decided again under the lock on facts read afresh (as the code page). A
    first verification of a pre-entry holder records the arrival, under the lock, first.
    """
    rows = registry.fact_rows(holder)  # one query: the colour's facts and the latest pre-entry
    if registry.awaits_arrival(rows):
        registry.lock(holder)
        preentry.note_checkpoint_arrival(holder, scanned, actor=staff)
        registry.store_colour(holder, moment)
    else:
        if registry.colour_of(holder, moment, rows).colour != holder.colour:
            registry.lock(holder)
            registry.store_colour(holder, moment)


def _stored_colour_at(holder: Holder, scanned: datetime) -> str:
    """The holder's stored colour at the scan, after this arrival's refresh.

    When the stored colour has not changed since the scan (the usual case: the record arrives
    seconds after it), it is the colour now and the history need not be read.
    """
    if holder.colour_at is not None and holder.colour_at <= scanned:
        return holder.colour
    return colour_at(holder, scanned)


def _repeat(record: VerificationRecord, digest: str) -> Stored:
    if record.body_hash != digest:
        raise verification.Conflict()
    return Stored(
        record_id=record.record_id,
        created=False,
        colour=record.holder.colour if record.holder else record.colour,
        token_colour=record.token_colour,
        stale_colour=bool(record.stale_colour),
        fever=record.is_fever,
        late=bool(record.late_arrival),
        revoked_paper=bool(record.revoked_paper),
    )


def stale_records(district: str, limit: int = 50) -> list[VerificationRecord]:
    """Return the district's records officers follow up: the shown colour was better than the
    stored one, the record arrived late, or its paper code was reported lost after the scan."""
    query = (
        db.select(VerificationRecord)
        .join(Holder, Holder.id == VerificationRecord.holder_id)
        .join(InformationPoint, InformationPoint.id == VerificationRecord.point_id)
        .where(
            db.or_(
                VerificationRecord.stale_colour,
                VerificationRecord.late_arrival,
                VerificationRecord.revoked_paper,
            ),
            VerificationRecord.voided_at.is_(None),
            db.or_(Holder.district_code == district, InformationPoint.district_code == district),
        )
        .order_by(VerificationRecord.verified_at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))
