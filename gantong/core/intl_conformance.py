"""Conformance of gantong.core.intl_certs against published test data.

dgc-testdata files (one JSON per certificate: PREFIX, BASE45, COMPRESSED, COSE, CBOR, JSON,
TESTCTX with the signer certificate and validation clock, EXPECTEDRESULTS): each flag is
computed from the file's own fields as the set's README defines it, the signature checked
against the file's own certificate at its validation clock. SMART Health Cards examples: the
numeric QR content, the JWS, its payload and the issuer's keys and revocation list.
This module knows nothing of Flask or the database.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from gantong.core import intl_certs as ic

DCC_FLAGS = (
    "UNPREFIX",
    "B45DECODE",
    "COMPRESSION",
    "DECODE",
    "VERIFY",
    "EXPIRATIONCHECK",
    "KEYUSAGE",
)
# The dgc-testdata's own test names (tests/known_issues.csv) for the flags we compute.
KNOWN_ISSUE_TESTS = {
    "test_un_prefix": "UNPREFIX",
    "test_b45decode": "B45DECODE",
    "test_compression": "COMPRESSION",
    "test_cose_json": "DECODE",
    "test_cose_cbor": "DECODE",
    "test_verification_check": "VERIFY",
    "test_expiration_check": "EXPIRATIONCHECK",
    "test_expected_key_usage": "KEYUSAGE",
}


def _hex(value) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return binascii.unhexlify(value.strip())
    except (binascii.Error, ValueError):
        return None


_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _normal(value):
    """A value as JSON and CBOR both give it: dates as UTC text to the second, lists sorted."""
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return sorted((_normal(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _DATE_TIME.match(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).replace(microsecond=0).isoformat()
    return value


def _certificate(context: Mapping) -> tuple[bytes, ic.SignerCertificate] | None:
    text = context.get("CERTIFICATE") if isinstance(context, Mapping) else None
    if not isinstance(text, str):
        return None
    try:
        der = base64.b64decode(text.strip())
    except (binascii.Error, ValueError):
        return None
    try:
        return der, ic.read_signer_certificate(der)
    except ic.CertificateError:
        return None


def _clock(context: Mapping) -> datetime | None:
    text = context.get("VALIDATIONCLOCK") if isinstance(context, Mapping) else None
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parsed_cose(cose: bytes | None) -> tuple[ic.Parsed | None, dict | None]:
    """The COSE parsed, and its CWT claims; (None, None) when it cannot be."""
    if cose is None:
        return None, None
    try:
        parsed = ic.parse_cose(cose)
        _, _, payload, _ = ic._untag_cose(ic.cbor_loads(cose))
        return parsed, ic.cbor_loads(payload)
    except ic.CertificateError:
        return None, None


def _try(call):
    try:
        return call()
    except ic.CertificateError:
        return None


def _inflated(data: bytes | None) -> bytes | None:
    """COSE from the compressed bytes (or the bytes themselves, compression being optional)."""
    if data is None:
        return None
    return _try(lambda: ic.inflate(data)) if data[:1] == b"\x78" else data


def dcc_flags(data: Mapping) -> dict[str, bool]:
    """Compute every flag whose fields the file holds.

    Each step is checked on its own field against the next one's (PREFIX against BASE45,
    BASE45 against COMPRESSED, COMPRESSED against COSE). A file that leaves out a middle field
    is checked through the chain: BASE45 must decode to something that inflates to its COSE
    (or, with no COSE either, to a COSE_Sign1 that parses), and the COSE comes from the code.
    """
    flags: dict[str, bool] = {}
    prefix, b45 = data.get("PREFIX"), data.get("BASE45")
    compressed, cose_given = _hex(data.get("COMPRESSED")), _hex(data.get("COSE"))
    if isinstance(prefix, str) and isinstance(b45, str):
        flags["UNPREFIX"] = (
            prefix.startswith("HC1:") and _try(lambda: ic.unprefix_dcc(prefix)) == b45
        )
    b45_text = b45 if isinstance(b45, str) else None
    if b45_text is None and isinstance(prefix, str):
        b45_text = _try(lambda: ic.unprefix_dcc(prefix))
    decoded = _try(lambda: ic.b45decode(b45_text)) if b45_text is not None else None
    cose = cose_given if cose_given is not None else _inflated(compressed or decoded)

    def carries_cose(raw: bytes | None) -> bool:
        inflated = _inflated(raw)
        if inflated is None:
            return False
        if cose_given is not None:
            return inflated == cose_given
        return _parsed_cose(inflated)[0] is not None

    if isinstance(b45, str) and (compressed is not None or cose is not None):
        flags["B45DECODE"] = (
            decoded == compressed if compressed is not None else carries_cose(decoded)
        )
    if compressed is not None and cose_given is not None:
        flags["COMPRESSION"] = _try(lambda: ic.inflate(compressed)) == cose_given
    elif compressed is not None or (isinstance(b45, str) and decoded is not None):
        flags["COMPRESSION"] = carries_cose(compressed or decoded)
    parsed, claims = _parsed_cose(cose)
    if cose is not None:
        decoded_ok = parsed is not None
        if decoded_ok and "JSON" in data:
            decoded_ok = _normal(parsed.payload) == _normal(data["JSON"])
        cbor = _hex(data.get("CBOR"))
        if decoded_ok and cbor is not None:
            try:
                cbor_value = ic.cbor_loads(cbor)
            except ic.CertificateError:
                cbor_value = None
            if isinstance(cbor_value, Mapping) and ic.CWT_HCERT in cbor_value:
                decoded_ok = _normal(cbor_value) == _normal(claims)
            else:
                decoded_ok = _normal(cbor_value) == _normal(parsed.payload)
        flags["DECODE"] = decoded_ok
    context = data.get("TESTCTX") or {}
    signer = _certificate(context)
    if cose is not None and "CERTIFICATE" in context:
        flags["VERIFY"] = bool(
            parsed is not None
            and signer is not None
            and parsed.certificate.key_id == base64.b64encode(ic.dcc_key_id(signer[0])).decode()
            and ic.signature_valid(parsed, signer[1].public_key)
        )
        flags["EXPIRATIONCHECK"] = _expiration_ok(parsed, signer, _clock(context))
        flags["KEYUSAGE"] = bool(
            parsed is not None
            and signer is not None
            and ic.key_usage_allows(signer[1].key_usages, parsed.certificate.kind)
        )
    return flags


def _expiration_ok(parsed, signer, clock) -> bool:
    """Signed within the signer's validity, issued before the clock, unexpired at it, and
    expiring within the signer's validity."""
    if parsed is None or signer is None or clock is None:
        return False
    issued, expires = parsed.certificate.issued_at, parsed.certificate.expires_at
    cert = signer[1]
    if issued is None or expires is None:
        return False
    return (
        (cert.not_before is None or cert.not_before <= issued)
        and issued <= clock <= expires
        and (cert.not_after is None or expires <= cert.not_after)
    )


