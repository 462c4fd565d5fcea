"""The resident's phones and the holder credentials signed for them (docs/token-format.md, 8).

A phone registers its public key once; the code page then fetches the holder's credential
for that key, keeps it, and makes its own presentations offline for hours. The fetch is
conditional (ETag): while the holder's colour version and the credential's half-life allow,
the answer is a 304 read in one statement, without computing the colour.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_

from gantong import audit
from gantong.codes import keys
from gantong.core import credentials, identity, rules, tokens
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Device, Holder, HolderCredential, User, utcnow

FORMAT = "gantong-holder-credential/1"
LABEL_MAX = 60


class InvalidKey(Exception):
    """The public key is not a P-256 point."""


class TooManyDevices(Exception):
    """The account holds the most devices it may; one must be removed first."""


class DeviceRemoved(Exception):
    """The key belongs to a device the owner removed: it is not taken back."""


class NoCode(Exception):
    """The holder has no code yet (no declaration): nothing to sign."""


def register(account: User, public_key: str, label: str, now: datetime | None = None):
    """Register a phone's public key (base64url, 33 or 65 bytes) to the account (audited).

    Returns (device, created): the same key again returns its device, created False.
    """
    moment = now or utcnow()
    try:
        text = public_key.strip()
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        point = credentials.compress_point(raw)
    except (ValueError, TypeError, AttributeError):
        raise InvalidKey() from None
    label = " ".join((label or "").split())[:LABEL_MAX]
    query = db.select(Device).where(Device.account_id == account.id, Device.public_key == point)
    existing = db.session.scalar(query)
    if existing is not None:
        if existing.removed_at is not None:
            raise DeviceRemoved()
        return existing, False
    active = db.select(db.func.count()).where(
        Device.account_id == account.id, Device.removed_at.is_(None)
    )
    if db.session.scalar(active) >= current_app.config["MAX_DEVICES"]:
        raise TooManyDevices()
    device = Device(account_id=account.id, public_key=point, label=label, created_at=moment)
    db.session.add(device)
    db.session.flush()
    audit.append(
        "device.register",
        "device",
        device.id,
        actor=account,
        at=moment,
        after={"label": label, "key": point.hex()[:16]},
    )
    return device, True


def for_account(account: User) -> list[Device]:
    """The account's devices in use, newest first."""
    query = (
        db.select(Device)
        .where(Device.account_id == account.id, Device.removed_at.is_(None))
        .order_by(Device.created_at.desc(), Device.id.desc())
    )
    return list(db.session.scalars(query))


def remove(account: User, device_id: int, now: datetime | None = None) -> bool:
    """Remove one of the account's devices (audited); its live credentials are revoked.

    Returns False when the account has no such device in use.
    """
    moment = now or utcnow()
    device = db.session.get(Device, device_id)
    if device is None or device.account_id != account.id or device.removed_at is not None:
        return False
    device.removed_at = moment
    audit.append(
        "device.remove",
        "device",
        device.id,
        actor=account,
        at=moment,
        before={"removed": False},
        after={"removed": True, "label": device.label},
    )
    db.session.flush()
    return True


@dataclass(frozen=True)
class Issued:
    """The credential to send: its row, the holder it is for, and the device."""

    row: HolderCredential
    holder: Holder
    device: Device

    @property
    def etag(self) -> str:
        return self.row.id


def current(account: User, holder_id: int, device_id: int, now: datetime) -> tuple:
    """Return (holder, device, the credential still to use or None) in one statement.

    (None, None, None) when the holder or the device is not the account's (or was removed).
    """
    query = (
        db.select(Holder, Device, HolderCredential)
        .select_from(Holder)
        .join(Device, and_(Device.id == device_id, Device.account_id == account.id))
        .outerjoin(
            HolderCredential,
            and_(
                HolderCredential.holder_id == Holder.id,
                HolderCredential.device_id == Device.id,
                HolderCredential.colour_version == Holder.colour_version,
                HolderCredential.renew_after > now,
                HolderCredential.valid_until > now,
            ),
        )
        .where(Holder.id == holder_id, Holder.account_id == account.id, Device.removed_at.is_(None))
        .order_by(HolderCredential.valid_until.desc())
        .limit(1)
    )
    found = db.session.execute(query).first()
    return tuple(found) if found is not None else (None, None, None)


def _known_change(result: rules.Result, now: datetime) -> datetime | None:
    """The first moment after now at which a reason behind the colour ends by itself."""
    ends = [rules.day_start(hit.until) for hit in result.hits if hit.until is not None]
    return min((end for end in ends if end > now), default=None)


def issue(holder: Holder, device: Device, now: datetime) -> HolderCredential:
    """Sign a new credential for the holder and device, valid from now (never past a known
    change of the colour), and keep its row."""
    result = registry.colour_of(holder, now)
    if result.colour != holder.colour:  # stored only when it changed, decided under the lock
        registry.lock(holder)
        result = registry.store_colour(holder, now)
    if not registry.has_code(holder):
        raise NoCode()
    hours = min(float(current_app.config["HOLDER_CREDENTIAL_HOURS"]), 18.0)
    start = int(now.timestamp())
    full = min(int(hours * 3600), credentials.MAX_LIFETIME)
    change = _known_change(result, now)
    cut_short = change is not None and int(change.timestamp()) < start + full
    lifetime = max(1, int(change.timestamp()) - start) if cut_short else full
    kid, private = keys.signing_key(now)
    credential = credentials.Credential(
        kid=kid,
        code_id=holder.code_id,
        colour=holder.colour,
        valid_from=start,
        lifetime=lifetime,
        device_key=bytes(device.public_key),
        masked_name=credentials.fit_name(identity.mask_name(holder.name)),
        doc_tail=tokens.fit_tail(holder.doc_number),
    )
    signed = credentials.sign_credential(credential, private)
    valid_from = datetime.fromtimestamp(start, now.tzinfo)
    valid_until = valid_from + timedelta(seconds=lifetime)
    row = HolderCredential(
        id=credentials.credential_id(signed),
        holder_id=holder.id,
        device_id=device.id,
        colour=holder.colour,
        colour_version=holder.colour_version,
        valid_from=valid_from,
        valid_until=valid_until,
        renew_after=valid_until if cut_short else valid_from + timedelta(seconds=lifetime // 2),
        signed=signed,
    )
    # Ed25519 is deterministic: the same facts in the same second give the same credential.
    existing = db.session.get(HolderCredential, row.id)
    if existing is not None:
        return existing
    db.session.add(row)
    device.last_used_at = now
    db.session.flush()
    return row


def document(issued: Issued, now: datetime) -> dict:
    """The credential as the phone keeps it (docs/token-format.md, 8.9)."""
    row = issued.row
    credential, _body, _signature = credentials.parse_credential(bytes(row.signed))
    return {
        "format": FORMAT,
        "credential": base64.urlsafe_b64encode(bytes(row.signed)).rstrip(b"=").decode(),
        "id": row.id,
        "kid": credential.kid,
        "code_id": credential.code_id,
        "colour": credential.colour,
        "colour_version": row.colour_version,
        "valid_from": credential.valid_from,
        "valid_until": credential.valid_until,
        "masked_name": credential.masked_name,
        "doc_tail": credential.doc_tail,
        "device": row.device_id,
        "prefix": credentials.PREFIX,
        "max_presentation_age": current_app.config["MAX_PRESENTATION_AGE"],
        "server_time": int(now.timestamp()),
        "numbers": registry.numbers_ahead(
            issued.holder, max(credential.valid_from, int(now.timestamp())), credential.valid_until
        ),
    }
