"""Signed code tokens: the compact Ed25519 payload carried by every QR code.

Wire format: PREFIX + base45(payload + signature); docs/token-format.md is the normative
description and docs/token-vectors.json its known-answer vectors. The payload starts with
version (1), type (1), kid (4), subject (8), colour (1), issued_at (4), ttl (4), all
big-endian (23 bytes, the whole of a version 1 payload); version 2 adds the masked name
(length byte + UTF-8, at most 23 bytes) and the document tail (length byte + at most 4 of
0-9A-Z). A 64-byte Ed25519 signature over the payload follows.
This module knows nothing of Flask or the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import struct
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import base45
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gantong.core.kinds import Colour

# Every character is in the QR alphanumeric set, so the whole text stays in
# alphanumeric mode and the QR one version smaller than byte mode would need.
PREFIX = "GT1:"
# The version tokens are signed with; every version in VERSIONS verifies.
VERSION = 2
VERSIONS = (1, 2)
# Version 1 is retired for new tokens: one stamped from this moment on (2027-03-01T00:00:00Z) is
# malformed, so a partner cannot keep signing nameless codes for ever; older ones verify until
# they expire (paper codes of version 1 live a year at most).
VERSION_1_ISSUED_BEFORE = 1_803_859_200
MAX_NAME_BYTES = 23
MAX_TAIL = 4

SCREEN, PAPER = "screen", "paper"
GREEN, YELLOW, RED = Colour.GREEN, Colour.YELLOW, Colour.RED
COLOURS = tuple(Colour)

DEFAULT_TTL = 120
PAPER_TTL = 365 * 24 * 60 * 60
# Phones and servers disagree about the time; beyond this a token is refused.
MAX_CLOCK_SKEW = 300
# A partner's code may be stamped at most this far ahead: its cap (max_ttl) counts from its
# stamp, so a wider tolerance would stretch a screenshot's life by the whole skew.
PARTNER_CLOCK_SKEW = 60

REASONS = ("malformed", "unknown_key", "bad_signature", "expired", "not_yet_valid")

_TYPE_CODES = {SCREEN: 0, PAPER: 1}
_TYPE_NAMES = {code: name for name, code in _TYPE_CODES.items()}
# The byte each colour is carried as; 0 is a paper code's "no colour".
_COLOUR_CODES = {None: 0, Colour.GREEN: 1, Colour.YELLOW: 2, Colour.RED: 3}
_COLOUR_NAMES = {code: name for name, code in _COLOUR_CODES.items()}

_PAYLOAD = struct.Struct(">BB4s8sBII")
_SIGNATURE_SIZE = 64
_TOKEN_SIZE = _PAYLOAD.size + _SIGNATURE_SIZE
_TAIL = re.compile(r"[0-9A-Z]{0,4}")
_ELLIPSIS = "\u2026"
_UINT32_MAX = 2**32 - 1

_KID = re.compile(r"[0-9a-f]{8}")
_SUBJECT = re.compile(r"[0-9a-f]{16}")

_KEY_INFO = b"gantong signing key"
_NONCE_SIZE = 12


class TokenError(Exception):
    """A token was refused; ``reason`` says why, as one of REASONS."""

    def __init__(self, reason: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown token error reason: {reason!r}")
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Token:
    """The facts a code token carries, before signing or after verifying."""

    type: str
    kid: str
    subject: str
    colour: str | None
    issued_at: int
    ttl: int
    # Version 2: whose code it is, as the code page shows it (masked name, document tail).
    masked_name: str = ""
    doc_tail: str = ""
    version: int = VERSION

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            raise ValueError(f"token version must be one of {VERSIONS}")
        if self.version == 1 and (self.masked_name or self.doc_tail):
            raise ValueError("a version 1 token carries no name and no document tail")
        if not _valid_name(self.masked_name):
            raise ValueError("masked_name must be printable text of at most 23 UTF-8 bytes")
        if not isinstance(self.doc_tail, str) or not _TAIL.fullmatch(self.doc_tail):
            raise ValueError("doc_tail must be at most 4 of 0-9 and A-Z")
        if self.type not in _TYPE_CODES:
            raise ValueError(f"token type must be {SCREEN!r} or {PAPER!r}")
        if not isinstance(self.kid, str) or not _KID.fullmatch(self.kid):
            raise ValueError("kid must be 8 lowercase hex characters")
        if not isinstance(self.subject, str) or not _SUBJECT.fullmatch(self.subject):
            raise ValueError("subject must be 16 lowercase hex characters")
        # A paper code's colour would be stale for a year, so it carries none and
        # the checkpoint always looks the colour up.
        if self.type == SCREEN and self.colour not in COLOURS:
            raise ValueError("a screen token needs a colour")
        if self.type == PAPER and self.colour is not None:
            raise ValueError("a paper token carries no colour")
        if not _is_uint32(self.issued_at):
            raise ValueError("issued_at must fit in 32 unsigned bits")
        if not _is_uint32(self.ttl) or self.ttl == 0:
            raise ValueError("ttl must be positive and fit in 32 unsigned bits")

    @property
    def expires_at(self) -> int:
        """Return the first second at which the token is no longer accepted."""
        return self.issued_at + self.ttl


def _is_uint32(value: object) -> bool:
    # bool is an int subclass; True as a timestamp is a bug, not a value.
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _UINT32_MAX


def _valid_name(name: object) -> bool:
    if not isinstance(name, str) or len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return False
    if name != name.strip() or unicodedata.normalize("NFC", name) != name:
        return False
    # No control, format, surrogate or unassigned characters: the verifier shows it as text.
    return all(unicodedata.category(ch)[0] != "C" for ch in name)


def issued_before_its_key(
    token: Token, signs_from: int | None, not_before: int | None, skew: int = MAX_CLOCK_SKEW
) -> bool:
    """Whether an own key's token claims a time before the key could sign (beyond the skew).

    A key signs from its signs_from (a prepared key) or, when that is unset, from its creation
    (not_before); a token stamped earlier was back-dated with the key, so it is refused.
    """
    start = signs_from if signs_from is not None else not_before
    return start is not None and token.issued_at < start - skew


def fit_name(masked: str, limit: int = MAX_NAME_BYTES) -> str:
    """Return the masked name as a version 2 token carries it: at most 23 (`limit`) UTF-8 bytes.

    Longer names keep their first characters within limit - 3 bytes and end in U+2026 (…).
    Control characters become spaces, runs of spaces one space.
    """
    text = "".join(
        " " if unicodedata.category(ch)[0] == "C" else ch
        for ch in unicodedata.normalize("NFC", masked or "")
    )
    text = " ".join(text.split())
    if len(text.encode("utf-8")) <= limit:
        return text
    kept, size = [], 0
    for ch in text:
        size += len(ch.encode("utf-8"))
        if size > limit - len(_ELLIPSIS.encode("utf-8")):
            break
        kept.append(ch)
    return "".join(kept).rstrip() + _ELLIPSIS


def fit_tail(doc_number: str) -> str:
    """Return the document tail a version 2 token carries: the last 4 of 0-9A-Z, upper case."""
    kept = [ch for ch in (doc_number or "").upper() if ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    return "".join(kept[-MAX_TAIL:])


def new_kid() -> str:
    """Return a fresh random key id: 8 lowercase hex characters."""
    return secrets.token_hex(4)


def new_subject() -> str:
    """Return a fresh random code id or paper serial: 16 lowercase hex characters."""
    return secrets.token_hex(8)


def _payload(token: Token) -> bytes:
    head = _PAYLOAD.pack(
        token.version,
        _TYPE_CODES[token.type],
        bytes.fromhex(token.kid),
        bytes.fromhex(token.subject),
        _COLOUR_CODES[token.colour],
        token.issued_at,
        token.ttl,
    )
    if token.version == 1:
        return head
    name, tail = token.masked_name.encode("utf-8"), token.doc_tail.encode("ascii")
    return head + bytes([len(name)]) + name + bytes([len(tail)]) + tail


def _encode(raw: bytes) -> str:
    return PREFIX + base45.b45encode(raw).decode("ascii")


def sign(token: Token, private_key: Ed25519PrivateKey) -> str:
    """Return the token's text: PREFIX + base45(payload + Ed25519 signature)."""
    payload = _payload(token)
    return _encode(payload + private_key.sign(payload))


