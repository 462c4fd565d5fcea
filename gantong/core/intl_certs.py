"""International health certificates: the EU Digital COVID Certificate and SMART Health Cards.

`HC1:` → base45 → zlib → COSE_Sign1 → CBOR Web Token (ES256 or PS256 over the signer's key,
found by its 8-byte key id); `shc:/` numeric → compact JWS → raw DEFLATE → JSON (ES256 over the
issuer's JWK). Every step is bounded (input characters, inflated bytes, CBOR and JSON depth) so
that a small code cannot make us inflate or nest without end. This module reads and verifies;
which keys are trusted is the caller's (the administrators' trust lists).
This module knows nothing of Flask or the database.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import base45
import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

DCC_PREFIX = "HC1:"
SHC_PREFIX = "shc:/"
# A version 40 QR holds 4,296 alphanumeric characters; an SHC chunk 1,195 JWS characters
# (2,390 digits). Nothing longer is a code a camera read.
MAX_INPUT_CHARS = 4_400
# Real certificates inflate to 1-3 KB; 64 KB leaves room and bounds what a bomb costs us.
MAX_INFLATED_BYTES = 64 * 1024
# A DCC nests to depth 5 (CWT, hcert, certificate, entry list, entry); FHIR bundles to ~10.
MAX_CBOR_DEPTH = 16
MAX_JSON_DEPTH = 32

# CWT claim keys (RFC 8392) and the DCC's own.
CWT_ISS, CWT_EXP, CWT_IAT, CWT_HCERT = 1, 4, 6, -260
COSE_ALG, COSE_KID = 1, 4
ES256, PS256 = -7, -37
COSE_SIGN1_TAG, CWT_TAG = 18, 61

# The extended key usages a DSC may carry to limit what it signs (the DCC trust framework);
# both the registered OIDs and the ones with the stray ".0" that some signers carry.
KEY_USAGE_OIDS = {
    "test": {"1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"},
    "vaccination": {"1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"},
    "recovery": {"1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"},
}
DCC_KINDS = {"v": "vaccination", "t": "test", "r": "recovery"}
# The DCC value sets' test results (SNOMED CT) and test types (LOINC).
TEST_RESULTS = {"260415000": "negative", "260373001": "positive"}
TEST_TYPES = {"LP6464-4": "naat", "LP217198-3": "antigen"}
# SMART Health Card result codes for a laboratory observation (SNOMED CT).
SHC_RESULTS = {
    "260385009": "negative",
    "260415000": "negative",
    "10828004": "positive",
    "260373001": "positive",
}


class CertificateError(Exception):
    """The text is not a certificate we can read; `reason` names the step that refused it."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


# ---- bounded decoding ------------------------------------------------------------------------


def is_certificate(text: str) -> bool:
    """Say whether a scanned text claims to be an international certificate."""
    head = text.lstrip()[:5]
    return head.upper().startswith(DCC_PREFIX) or head.lower() == SHC_PREFIX


def inflate(data: bytes, *, raw: bool = False, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """Inflate zlib (or, with `raw`, raw DEFLATE) data, refusing past `limit` bytes.

    Never holds more than `limit` + 1 inflated bytes, however far the stream would inflate.
    """
    inflater = zlib.decompressobj(-15 if raw else 15)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as error:
        raise CertificateError("compression", str(error)) from error
    if len(out) > limit or inflater.unconsumed_tail:
        raise CertificateError("too_large", f"inflates past {limit} bytes")
    if not inflater.eof:
        raise CertificateError("compression", "truncated stream")
    return out


def _refuse_shared_reference(decoder):
    # Value sharing (tags 28 and 29) lets a few bytes stand for a structure referenced
    # millions of times over: nothing we read needs it.
    raise cbor2.CBORDecodeError("shared references are not accepted")


_NO_SHARING = {28: _refuse_shared_reference, 29: _refuse_shared_reference}


def cbor_loads(data: bytes, *, max_depth: int = MAX_CBOR_DEPTH):
    """Decode CBOR with bounded nesting and no shared references; raise CertificateError."""
    if len(data) > MAX_INFLATED_BYTES:
        raise CertificateError("too_large", "CBOR longer than the inflate limit")
    try:
        return cbor2.loads(data, max_depth=max_depth, semantic_decoders=_NO_SHARING)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, MemoryError) as error:
        raise CertificateError("decode", str(error)) from error


def _json_depth_ok(text: str, limit: int) -> bool:
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


