"""Labels of international certificates (EU DCC, SMART Health Cards), shown at the checkpoint
and to officers: what a certificate is, what it says, and what its verification found."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from flask_babel import lazy_gettext as _l

from gantong.core import intl_certs
from gantong.web import i18n

FORMATS = {"eu-dcc": _l("EU Digital COVID Certificate"), "shc": _l("SMART Health Card")}
KINDS = {
    "vaccination": _l("Vaccination"),
    "test": _l("Test result"),
    "recovery": _l("Recovery"),
    "other": _l("Health record"),
}
RESULTS = {
    "negative": _l("negative"),
    "positive": _l("positive"),
    "unknown": _l("result not stated"),
}
TEST_TYPES = {"naat": _l("nucleic acid (PCR)"), "antigen": _l("rapid antigen")}
# (title, what to do) per verification status.
STATUSES = {
    intl_certs.VERIFIED: (_l("Signature verified"), ""),
    "bad_signature": (
        _l("Forged or altered certificate"),
        _l("The signature does not match what the certificate says. Do not accept it as evidence."),
    ),
    "unknown_key": (
        _l("Issuer not on our trust list"),
        _l("We cannot check who signed it. Treat what it says as unverified."),
    ),
    "revoked": (
        _l("Revoked by its issuer"),
        _l("The issuer has withdrawn this certificate. Do not accept it as evidence."),
    ),
    "key_usage": (
        _l("Signer may not sign this kind"),
        _l("The signer's certificate does not allow this kind of certificate."),
    ),
    "expired": (_l("Expired"), _l("The signature is genuine, but the certificate has expired.")),
    "not_yet_valid": (_l("Not yet valid"), _l("The certificate's issue time is in the future.")),
    "signer_expired": (
        _l("Signer's certificate expired"),
        _l("The signature is genuine, but its signer's certificate has expired."),
    ),
}


@dataclass(frozen=True)
class CertificateView:
    """What a page shows of a certificate, read now or stored at pre-entry."""

    format: str
    kind: str
    name: str
    birth_date: str
    status: str
    signer: str
    issuer: str
    issued_at: datetime | None
    expires_at: datetime | None
    details: dict

    @property
    def signature_ok(self) -> bool:
        return self.status not in ("unknown_key", "bad_signature")

    @property
    def verified(self) -> bool:
        return self.status == intl_certs.VERIFIED


def of_verification(verification: intl_certs.Verification) -> CertificateView:
    cert = verification.certificate
    return CertificateView(
        cert.format,
        cert.kind,
        cert.name,
        cert.birth_date,
        verification.status,
        verification.signer,
        cert.issuer,
        cert.issued_at,
        cert.expires_at,
        cert.details,
    )


def of_stored(row) -> CertificateView:
    """The view of a ForeignCertificate row."""
    return CertificateView(
        row.format,
        row.kind,
        row.name,
        row.birth_date,
        row.status,
        row.signer,
        json.loads(row.details).get("_issuer", ""),
        row.issued_at,
        row.expires_at,
        json.loads(row.details),
    )


def when(text: str) -> str:
    """A time a certificate gives as ISO 8601 text, as every page writes a moment."""
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return str(text)
    return i18n.moment(moment) if moment.tzinfo else str(text)


def status_title(status: str) -> str:
    return str(STATUSES.get(status, (status, ""))[0])


def status_advice(status: str) -> str:
    return str(STATUSES.get(status, ("", ""))[1])


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        certificate_formats=FORMATS,
        certificate_kinds=KINDS,
        certificate_results=RESULTS,
        certificate_test_types=TEST_TYPES,
        certificate_status_title=status_title,
        certificate_status_advice=status_advice,
        certificate_time=when,
    )
