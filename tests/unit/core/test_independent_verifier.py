"""An independent verifier, written from docs/token-format.md alone, must agree with every vector.

It imports nothing of gantong: its own base45 decoder, its own byte layouts, its own
Golomb-coded set; only the signature primitives come from `cryptography`. Where this file and
the document disagree, the document is the bug to report (or this file's reading of it).
"""

from __future__ import annotations

import base64
import json
import pathlib
import struct
import unicodedata

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

pytestmark = pytest.mark.nodb

VECTORS = json.loads(
    (pathlib.Path(__file__).resolve().parents[3] / "docs" / "token-vectors.json").read_text(
        encoding="utf-8"
    )
)
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
COLOURS = {1: "green", 2: "yellow", 3: "red"}


class Refused(Exception):
    pass


def b45(text: str) -> bytes:
    """RFC 9285: 3 characters per 2 bytes, 2 for a last single byte."""
    out = bytearray()
    for i in range(0, len(text), 3):
        chunk = text[i : i + 3]
        values = [ALPHABET.find(ch) for ch in chunk]
        if -1 in values or len(chunk) == 1:
            raise Refused("malformed")
        n = sum(v * 45**k for k, v in enumerate(values))
        if len(chunk) == 3:
            if n > 0xFFFF:
                raise Refused("malformed")
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise Refused("malformed")
            out.append(n)
    return bytes(out)


def strip(text: str) -> str:
    return text.strip(" \t\r\n")


def name_ok(raw: bytes, limit: int) -> bool:
    if len(raw) > limit:
        return False
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    white = {ch for ch in name[:1] + name[-1:] if ch.isspace()}
    return (
        not white
        and unicodedata.normalize("NFC", name) == name
        and all(not unicodedata.category(ch).startswith("C") for ch in name)
    )


def tail_ok(raw: bytes) -> bool:
    return len(raw) <= 4 and all(chr(b) in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in raw)


def x_of(entry) -> bytes:
    x = entry.get("x")
    raw = base64.urlsafe_b64decode(x + "=")
    if len(raw) != 32:
        raise Refused("bundle_invalid")
    return raw


