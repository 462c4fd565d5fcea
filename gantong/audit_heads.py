"""Signed heads of the audit trail, as Certificate Transparency signs tree heads.

A hash chain alone does not show that its newest events were deleted, or that someone with the
database rehashed everything after an edit: the chain is still whole. So at a set interval and
on demand the app signs (sequence, head hash, time) with a key the database alone does not give
(its private part is encrypted under SECRET_KEY) and publishes the latest signed head at
/audit/head.json. Anyone may keep copies; a kept head is checked by `flask gantong audit verify
--since-signed-head FILE` (or `--expect-head HASH`) and on the admin page: the chain must be whole
and still hold that very hash at that sequence.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from flask import current_app

from gantong import audit
from gantong.core import tokens
from gantong.extensions import db
from gantong.models import AuditEvent, AuditHeadKey, SignedAuditHead, utcnow

DEFAULT_INTERVAL = 300  # seconds between automatic signatures, when the trail has grown


class BadHead(Exception):
    """A kept head that is not one of ours: unreadable, or its signature does not verify."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed_bytes(seq: int, head_hash: str, signed_at: datetime) -> bytes:
    """What is signed: the canonical JSON of the sequence, the head hash and the time."""
    return json.dumps(
        {"seq": seq, "head": head_hash, "at": audit._utc_iso(signed_at)},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def _key() -> tuple[AuditHeadKey, object]:
    secret = current_app.config["SECRET_KEY"]
    row = db.session.scalars(
        db.select(AuditHeadKey).order_by(AuditHeadKey.created_at.desc())
    ).first()
    if row is None:
        private = tokens.generate_private_key()
        kid = tokens.new_kid()
        row = AuditHeadKey(
            kid=kid,
            public_key=tokens.public_bytes(private.public_key()),
            private_key=tokens.encrypt_private_key(private, secret, kid),
            created_at=utcnow(),
        )
        db.session.add(row)
        db.session.flush()
        return row, private
    return row, tokens.decrypt_private_key(row.private_key, secret, row.kid)


def _current_head() -> tuple[int, str]:
    head = db.session.scalars(
        db.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (head.seq, head.hash) if head else (0, audit.GENESIS)


def sign_head(now: datetime | None = None) -> SignedAuditHead:
    """Sign the trail's head now and store the signed head (the newest is published)."""
    moment = (now or utcnow()).replace(microsecond=0)
    audit._lock_chain_head()
    seq, head_hash = _current_head()
    row, private = _key()
    signature = private.sign(signed_bytes(seq, head_hash, moment))
    head = SignedAuditHead(
        seq=seq, head_hash=head_hash, signed_at=moment, kid=row.kid, signature=_b64(signature)
    )
    db.session.add(head)
    db.session.flush()
    return head


def latest() -> SignedAuditHead | None:
    return db.session.scalars(
        db.select(SignedAuditHead).order_by(SignedAuditHead.id.desc()).limit(1)
    ).first()


def latest_or_fresh(now: datetime | None = None) -> SignedAuditHead:
    """The newest signed head; a new one first if the interval has passed and the trail has grown."""
    moment = now or utcnow()
    interval = int(current_app.config.get("AUDIT_HEAD_INTERVAL") or DEFAULT_INTERVAL)
    head = latest()
    if head is None or (
        moment - head.signed_at >= timedelta(seconds=interval) and _current_head()[0] != head.seq
    ):
        head = sign_head(moment)
    return head


def as_json(head: SignedAuditHead) -> dict:
    """The published form: enough to check the signature with the public key alone."""
    key = db.session.get(AuditHeadKey, head.kid)
    return {
        "seq": head.seq,
        "head_hash": head.head_hash,
        "signed_at": audit._utc_iso(head.signed_at),
        "kid": head.kid,
        "public_key": _b64(bytes(key.public_key)),
        "signature": head.signature,
    }


@dataclass(frozen=True)
class KeptHead:
    seq: int
    head_hash: str


def read_kept(text: str) -> KeptHead:
    """Read a kept signed head (the JSON of /audit/head.json) and check its signature.

    The key must be one of ours: its row opens under SECRET_KEY and gives the published public
    key, so a head forged with a key written into the database is refused.
    """
    try:
        data = json.loads(text)
        seq, head_hash, kid = int(data["seq"]), str(data["head_hash"]), str(data["kid"])
        signed_at = datetime.fromisoformat(str(data["signed_at"]).replace("Z", "+00:00"))
        signature, public = _unb64(str(data["signature"])), _unb64(str(data["public_key"]))
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        raise BadHead("not a signed head") from error
    row = db.session.get(AuditHeadKey, kid)
    if row is None or bytes(row.public_key) != public:
        raise BadHead("signed with a key that is not ours")
    try:
        private = tokens.decrypt_private_key(row.private_key, current_app.config["SECRET_KEY"], kid)
    except ValueError as error:
        raise BadHead("signed with a key that is not ours") from error
    if tokens.public_bytes(private.public_key()) != public:
        raise BadHead("signed with a key that is not ours")
    try:
        tokens.public_key_from_bytes(public).verify(
            signature, signed_bytes(seq, head_hash, signed_at)
        )
    except (InvalidSignature, ValueError) as error:
        raise BadHead("the signature does not verify") from error
    return KeptHead(seq, head_hash)


# Why a chain fails against a kept head, for a page to say in the user's language.
BROKEN, NOT_GENESIS, NOT_HELD = "broken", "not_genesis", "not_held"


@dataclass(frozen=True)
class HeadCheck:
    ok: bool
    chain: audit.ChainCheck
    problem: str = ""  # in English, as the command line prints it
    reason: str = ""  # BROKEN, NOT_GENESIS or NOT_HELD
    seq: int | None = None  # the kept head's event, when it names one
    kept_hash: str = ""


def check_against(expected_hash: str, seq: int | None = None) -> HeadCheck:
    """Check the whole chain, and that it still holds `expected_hash` (at `seq`, if given).

    A whole chain that still holds a kept hash holds, unchanged, every event up to it: each
    event's hash covers the one before. Deleting newest events, rehashing after an edit, or
    rebuilding the chain all lose the kept hash.
    """
    chain = audit.verify_chain()
    if not chain.ok:
        return HeadCheck(
            False,
            chain,
            f"the chain is broken at event {chain.first_broken}: {chain.problem}",
            BROKEN,
        )
    expected_hash = (expected_hash or "").strip().lower()
    if seq == 0 or (seq is None and expected_hash == audit.GENESIS):
        return HeadCheck(
            expected_hash == audit.GENESIS,
            chain,
            ""
            if expected_hash == audit.GENESIS
            else "the kept head of an empty trail must be the genesis hash",
            "" if expected_hash == audit.GENESIS else NOT_GENESIS,
        )
    query = db.select(AuditEvent).where(AuditEvent.hash == expected_hash)
    if seq is not None:
        query = query.where(AuditEvent.seq == seq)
    event = db.session.scalars(query).first()
    if event is None:
        where = f"event {seq}" if seq is not None else "any event"
        return HeadCheck(
            False,
            chain,
            f"the kept head {expected_hash[:16]}… is not the hash of {where}: "
            "events up to it were deleted or changed",
            NOT_HELD,
            seq,
            expected_hash,
        )
    return HeadCheck(True, chain)
