"""JSON API for checkpoint devices: POST /api/v1/verify (documented in docs/openapi.yaml)."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from gantong.checkpoint import gate, points, verification
from gantong.checkpoint.labels import refusal_advice, refusal_title
from gantong.codes import intl_trust
from gantong.core import identity, intl_certs, rules
from gantong.core.kinds import CheckMethod, PointMode
from gantong.extensions import csrf, limiter
from gantong.models import utcnow
from gantong.web import certificate_labels
from gantong.web.inputs import BadJson, json_fields

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _caller():
    """Return (point, staff) from a per-point bearer token or a staff session, else None."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        point = points.point_for_api_token(header.removeprefix("Bearer ").strip())
        return (point, None) if point else None
    # A one-time password not yet replaced opens no page, and no API call either.
    if (
        current_user.is_authenticated
        and current_user.role == "staff"
        and current_user.point
        and current_user.point.active
        and not current_user.must_change_password
    ):
        # A browser session must prove it is our page calling, as forms do.
        csrf.protect()
        return current_user.point, current_user._get_current_object()
    return None


def _rate_key() -> str:
    # Runs before our own before_request, so it reads the credentials itself.
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return "point-token:" + hashlib.sha256(header.encode()).hexdigest()[:24]
    if current_user.is_authenticated:
        return f"staff:{current_user.id}"
    return "api:" + (request.remote_addr or "")


@bp.before_request
def authenticate():
    try:
        g.api_caller = _caller()
    except CSRFError:
        return jsonify(error="csrf", message="Missing or invalid X-CSRFToken header."), 400
    if g.api_caller is None:
        return jsonify(
            error="unauthorised", message="Send a point API token or log in as staff."
        ), 401
    return None


def _hit_json(hit) -> dict:
    return {
        "key": hit.key,
        "rule": hit.rule,
        "colour": hit.colour,
        "source": hit.source,
        "since": hit.since.isoformat(),
        "until": hit.until.isoformat() if hit.until else None,
        "needs_transcoding": hit.needs_transcoding,
    }


def _certificate(text: str, now):
    """An international certificate (EU DCC `HC1:`, SMART Health Card `shc:/`): what it says and
    what its verification against our trust lists found. It carries no colour, so no record is
    opened, as at the checkpoint's page."""
    try:
        verified = intl_trust.verify_text(text, now)
    except intl_certs.CertificateError:
        reason = "certificate_unreadable"
        return jsonify(
            result="refused",
            reason=reason,
            title=refusal_title(reason),
            message=refusal_advice(reason),
        ), 422
    cert = verified.certificate
    return jsonify(
        result="certificate",
        format=cert.format,
        kind=cert.kind,
        status=verified.status,
        verified=verified.verified,
        title=certificate_labels.status_title(verified.status),
        message=certificate_labels.status_advice(verified.status),
        signer=verified.signer,
        issuer=cert.issuer,
        name=cert.name,
        birth_date=cert.birth_date,
        issued_at=cert.issued_at.isoformat() if cert.issued_at else None,
        expires_at=cert.expires_at.isoformat() if cert.expires_at else None,
        details={key: value for key, value in cert.details.items() if not key.startswith("_")},
    )


@bp.post("/verify")
@csrf.exempt
@limiter.limit(lambda: current_app.config["VERIFY_LIMIT_PER_STAFF"], key_func=_rate_key)
def verify():
    """Verify a token (or an 8-digit number); open a verification record for it, or at a
    verify-only point give the verdict (and keep its record only where the point keeps them)."""
    point, staff = g.api_caller
    try:
        body = json_fields()
    except BadJson:
        return jsonify(
            error="malformed", message="Send a JSON object with a token or a number."
        ), 400
    now = utcnow()
    token = None
    if body.get("token") and intl_certs.is_certificate(body["token"]):
        return _certificate(body["token"], now)
    try:
        if body.get("token"):
            holder, token = verification.holder_for_token(body["token"], now)
        elif body.get("number"):
            holder = verification.holder_for_number(body["number"], now)
        else:
            raise verification.Refused("malformed")
    except verification.Refused as refusal:
        return jsonify(
            result="refused",
            reason=refusal.reason,
            title=refusal_title(refusal.reason),
            message=refusal_advice(refusal.reason),
        ), 422
    holder_json = (
        {
            "masked_name": identity.mask_name(holder.name),
            "document": identity.mask_document(holder.doc_number),
        }
        if holder
        else None
    )
    if point.verify_only:
        # The point's setting holds for a partner's gate as for our gate page: a record with no
        # temperature where the point keeps records, else nothing about the person stored; and,
        # as on the gate page, no reasons behind the colour.
        verdict = gate.verdict_for(holder, point, staff, CheckMethod.API, token, now)
        return jsonify(
            result="verified",
            mode=PointMode.VERIFY,
            colour=verdict.colour,
            colour_source="database" if holder else "token",
            decision=rules.decision_for_colour(verdict.colour),
            holder=holder_json,
            issuer={"name": verdict.issuer} if verdict.issuer else None,
            point={"id": point.id, "name": point.name},
            record_id=verdict.record_id,
            verified_at=now.isoformat(),
        )
    record, result = verification.open_record(holder, point, staff, CheckMethod.API, token, now)
    return jsonify(
        result="verified",
        mode=PointMode.RECORD,
        colour=record.colour,
        # A partner's code: we hold no record of its holder, so its token's colour stands.
        colour_source="database" if holder else "token",
        token_colour=record.token_colour,
        token_colour_stale=bool(record.token_colour and record.token_colour != record.colour),
        holder=holder_json,
        issuer={
            "name": record.issuer.name,
            "region": record.issuer.region,
            "partner_code_id": record.partner_code_id,
        }
        if record.issuer
        else None,
        paper_serial=record.paper_serial,
        reasons=[_hit_json(hit) for hit in result.hits],
        point={"id": point.id, "name": point.name},
        record_id=record.record_id,
        reference=verification.reference_for(record),
        record_url=url_for("checkpoint.submit_record"),
        verified_at=record.verified_at.isoformat(),
    )
