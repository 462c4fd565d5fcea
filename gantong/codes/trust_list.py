"""The trust list: other issuers whose codes our checkpoints accept (mutual recognition).

Used by the CLI (`flask gantong issuer ...`), the admin UI and verification. Key ids are
unique across the trust list and our own signing keys, so a kid names one key only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gantong import audit
from gantong.core import tokens
from gantong.core.kinds import N_
from gantong.extensions import db
from gantong.models import SigningKey, TrustedIssuer, User, utcnow

TRUSTED, INACTIVE, NOT_YET_VALID, EXPIRED = "trusted", "inactive", "not_yet_valid", "expired"

MSG_NAME = N_("Give the issuer's name.")
MSG_KID = N_("A key id has 8 characters: digits and the letters a to f.")
MSG_KID_TAKEN = N_("This key id is in use already, on the trust list or by our own keys.")
MSG_JWK_JSON = N_("The public key is not valid JSON.")
MSG_JWK = N_(
    'The public key must be an Ed25519 key in JWK form (RFC 8037: "kty": "OKP", "crv": "Ed25519", "x").'
)
MSG_JWK_PRIVATE = N_(
    "This JWK holds a private key. Give only the public key; the partner should make a new key pair."
)
MSG_JWK_KID = N_('The key id given differs from the JWK\'s own "kid".')
MSG_VALIDITY = N_("The end of validity must come after its start.")
MSG_UNKNOWN = N_("No such issuer.")

_KID = re.compile(r"[0-9a-f]{8}")


class IssuerError(ValueError):
    """An issuer was refused; str() is a message id for translation, `field` the input at fault."""

    def __init__(self, message: str, field: str | None = None, detail: str = ""):
        super().__init__(message)
        self.field = field
        self.detail = detail


def list_issuers() -> list[TrustedIssuer]:
    """Return every issuer on the trust list, active ones first, then by name."""
    query = db.select(TrustedIssuer).order_by(
        TrustedIssuer.active.desc(), TrustedIssuer.name, TrustedIssuer.id
    )
    return list(db.session.scalars(query))


def get(issuer_id: int) -> TrustedIssuer | None:
    return db.session.get(TrustedIssuer, issuer_id)


def by_kid(kid: str) -> TrustedIssuer | None:
    """Return the issuer whose key has this id, active or not, or None."""
    return db.session.scalar(db.select(TrustedIssuer).where(TrustedIssuer.kid == kid))


def kid_taken(kid: str) -> bool:
    """Return whether the key id is used by an issuer or by one of our signing keys."""
    return by_kid(kid) is not None or db.session.get(SigningKey, kid) is not None


def public_key(issuer: TrustedIssuer) -> Ed25519PublicKey:
    return tokens.public_key_from_jwk(json.loads(issuer.public_jwk))


def state(issuer: TrustedIssuer, now: datetime | None = None) -> str:
    """Return TRUSTED if the issuer's codes are accepted now, else why not."""
    moment = now or utcnow()
    if not issuer.active:
        return INACTIVE
    if moment < issuer.valid_from:
        return NOT_YET_VALID
    if issuer.valid_to is not None and moment >= issuer.valid_to:
        return EXPIRED
    return TRUSTED


def trusted_keys(now: datetime | None = None) -> dict[str, Ed25519PublicKey]:
    """Return the public keys, by kid, of the issuers whose codes are accepted now."""
    moment = now or utcnow()
    query = db.select(TrustedIssuer).where(TrustedIssuer.active, TrustedIssuer.valid_from <= moment)
    return {
        issuer.kid: public_key(issuer)
        for issuer in db.session.scalars(query)
        if state(issuer, moment) == TRUSTED
    }


def _parse_jwk(jwk: Mapping | str) -> dict:
    if isinstance(jwk, str):
        try:
            jwk = json.loads(jwk)
        except ValueError:
            raise IssuerError(MSG_JWK_JSON, "jwk") from None
    if not isinstance(jwk, Mapping):
        raise IssuerError(MSG_JWK_JSON, "jwk")
    try:
        tokens.public_key_from_jwk(jwk)
    except ValueError as error:
        # A private part means the partner leaked its key: say so, it must make a new one.
        message = MSG_JWK_PRIVATE if "d" in jwk else MSG_JWK
        raise IssuerError(message, "jwk", detail=str(error)) from None
    return dict(jwk)


