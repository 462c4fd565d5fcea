"""Database models (SQLAlchemy 2 typed mappings)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    func,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.sql.expression import false as sa_false
from sqlalchemy.sql.expression import true as sa_true

from gantong.core import rules
from gantong.core.kinds import ApplicationState, ClaimState, Colour, OfficialRecordState, PointMode
from gantong.extensions import db


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Today in Asia/Shanghai: the day dates on forms and in figures are checked against."""
    return rules.local_date(utcnow())


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


ROLES = ("resident", "staff", "officer", "admin")


class User(UserMixin, db.Model):
    """An account: logs in with a phone number; a resident account holds code holders."""

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="resident")
    # Officers are scoped to one district; staff will belong to one point.
    district_code: Mapped[str | None] = mapped_column(String(6))
    badge_number: Mapped[str | None] = mapped_column(String(32))
    point_id: Mapped[int | None] = mapped_column(ForeignKey("information_point.id"))
    # A lab account posts and reads only its own lab's results.
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("lab.id"))
    department: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Accounts made by an admin get a one-time password that must be changed at first login.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # The language of the account's text messages: the page's at registration, then the last
    # one chosen while logged in.
    language: Mapped[str] = mapped_column(String(5), default="zh", server_default="zh")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Carried in the session (see get_id); raising it ends every session of the account.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when officers found the account had registered someone else's document (an identity
    # check in person moved that person away): it may add no more people, nor declare for
    # anyone but its own holder, until cleared.
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flag_reason: Mapped[str | None] = mapped_column(String(200))

    holders: Mapped[list[Holder]] = relationship(back_populates="account", order_by="Holder.id")
    point: Mapped[InformationPoint | None] = relationship()
    lab: Mapped[Lab | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        # Flask-Login's "alternative token": the session holds "<id>.<generation>", and the user
        # loader (gantong/auth/views.py) refuses a generation that is no longer the account's.
        return f"{self.id}.{self.session_generation or 0}"

    def end_sessions(self) -> None:
        """End every open session of the account, copied cookies included."""
        self.session_generation = (self.session_generation or 0) + 1


@event.listens_for(User.password_hash, "set", active_history=True)
@event.listens_for(User.role, "set", active_history=True)
@event.listens_for(User.active, "set", active_history=True)
def _end_sessions_on_change(user: User, value, previous, _initiator) -> None:
    # A new password (own, texted or one-time), a role change, deactivation or reactivation ends
    # the account's sessions wherever it is made (a view, an admin, the command line): an old
    # cookie never comes back to life. A new account (not yet in the database) has none.
    if previous is not NO_VALUE and value != previous and inspect(user).persistent:
        user.end_sessions()


class Holder(db.Model):
    """A person with a code: the account's user or a family member without a phone."""

    __table_args__ = (
        UniqueConstraint("doc_type", "doc_country", "doc_number"),
        # An officer finds a person by the start of the name or the tail of the document
        # number, within the district: LIKE 'x%' on each. PostgreSQL serves LIKE from a
        # b-tree only with the pattern operator class when the collation is not C. The name's
        # index is of lower(name) (declared below the class): a name in Latin letters is found
        # whatever the case it is typed in, on both databases.
        Index(
            "ix_holder_district_doc_tail",
            "district_code",
            "doc_number_reversed",
            postgresql_ops={"doc_number_reversed": "varchar_pattern_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    is_self: Mapped[bool] = mapped_column(Boolean, default=False)
    # self, child, parent, spouse, other: how the holder is related to the account's owner.
    relation: Mapped[str] = mapped_column(String(10), default="other", server_default="other")
    # The id that tokens carry: random and stable, never the database id.
    code_id: Mapped[str] = mapped_column(String(16), unique=True)
    # Seeds the 8-digit dynamic number shown under the QR.
    secret: Mapped[bytes] = mapped_column(LargeBinary(32))
    name: Mapped[str] = mapped_column(String(100))
    doc_type: Mapped[str] = mapped_column(String(16))
    # Issuing country for passports; "" otherwise so the unique constraint holds on NULL-less rows.
    doc_country: Mapped[str] = mapped_column(String(2), default="")
    doc_number: Mapped[str] = mapped_column(String(32))
    # The number written backwards, kept with it: its tail becomes a prefix an index serves
    # on both databases (SQLite has no reverse() to index the expression with).
    doc_number_reversed: Mapped[str] = mapped_column(String(32), default="", server_default="")
    nationality: Mapped[str] = mapped_column(String(2), default="CN")
    # Indexed first in ix_holder_district_name (below the class), which serves a district on its own too.
    district_code: Mapped[str] = mapped_column(String(6))
    address: Mapped[str] = mapped_column(String(200))
    colour: Mapped[str] = mapped_column(String(6), default=Colour.GREEN, index=True)
    colour_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Counts the stored colour's changes: the phone's credential is current while it matches
    # (the credential endpoint's ETag; docs/token-format.md, 8.9).
    colour_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[User | None] = relationship(back_populates="holders")
    declarations: Mapped[list[Declaration]] = relationship(
        back_populates="holder", order_by="Declaration.id"
    )

    @validates("doc_number")
    def _keep_reversed_number(self, _key: str, number: str) -> str:
        self.doc_number_reversed = number[::-1]
        return number


class Declaration(db.Model):
    """A health and travel declaration; never edited, only added."""

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holder.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Comma-separated symptom keys from rules.SYMPTOMS.
    symptoms: Mapped[str] = mapped_column(String(200), default="")
    close_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_date: Mapped[date | None] = mapped_column(Date)
    entry_date: Mapped[date | None] = mapped_column(Date)
    entry_port: Mapped[str | None] = mapped_column(String(100))
    acknowledged: Mapped[bool] = mapped_column(Boolean)
    # Voided by two officers (an identity check in person): kept and shown, never counted.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)

    holder: Mapped[Holder] = relationship(back_populates="declarations")
    stays: Mapped[list[Stay]] = relationship(order_by="Stay.id")

    @property
    def symptom_list(self) -> list[str]:
        return [s for s in self.symptoms.split(",") if s]


class Stay(db.Model):
    """A place the holder stayed in the 14 days before a declaration."""

    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"), index=True)
    place_code: Mapped[str] = mapped_column(String(6))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)


class RiskArea(db.Model):
    """A key area: a stay there adds yellow until `days` after leaving."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(String(100))
    days: Mapped[int] = mapped_column(default=14)
    active_from: Mapped[date | None] = mapped_column(Date)
    active_to: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ColourChange(db.Model):
    """One change of a holder's stored colour: the history the holder can read."""

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holder.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    before: Mapped[str | None] = mapped_column(String(6))
    after: Mapped[str] = mapped_column(String(6))
    # The rules of the active hits, comma-separated, so the page can say why.
    rules: Mapped[str] = mapped_column(String(200), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Why, in the words of the decision that caused it (an officer's reason), if any.
    reason: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User | None] = relationship()


class SigningKey(db.Model):
    """An Ed25519 key; the private part is encrypted with a key derived from SECRET_KEY."""

    kid: Mapped[str] = mapped_column(String(8), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    private_key: Mapped[bytes] = mapped_column(LargeBinary(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Exactly one key signs; older keys keep verifying until retired.
    signing: Mapped[bool] = mapped_column(Boolean, default=False)
    # A next key (published, not signing yet) takes over at this moment; None for the others.
    signs_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the key stopped signing (a rotation replaced it): a key that has stopped never takes
    # over again, even with its signs_from still set from the planned rotation that started it.
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")


class InformationPoint(db.Model):
    """A checkpoint (station, market, estate gate...) where staff verify codes."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Record (a temperature and a decision per person) or verify only (a mall entrance, a
    # station gate: a verdict per scan, nothing to type); a verify-only point keeps a record of
    # each scan only when `keeps_records`, else nothing about the person is stored.
    mode: Mapped[str] = mapped_column(
        String(8), default=PointMode.RECORD, server_default=PointMode.RECORD.value
    )
    keeps_records: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())

    @property
    def verify_only(self) -> bool:
        return self.mode == PointMode.VERIFY


class PointApiToken(db.Model):
    """A per-point API token for /api/v1/verify; only its hash is kept."""

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("information_point.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Device(db.Model):
    """A phone's public key, registered to an account: the credentials it gets are bound to it."""

    __table_args__ = (UniqueConstraint("account_id", "public_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # ECDSA P-256, SEC 1 compressed (33 bytes); the private key never leaves the phone.
    public_key: Mapped[bytes] = mapped_column(LargeBinary(33))
    label: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index(
    "ix_holder_district_name",
    Holder.district_code,
    func.lower(Holder.name).label("name_folded"),
    postgresql_ops={"name_folded": "text_pattern_ops"},
)


class HolderCredential(db.Model):
    """A holder credential signed for one device (docs/token-format.md, 8): kept until it
    expires, so the bundle can list those issued before the holder's colour got worse."""

    # The first 8 bytes of its issuer signature, in hex.
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holder.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    colour: Mapped[str] = mapped_column(String(6))
    colour_version: Mapped[int]
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Past this the phone gets a new one (half its life; the end for one cut short by a change).
    renew_after: Mapped[datetime] = mapped_column(UTCDateTime)
    signed: Mapped[bytes] = mapped_column(LargeBinary(140))


class VerificationRecord(db.Model):
    """One verification at a checkpoint, and the record the volunteer then submits.

    Opened when a code verifies (never for a refused code); the record fields are filled once,
    by the first submission of its record id.
    """

    # The station page's newest records and today's count read a point's records by time: one
    # index for both, so they cost the same at the millionth record as at the first.
    __table_args__ = (Index("ix_verification_record_point_time", "point_id", "verified_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[str] = mapped_column(String(36), unique=True)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("holder.id"), index=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("information_point.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    method: Mapped[str] = mapped_column(String(10))  # camera, photo, number, no_code, api
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    token_colour: Mapped[str | None] = mapped_column(String(6))
    colour: Mapped[str] = mapped_column(String(6))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    temperature: Mapped[float | None]
    decision: Mapped[str | None] = mapped_column(String(8))  # pass, refer, deny
    note: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    accuracy: Mapped[float | None]
    position_source: Mapped[str | None] = mapped_column(String(8))  # gps, point
    body_hash: Mapped[str | None] = mapped_column(String(64))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    void_reason: Mapped[str | None] = mapped_column(String(200))
    # A pass the volunteer chose explicitly for a yellow or red code, overriding its colour
    # (rules.record_decision): every page that shows the record says so.
    pass_override: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # Verified on the volunteer's phone (offline) and re-verified by the server on arrival.
    offline: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # The colour shown at the gate was better than the holder's stored colour at the moment of
    # the scan (the colour changed within the token's lifetime): officers of the district see it.
    stale_colour: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false(), index=True
    )
    # The record arrived more than scan_records.LATE_AFTER after the phone's claimed scan time
    # (a long offline queue, or a back-dated scan): officers of the district see it.
    late_arrival: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # A paper code scanned before its loss was reported, arriving after: kept, and officers see it.
    revoked_paper: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # A paper code's serial, or a partner issuer's token (we hold no record of their holders).
    paper_serial: Mapped[str | None] = mapped_column(String(16))
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("trusted_issuer.id"))
    partner_code_id: Mapped[str | None] = mapped_column(String(64))

    point: Mapped[InformationPoint] = relationship()
    holder: Mapped[Holder | None] = relationship()
    issuer: Mapped[TrustedIssuer | None] = relationship()

    @property
    def is_fever(self) -> bool:
        return self.temperature is not None and self.temperature >= rules.FEVER_THRESHOLD


class FeverFinding(db.Model):
    """A fever found at a checkpoint: a fact for the colour rules.

    Kept apart from the verification record so that purging old records never removes a hit.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holder.id"), index=True)
    record_id: Mapped[str] = mapped_column(String(36), unique=True)
    point_name: Mapped[str] = mapped_column(String(100))
    temperature: Mapped[float]
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(db.Model):
    """An append-only, hash-chained audit event. Never updated, never deleted."""

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(50), index=True)
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str] = mapped_column(String(40), index=True)
    before: Mapped[str] = mapped_column(Text, default="{}")
    after: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OfficialRecord(db.Model):
    """A case status recorded by an officer with its legal basis.

    One that would turn a code red stays pending until a second, different officer of the same
    district approves it; only records in force count for the colour.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holder.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # confirmed, suspected, close_contact, cleared
    contact_date: Mapped[date | None] = mapped_column(Date)
    basis: Mapped[str] = mapped_column(String(100))  # case or notice number
    department: Mapped[str] = mapped_column(String(100), default="")
    recorded_by: Mapped[int] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default=OfficialRecordState.PENDING, index=True)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    # A contact filed from a venue trace: the venue and the window the case was there, which
    # the holder's reason names as its source (None for a record typed on a person's file).
    trace_venue: Mapped[str | None] = mapped_column(String(100))
    trace_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trace_to: Mapped[datetime | None] = mapped_column(UTCDateTime)

    holder: Mapped[Holder] = relationship()
    # A lab's positive result that an officer puts in force (the lab is the first party).
    lab_result_id: Mapped[int | None] = mapped_column(ForeignKey("lab_result.id"))
    lab_result: Mapped[LabResult | None] = relationship()


class IdentityCheck(db.Model):
    """An officer checked a person's physical document in person, and asks that their code be
    moved to the person's own account and that declarations others made for them be voided.

    Nothing moves and nothing is voided until a second, different officer of the holder's
    district confirms it (the move hands the code to an account that can declare for it).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holder.id"), index=True)
    checked_by: Mapped[int] = mapped_column(ForeignKey("user.id"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The physical document the officer held: its type and number as read from it.
    doc_type_seen: Mapped[str] = mapped_column(String(16))
    doc_number_seen: Mapped[str] = mapped_column(String(32))
    # The account that held the code when checked, and the person's own account's number.
    from_account_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    to_phone: Mapped[str] = mapped_column(String(20))
    to_account_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Comma-separated ids of the declarations to void.
    void_ids: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(Text, default="")

    holder: Mapped[Holder] = relationship()

    @property
    def declaration_ids(self) -> list[int]:
        return [int(part) for part in self.void_ids.split(",") if part]


class Application(db.Model):
    """A transcoding application (转码): the holder asks that named hits be cleared."""

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holder.id"), index=True)
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    hit_keys: Mapped[str] = mapped_column(Text)  # comma-separated keys of the hits to clear
    grounds: Mapped[str] = mapped_column(String(20))  # isolation_completed, negative_test, other
    test_date: Mapped[date | None] = mapped_column(Date)
    institution: Mapped[str] = mapped_column(String(100), default="")
    report_number: Mapped[str] = mapped_column(String(64), default="")
    isolation_end: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=ApplicationState.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    # A verified result cited instead of typed test text: the officer sees it beside.
    lab_result_id: Mapped[int | None] = mapped_column(ForeignKey("lab_result.id"))

    holder: Mapped[Holder] = relationship()
    lab_result: Mapped[LabResult | None] = relationship()


class Claim(db.Model):
    """My Claim (我的申诉): the holder says a fact behind their code is wrong."""

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holder.id"), index=True)
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    hit_key: Mapped[str] = mapped_column(String(100), default="")  # the fact said to be wrong
    wrong_fact: Mapped[str] = mapped_column(Text)
    correct_fact: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text, default="")
    acknowledged: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(10), default=ClaimState.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    # What the accepted claim wrote: "declaration:<id>" or "official:<id>" (never an edit in place).
    correction: Mapped[str] = mapped_column(String(40), default="")

    holder: Mapped[Holder] = relationship()


class Clearance(db.Model):
    """A hit cleared by an approved application or an accepted claim."""

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holder.id"), index=True)
    hit_key: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))  # application:<id> or claim:<id>
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(db.Model):
    """A message to a holder's account about a colour change or a decision."""

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holder.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    # Parameters for the translated message, as JSON: the text is made in the reader's language.
    params: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DistrictHotline(db.Model):
    """The epidemic-prevention hotline of a district, set by administrators (12320 when unset)."""

    district_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class PreEntry(db.Model):
    """A registration before arrival: overseas returnees, foreigners, people from Hubei."""

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holder.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))  # overseas_returnee, foreigner, hubei
    origin_country: Mapped[str | None] = mapped_column(String(2))
    origin_division: Mapped[str | None] = mapped_column(String(6))
    entry_port: Mapped[str] = mapped_column(String(100), default="")
    transport_number: Mapped[str] = mapped_column(String(20), default="")
    planned_arrival: Mapped[date] = mapped_column(Date)
    destination_district: Mapped[str] = mapped_column(String(6), index=True)
    contact_phone: Mapped[str] = mapped_column(String(20))
    actual_arrival: Mapped[date | None] = mapped_column(Date)
    arrival_source: Mapped[str | None] = mapped_column(String(20))  # checkpoint, officer
    arrival_confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # When the actual arrival was recorded (a checkpoint's scan, an officer's confirmation): the
    # day a reason names as its source, which is not the arrival day an officer types.
    arrival_noted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    holder: Mapped[Holder] = relationship()


class PaperCode(db.Model):
    """A printed code: a long-lived paper token with its own serial and no colour."""

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holder.id"), index=True)
    serial: Mapped[str] = mapped_column(String(16), unique=True)
    kid: Mapped[str] = mapped_column(String(8), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    printed_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    holder: Mapped[Holder] = relationship()


class TrustedIssuer(db.Model):
    """Another issuer whose codes our checkpoints accept (mutual recognition)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(100), default="")
    kid: Mapped[str] = mapped_column(String(8), unique=True)
    public_jwk: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountChange(db.Model):
    """A change to a work account that can lead to a red code: creating an officer or an
    administrator, moving an officer to another district, a new one-time password for either.

    It takes effect only when a second, different administrator confirms it; the one-time
    password then goes by text message to the account's own number, never to a screen.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # create, rebind, password, reactivate
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id"), index=True
    )  # None until created
    # What the change sets, as JSON: role, phone and binding for create; the binding for rebind.
    details: Mapped[str] = mapped_column(Text, default="{}")
    requested_by: Mapped[int] = mapped_column(ForeignKey("user.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(
        String(10), default="pending", index=True
    )  # pending, done, rejected
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditHeadKey(db.Model):
    """The Ed25519 key that signs audit heads; its private part is encrypted under SECRET_KEY,
    so the database alone does not give it (as for the code signing keys)."""

    kid: Mapped[str] = mapped_column(String(8), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    private_key: Mapped[bytes] = mapped_column(LargeBinary(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SignedAuditHead(db.Model):
    """A signed (sequence, head hash, time) of the audit trail, published for anyone to keep."""

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kid: Mapped[str] = mapped_column(String(8))
    signature: Mapped[str] = mapped_column(
        String(128)
    )  # base64url, Ed25519 over the canonical JSON


class PasswordResetCode(db.Model):
    """A texted password-reset code: stored as a keyed hash, single use, with an attempt count."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)


class DccSigner(db.Model):
    """An EU DCC document signer certificate (DSC) our checkpoints trust, by its key id."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(16), unique=True)  # base64 of the 8-byte key id
    country: Mapped[str] = mapped_column(String(2), default="")
    certificate: Mapped[bytes] = mapped_column(LargeBinary)  # DER, as imported
    subject: Mapped[str] = mapped_column(String(400), default="")
    # The extended key usages (space-separated OIDs): which kinds of certificate it may sign.
    key_usages: Mapped[str] = mapped_column(String(400), default="")
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # False when strict X.509 parsing refused the certificate and its key was read leniently.
    strict: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShcIssuer(db.Model):
    """A SMART Health Card issuer we trust: its `iss`, its keys (JWKS) and revocation lists,
    fetched from the issuer and kept here as the cache the checkpoint verifies against."""

    id: Mapped[int] = mapped_column(primary_key=True)
    iss: Mapped[str] = mapped_column(String(300), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    jwks: Mapped[str] = mapped_column(Text, default='{"keys": []}')
    crls: Mapped[str] = mapped_column(Text, default="{}")  # {kid: the issuer's CRL}
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetch_error: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ForeignCertificate(db.Model):
    """An international certificate (EU DCC or SMART Health Card) attached to a pre-entry
    registration, with what its verification found when it was attached."""

    id: Mapped[int] = mapped_column(primary_key=True)
    pre_entry_id: Mapped[int] = mapped_column(ForeignKey("pre_entry.id"), index=True)
    text: Mapped[str] = mapped_column(Text)  # as scanned or pasted
    format: Mapped[str] = mapped_column(String(8))  # eu-dcc, shc
    kind: Mapped[str] = mapped_column(String(12))  # vaccination, test, recovery, other
    status: Mapped[str] = mapped_column(String(20))  # verified, or why not
    signer: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    birth_date: Mapped[str] = mapped_column(String(20), default="")
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the kind's facts
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pre_entry: Mapped[PreEntry] = relationship()


class Lab(db.Model):
    """A testing laboratory that posts results through the API (a per-lab token)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    district_code: Mapped[str] = mapped_column(String(6))
    # The lab's own Ed25519 public key (raw 32 bytes): results it signs are traced to it.
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LabApiToken(db.Model):
    """A per-lab API token for POST /api/v1/lab-results; only its hash is kept."""

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), index=True)
    # The lab account that made it: results posted with it are recorded in its name.
    account_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LabResult(db.Model):
    """A test result from a verified source: a lab's post, or a verified certificate.

    `origin` names the source ("lab:<id>", or a certificate issuer's "cert:<key id>"); with
    `sample_id` it is unique, so a result posted twice is stored once. The document is kept as
    holders' documents are, and matched to a holder (now, or when the person registers).
    """

    __table_args__ = (
        UniqueConstraint("origin", "sample_id"),
        Index("ix_lab_result_document", "doc_type", "doc_country", "doc_number"),
        Index("ix_lab_result_holder_sampled", "holder_id", "sampled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(12), default="lab")  # lab, certificate
    origin: Mapped[str] = mapped_column(String(40))
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("lab.id"), index=True)
    # Who vouches for it, as shown: the lab's name or the certificate's issuer.
    issuer_name: Mapped[str] = mapped_column(String(100))
    sample_id: Mapped[str] = mapped_column(String(64))
    doc_type: Mapped[str] = mapped_column(String(16))
    doc_country: Mapped[str] = mapped_column(String(2), default="")
    doc_number: Mapped[str] = mapped_column(String(32))
    test_type: Mapped[str] = mapped_column(String(8))  # pcr, antigen
    result: Mapped[str] = mapped_column(String(8))  # negative, positive
    sampled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resulted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Signed with the lab's own key, and the signature verified on receipt.
    signed: Mapped[bool] = mapped_column(Boolean, default=False)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("holder.id"))
    matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lab: Mapped[Lab | None] = relationship()
    holder: Mapped[Holder | None] = relationship()


class Venue(db.Model):
    """A place residents check themselves in at by scanning its printed code (场所码)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    # shop, transport, school, office, health, public, other (gantong/venues/labels.py)
    category: Mapped[str] = mapped_column(String(16), default="other")
    # The information point the venue is, when it is one: a case's checkpoint records there
    # count as visits for a trace.
    point_id: Mapped[int | None] = mapped_column(ForeignKey("information_point.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    codes: Mapped[list[VenueCode]] = relationship(back_populates="venue", order_by="VenueCode.id")
    point: Mapped[InformationPoint | None] = relationship()


class VenueCode(db.Model):
    """One printed code of a venue (one per entrance may be): random, revocable, re-issuable."""

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id"), index=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    entrance: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    venue: Mapped[Venue] = relationship(back_populates="codes")


class VenueVisit(db.Model):
    """A resident's check-in at a venue: who, where, when, and the colour the pass showed."""

    __table_args__ = (
        # A trace reads one venue's visits in a window; the repeat check and the holder's own
        # list read one holder's visits by time; the retention purge reads by time alone.
        Index("ix_venue_visit_venue_at", "venue_id", "at"),
        Index("ix_venue_visit_holder_at", "holder_id", "at"),
        Index("ix_venue_visit_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Made by the phone for a visit queued offline (sent again, stored once), else by the server.
    visit_id: Mapped[str] = mapped_column(String(36), unique=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id"))
    code_id: Mapped[int] = mapped_column(ForeignKey("venue_code.id"))
    holder_id: Mapped[int] = mapped_column(ForeignKey("holder.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    colour: Mapped[str] = mapped_column(String(6))
    # Waited on the phone without a network and was sent later with the time it happened.
    queued: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    venue: Mapped[Venue] = relationship()
    code: Mapped[VenueCode] = relationship()
    holder: Mapped[Holder] = relationship()


class VenueRiskWindow(db.Model):
    """A venue marked a risk area for a window: its visitors then get the risk-area rule's hit."""

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    days: Mapped[int] = mapped_column(default=14)
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())

    venue: Mapped[Venue] = relationship()