def json_loads(data: bytes, *, max_depth: int = MAX_JSON_DEPTH):
    """Decode JSON with bounded nesting; raise CertificateError."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CertificateError("decode", "not UTF-8") from error
    if not _json_depth_ok(text, max_depth):
        raise CertificateError("decode", f"nested deeper than {max_depth}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CertificateError("decode", str(error)) from error


def _b64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as error:
        raise CertificateError("decode", "bad base64url") from error


# ---- X.509: strict, with a lenient fallback ---------------------------------------------------


@dataclass(frozen=True)
class SignerCertificate:
    """What we use of a signer certificate: its key, validity and extended key usages."""

    public_key: object
    not_before: datetime | None
    not_after: datetime | None
    key_usages: frozenset[str]
    subject: str = ""
    strict: bool = True  # False: strict X.509 parsing refused it, read by our own DER walk


def dcc_key_id(certificate_der: bytes) -> bytes:
    """The DCC key id: the first 8 bytes of the certificate's SHA-256."""
    return hashlib.sha256(certificate_der).digest()[:8]


def _der_item(data: bytes, offset: int) -> tuple[int, int, int, int]:
    """Return (tag, start of content, end of content, end of item) of the DER item at offset."""
    if offset + 2 > len(data):
        raise ValueError("truncated")
    tag = data[offset]
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise ValueError("truncated")
    return tag, start, end, end


def _der_children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    children = []
    offset = start
    while offset < end:
        tag, c_start, c_end, offset = _der_item(data, offset)
        children.append((tag, c_start, c_end))
    return children


def _der_time(data: bytes, tag: int, start: int, end: int) -> datetime:
    text = data[start:end].decode("ascii").rstrip("Z")
    if tag == 0x17:  # UTCTime: YYMMDDHHMM[SS]
        year = int(text[:2])
        text = str(2000 + year if year < 50 else 1900 + year) + text[2:]
    fmt = "%Y%m%d%H%M%S" if len(text) >= 14 else "%Y%m%d%H%M"
    return datetime.strptime(text[:14], fmt).replace(tzinfo=UTC)


def _oid_text(raw: bytes) -> str:
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


EKU_OID = "2.5.29.37"


def _lenient_certificate(der: bytes) -> SignerCertificate:
    """Read key, validity and EKU from a certificate strict parsing refused (odd extensions,
    negative serials, bad encodings elsewhere): only these fields need to be right."""
    _, cert_start, cert_end, _ = _der_item(der, 0)
    tbs_tag, tbs_start, tbs_end = _der_children(der, cert_start, cert_end)[0]
    fields = _der_children(der, tbs_start, tbs_end)
    if fields and fields[0][0] == 0xA0:  # [0] version
        fields = fields[1:]
    # serial, signature algorithm, issuer, validity, subject, key, then optional parts
    _, v_start, v_end = fields[3]
    (nb_tag, nb_s, nb_e), (na_tag, na_s, na_e) = _der_children(der, v_start, v_end)[:2]
    spki_tag, spki_start, spki_end = fields[5]
    header_len = spki_start - _spki_offset(der, spki_start)
    spki_der = der[spki_start - header_len : spki_end]
    public_key = serialization.load_der_public_key(spki_der)
    usages: set[str] = set()
    for tag, start, end in fields[6:]:
        if tag != 0xA3:  # [3] extensions
            continue
        (_, seq_start, seq_end) = _der_children(der, start, end)[0]
        for _, ext_start, ext_end in _der_children(der, seq_start, seq_end):
            parts = _der_children(der, ext_start, ext_end)
            if _oid_text(der[parts[0][1] : parts[0][2]]) != EKU_OID:
                continue
            _, os_start, os_end = parts[-1]  # the OCTET STRING holding the value
            (_, eku_start, eku_end) = _der_children(der, os_start, os_end)[0]
            for _, o_start, o_end in _der_children(der, eku_start, eku_end):
                usages.add(_oid_text(der[o_start:o_end]))
    return SignerCertificate(
        public_key=public_key,
        not_before=_der_time(der, nb_tag, nb_s, nb_e),
        not_after=_der_time(der, na_tag, na_s, na_e),
        key_usages=frozenset(usages),
        strict=False,
    )


