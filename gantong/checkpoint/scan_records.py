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
from sqlalchemy import Integer, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gantong import unit_of_work
from gantong.checkpoint import verification
from gantong.codes import trust_list
from gantong.core import credentials, rules, tokens
from gantong.core.kinds import CheckMethod, Colour, Decision
from gantong.entry import preentry
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import (
    ColourChange,
    Device,
    Holder,
    HolderCredential,
    InformationPoint,
    PaperCode,
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
    holder: object | None  # the holder's row as read (BatchRead), or the ORM holder once locked
    late: bool


def submit_many(
    scans: list[ScanRecord], point: InformationPoint, staff: User, now: datetime | None = None
) -> list[Stored | Exception]:
    """Check every record as `submit` does and store the new ones with one multi-row INSERT.

    Returns, in the order of `scans`, each record's answer or the refusal it gets alone
    (one of REFUSALS). Everything the checks read comes in one statement (read_batch); the
    INSERT skips an id stored by another request meanwhile (ON CONFLICT DO NOTHING), which is
    then answered as a repeat; a second record of the batch with an id seen earlier in it is a
    repeat of the first (or a conflict). A fever still adds its hit, under the holder's lock
    taken before the INSERT. Nothing commits here: the request commits the whole batch once (a
    batch that writes nothing but its records is one INSERT, a transaction by itself).
    """
    moment = now or utcnow()
    answers: list[Stored | Exception | None] = [None] * len(scans)
    batch = read_batch(scans)
    pending: dict[int, _Pending] = {}
    first_index: dict[str, int] = {}
    digests: list[str | None] = [None] * len(scans)
    for index, scan in enumerate(scans):
        if scan.record_id in first_index:
            continue  # answered after the INSERT, as a repeat of the first
        first_index[scan.record_id] = index
        try:
            checked = _check(scan, point, staff, moment, batch)
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
        fever.holder = registry.locked(fever.holder.id)
    inserted = _insert([p.record for p in pending.values()], alone=not fevers)
    for index, done in pending.items():
        if done.record.record_id in inserted:
            answers[index] = done.stored
            continue
        # The same id stored by another request meanwhile.
        try:
            answers[index] = _repeat(
                _StoredRecord.of(verification.record_by_id(done.record.record_id)),
                done.record.body_hash,
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
class BatchRead:
    """Everything a batch's checks read, from one statement (read_batch): the records stored
    already by id, what the codes name (verification.Known) and each named holder's facts."""

    stored: dict[str, _StoredRecord]
    known: verification.Known
    facts: registry.ManyFacts


@dataclass(frozen=True)
class _StoredRecord:
    """What a repeat's answer needs of the record stored already."""

    record_id: str
    body_hash: str | None
    colour: str | None  # the holder's colour now (a partner code's record: its own colour)
    token_colour: str | None
    stale_colour: bool
    fever: bool
    late: bool
    revoked_paper: bool

    @classmethod
    def of(cls, record: VerificationRecord) -> _StoredRecord:
        return cls(
            record_id=record.record_id,
            body_hash=record.body_hash,
            colour=record.holder.colour if record.holder else record.colour,
            token_colour=record.token_colour,
            stale_colour=bool(record.stale_colour),
            fever=record.is_fever,
            late=bool(record.late_arrival),
            revoked_paper=bool(record.revoked_paper),
        )


_READ = "checkpoint.scan_records"


def _holder_ids():
    """The holders a batch's codes name: by code id (screen codes, presentations) and by paper
    serial."""
    return (
        select(Holder.id)
        .where(Holder.code_id.in_(bindparam("codes", expanding=True)))
        .union_all(
            select(PaperCode.holder_id).where(
                PaperCode.serial.in_(bindparam("serials", expanding=True))
            )
        )
    )


def _scan_kinds() -> dict:
    """The scan's own kinds of rows beside the holders' facts (registry.facts_of_many_with)."""
    no_id = literal_column("0", Integer)  # the key and the credential are named by strings
    return {
        "stored": (
            VerificationRecord.id,
            {
                "record_id": VerificationRecord.record_id,
                "body_hash": VerificationRecord.body_hash,
                "colour": func.coalesce(Holder.colour, VerificationRecord.colour),
                "token_colour": VerificationRecord.token_colour,
                "stale_colour": VerificationRecord.stale_colour,
                "temperature": VerificationRecord.temperature,
                "late_arrival": VerificationRecord.late_arrival,
                "revoked_paper": VerificationRecord.revoked_paper,
            },
            lambda query: query.outerjoin(Holder, Holder.id == VerificationRecord.holder_id).where(
                VerificationRecord.record_id.in_(bindparam("record_ids", expanding=True))
            ),
        ),
        # Read with every batch, never cached: a key retired a moment ago stops verifying at once.
        "key": (
            no_id,
            {
                "kid": SigningKey.kid,
                "public_key": SigningKey.public_key,
                "retired_at": SigningKey.retired_at,
                "signs_from": SigningKey.signs_from,
                "created_at": SigningKey.created_at,
            },
            lambda query: query.where(SigningKey.kid.in_(bindparam("kids", expanding=True))),
        ),
        "credential": (
            no_id,
            {"credential_id": HolderCredential.id, "removed_at": Device.removed_at},
            lambda query: query.join(Device, Device.id == HolderCredential.device_id).where(
                HolderCredential.id.in_(bindparam("credential_ids", expanding=True))
            ),
        ),
        "paper": (
            PaperCode.id,
            {
                "serial": PaperCode.serial,
                "kid": PaperCode.kid,
                "revoked_at": PaperCode.revoked_at,
                "holder_id": PaperCode.holder_id,
            },
            lambda query: query.where(PaperCode.serial.in_(bindparam("serials", expanding=True))),
        ),
    }


def read_batch(scans: list[ScanRecord]) -> BatchRead:
    """Read what a batch's checks need, in one statement: the records stored already under its
    ids, our keys its codes name, their holders with their colour's facts, presentations'
    devices and paper codes. Reads only: it may be sent to a replica that is seconds behind (an
    id stored meanwhile is caught by the INSERT, a key retired meanwhile by the read after it)."""
    kids, codes, serials, credential_ids = set(), set(), set(), set()
    for scan in scans:
        if credentials.is_presentation(scan.token):
            try:
                presentation = credentials.decode(scan.token)
            except credentials.CredentialError:
                continue  # refused by the verification, record by record
            kids.add(presentation.credential.kid)
            codes.add(presentation.credential.code_id)
            credential_ids.add(presentation.credential_id)
            continue
        try:
            token = tokens.decode(scan.token)
        except tokens.TokenError:
            continue
        kids.add(token.kid)
        if token.type == tokens.SCREEN:
            codes.add(token.subject)
        elif token.type == tokens.PAPER:
            serials.add(token.subject)
    facts = registry.facts_of_many_with(
        _READ,
        _holder_ids,
        _scan_kinds,
        {
            "record_ids": sorted({scan.record_id for scan in scans}),
            "kids": sorted(kids),
            "codes": sorted(codes),
            "serials": sorted(serials),
            "credential_ids": sorted(credential_ids),
        },
    )
    rows = facts.shared
    stored = {
        row.record_id: _StoredRecord(
            record_id=row.record_id,
            body_hash=row.body_hash,
            colour=row.colour,
            token_colour=row.token_colour,
            stale_colour=bool(row.stale_colour),
            fever=row.temperature is not None and row.temperature >= rules.FEVER_THRESHOLD,
            late=bool(row.late_arrival),
            revoked_paper=bool(row.revoked_paper),
        )
        for row in rows["stored"]
    }
    known = verification.Known(
        keys={row.kid: row for row in rows["key"]},
        holders_by_code={row.code_id: row for row in facts.holders.values()},
        holders_by_id=dict(facts.holders),
        removed_devices={row.credential_id: row.removed_at for row in rows["credential"]},
        papers={row.serial: row for row in rows["paper"]},
    )
    return BatchRead(stored=stored, known=known, facts=facts)


def _digest_of(scan: ScanRecord) -> str:
    try:
        return dataclasses.replace(scan, body=scan.body.decided(scan.colour_seen())).digest()
    except rules.PassNeedsOverride:
        return scan.digest()


_INSERTED_COLUMNS = [
    column for column in VerificationRecord.__table__.columns if column.key != "id"
]


def _insert(records: list[VerificationRecord], alone: bool) -> set[str]:
    """Insert the records with one multi-row INSERT that skips an id stored meanwhile; return
    the ids it stored. SQLAlchemy sends the rows as one statement (its "insertmanyvalues").

    `alone`: nothing else of the request writes; the INSERT may be its own transaction
    (unit_of_work.ALONE): on PostgreSQL no BEGIN and COMMIT round trips, and the server has
    made it durable when it answers (synchronous_commit=on)."""
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
    if alone:
        statement = statement.execution_options(**{unit_of_work.ALONE: True})
    return set(db.session.scalars(statement, rows))


def _check(
    scan: ScanRecord,
    point: InformationPoint,
    staff: User,
    moment: datetime,
    batch: BatchRead,
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
    existing = batch.stored.get(scan.record_id)
    if existing is not None:
        return _repeat(existing, digest)
    # The time of the scan, not of arrival: a code valid at the gate stays valid when it arrives.
    holder, token, revoked_later = _holder_as_scanned(scan.token, scanned, batch.known)
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
        # Locks the holder only for a change; later scans of the batch see the holder locked.
        holder = _colour_now(holder, batch, moment, staff, scanned)
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
    text: str, scanned: datetime, known: verification.Known
) -> tuple[object | None, tokens.Token, bool]:
    """verification.holder_for_token as of the scan, and whether the token is a paper code whose
    loss was reported after the scan (kept: it was a good code at the gate). A paper code scanned
    at or after its revocation is refused as before."""
    try:
        holder, token = verification.holder_for_token(text, scanned, known)
        return holder, token, False
    except verification.Refused as refusal:
        if refusal.reason != "paper_revoked":
            raise
        token = tokens.decode(text)  # verified by holder_for_token before the paper was looked up
        printed = known.papers.get(token.subject)
        if printed is None or printed.revoked_at is None or printed.revoked_at <= scanned:
            raise
        return known.holders_by_id[printed.holder_id], token, True


def _colour_now(holder, batch: BatchRead, moment: datetime, staff: User, scanned: datetime):
    """Bring the holder's stored colour up to now, and a pre-entry holder's arrival; return the
    holder: its row as read, or the ORM holder read under its lock once anything was written.

    As on the code page the colour is read without the write lock (the batch's one read) and
    written only when it changed, decided again under the lock on facts read afresh (as the
    code page). A first verification of a pre-entry holder records the arrival, under the
    lock, first.
    """
    rows = batch.facts.of(holder.id)
    if rows is None or registry.is_locked(holder):
        rows = registry.fact_rows(holder)  # changed by this batch already: read afresh
    if registry.awaits_arrival(rows):
        holder = _locked(holder.id, batch)
        preentry.note_checkpoint_arrival(holder, scanned, actor=staff)
        registry.store_colour(holder, moment)
    elif registry.colour_of(holder, moment, rows).colour != holder.colour:
        holder = _locked(holder.id, batch)
        registry.store_colour(holder, moment)
    return holder


def _locked(holder_id: int, batch: BatchRead) -> Holder:
    """The holder read under its lock, and the batch's later scans of them given it too."""
    holder = registry.locked(holder_id)
    batch.known.holders_by_id[holder_id] = holder
    batch.known.holders_by_code[holder.code_id] = holder
    return holder


def _stored_colour_at(holder: Holder, scanned: datetime) -> str:
    """The holder's stored colour at the scan, after this arrival's refresh.

    When the stored colour has not changed since the scan (the usual case: the record arrives
    seconds after it), it is the colour now and the history need not be read.
    """
    if holder.colour_at is not None and holder.colour_at <= scanned:
        return holder.colour
    return colour_at(holder, scanned)


def _repeat(record: _StoredRecord, digest: str) -> Stored:
    if record.body_hash != digest:
        raise verification.Conflict()
    return Stored(
        record_id=record.record_id,
        created=False,
        colour=record.colour,
        token_colour=record.token_colour,
        stale_colour=record.stale_colour,
        fever=record.fever,
        late=record.late,
        revoked_paper=record.revoked_paper,
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