def _split(text: str) -> tuple[Token, bytes, bytes]:
    if not isinstance(text, str):
        raise TokenError("malformed")
    # Scanners and text fields add line ends and spaces. Stripping them cannot eat
    # a real character: base45's last character is a digit or an upper-case letter
    # (the last group's top value is at most 32), never its space.
    text = text.strip()
    if not text.startswith(PREFIX):
        raise TokenError("malformed")
    try:
        raw = base45.b45decode(text[len(PREFIX) :])
    except ValueError:
        raise TokenError("malformed") from None
    if len(raw) < _TOKEN_SIZE:
        raise TokenError("malformed")
    payload, signature = raw[:-_SIGNATURE_SIZE], raw[-_SIGNATURE_SIZE:]
    version, type_code, kid, subject, colour_code, issued_at, ttl = _PAYLOAD.unpack(
        payload[: _PAYLOAD.size]
    )
    if version not in VERSIONS or type_code not in _TYPE_NAMES or colour_code not in _COLOUR_NAMES:
        raise TokenError("malformed")
    if version == 1 and issued_at >= VERSION_1_ISSUED_BEFORE:
        raise TokenError("malformed")
    masked_name, doc_tail = _identity_part(version, payload[_PAYLOAD.size :])
    try:
        token = Token(
            type=_TYPE_NAMES[type_code],
            kid=kid.hex(),
            subject=subject.hex(),
            colour=_COLOUR_NAMES[colour_code],
            issued_at=issued_at,
            ttl=ttl,
            masked_name=masked_name,
            doc_tail=doc_tail,
            version=version,
        )
    except ValueError:
        raise TokenError("malformed") from None
    return token, payload, signature


