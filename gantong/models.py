"""Database models (SQLAlchemy 2 typed mappings)."""
from __future__ import annotations

from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


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
    department: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    holders: Mapped[list[Holder]] = relationship(
        back_populates="account", order_by="Holder.id"
    )

    @property
    def is_active(self) -> bool:
        return self.active


class Holder(db.Model):
    """A person with a code: the account's user or a family member without a phone."""

    __table_args__ = (UniqueConstraint("doc_type", "doc_country", "doc_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    is_self: Mapped[bool] = mapped_column(Boolean, default=False)
    # The id that tokens carry: random and stable, never the database id.
    code_id: Mapped[str] = mapped_column(String(16), unique=True)
    # Seeds the 8-digit dynamic number shown under the QR.
    secret: Mapped[bytes] = mapped_column(LargeBinary(32))
    name: Mapped[str] = mapped_column(String(100))
    doc_type: Mapped[str] = mapped_column(String(16))
    # Issuing country for passports; "" otherwise so the unique constraint holds on NULL-less rows.
    doc_country: Mapped[str] = mapped_column(String(2), default="")
    doc_number: Mapped[str] = mapped_column(String(32))
    nationality: Mapped[str] = mapped_column(String(2), default="CN")
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str] = mapped_column(String(200))
    colour: Mapped[str] = mapped_column(String(6), default="green", index=True)
    colour_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[User | None] = relationship(back_populates="holders")
    declarations: Mapped[list[Declaration]] = relationship(
        back_populates="holder", order_by="Declaration.id"
    )


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


class SigningKey(db.Model):
    """An Ed25519 key; the private part is encrypted with a key derived from SECRET_KEY."""

    kid: Mapped[str] = mapped_column(String(8), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    private_key: Mapped[bytes] = mapped_column(LargeBinary(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Exactly one key signs; older keys keep verifying until retired.
    signing: Mapped[bool] = mapped_column(Boolean, default=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")
