"""The verifier bundle (docs/token-format.md, "The verifier bundle"): all a verifier needs offline.

Our keys with their windows (the prepared next key included), the trusted partners' keys and
their caps, the revocation list, and for staff the paper serials whose holder is yellow or red.
Random ids only: nothing in it names or identifies a person.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import lru_cache

from flask import current_app, jsonify, request

from gantong.codes import keys, trust_list
from gantong.core import credentials, tokens, verifier
from gantong.extensions import db
from gantong.models import Device, Holder, HolderCredential, PaperCode, SigningKey, utcnow

# The members that change only when the content does; the ETag is computed over these.
CONTENT = (
    "format",
    "keys",
    "partners",
    "revoked",
    "paper_colours",
    "max_presentation_age",
    "revoked_credentials",
)


def _seconds(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _own_keys() -> list[dict]:
    rows = db.session.scalars(db.select(SigningKey).order_by(SigningKey.created_at, SigningKey.kid))
    entries = []
    for row in rows:
        entry = tokens.jwk(tokens.public_key_from_bytes(row.public_key), row.kid)
        entry.update(
            not_before=_seconds(row.created_at),
            not_after=_seconds(row.retired_at),
            signs_from=_seconds(row.signs_from),
            signing=bool(row.signing),
        )
        entries.append(entry)
    return entries


def _partners(moment: datetime) -> list[dict]:
    cap = int(current_app.config["PARTNER_MAX_TTL"])
    entries = []
    for issuer in trust_list.list_issuers():
        # An inactive issuer is left out: its codes are refused as signed by an unknown key.
        if not issuer.active:
            continue
        entry = json.loads(issuer.public_jwk)
        entry.update(
            name=issuer.name,
            region=issuer.region,
            max_ttl=cap,
            not_before=_seconds(issuer.valid_from),
            not_after=_seconds(issuer.valid_to),
        )
        entries.append(entry)
    return entries


def revocations(moment: datetime) -> list[dict]:
    """Return the revoked paper serials that would still verify by their signature, with when."""
    query = (
        db.select(PaperCode.serial, PaperCode.revoked_at)
        .where(PaperCode.revoked_at.is_not(None), PaperCode.expires_at > moment)
        .order_by(PaperCode.serial)
    )
    # Screen code ids are never re-issued here, so no code id is superseded; the list would
    # carry them ({"id": code_id, "from": ...}) as it carries serials.
    return [
        {"id": serial, "from": _seconds(revoked_at)}
        for serial, revoked_at in db.session.execute(query)
    ]


def paper_colours(moment: datetime) -> dict[str, str]:
    """Return the live paper serials whose holder is yellow or red now, with that colour."""
    query = (
        db.select(PaperCode.serial, Holder.colour)
        .join(Holder, Holder.id == PaperCode.holder_id)
        .where(
            PaperCode.revoked_at.is_(None),
            PaperCode.expires_at > moment,
            Holder.colour.in_((tokens.YELLOW, tokens.RED)),
        )
        .order_by(PaperCode.serial)
    )
    return {serial: colour for serial, colour in db.session.execute(query)}


def revoked_credential_ids(moment: datetime) -> list[str]:
    """Return the live credentials a verifier must refuse: the holder's colour is now worse
    than the credential's, or its phone was removed (docs/token-format.md, 8.6)."""
    worse = db.or_(
        db.and_(
            HolderCredential.colour == tokens.GREEN,
            Holder.colour.in_((tokens.YELLOW, tokens.RED)),
        ),
        db.and_(HolderCredential.colour == tokens.YELLOW, Holder.colour == tokens.RED),
        Device.removed_at.is_not(None),
    )
    query = (
        db.select(HolderCredential.id)
        .join(Holder, Holder.id == HolderCredential.holder_id)
        .join(Device, Device.id == HolderCredential.device_id)
        .where(HolderCredential.valid_until > moment, worse)
        .order_by(HolderCredential.id)
    )
    return list(db.session.scalars(query))


@lru_cache(maxsize=2)
def _encoded(ids: tuple[str, ...]) -> dict:
    # Encoding 100,000 ids takes a few hundred ms; the list changes far less often than
    # verifiers ask (bench/README.md, Issue 18).
    return credentials.gcs_encode(ids)


def build(staff: bool, now: datetime | None = None) -> dict:
    """Return the bundle as of now; the staff version adds the paper colours."""
    moment = now or utcnow()
    keys.signing_key(moment)  # a due next key takes over first, so the bundle says who signs
    config = current_app.config
    issued = int(moment.timestamp())
    bundle = {
        "format": verifier.BUNDLE_FORMAT,
        "issued_at": issued,
        "refresh_after": issued + int(config["BUNDLE_REFRESH_SECONDS"]),
        "refuse_after": issued + int(config["BUNDLE_REFUSE_SECONDS"]),
        "max_clock_skew": tokens.MAX_CLOCK_SKEW,
        "keys": _own_keys(),
        "partners": _partners(moment),
        "revoked": revocations(moment),
        "max_presentation_age": int(config["MAX_PRESENTATION_AGE"]),
        "revoked_credentials": dict(_encoded(tuple(revoked_credential_ids(moment)))),
    }
    if staff:
        bundle["paper_colours"] = paper_colours(moment)
    return bundle


def etag(bundle: dict) -> str:
    """Return the validator: a hash of the content, not of the times it was served at."""
    content = {name: bundle.get(name) for name in CONTENT}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def response(staff: bool):
    """Return the bundle as a JSON response with its ETag; 304 when the caller's copy is current.

    A 304 confirms the caller's content as of now: the verifier moves its times forward by the
    age of its copy (docs/token-format.md).
    """
    document = build(staff)
    reply = jsonify(document)
    reply.set_etag(etag(document))
    reply.cache_control.no_cache = True
    if staff:
        reply.cache_control.private = True
    else:
        reply.cache_control.public = True
    return reply.make_conditional(request)