def _identity_part(version: int, rest: bytes) -> tuple[str, str]:
    """Return the masked name and tail after the fixed fields; every byte must be accounted for."""
    if version == 1:
        if rest:
            raise TokenError("malformed")
        return "", ""
    name_size = rest[0] if rest else 0
    if len(rest) < 2 + name_size or name_size > MAX_NAME_BYTES:
        raise TokenError("malformed")
    if rest[1 + name_size] > MAX_TAIL or len(rest) != 2 + name_size + rest[1 + name_size]:
        raise TokenError("malformed")
    try:
        name = rest[1 : 1 + name_size].decode("utf-8")
        tail = rest[2 + name_size :].decode("ascii")
    except UnicodeDecodeError:
        raise TokenError("malformed") from None
    return name, tail


def decode(text: str) -> Token:
    """Parse a token's text without checking its signature or time."""
    return _split(text)[0]


def verify_signature(text: str, public_key: Ed25519PublicKey) -> Token:
    """Return the token if the key's signature over its payload is good; time is not checked."""
    token, payload, signature = _split(text)
    try:
        public_key.verify(signature, payload)
    except InvalidSignature:
        raise TokenError("bad_signature") from None
    return token


def verify(text: str, public_keys: Mapping[str, Ed25519PublicKey], now: int) -> Token:
    """Return the token if its key is known, its signature good and it is current."""
    claimed = decode(text)
    public_key = public_keys.get(claimed.kid)
    if public_key is None:
        raise TokenError("unknown_key")
    token = verify_signature(text, public_key)
    if now >= token.expires_at:
        raise TokenError("expired")
    if token.issued_at - now > MAX_CLOCK_SKEW:
        raise TokenError("not_yet_valid")
    return token


def generate_private_key() -> Ed25519PrivateKey:
    """Return a new Ed25519 signing key."""
    return Ed25519PrivateKey.generate()


def _wrapping_key(secret: str) -> bytes:
    if not secret:
        raise ValueError("an app secret is needed to protect signing keys")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO)
    return hkdf.derive(secret.encode("utf-8"))


