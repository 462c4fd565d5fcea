"""Holder credentials and the presentations a phone makes from them (docs/token-format.md, 8).

A credential is signed once by our issuer key (Ed25519) and binds the holder's code id, colour,
masked name, document tail and validity window to one device's ECDSA P-256 public key. The
phone presents it by adding the time and its device signature; a verifier refuses a
presentation older than ``max_presentation_age``. Revocation travels in the verifier bundle as
a Golomb-coded set of credential ids. Pure: no Flask, no database.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import base45
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from gantong.core import tokens

PREFIX = "GP1:"
VERSION = 1
MAX_NAME_BYTES = 13
MAX_LIFETIME = 65535  # the lifetime field's 16 bits: 18 h 12 min
DEFAULT_MAX_AGE = 120
# The holder sets the phone's clock: a presentation stamped ahead buys at most this much.
PRESENTATION_CLOCK_SKEW = 60
GCS_P = 20  # one valid credential in about a million wrongly found revoked offline

_HEAD = struct.Struct(">B4s8sBIH33s")  # version .. device_key: 53 bytes
_SIGNATURE = 64
_DEVICE_SIGNATURE = 64
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

REASONS = ("malformed", "bad_device_signature", "future_presentation", "stale_presentation")


class CredentialError(Exception):
    """A credential or presentation was refused; ``reason`` is a verifier reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Credential:
    """The facts a holder credential carries, before signing or after parsing."""

    kid: str
    code_id: str
    colour: str
    valid_from: int
    lifetime: int
    device_key: bytes  # 33 bytes, SEC 1 compressed P-256
    masked_name: str = ""
    doc_tail: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.kid, str) or not tokens._KID.fullmatch(self.kid):
            raise ValueError("kid must be 8 lowercase hex characters")
        if not isinstance(self.code_id, str) or not tokens._SUBJECT.fullmatch(self.code_id):
            raise ValueError("code_id must be 16 lowercase hex characters")
        if self.colour not in tokens.COLOURS:
            raise ValueError("a credential needs a colour")
        if not tokens._is_uint32(self.valid_from):
            raise ValueError("valid_from must fit in 32 unsigned bits")
        if not isinstance(self.lifetime, int) or not 1 <= self.lifetime <= MAX_LIFETIME:
            raise ValueError("lifetime must be 1..65535 seconds")
        device_public_key(self.device_key)  # ValueError unless a P-256 point, compressed
        if (
            not tokens._valid_name(self.masked_name)
            or len(self.masked_name.encode()) > MAX_NAME_BYTES
        ):
            raise ValueError("masked_name must be printable text of at most 13 UTF-8 bytes")
        if not isinstance(self.doc_tail, str) or not tokens._TAIL.fullmatch(self.doc_tail):
            raise ValueError("doc_tail must be at most 4 of 0-9 and A-Z")

    @property
    def valid_until(self) -> int:
        """Return the first second at which the credential is no longer valid."""
        return self.valid_from + self.lifetime


@dataclass(frozen=True)
class Presentation:
    """A parsed presentation: the credential, its signed bytes and id, and the device's part."""

    credential: Credential
    credential_bytes: bytes
    credential_id: str
    presented_at: int
    device_signature: bytes

    @property
    def signed_part(self) -> bytes:
        """Return the bytes the device signed: the credential and presented_at."""
        return self.credential_bytes + struct.pack(">I", self.presented_at)


def fit_name(masked: str) -> str:
    """Return the masked name as a credential carries it: at most 13 UTF-8 bytes (… if cut)."""
    return tokens.fit_name(masked, MAX_NAME_BYTES)


def compress_point(raw: bytes) -> bytes:
    """Return a P-256 public key as 33 bytes, from its 65-byte uncompressed or 33-byte form."""
    return device_public_key(raw).public_bytes(
        encoding=serialization.Encoding.X962,
        format=serialization.PublicFormat.CompressedPoint,
    )


