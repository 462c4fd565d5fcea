"""Trust lists for international certificates, and their verification against them.

EU DCC document signer certificates (DSCs) are imported from a file in the DCC gateway's
trust-list format; SMART Health Card issuers are added by their `iss`, and their keys (JWKS)
and revocation lists fetched from the issuer and kept here as the cache the checkpoint uses.
Administrators manage both (the admin UI and `flask gantong credentials ...`); every change
appends an audit event.
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from gantong import audit
from gantong.core import intl_certs, intl_conformance
from gantong.core.kinds import N_
from gantong.extensions import db
from gantong.models import DccSigner, ShcIssuer, User, utcnow

MSG_FILE_JSON = N_("The file is not JSON in the gateway's trust-list format.")
MSG_ISS = N_("Give the issuer's address: https:// and no trailing slash.")
MSG_ISS_TAKEN = N_("This issuer is on the list already.")
MSG_NAME = N_("Give the issuer's name.")
MSG_JWKS = N_('The keys are not a JWKS: a JSON object with "keys", each an EC P-256 key.')
MSG_FETCH = N_("The issuer's keys could not be fetched: %(detail)s")

# A JWKS or CRL is a few kilobytes; refuse anything far larger.
FETCH_MAX_BYTES = 256 * 1024
FETCH_TIMEOUT = 10


class TrustError(ValueError):
    """A trust-list change was refused; str() is a message id, `field` the input at fault."""

    def __init__(self, message: str, field: str | None = None, detail: str = ""):
        super().__init__(message)
        self.field = field
        self.detail = detail


# ---- EU DCC signers ---------------------------------------------------------------------------


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (kid or index, reason)


def _gateway_entries(content: bytes) -> list:
    """The entries of a gateway trust list: a JSON array of DSCs, or {"certificates": [...]}."""
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise TrustError(MSG_FILE_JSON, "file") from error
    if isinstance(document, dict):
        document = document.get("certificates")
    if not isinstance(document, list):
        raise TrustError(MSG_FILE_JSON, "file")
    return document


def import_dsc_file(content: bytes, actor: User | None) -> ImportResult:
    """Add every DSC of a gateway trust-list file (kid, country, rawData as base64 DER).

    A DSC whose given kid is not its certificate's is refused; one already listed is left.
    Certificates that strict X.509 parsing refuses are kept when their key can be read.
    """
    result = ImportResult()
    for index, entry in enumerate(_gateway_entries(content)):
        label = str(entry.get("kid") or f"#{index + 1}") if isinstance(entry, dict) else f"#{index}"
        if not isinstance(entry, dict) or not isinstance(entry.get("rawData"), str):
            result.refused.append((label, "no rawData"))
            continue
        if entry.get("certificateType", "DSC") != "DSC":
            result.refused.append((label, "not a DSC"))
            continue
        try:
            der = base64.b64decode(entry["rawData"], validate=True)
            signer = intl_certs.read_signer_certificate(der)
        except (binascii.Error, ValueError, intl_certs.CertificateError) as error:
            result.refused.append((label, f"certificate unreadable: {error}"))
            continue
        kid = base64.b64encode(intl_certs.dcc_key_id(der)).decode()
        if entry.get("kid") and entry["kid"] != kid:
            result.refused.append((label, f"kid does not match the certificate ({kid})"))
            continue
        if db.session.scalar(db.select(DccSigner).where(DccSigner.kid == kid)) is not None:
            result.unchanged.append(kid)
            continue
        row = DccSigner(
            kid=kid,
            country=str(entry.get("country", ""))[:2].upper(),
            certificate=der,
            subject=signer.subject[:400],
            key_usages=" ".join(sorted(signer.key_usages))[:400],
            not_before=signer.not_before,
            not_after=signer.not_after,
            strict=signer.strict,
        )
        db.session.add(row)
        db.session.flush()
        audit.append(
            "dcc_signer.add",
            "dcc_signer",
            row.id,
            actor=actor,
            after={"kid": kid, "country": row.country, "subject": row.subject},
        )
        result.added.append(kid)
    return result


def list_signers() -> list[DccSigner]:
    query = db.select(DccSigner).order_by(DccSigner.active.desc(), DccSigner.country, DccSigner.kid)
    return list(db.session.scalars(query))


def get_signer(signer_id: int) -> DccSigner | None:
    return db.session.get(DccSigner, signer_id)


def set_signer_active(
    signer: DccSigner, active: bool, actor: User | None, reason: str = ""
) -> None:
    """Take a DSC off the list or put it back (kept, for the certificates already checked)."""
    if signer.active == active:
        return
    signer.active = active
    audit.append(
        "dcc_signer.activate" if active else "dcc_signer.deactivate",
        "dcc_signer",
        signer.id,
        actor=actor,
        after={"kid": signer.kid, "active": active},
        reason=reason,
    )
    db.session.flush()


def signer_label(signer: DccSigner) -> str:
    return f"{signer.country} DSC {signer.kid}" if signer.country else f"DSC {signer.kid}"


def dcc_keys(kid: str | None = None) -> dict[str, intl_certs.TrustedKey]:
    """The active DSCs as trusted keys, by base64 key id (only the one of `kid` if given: a
    gateway's list holds thousands)."""
    keys = {}
    query = db.select(DccSigner).where(DccSigner.active.is_(True))
    if kid is not None:
        query = query.where(DccSigner.kid == kid)
    for signer in db.session.scalars(query):
        try:
            read = intl_certs.read_signer_certificate(signer.certificate)
        except intl_certs.CertificateError:
            continue
        keys[signer.kid] = intl_certs.TrustedKey(
            public_key=read.public_key,
            label=signer_label(signer),
            key_usages=frozenset(signer.key_usages.split()),
            not_before=signer.not_before,
            not_after=signer.not_after,
        )
    return keys


# ---- SMART Health Card issuers ----------------------------------------------------------------


def fetch_json(url: str) -> dict:
    """GET a small JSON document over HTTPS (the issuer's JWKS or a CRL)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
        body = response.read(FETCH_MAX_BYTES + 1)
    if len(body) > FETCH_MAX_BYTES:
        raise ValueError("response too large")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


def _valid_iss(iss: str) -> bool:
    parsed = urllib.parse.urlsplit(iss)
    return parsed.scheme == "https" and bool(parsed.netloc) and not iss.endswith("/")


def _checked_jwks(jwks) -> dict:
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise TrustError(MSG_JWKS, "jwks")
    try:
        intl_conformance.shc_trusted_keys(jwks, {}, "")
    except (intl_certs.CertificateError, KeyError, TypeError, ValueError) as error:
        raise TrustError(MSG_JWKS, "jwks") from error
    return jwks


def add_shc_issuer(
    iss: str,
    name: str,
    actor: User | None,
    jwks_text: str = "",
    fetch: Callable[[str], dict] | None = None,
) -> ShcIssuer:
    """Trust an SHC issuer; its keys are given (JWKS) or fetched from `iss`."""
    iss, name = iss.strip(), name.strip()
    if not _valid_iss(iss):
        raise TrustError(MSG_ISS, "iss")
    if not name:
        raise TrustError(MSG_NAME, "name")
    if db.session.scalar(db.select(ShcIssuer).where(ShcIssuer.iss == iss)) is not None:
        raise TrustError(MSG_ISS_TAKEN, "iss")
    if jwks_text.strip():
        try:
            jwks = _checked_jwks(json.loads(jwks_text))
        except ValueError as error:
            raise TrustError(MSG_JWKS, "jwks") from error
        crls: dict = {}
    else:
        jwks, crls = _fetch_keys(iss, fetch or fetch_json)
    issuer = ShcIssuer(
        iss=iss, name=name, jwks=json.dumps(jwks), crls=json.dumps(crls), fetched_at=utcnow()
    )
    db.session.add(issuer)
    db.session.flush()
    audit.append(
        "shc_issuer.add",
        "shc_issuer",
        issuer.id,
        actor=actor,
        after={"iss": iss, "name": name, "kids": [k.get("kid") for k in jwks["keys"]]},
    )
    return issuer


def _fetch_keys(iss: str, fetch: Callable[[str], dict]) -> tuple[dict, dict]:
    """The issuer's JWKS and, for each key that announces one (crlVersion), its CRL."""
    try:
        jwks = _checked_jwks(fetch(f"{iss}/.well-known/jwks.json"))
        crls = {}
        for jwk in jwks["keys"]:
            if jwk.get("crlVersion") and jwk.get("kid"):
                crls[jwk["kid"]] = fetch(f"{iss}/.well-known/crl/{jwk['kid']}.json")
    except TrustError:
        raise
    except (OSError, ValueError) as error:
        raise TrustError(MSG_FETCH, "iss", detail=str(error)[:200]) from error
    return jwks, crls


def refresh_shc_issuer(
    issuer: ShcIssuer, actor: User | None, fetch: Callable[[str], dict] | None = None
) -> bool:
    """Fetch the issuer's keys and revocation lists again; on failure keep the cached ones
    and record the error. Return whether it succeeded."""
    try:
        jwks, crls = _fetch_keys(issuer.iss, fetch or fetch_json)
    except TrustError as error:
        issuer.fetch_error = (error.detail or str(error))[:300]
        db.session.flush()
        return False
    changed = json.loads(issuer.jwks) != jwks or json.loads(issuer.crls) != crls
    issuer.jwks, issuer.crls = json.dumps(jwks), json.dumps(crls)
    issuer.fetched_at, issuer.fetch_error = utcnow(), ""
    if changed:
        audit.append(
            "shc_issuer.refresh",
            "shc_issuer",
            issuer.id,
            actor=actor,
            after={"kids": [k.get("kid") for k in jwks["keys"]], "crls": sorted(crls)},
        )
    db.session.flush()
    return True


def list_shc_issuers() -> list[ShcIssuer]:
    query = db.select(ShcIssuer).order_by(ShcIssuer.active.desc(), ShcIssuer.name)
    return list(db.session.scalars(query))


def get_shc_issuer(issuer_id: int) -> ShcIssuer | None:
    return db.session.get(ShcIssuer, issuer_id)


def set_shc_issuer_active(
    issuer: ShcIssuer, active: bool, actor: User | None, reason: str = ""
) -> None:
    if issuer.active == active:
        return
    issuer.active = active
    audit.append(
        "shc_issuer.activate" if active else "shc_issuer.deactivate",
        "shc_issuer",
        issuer.id,
        actor=actor,
        after={"iss": issuer.iss, "active": active},
        reason=reason,
    )
    db.session.flush()


def shc_keys(iss: str) -> dict[str, intl_certs.TrustedKey]:
    """The keys of the active issuer `iss`, with their revocation lists; empty if none."""
    issuer = db.session.scalar(
        db.select(ShcIssuer).where(ShcIssuer.iss == iss, ShcIssuer.active.is_(True))
    )
    if issuer is None:
        return {}
    return intl_conformance.shc_trusted_keys(
        json.loads(issuer.jwks), json.loads(issuer.crls), issuer.name
    )


# ---- verification -----------------------------------------------------------------------------


def verify_text(text: str, now: datetime) -> intl_certs.Verification:
    """Read and verify a scanned or pasted certificate against the trust lists.

    Raises intl_certs.CertificateError when the text cannot be read as a certificate.
    """
    parsed = intl_certs.parse(text)
    if parsed.certificate.format == "shc":
        keys = shc_keys(parsed.certificate.issuer)
    else:
        keys = dcc_keys(parsed.certificate.key_id)
    return intl_certs.verify(parsed, keys, now)