def ed25519_ok(x: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(x).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def bundle_ok(bundle) -> bool:
    if not isinstance(bundle, dict) or bundle.get("format") != "gantong-verifier-bundle/1":
        return False
    if not all(is_int(bundle.get(k)) for k in ("issued_at", "refresh_after", "refuse_after")):
        return False
    if not is_int(bundle.get("max_clock_skew", 300)) or bundle.get("max_clock_skew", 300) < 0:
        return False
    age = bundle.get("max_presentation_age", 120)
    if not is_int(age) or age <= 0:
        return False
    if not all(isinstance(bundle.get(k), list) for k in ("keys", "partners", "revoked")):
        return False
    optional = ("not_before", "not_after")
    for entry in bundle["keys"] + bundle["partners"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("x"), str):
            return False
        kid = entry.get("kid")
        if not (
            isinstance(kid, str) and len(kid) == 8 and all(c in "0123456789abcdef" for c in kid)
        ):
            return False
        if not all(entry.get(k) is None or is_int(entry.get(k)) for k in optional):
            return False
    if not all(e.get("signs_from") is None or is_int(e["signs_from"]) for e in bundle["keys"]):
        return False
    if not all(is_int(p.get("max_ttl")) and p["max_ttl"] > 0 for p in bundle["partners"]):
        return False
    for entry in bundle["revoked"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            return False
        if not (entry.get("from") is None or is_int(entry["from"])):
            return False
    colours = bundle.get("paper_colours")
    return colours is None or (
        isinstance(colours, dict) and all(c in ("yellow", "red") for c in colours.values())
    )


def verify_token(text: str, bundle, now: int) -> str:
    """Sections 1-6: return the colour (or "" for none), or raise Refused(reason)."""
    if not bundle_ok(bundle):
        raise Refused("bundle_invalid")
    if now >= bundle["refuse_after"]:
        raise Refused("bundle_stale")
    text = strip(text)
    if not text.startswith("GT1:"):
        raise Refused("malformed")
    raw = b45(text[4:])
    if len(raw) < 23 + 64:
        raise Refused("malformed")
    payload, signature = raw[:-64], raw[-64:]
    version, kind, kid, subject, colour, issued_at, ttl = struct.unpack(">BB4s8sBII", payload[:23])
    rest = payload[23:]
    if version not in (1, 2) or kind not in (0, 1) or colour > 3 or ttl == 0:
        raise Refused("malformed")
    if version == 1 and (rest or issued_at >= 1803859200):
        raise Refused("malformed")
    if version == 2:
        if not rest or len(rest) < 2 + rest[0] or rest[0] > 23:
            raise Refused("malformed")
        n = rest[0]
        m = rest[1 + n]
        if m > 4 or len(rest) != 2 + n + m:
            raise Refused("malformed")
        if not name_ok(rest[1 : 1 + n], 23) or not tail_ok(rest[2 + n :]):
            raise Refused("malformed")
    if (kind == 0 and colour == 0) or (kind == 1 and colour != 0):
        raise Refused("malformed")
    kid = kid.hex()
    own = next((k for k in bundle["keys"] if k["kid"] == kid), None)
    partner = None if own else next((p for p in bundle["partners"] if p["kid"] == kid), None)
    entry = own or partner
    if entry is None:
        raise Refused("unknown_key")
    if not ed25519_ok(x_of(entry), signature, payload):
        raise Refused("bad_signature")
    skew = bundle.get("max_clock_skew", 300)
    if own:
        if entry.get("not_after") is not None and now >= entry["not_after"]:
            raise Refused("key_retired")
        start = (
            entry.get("signs_from")
            if entry.get("signs_from") is not None
            else entry.get("not_before")
        )
        if start is not None and issued_at < start - skew:
            raise Refused("key_not_yet_signing")
    else:
        if entry.get("not_before") is not None and now < entry["not_before"]:
            raise Refused("issuer_not_yet_valid")
        if entry.get("not_after") is not None and now >= entry["not_after"]:
            raise Refused("issuer_expired")
        if kind == 1:
            raise Refused("partner_paper")
    if issued_at - now > (min(60, skew) if partner else skew):
        raise Refused("not_yet_valid")
    if now >= issued_at + ttl:
        raise Refused("expired")
    if partner and now >= issued_at + partner["max_ttl"]:
        raise Refused("over_partner_cap")
    for entry in bundle["revoked"]:
        if entry["id"] == subject.hex() and (entry.get("from") is None or now >= entry["from"]):
            raise Refused("revoked")
    if kind == 0:
        return COLOURS[colour]
    if bundle.get("paper_colours") is None:
        return ""
    return bundle["paper_colours"].get(subject.hex(), "green")


def gcs_values(member) -> tuple[int, int, set[int]]:
    """Section 8.6: n values, Golomb-Rice coded with parameter p, MSB first."""
    if not isinstance(member, dict):
        raise Refused("bundle_invalid")
    n, p, text = member.get("n"), member.get("p"), member.get("gcs")
    if not (is_int(n) and n >= 0 and is_int(p) and 1 <= p <= 32 and isinstance(text, str)):
        raise Refused("bundle_invalid")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    bits = "".join(f"{b:08b}" for b in data)
    values, position, value = set(), 0, 0
    for _ in range(n):
        end = bits.find("0", position)
        if end < 0 or end + 1 + p > len(bits):
            raise Refused("bundle_invalid")
        quotient = end - position
        value += quotient * 2**p + int(bits[end + 1 : end + 1 + p], 2)
        values.add(value)
        position = end + 1 + p
    return n, p, values


P256 = 2**256 - 2**224 + 2**192 + 2**96 - 1


def verify_presentation(text: str, bundle, now: int) -> str:
    """Section 8.7: return the colour, or raise Refused(reason)."""
    if not bundle_ok(bundle) or "revoked_credentials" not in bundle:
        raise Refused("bundle_invalid")
    n, p, revoked = gcs_values(bundle["revoked_credentials"])
    if now >= bundle["refuse_after"]:
        raise Refused("bundle_stale")
    text = strip(text)
    if not text.startswith("GP1:"):
        raise Refused("malformed")
    raw = b45(text[4:])
    if len(raw) < 187:
        raise Refused("malformed")
    credential, presented_at, device_signature = raw[:-68], raw[-68:-64], raw[-64:]
    body, issuer_signature = credential[:-64], credential[-64:]
    version, kid, _code_id, colour, valid_from, lifetime, device_key = struct.unpack(
        ">B4s8sBIH33s", body[:53]
    )
    rest = body[53:]
    n_name = rest[0]
    if version != 1 or colour not in COLOURS or lifetime == 0 or n_name > 13:
        raise Refused("malformed")
    if len(rest) < 2 + n_name or rest[1 + n_name] > 4 or len(rest) != 2 + n_name + rest[1 + n_name]:
        raise Refused("malformed")
    if not name_ok(rest[1 : 1 + n_name], 13) or not tail_ok(rest[2 + n_name :]):
        raise Refused("malformed")
    if device_key[0] not in (2, 3):
        raise Refused("malformed")
    x = int.from_bytes(device_key[1:], "big")
    rhs = (x**3 - 3 * x + 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B) % P256
    y = pow(rhs, (P256 + 1) // 4, P256)
    if x >= P256 or y * y % P256 != rhs:
        raise Refused("malformed")
    if y % 2 != device_key[0] % 2:
        y = P256 - y
    entry = next((k for k in bundle["keys"] if k["kid"] == kid.hex()), None)
    if entry is None:
        raise Refused("unknown_key")
    if not ed25519_ok(x_of(entry), issuer_signature, body):
        raise Refused("bad_signature")
    skew = bundle.get("max_clock_skew", 300)
    if entry.get("not_after") is not None and now >= entry["not_after"]:
        raise Refused("key_retired")
    start = (
        entry.get("signs_from") if entry.get("signs_from") is not None else entry.get("not_before")
    )
    if start is not None and valid_from < start - skew:
        raise Refused("key_not_yet_signing")
    device = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    r, s = (
        int.from_bytes(device_signature[:32], "big"),
        int.from_bytes(device_signature[32:], "big"),
    )
    try:
        device.verify(encode_dss_signature(r, s), raw[:-64], ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise Refused("bad_device_signature") from None
    presented = int.from_bytes(presented_at, "big")
    if valid_from - now > skew:
        raise Refused("not_yet_valid")
    if now >= valid_from + lifetime:
        raise Refused("expired")
    if presented - now > min(60, skew):
        raise Refused("future_presentation")
    if now >= presented + bundle.get("max_presentation_age", 120):
        raise Refused("stale_presentation")
    if n and (int.from_bytes(issuer_signature[:8], "big") * n * 2**p) // 2**64 in revoked:
        raise Refused("revoked")
    return COLOURS[colour]


def verify(text: str, bundle, now: int) -> str:
    if strip(text).startswith("GP1:"):
        return verify_presentation(text, bundle, now)
    return verify_token(text, bundle, now)


@pytest.mark.parametrize(
    "case", VECTORS["valid"] + VECTORS["presentation_valid"], ids=lambda case: case["name"]
)
def test_the_independent_verifier_accepts_every_valid_vector(case):
    colour = verify(case["text"], case.get("bundle", VECTORS["bundle"]), case["now"])
    assert colour == (case["expect"]["colour"] or "")


@pytest.mark.parametrize(
    "case", VECTORS["invalid"] + VECTORS["presentation_invalid"], ids=lambda case: case["name"]
)
def test_the_independent_verifier_refuses_every_invalid_vector_for_its_reason(case):
    with pytest.raises(Refused) as refused:
        verify(case["text"], case.get("bundle", VECTORS["bundle"]), case["now"])
    assert str(refused.value) == case["reason"]