def expected_flags(data: Mapping) -> dict[str, bool]:
    """The file's expected results for the flags we compute."""
    expected = data.get("EXPECTEDRESULTS") or {}
    return {
        flag: expected[f"EXPECTED{flag}"]
        for flag in DCC_FLAGS
        if isinstance(expected.get(f"EXPECTED{flag}"), bool)
    }


def load_known_issues(path: Path) -> list[tuple[str, str, str]]:
    """(flag, country, test set) of each known issue of the flags we compute; an empty
    country or test set matches any."""
    with path.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    return [
        (KNOWN_ISSUE_TESTS[row["test_name"]], row["country"], row["test_set"])
        for row in rows
        if row.get("test_name") in KNOWN_ISSUE_TESTS
    ]


def known_issue_flags(
    known: Iterable[tuple[str, str, str]], country: str, test_set: str
) -> set[str]:
    return {
        flag
        for flag, k_country, k_set in known
        if k_country in ("", country) and k_set in ("", test_set)
    }


def _country(path: Path) -> str:
    """The country of a dgc-testdata file: COUNTRY/2DCode/raw/N.json, or
    COUNTRY/SCHEMA/2DCode/raw/N.json."""
    parts = path.parts
    if "2DCode" not in parts:
        return ""
    before = [p for p in parts[: parts.index("2DCode")] if re.fullmatch(r"[A-Za-z]{2}|common", p)]
    return before[-1] if before else ""


