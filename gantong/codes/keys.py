"""Signing keys in the database, so that every host signs and verifies with the same keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

from gantong import audit
from gantong.core import identity, tokens
from gantong.extensions import db
from gantong.models import Holder, PaperCode, SigningKey, TrustedIssuer, User, utcnow


class KeyInUse(Exception):
    """Live paper codes depend on the key; `paper_codes` lists them (to reprint first)."""

    def __init__(self, kid: str, paper_codes: list[PaperCode]):
        super().__init__(f"{len(paper_codes)} live paper codes depend on key {kid}")
        self.kid = kid
        self.paper_codes = paper_codes


class KeyNotRetirable(Exception):
    """The key is unknown, retired already, or the one signing now."""


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _unused_kid() -> str:
    # A kid names one key across our keys and the trust list, or a token could verify under both.
    while True:
        kid = tokens.new_kid()
        taken = (
            db.session.get(SigningKey, kid) is not None
            or db.session.scalar(db.select(TrustedIssuer.id).where(TrustedIssuer.kid == kid))
            is not None
        )
        if not taken:
            return kid


def _create_key(signing: bool) -> SigningKey:
    private = tokens.generate_private_key()
    kid = _unused_kid()
    key = SigningKey(
        kid=kid,
        public_key=tokens.public_bytes(private.public_key()),
        private_key=tokens.encrypt_private_key(private, _secret(), kid),
        signing=signing,
    )
    db.session.add(key)
    return key


def rotation_lead() -> int:
    """Seconds a next key is published before it signs: the longest any verifier caches keys."""
    config = current_app.config
    return max(
        config["JWKS_MAX_AGE"], config["BUNDLE_REFRESH_SECONDS"], config["BUNDLE_REFUSE_SECONDS"]
    )


def _prepared_keys():
    """Published keys waiting to sign: never signed, not retired; the latest moment first."""
    return (
        db.select(SigningKey)
        .where(
            ~SigningKey.signing,
            SigningKey.signs_from.is_not(None),
            SigningKey.stopped_at.is_(None),
            SigningKey.retired_at.is_(None),
        )
        .order_by(SigningKey.signs_from.desc())
    )


def next_key(lock: bool = False) -> SigningKey | None:
    """Return the published key that is due to take over signing, if one is prepared.

    lock=True reads it under its row lock (on SQLite the write lock), as it is now.
    """
    query = _prepared_keys()
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalars(query).first()


def prepare_next(actor: User | None = None, now: datetime | None = None) -> SigningKey:
    """Publish the next signing key now; it signs from now + rotation_lead() (audited).

    Every verifier that refreshes its keys or bundle in between learns it before its first
    token, so a rotation goes unnoticed. Preparing again replaces a pending key's date, not the key.
    """
    moment = now or utcnow()
    key = next_key()
    if key is None:
        key = _create_key(signing=False)
    key.signs_from = moment + timedelta(seconds=rotation_lead())
    db.session.flush()
    audit.append(
        "key.prepare",
        "signing_key",
        key.kid,
        actor=actor,
        at=moment,
        after={"signs_from": key.signs_from.isoformat()},
    )
    db.session.flush()
    return key


def _take_over(moment: datetime) -> None:
    """Let the prepared next key sign from now (audited)."""
    # Decided again under the lock: another worker may have taken over meanwhile.
    pending = next_key(lock=True)
    if pending is None or pending.signs_from > moment:
        return
    previous = _stop_signing(moment)
    pending.signing = True
    audit.append(
        "key.rotate",
        "signing_key",
        pending.kid,
        at=moment,
        before={"signing": previous},
        after={"signing": [pending.kid], "prepared": True},
    )
    db.session.flush()


# The keys that sign now and the prepared next ones (a code page reads them in its own query).
SIGNING_OR_PREPARED = SigningKey.retired_at.is_(None) & (
    SigningKey.signing | (SigningKey.signs_from.is_not(None) & SigningKey.stopped_at.is_(None))
)


def _signing_rows(lock: bool = False):
    """The keys that sign now and the prepared ones, newest first, in one query (every code page).

    lock=True reads them under their row locks (on SQLite the write lock), as they are now.
    """
    query = (
        db.select(SigningKey.kid, SigningKey.private_key, SigningKey.signing, SigningKey.signs_from)
        .where(SIGNING_OR_PREPARED)
        .order_by(SigningKey.created_at.desc())
    )
    if lock:
        query = query.with_for_update()
    return db.session.execute(query).all()


def signing_key(now: datetime | None = None, rows=None) -> tuple[str, Ed25519PrivateKey]:
    """Return the key that signs now, creating the first one on first use.

    A prepared next key takes over once its moment has come. `rows` are the keys as
    _signing_rows reads them, read already by the caller (the code page's one query).
    """
    moment = now or utcnow()
    rows = rows if rows is not None else _signing_rows()
    if any(not row.signing and row.signs_from <= moment for row in rows):
        _take_over(moment)
        rows = _signing_rows()
    # Newest first: should two workers race to make the first key, both keys verify.
    signing = [row for row in rows if row.signing]
    if not signing:
        # Decided again under the lock: another request may be making the first key.
        signing = [row for row in _signing_rows(lock=True) if row.signing]
    if signing:
        kid, sealed = signing[0].kid, signing[0].private_key
    else:
        key = _create_key(signing=True)
        db.session.flush()
        kid, sealed = key.kid, key.private_key
    return kid, _unsealed(bytes(sealed), _secret(), kid)


@lru_cache(maxsize=16)
def _unsealed(sealed: bytes, secret: str, kid: str) -> Ed25519PrivateKey:
    # Unwrapping costs a key derivation: once per process and key, not once per code page.
    return tokens.decrypt_private_key(sealed, secret, kid)


def _stop_signing(moment: datetime) -> list[str]:
    """End the signing of every key that signs now (under their locks); return their kids."""
    stopped = []
    for old in db.session.scalars(
        db.select(SigningKey).where(SigningKey.signing).with_for_update()
    ):
        old.signing = False
        old.stopped_at = moment
        stopped.append(old.kid)
    return stopped


@dataclass
class Rotation:
    """An emergency rotation: the new signing key and the prepared keys it cancelled."""

    key: SigningKey
    stopped: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    @property
    def kid(self) -> str:
        return self.key.kid


def rotate(actor: User | None = None, now: datetime | None = None) -> Rotation:
    """Make a new signing key at once; the previous one stops signing but keeps verifying (audited).

    For an emergency (a leaked key): verifiers that cached the keys refuse the new key's codes
    until they refresh. A planned rotation is prepare_next(). The emergency wins over a planned
    one: a prepared key that has not taken over yet is retired (it signed nothing, and whatever
    leaked the signing key may have leaked it too), so it can never take over later; a prepared
    key that did take over is stopped like any signing key and never signs again.
    """
    moment = now or utcnow()
    stopped = _stop_signing(moment)
    cancelled = []
    for pending in db.session.scalars(_prepared_keys().with_for_update()).all():
        pending.retired_at = moment
        pending.notes = (pending.notes + " cancelled by an emergency rotation").strip()
        cancelled.append(pending.kid)
    key = _create_key(signing=True)
    db.session.flush()
    audit.append(
        "key.rotate",
        "signing_key",
        key.kid,
        actor=actor,
        at=moment,
        before={"signing": stopped, "prepared": cancelled},
        after={"signing": [key.kid], "cancelled": cancelled},
    )
    db.session.flush()
    return Rotation(key=key, stopped=stopped, cancelled=cancelled)


def live_paper_codes(kid: str, now: datetime | None = None) -> list[PaperCode]:
    """Return the paper codes signed by the key that are neither revoked nor expired."""
    query = (
        db.select(PaperCode)
        .where(
            PaperCode.kid == kid,
            PaperCode.revoked_at.is_(None),
            PaperCode.expires_at > (now or utcnow()),
        )
        .order_by(PaperCode.expires_at, PaperCode.id)
    )
    return list(db.session.scalars(query))


def retire(
    kid: str, force: bool = False, actor: User | None = None, now: datetime | None = None
) -> list[PaperCode]:
    """Retire a verifying key: its tokens are refused from now on (audited).

    Raises KeyInUse with the live paper codes that depend on the key, unless forced; returns them
    (those codes stop working). Raises KeyNotRetirable for the signing key: rotate first.
    """
    moment = now or utcnow()
    key = db.session.get(SigningKey, kid)
    if key is None or key.retired_at is not None:
        raise KeyNotRetirable(f"no key {kid} that verifies now")
    if key.signing:
        raise KeyNotRetirable(f"key {kid} signs now: rotate first, then retire it")
    dependants = live_paper_codes(kid, moment)
    if dependants and not force:
        raise KeyInUse(kid, dependants)
    key.retired_at = moment
    audit.append(
        "key.retire",
        "signing_key",
        kid,
        actor=actor,
        at=moment,
        before={"retired": False},
        after={
            "retired": True,
            "forced": bool(force and dependants),
            "live_paper_serials": [paper.serial for paper in dependants],
        },
    )
    db.session.flush()
    return dependants


def published_keys() -> list[SigningKey]:
    """Return every key that is not retired, the prepared next key included, oldest first."""
    query = (
        db.select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at)
    )
    return list(db.session.scalars(query))


def verification_keys() -> dict[str, Ed25519PublicKey]:
    """Return every key that may still verify: all keys that are not retired."""
    rows = db.session.scalars(db.select(SigningKey).where(SigningKey.retired_at.is_(None)))
    return {row.kid: tokens.public_key_from_bytes(row.public_key) for row in rows}


def jwks() -> dict:
    """Return our public keys as an RFC 8037 JWK Set."""
    return {"keys": [tokens.jwk(public, kid) for kid, public in verification_keys().items()]}


def signed_screen_token(
    holder: Holder, now: datetime | None = None, signing_rows=None
) -> tuple[tokens.Token, str]:
    """Return a fresh screen token for the holder's code page and its signed text (`signing_rows`:
    the keys read already, see signing_key)."""
    kid, private = signing_key(now, signing_rows)
    token = tokens.Token(
        type=tokens.SCREEN,
        kid=kid,
        subject=holder.code_id,
        colour=holder.colour,
        issued_at=int((now or utcnow()).timestamp()),
        ttl=current_app.config["TOKEN_TTL"],
        **identity_fields(holder),
    )
    return token, tokens.sign(token, private)


def identity_fields(holder: Holder) -> dict:
    """Return a version 2 token's masked name and document tail, as the code page shows them."""
    return {
        "masked_name": tokens.fit_name(identity.mask_name(holder.name)),
        "doc_tail": tokens.fit_tail(holder.doc_number),
    }
