"""Signing keys in the database, so that every host signs and verifies with the same keys."""
from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

from . import tokens
from .extensions import db
from .models import Holder, SigningKey, utcnow


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _create_key(signing: bool) -> SigningKey:
    private = tokens.generate_private_key()
    kid = tokens.new_kid()
    key = SigningKey(
        kid=kid,
        public_key=tokens.public_bytes(private.public_key()),
        private_key=tokens.encrypt_private_key(private, _secret(), kid),
        signing=signing,
    )
    db.session.add(key)
    return key


def signing_key() -> tuple[str, Ed25519PrivateKey]:
    """Return the key that signs now, creating the first one on first use."""
    # Newest first: should two workers race to make the first key, both keys verify.
    query = db.select(SigningKey).where(SigningKey.signing).order_by(SigningKey.created_at.desc())
    key = db.session.scalars(query).first()
    if key is None:
        key = _create_key(signing=True)
        db.session.commit()
    return key.kid, tokens.decrypt_private_key(key.private_key, _secret(), key.kid)


def rotate() -> SigningKey:
    """Make a new signing key; the previous one stops signing but keeps verifying."""
    for old in db.session.scalars(db.select(SigningKey).where(SigningKey.signing)):
        old.signing = False
    key = _create_key(signing=True)
    db.session.commit()
    return key


def verification_keys() -> dict[str, Ed25519PublicKey]:
    """Return every key that may still verify: all keys that are not retired."""
    rows = db.session.scalars(db.select(SigningKey).where(SigningKey.retired_at.is_(None)))
    return {row.kid: tokens.public_key_from_bytes(row.public_key) for row in rows}


def jwks() -> dict:
    """Return our public keys as an RFC 8037 JWK Set."""
    return {"keys": [tokens.jwk(public, kid) for kid, public in verification_keys().items()]}


def signed_screen_token(holder: Holder, now: datetime | None = None) -> tuple[tokens.Token, str]:
    """Return a fresh screen token for the holder's code page and its signed text."""
    kid, private = signing_key()
    token = tokens.Token(
        type=tokens.SCREEN,
        kid=kid,
        subject=holder.code_id,
        colour=holder.colour,
        issued_at=int((now or utcnow()).timestamp()),
        ttl=current_app.config["TOKEN_TTL"],
    )
    return token, tokens.sign(token, private)