def _spki_offset(der: bytes, content_start: int) -> int:
    # Walk back to the SEQUENCE header of the key: the header is 2 to 6 bytes long.
    for header in range(2, 7):
        offset = content_start - header
        if offset >= 0 and der[offset] == 0x30:
            try:
                _, start, _, _ = _der_item(der, offset)
            except ValueError:
                continue
            if start == content_start:
                return offset
    raise ValueError("no key header")


def read_signer_certificate(der: bytes) -> SignerCertificate:
    """Read a DSC strictly with cryptography; when that refuses it, by our own DER walk.

    Raises CertificateError("certificate") when neither finds a usable key.
    """
    try:
        cert = x509.load_der_x509_certificate(der)
        try:
            eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            usages = frozenset(oid.dotted_string for oid in eku)
        except x509.ExtensionNotFound:
            usages = frozenset()
        return SignerCertificate(
            public_key=cert.public_key(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            key_usages=usages,
            subject=cert.subject.rfc4514_string(),
        )
    except (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension):
        pass
    try:
        return _lenient_certificate(der)
    except (ValueError, IndexError, UnsupportedAlgorithm, UnicodeDecodeError) as error:
        raise CertificateError("certificate", str(error)) from error


# ---- what a certificate says -----------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    """A decoded certificate, before or after its signature is checked."""

    format: str  # "eu-dcc" or "shc"
    kind: str  # vaccination, test, recovery, other
    name: str
    birth_date: str
    issuer: str  # the iss claim: a country (DCC) or the issuer URL (SHC)
    key_id: str  # base64 of the DCC kid, or the JWK kid
    issued_at: datetime | None
    expires_at: datetime | None
    details: dict = field(default_factory=dict)  # the kind's facts (test: type, result, ...)


@dataclass(frozen=True)
class Parsed:
    """A certificate with the bytes its signature covers, not yet verified."""

    certificate: Certificate
    algorithm: int | str
    signed: bytes
    signature: bytes
    payload: object  # the hcert (DCC) or the JWS payload (SHC)
    revocation_id: str = ""


@dataclass(frozen=True)
class TrustedKey:
    """A key an administrator trusts, with what limits it."""

    public_key: object
    label: str  # shown as "verified against <label>"
    key_usages: frozenset[str] = frozenset()
    not_before: datetime | None = None
    not_after: datetime | None = None
    revoked: Mapping[str, int | None] = field(default_factory=dict)  # SHC rid -> revoked from


VERIFIED = "verified"


@dataclass(frozen=True)
class Verification:
    """The outcome: `status` is VERIFIED or the reason it is not."""

    certificate: Certificate
    status: str
    signer: str = ""

    @property
    def verified(self) -> bool:
        return self.status == VERIFIED

    @property
    def signature_ok(self) -> bool:
        """The signature verifies against a trusted key (the certificate may still be out of
        its validity, revoked, or of a kind its signer may not sign)."""
        return self.status not in ("unknown_key", "bad_signature")

    def negative_test(self) -> bool:
        return (
            self.verified
            and self.certificate.kind == "test"
            and self.certificate.details.get("result") == "negative"
        )


def _timestamp(value) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _dcc_details(kind_key: str, entry: dict) -> dict:
    common = {
        "country": _text(entry.get("co")),
        "issuer": _text(entry.get("is")),
        "certificate_id": _text(entry.get("ci")),
    }
    if kind_key == "t":
        return common | {
            "test_type": TEST_TYPES.get(_text(entry.get("tt")), _text(entry.get("tt"))),
            "result": TEST_RESULTS.get(_text(entry.get("tr")), "unknown"),
            "sampled_at": _text(entry.get("sc")),
            "centre": _text(entry.get("tc")),
        }
    if kind_key == "v":
        return common | {
            "dose": entry.get("dn"),
            "doses": entry.get("sd"),
            "date": _text(entry.get("dt")),
            "product": _text(entry.get("mp")),
        }
    return common | {
        "first_positive": _text(entry.get("fr")),
        "valid_from": _text(entry.get("df")),
        "valid_until": _text(entry.get("du")),
    }


def dcc_certificate(claims: dict, kid: bytes) -> tuple[Certificate, dict]:
    """Read the CWT claims of a DCC; return the certificate and its hcert."""
    hcert = claims.get(CWT_HCERT)
    dcc = hcert.get(1) if isinstance(hcert, dict) else None
    if not isinstance(dcc, dict):
        raise CertificateError("decode", "no health certificate claim")
    kinds = [key for key in ("v", "t", "r") if isinstance(dcc.get(key), list) and dcc[key]]
    if len(kinds) != 1:
        raise CertificateError("decode", "not exactly one of v, t, r")
    entry = dcc[kinds[0]][0]
    if not isinstance(entry, dict):
        raise CertificateError("decode", "entry is not a map")
    nam = dcc.get("nam") if isinstance(dcc.get("nam"), dict) else {}
    name = " ".join(
        part for part in (_text(nam.get("gn")), _text(nam.get("fn"))) if part
    ) or " ".join(part for part in (_text(nam.get("gnt")), _text(nam.get("fnt"))) if part)
    certificate = Certificate(
        format="eu-dcc",
        kind=DCC_KINDS[kinds[0]],
        name=name,
        birth_date=_text(dcc.get("dob")),
        issuer=_text(claims.get(CWT_ISS)),
        key_id=base64.b64encode(kid).decode() if kid else "",
        issued_at=_timestamp(claims.get(CWT_IAT)),
        expires_at=_timestamp(claims.get(CWT_EXP)),
        details=_dcc_details(kinds[0], entry),
    )
    return certificate, dcc


def _untag_cose(obj):
    # HC1 carries COSE_Sign1 tagged 18, sometimes inside a CWT tag 61, sometimes untagged.
    for _ in range(2):
        if isinstance(obj, cbor2.CBORTag):
            if obj.tag not in (COSE_SIGN1_TAG, CWT_TAG):
                raise CertificateError("decode", f"unexpected tag {obj.tag}")
            obj = obj.value
    if not (isinstance(obj, list | tuple) and len(obj) == 4):
        raise CertificateError("decode", "not a COSE_Sign1 array")
    protected, unprotected, payload, signature = obj
    if not (
        isinstance(protected, bytes)
        and isinstance(unprotected, Mapping)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        raise CertificateError("decode", "COSE_Sign1 fields of the wrong types")
    return protected, unprotected, payload, signature


def parse_cose(cose: bytes) -> Parsed:
    """Parse a COSE_Sign1 DCC (not yet verified)."""
    protected, unprotected, payload, signature = _untag_cose(cbor_loads(cose))
    headers = cbor_loads(protected) if protected else {}
    if not isinstance(headers, Mapping):
        raise CertificateError("decode", "protected header is not a map")
    kid = headers.get(COSE_KID, unprotected.get(COSE_KID, b""))
    algorithm = headers.get(COSE_ALG, unprotected.get(COSE_ALG))
    if not isinstance(kid, bytes):
        raise CertificateError("decode", "key id is not bytes")
    claims = cbor_loads(payload)
    if not isinstance(claims, Mapping):
        raise CertificateError("decode", "payload is not a map")
    certificate, dcc = dcc_certificate(claims, kid)
    signed = cbor2.dumps(["Signature1", protected, b"", payload])
    return Parsed(certificate, algorithm, signed, signature, dcc)


def unprefix_dcc(text: str) -> str:
    """Strip the HC1: prefix; raise CertificateError("prefix")."""
    text = text.strip()
    if len(text) > MAX_INPUT_CHARS:
        raise CertificateError("too_large", f"longer than {MAX_INPUT_CHARS} characters")
    if not text.upper().startswith(DCC_PREFIX):
        raise CertificateError("prefix", "no HC1: prefix")
    return text[len(DCC_PREFIX) :]


def b45decode(text: str) -> bytes:
    """Decode base45; raise CertificateError("base45")."""
    try:
        return base45.b45decode(text)
    except (ValueError, KeyError, TypeError) as error:
        raise CertificateError("base45", str(error)) from error


def parse_dcc(text: str) -> Parsed:
    """Read an `HC1:` text as far as its signature (not yet verified)."""
    data = b45decode(unprefix_dcc(text))
    # Compression is optional in the spec: a zlib stream starts with 0x78.
    cose = inflate(data) if data[:1] == b"\x78" else data
    return parse_cose(cose)


# ---- SMART Health Cards ----------------------------------------------------------------------

_SHC_NUMERIC = re.compile(r"shc:/(?:(\d+)/(\d+)/)?(\d+)\Z", re.IGNORECASE)


def shc_numeric_to_jws(text: str) -> str:
    """Turn `shc:/` numeric content (one chunk) into its compact JWS."""
    text = text.strip()
    if len(text) > MAX_INPUT_CHARS:
        raise CertificateError("too_large", f"longer than {MAX_INPUT_CHARS} characters")
    match = _SHC_NUMERIC.match(text)
    if match is None:
        raise CertificateError("prefix", "not shc:/ followed by digits")
    if match.group(1) and match.group(2) != "1":
        raise CertificateError("chunked", "a part of a code in several QR codes")
    return _digits_to_text(match.group(3))


def shc_chunks_to_jws(texts: list[str]) -> str:
    """Join the chunks `shc:/i/n/...` of one card (any order) into its compact JWS."""
    parts: dict[int, str] = {}
    total = None
    for text in texts:
        match = _SHC_NUMERIC.match(text.strip())
        if match is None or not match.group(1):
            raise CertificateError("prefix", "not a chunk shc:/i/n/digits")
        index, count = int(match.group(1)), int(match.group(2))
        if total not in (None, count) or not 1 <= index <= count:
            raise CertificateError("chunked", "chunks of different cards")
        total = count
        parts[index] = match.group(3)
    if total is None or len(parts) != total:
        raise CertificateError("chunked", "chunks missing")
    return "".join(_digits_to_text(parts[i]) for i in range(1, total + 1))


def _digits_to_text(digits: str) -> str:
    if len(digits) % 2:
        raise CertificateError("decode", "odd number of digits")
    values = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)]
    if any(value > 77 for value in values):
        raise CertificateError("decode", "digit pair out of range")
    return "".join(chr(value + 45) for value in values)