def device_public_key(raw: bytes) -> ec.EllipticCurvePublicKey:
    """Return the P-256 public key of a SEC 1 point (33 or 65 bytes); ValueError otherwise."""
    if not isinstance(raw, bytes | bytearray) or len(raw) not in (33, 65):
        raise ValueError("a device key is a 33- or 65-byte P-256 point")
    if raw[0] not in ((2, 3) if len(raw) == 33 else (4,)):
        raise ValueError("a device key is a SEC 1 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes(raw))


def _body(credential: Credential) -> bytes:
    name = credential.masked_name.encode("utf-8")
    tail = credential.doc_tail.encode("ascii")
    head = _HEAD.pack(
        VERSION,
        bytes.fromhex(credential.kid),
        bytes.fromhex(credential.code_id),
        tokens._COLOUR_CODES[credential.colour],
        credential.valid_from,
        credential.lifetime,
        bytes(credential.device_key),
    )
    return head + bytes([len(name)]) + name + bytes([len(tail)]) + tail


def sign_credential(credential: Credential, private_key: Ed25519PrivateKey) -> bytes:
    """Return the credential's bytes: its layout followed by the issuer's Ed25519 signature."""
    body = _body(credential)
    return body + private_key.sign(body)


def credential_id(credential_bytes: bytes) -> str:
    """Return the credential's id: the first 8 bytes of its issuer signature, in hex."""
    return bytes(credential_bytes[-_SIGNATURE:][:8]).hex()


def parse_credential(raw: bytes) -> tuple[Credential, bytes, bytes]:
    """Return the credential, its signed body and its issuer signature; malformed otherwise."""
    if len(raw) < _HEAD.size + 2 + _SIGNATURE:
        raise CredentialError("malformed")
    body, signature = raw[:-_SIGNATURE], raw[-_SIGNATURE:]
    version, kid, code_id, colour_code, valid_from, lifetime, device_key = _HEAD.unpack(
        body[: _HEAD.size]
    )
    rest = body[_HEAD.size :]
    name_size = rest[0]
    if version != VERSION or name_size > MAX_NAME_BYTES or len(rest) < 2 + name_size:
        raise CredentialError("malformed")
    tail_size = rest[1 + name_size]
    if tail_size > tokens.MAX_TAIL or len(rest) != 2 + name_size + tail_size:
        raise CredentialError("malformed")
    try:
        name = rest[1 : 1 + name_size].decode("utf-8")
        tail = rest[2 + name_size :].decode("ascii")
        credential = Credential(
            kid=kid.hex(),
            code_id=code_id.hex(),
            colour=tokens._COLOUR_NAMES.get(colour_code),
            valid_from=valid_from,
            lifetime=lifetime,
            device_key=device_key,
            masked_name=name,
            doc_tail=tail,
        )
    except ValueError:  # UnicodeDecodeError is one
        raise CredentialError("malformed") from None
    return credential, body, signature


def verify_credential(raw: bytes, public_key) -> Credential:
    """Return the credential if the issuer key's signature over it is good; time not checked."""
    credential, body, signature = parse_credential(raw)
    try:
        public_key.verify(signature, body)
    except InvalidSignature:
        raise CredentialError("bad_signature") from None
    return credential


def present(credential_bytes: bytes, presented_at: int, device_key: ec.EllipticCurvePrivateKey):
    """Return a presentation's text, as the phone makes it (for tests and the vectors)."""
    signed = bytes(credential_bytes) + struct.pack(">I", presented_at)
    r, s = decode_dss_signature(device_key.sign(signed, ec.ECDSA(hashes.SHA256())))
    return PREFIX + base45.b45encode(signed + r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode(
        "ascii"
    )


def is_presentation(text: object) -> bool:
    """Whether the text claims to be a presentation (by its prefix)."""
    return isinstance(text, str) and text.strip().startswith(PREFIX)


def decode(text: str) -> Presentation:
    """Parse a presentation's text; no signature or time is checked."""
    if not isinstance(text, str):
        raise CredentialError("malformed")
    text = text.strip()
    if not text.startswith(PREFIX):
        raise CredentialError("malformed")
    try:
        raw = base45.b45decode(text[len(PREFIX) :])
    except ValueError:
        raise CredentialError("malformed") from None
    if len(raw) < _HEAD.size + 2 + _SIGNATURE + 4 + _DEVICE_SIGNATURE:
        raise CredentialError("malformed")
    credential_bytes = raw[: -(4 + _DEVICE_SIGNATURE)]
    credential, _body_bytes, _signature = parse_credential(credential_bytes)
    (presented_at,) = struct.unpack(">I", raw[-(4 + _DEVICE_SIGNATURE) : -_DEVICE_SIGNATURE])
    return Presentation(
        credential=credential,
        credential_bytes=credential_bytes,
        credential_id=credential_id(credential_bytes),
        presented_at=presented_at,
        device_signature=raw[-_DEVICE_SIGNATURE:],
    )


def device_signature_ok(presentation: Presentation) -> bool:
    """Whether the device signature matches the credential's device key."""
    r = int.from_bytes(presentation.device_signature[:32], "big")
    s = int.from_bytes(presentation.device_signature[32:], "big")
    if not (0 < r < _ORDER and 0 < s < _ORDER):
        return False
    key = device_public_key(presentation.credential.device_key)
    try:
        key.verify(encode_dss_signature(r, s), presentation.signed_part, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def check_time(
    presentation: Presentation,
    now: int,
    max_clock_skew: int = tokens.MAX_CLOCK_SKEW,
    max_age: int = DEFAULT_MAX_AGE,
) -> None:
    """Apply the contract's time rules (8.5) in their order; raise CredentialError."""
    credential = presentation.credential
    if credential.valid_from - now > max_clock_skew:
        raise CredentialError("not_yet_valid")
    if now >= credential.valid_until:
        raise CredentialError("expired")
    if presentation.presented_at - now > min(PRESENTATION_CLOCK_SKEW, max_clock_skew):
        raise CredentialError("future_presentation")
    if now >= presentation.presented_at + max_age:
        raise CredentialError("stale_presentation")


# Golomb-coded set of credential ids (docs/token-format.md, 8.6).


def _hashed(credential_id_hex: str, count: int, p: int) -> int:
    return (int(credential_id_hex, 16) * count << p) >> 64


def gcs_encode(credential_ids: Iterable[str], p: int = GCS_P) -> dict:
    """Return the bundle's revoked_credentials member for these credential ids (hex)."""
    ids = list(credential_ids)
    values = sorted(_hashed(item, len(ids), p) for item in ids)
    bits: list[str] = []
    previous = 0
    for value in values:
        delta = value - previous
        previous = value
        bits.append("1" * (delta >> p) + "0" + format(delta & ((1 << p) - 1), f"0{p}b"))
    stream = "".join(bits)
    stream += "0" * (-len(stream) % 8)
    raw = int(stream, 2).to_bytes(len(stream) // 8, "big") if stream else b""
    return {"n": len(ids), "p": p, "gcs": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}


def gcs_decode(member: object) -> list[int]:
    """Return the hashed values of a revoked_credentials member; ValueError if it is invalid."""
    if not isinstance(member, Mapping):
        raise ValueError("revoked_credentials must be an object")
    count, p, text = member.get("n"), member.get("p"), member.get("gcs")
    if not (isinstance(count, int) and not isinstance(count, bool) and count >= 0):
        raise ValueError("n must be an integer of 0 or more")
    if not (isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 32):
        raise ValueError("p must be an integer 1..32")
    if not isinstance(text, str) or "=" in text:
        raise ValueError("gcs must be unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise ValueError("gcs is not base64url") from None
    total = len(raw) * 8
    position, value, values = 0, 0, []

    def bit(at: int) -> int:
        return (raw[at >> 3] >> (7 - (at & 7))) & 1

    for _ in range(count):
        quotient = 0
        while True:
            if position >= total:
                raise ValueError("gcs ends before n values")
            position += 1
            if not bit(position - 1):
                break
            quotient += 1
        if position + p > total:
            raise ValueError("gcs ends before n values")
        remainder = 0
        for _ in range(p):
            remainder = remainder << 1 | bit(position)
            position += 1
        value += (quotient << p) | remainder
        values.append(value)
    return values


def revoked_in(credential_id_hex: str, member: Mapping, values: list[int]) -> bool:
    """Whether the credential id is in the set whose decoded values are given."""
    if not member["n"]:
        return False
    target = _hashed(credential_id_hex, member["n"], member["p"])
    low, high = 0, len(values)
    while low < high:
        middle = (low + high) // 2
        if values[middle] < target:
            low = middle + 1
        else:
            high = middle
    return low < len(values) and values[low] == target