def encrypt_private_key(key: Ed25519PrivateKey, secret: str, kid: str) -> bytes:
    """Return the private key sealed with AES-256-GCM under a key derived from secret."""
    raw = key.private_bytes(
        encoding=serialization.Encoding.Raw,
        format=serialization.PrivateFormat.Raw,
        encryption_algorithm=serialization.NoEncryption(),
    )
    nonce = os.urandom(_NONCE_SIZE)
    # The kid as associated data stops a sealed key being copied onto another row.
    sealed = AESGCM(_wrapping_key(secret)).encrypt(nonce, raw, kid.encode("ascii"))
    return nonce + sealed


def decrypt_private_key(blob: bytes, secret: str, kid: str) -> Ed25519PrivateKey:
    """Return the private key sealed by encrypt_private_key; ValueError if it won't open."""
    blob = bytes(blob)
    if len(blob) <= _NONCE_SIZE:
        raise ValueError("sealed signing key is too short")
    nonce, sealed = blob[:_NONCE_SIZE], blob[_NONCE_SIZE:]
    try:
        raw = AESGCM(_wrapping_key(secret)).decrypt(nonce, sealed, kid.encode("ascii"))
    except InvalidTag:
        raise ValueError(
            "cannot decrypt the signing key: wrong secret, wrong kid or damaged data"
        ) from None
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_bytes(key: Ed25519PublicKey) -> bytes:
    """Return the raw 32-byte public key."""
    return key.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )


def public_key_from_bytes(raw: bytes) -> Ed25519PublicKey:
    """Return the public key for 32 raw bytes; ValueError otherwise."""
    return Ed25519PublicKey.from_public_bytes(bytes(raw))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def jwk(public_key: Ed25519PublicKey, kid: str) -> dict:
    """Return the public key as an RFC 8037 JSON Web Key."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(public_bytes(public_key)),
        "kid": kid,
        "use": "sig",
        "alg": "EdDSA",
    }


def public_key_from_jwk(jwk: Mapping) -> Ed25519PublicKey:
    """Return the Ed25519 public key in an RFC 8037 JWK; ValueError if it is not one."""
    # Anything but a JSON object has none of the members, so it fails below.
    if not isinstance(jwk, Mapping):
        jwk = {}
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError('the JWK must have "kty": "OKP" and "crv": "Ed25519"')
    # A trust list holds public keys only; a private part here means a leaked key.
    if "d" in jwk:
        raise ValueError("the JWK holds a private key")
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", "EdDSA") != "EdDSA":
        raise ValueError('the JWK must be for "use": "sig" and "alg": "EdDSA"')
    x = jwk.get("x")
    if not isinstance(x, str) or not re.fullmatch(r"[A-Za-z0-9_-]{43}", x):
        raise ValueError('the JWK\'s "x" must be 32 bytes in unpadded base64url')
    raw = base64.urlsafe_b64decode(x + "=")
    # Non-canonical trailing bits would let one key have several spellings.
    if _b64url(raw) != x:
        raise ValueError('the JWK\'s "x" is not canonical base64url')
    return public_key_from_bytes(raw)


def dynamic_number(secret: bytes, at: int, step: int = 60) -> str:
    """Return the 8-digit one-time number for the step containing ``at`` (RFC 6238, SHA-256)."""
    if step <= 0 or at < 0:
        raise ValueError("step must be positive and at not negative")
    counter = struct.pack(">Q", at // step)
    digest = hmac.new(secret, counter, hashlib.sha256).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 10**8:08d}"


def dynamic_number_matches(
    secret: bytes, number: str, now: int, window: int = 1, step: int = 60
) -> bool:
    """Return whether number is the current step's or one of ``window`` previous ones."""
    if not isinstance(number, str):
        return False
    # Volunteers copy the number as shown, which may be grouped "1234 5678".
    typed = "".join(number.split())
    if not re.fullmatch(r"[0-9]{8}", typed):
        return False
    matched = False
    # Check every step without stopping early so the timing says nothing.
    for back in range(window + 1):
        if now - back * step < 0:
            break
        candidate = dynamic_number(secret, now - back * step, step)
        matched |= hmac.compare_digest(candidate, typed)
    return matched