def _fhir_resources(payload: dict) -> list[dict]:
    bundle = (
        payload.get("vc", {}).get("credentialSubject", {}).get("fhirBundle", {})
        if isinstance(payload.get("vc"), dict)
        else {}
    )
    entries = bundle.get("entry", []) if isinstance(bundle, dict) else []
    return [
        e["resource"]
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]


def _shc_certificate(payload: dict, kid: str) -> Certificate:
    types = payload.get("vc", {}).get("type", []) if isinstance(payload.get("vc"), dict) else []
    types = [t for t in types if isinstance(t, str)]
    resources = _fhir_resources(payload)
    patient = next((r for r in resources if r.get("resourceType") == "Patient"), {})
    names = patient.get("name") if isinstance(patient.get("name"), list) else []
    first = names[0] if names and isinstance(names[0], dict) else {}
    given = first.get("given") if isinstance(first.get("given"), list) else []
    name = " ".join([_text(g) for g in given] + [_text(first.get("family"))]).strip()
    details: dict = {}
    kinds = {r.get("resourceType") for r in resources}
    if any(t.endswith("#laboratory") for t in types) or (
        "Observation" in kinds and "Immunization" not in kinds
    ):
        kind = "test"
        observation = next((r for r in resources if r.get("resourceType") == "Observation"), {})
        coding = (observation.get("valueCodeableConcept") or {}).get("coding") or [{}]
        code = _text(coding[0].get("code")) if isinstance(coding[0], dict) else ""
        details = {
            "result": SHC_RESULTS.get(code, "unknown"),
            "sampled_at": _text(observation.get("effectiveDateTime")),
        }
    elif any(t.endswith("#immunization") for t in types) or "Immunization" in kinds:
        kind = "vaccination"
        doses = [r for r in resources if r.get("resourceType") == "Immunization"]
        details = {
            "doses": len(doses),
            "date": _text(doses[-1].get("occurrenceDateTime")) if doses else "",
        }
    else:
        kind = "other"
    return Certificate(
        format="shc",
        kind=kind,
        name=name,
        birth_date=_text(patient.get("birthDate")),
        issuer=_text(payload.get("iss")),
        key_id=kid,
        issued_at=_timestamp(payload.get("nbf")),
        expires_at=_timestamp(payload.get("exp")),
        details=details,
    )