def dcc_file_report(path: Path, known: Iterable[tuple[str, str, str]] = ()) -> dict:
    """One file's line: computed flags, expected ones, disagreements and known issues."""
    country = _country(path)
    test_set = path.stem
    report: dict = {"file": str(path), "format": "eu-dcc"}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return report | {"error": f"unreadable: {error}", "agree": False}
    flags = dcc_flags(data)
    expected = expected_flags(data)
    known_flags = known_issue_flags(known, country.upper(), test_set)
    disagree = sorted(f for f in expected if f in flags and flags[f] != expected[f])
    return report | {
        "flags": flags,
        "expected": expected,
        "disagree": [f for f in disagree if f not in known_flags],
        "known_issue": [f for f in disagree if f in known_flags],
        "agree": not [f for f in disagree if f not in known_flags],
    }


# ---- SMART Health Cards examples --------------------------------------------------------------


def shc_trusted_keys(jwks: Mapping, crls: Mapping[str, Mapping], label: str) -> dict:
    """The issuer's keys as TrustedKey by kid, each with its revocation list."""
    keys = {}
    for jwk in jwks.get("keys", []):
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "EC":
            continue
        kid = str(jwk.get("kid") or ic.jwk_thumbprint(jwk))
        keys[kid] = ic.TrustedKey(
            public_key=ic.jwk_public_key(jwk),
            label=label,
            revoked=revoked_rids(crls.get(kid, {})),
        )
    return keys


def revoked_rids(crl: Mapping) -> dict[str, int | None]:
    """rid → the time before which cards are revoked (None: all of them), from an SHC CRL."""
    revoked: dict[str, int | None] = {}
    for entry in crl.get("rids", []) if isinstance(crl, Mapping) else []:
        if not isinstance(entry, str):
            continue
        rid, _, until = entry.partition(".")
        revoked[rid] = int(until) if until.isdigit() else None
    return revoked


def shc_example_report(
    jws_path: Path, numeric_paths: list[Path], keys: Mapping[str, ic.TrustedKey], now: datetime
) -> dict:
    """One SHC example: NUMERIC (the QR content gives the example's JWS), DECODE (its
    payload inflates to the example's minified payload), VERIFY (ES256 over the issuer's key),
    REVOKED (on the issuer's revocation list)."""
    report: dict = {"file": str(jws_path), "format": "shc"}
    jws = jws_path.read_text(encoding="utf-8").strip()
    flags: dict[str, bool] = {}
    if numeric_paths:
        texts = [p.read_text(encoding="utf-8").strip() for p in numeric_paths]
        try:
            joined = (
                ic.shc_numeric_to_jws(texts[0]) if len(texts) == 1 else ic.shc_chunks_to_jws(texts)
            )
            flags["NUMERIC"] = joined == jws
        except ic.CertificateError:
            flags["NUMERIC"] = False
    try:
        parsed = ic.parse_jws(jws)
    except ic.CertificateError:
        parsed = None
    minified = jws_path.with_name(
        jws_path.name.replace("-d-jws.txt", "-c-jws-payload-minified.json")
    )
    flags["DECODE"] = parsed is not None and (
        not minified.exists() or parsed.payload == json.loads(minified.read_text(encoding="utf-8"))
    )
    verification = ic.verify(parsed, keys, now) if parsed is not None else None
    flags["VERIFY"] = verification is not None and verification.status in (ic.VERIFIED, "revoked")
    flags["REVOKED"] = verification is not None and verification.status == "revoked"
    report["flags"] = flags
    if parsed is not None:
        report["kind"] = parsed.certificate.kind
        report["status"] = verification.status
    report["agree"] = flags.get("NUMERIC", True) and flags["DECODE"] and flags["VERIFY"]
    return report