def _check_validity(valid_from: datetime, valid_to: datetime | None) -> None:
    for moment in (valid_from, valid_to):
        if moment is not None and moment.tzinfo is None:
            raise ValueError("issuer validity needs aware datetimes")
    if valid_to is not None and valid_to <= valid_from:
        raise IssuerError(MSG_VALIDITY, "valid_to")


def add_issuer(
    name: str,
    region: str,
    jwk: Mapping | str,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    actor: User | None = None,
    kid: str | None = None,
) -> TrustedIssuer:
    """Put an issuer on the trust list (audited); raise IssuerError naming the field at fault.

    The key id is the JWK's "kid" unless given; it must be unused by any issuer or our own keys.
    """
    name = (name or "").strip()
    if not name:
        raise IssuerError(MSG_NAME, "name")
    key = _parse_jwk(jwk)
    if kid is not None and key.get("kid") not in (None, kid):
        raise IssuerError(MSG_JWK_KID, "kid")
    kid = kid if kid is not None else key.get("kid")
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise IssuerError(MSG_KID, "kid")
    if kid_taken(kid):
        raise IssuerError(MSG_KID_TAKEN, "kid")
    valid_from = valid_from or utcnow()
    _check_validity(valid_from, valid_to)
    # Keep exactly the public members, with our kid: a JWK Set we publish back must be clean.
    public = tokens.jwk(tokens.public_key_from_jwk(key), kid)
    issuer = TrustedIssuer(
        name=name,
        region=(region or "").strip(),
        kid=kid,
        public_jwk=json.dumps(public, sort_keys=True),
        valid_from=valid_from,
        valid_to=valid_to,
        active=True,
    )
    db.session.add(issuer)
    db.session.flush()
    audit.append("issuer.add", "trusted_issuer", issuer.id, actor=actor, after=_summary(issuer))
    db.session.flush()
    return issuer


def _summary(issuer: TrustedIssuer) -> dict:
    return {
        "name": issuer.name,
        "region": issuer.region,
        "kid": issuer.kid,
        "active": issuer.active,
        "valid_from": issuer.valid_from.isoformat(),
        "valid_to": issuer.valid_to.isoformat() if issuer.valid_to else None,
    }


def _existing(issuer_id: int) -> TrustedIssuer:
    issuer = get(issuer_id)
    if issuer is None:
        raise IssuerError(MSG_UNKNOWN)
    return issuer


def set_active(
    issuer_id: int, active: bool, actor: User | None = None, reason: str = ""
) -> TrustedIssuer:
    """Activate or deactivate an issuer (audited); its codes are refused while inactive."""
    issuer = _existing(issuer_id)
    if issuer.active != active:
        before = _summary(issuer)
        issuer.active = active
        audit.append(
            "issuer.activate" if active else "issuer.deactivate",
            "trusted_issuer",
            issuer.id,
            actor=actor,
            before=before,
            after=_summary(issuer),
            reason=reason,
        )
        db.session.flush()
    return issuer


def update_issuer(
    issuer_id: int,
    name: str,
    region: str,
    valid_from: datetime,
    valid_to: datetime | None,
    actor: User | None = None,
    reason: str = "",
) -> TrustedIssuer:
    """Change an issuer's name, region or validity (audited); its key never changes.

    A new key is a new issuer entry, so that records keep naming the key they trusted.
    """
    issuer = _existing(issuer_id)
    name = (name or "").strip()
    if not name:
        raise IssuerError(MSG_NAME, "name")
    _check_validity(valid_from, valid_to)
    before = _summary(issuer)
    issuer.name, issuer.region = name, (region or "").strip()
    issuer.valid_from, issuer.valid_to = valid_from, valid_to
    after = _summary(issuer)
    if after != before:
        audit.append(
            "issuer.update",
            "trusted_issuer",
            issuer.id,
            actor=actor,
            before=before,
            after=after,
            reason=reason,
        )
    db.session.flush()
    return issuer