def parse_jws(jws: str) -> Parsed:
    """Parse an SHC compact JWS (not yet verified)."""
    if len(jws) > MAX_INFLATED_BYTES:
        raise CertificateError("too_large", "JWS too long")
    parts = jws.split(".")
    if len(parts) != 3:
        raise CertificateError("decode", "not a compact JWS")
    header = json_loads(_b64url(parts[0]))
    if not isinstance(header, dict):
        raise CertificateError("decode", "header is not an object")
    body = _b64url(parts[1])
    if header.get("zip") == "DEF":
        body = inflate(body, raw=True)
    payload = json_loads(body)
    if not isinstance(payload, dict):
        raise CertificateError("decode", "payload is not an object")
    kid = _text(header.get("kid"))
    vc = payload.get("vc") if isinstance(payload.get("vc"), dict) else {}
    rid = _text(vc.get("rid"))
    return Parsed(
        certificate=_shc_certificate(payload, kid),
        algorithm=_text(header.get("alg")),
        signed=f"{parts[0]}.{parts[1]}".encode("ascii"),
        signature=_b64url(parts[2]),
        payload=payload,
        revocation_id=rid,
    )


def parse_shc(text: str) -> Parsed:
    """Read an `shc:/` text as far as its signature (not yet verified)."""
    return parse_jws(shc_numeric_to_jws(text))


def parse(text: str) -> Parsed:
    """Read an `HC1:` or `shc:/` text as far as its signature (not yet verified)."""
    if len(text) > MAX_INPUT_CHARS:
        raise CertificateError("too_large", f"longer than {MAX_INPUT_CHARS} characters")
    if text.strip().lower().startswith(SHC_PREFIX):
        return parse_shc(text)
    return parse_dcc(text)


def jwk_public_key(jwk: Mapping) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of a JWK (kty EC, crv P-256)."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise CertificateError("key", "not an EC P-256 JWK")
    x = int.from_bytes(_b64url(str(jwk.get("x", ""))), "big")
    y = int.from_bytes(_b64url(str(jwk.get("y", ""))), "big")
    try:
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except ValueError as error:
        raise CertificateError("key", str(error)) from error


def jwk_thumbprint(jwk: Mapping) -> str:
    """The RFC 7638 thumbprint of an EC JWK (the kid SMART Health Cards use)."""
    canonical = json.dumps(
        {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]},
        separators=(",", ":"),
        sort_keys=True,
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# ---- verification ----------------------------------------------------------------------------


def signature_valid(parsed: Parsed, public_key) -> bool:
    """Check the signature with this key (ES256 raw r||s, or PS256)."""
    algorithm = parsed.algorithm
    try:
        if algorithm in (ES256, "ES256"):
            if not isinstance(public_key, ec.EllipticCurvePublicKey) or len(parsed.signature) != 64:
                return False
            r = int.from_bytes(parsed.signature[:32], "big")
            s = int.from_bytes(parsed.signature[32:], "big")
            public_key.verify(encode_dss_signature(r, s), parsed.signed, ec.ECDSA(hashes.SHA256()))
            return True
        if algorithm == PS256 and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(
                parsed.signature,
                parsed.signed,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                hashes.SHA256(),
            )
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


def key_usage_allows(key_usages: frozenset[str], kind: str) -> bool:
    """A DSC without extended key usages signs every kind; with them, only the kinds whose
    DCC key usage it names (a DSC limited to other usages signs none: dgc-testdata IS/3)."""
    return not key_usages or bool(key_usages & KEY_USAGE_OIDS.get(kind, set()))


def verify(parsed: Parsed, keys: Mapping[str, TrustedKey], now: datetime) -> Verification:
    """Verify a parsed certificate against the trusted keys (by key id) at `now`.

    The status is, in the order checked: unknown_key, bad_signature, revoked, key_usage,
    not_yet_valid, expired, signer_expired, or verified.
    """
    certificate = parsed.certificate
    key = keys.get(certificate.key_id)
    if key is None:
        return Verification(certificate, "unknown_key")
    if not signature_valid(parsed, key.public_key):
        return Verification(certificate, "bad_signature", key.label)
    if parsed.revocation_id and parsed.revocation_id in key.revoked:
        revoked_from = key.revoked[parsed.revocation_id]
        issued = certificate.issued_at.timestamp() if certificate.issued_at else 0
        if revoked_from is None or issued < revoked_from:
            return Verification(certificate, "revoked", key.label)
    if certificate.format == "eu-dcc" and not key_usage_allows(key.key_usages, certificate.kind):
        return Verification(certificate, "key_usage", key.label)
    if certificate.issued_at and certificate.issued_at > now:
        return Verification(certificate, "not_yet_valid", key.label)
    if certificate.expires_at and certificate.expires_at < now:
        return Verification(certificate, "expired", key.label)
    if key.not_after and key.not_after < now:
        return Verification(certificate, "signer_expired", key.label)
    return Verification(certificate, VERIFIED, key.label)


def read_and_verify(text: str, keys: Mapping[str, TrustedKey], now: datetime) -> Verification:
    """Parse and verify; raise CertificateError when it cannot be read at all."""
    return verify(parse(text), keys, now)
