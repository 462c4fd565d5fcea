"""Write docs/token-vectors.json: known-answer and negative vectors for the token contract.

The keys are RFC 8032's test keys (section 7.1, tests 1 and 2), so the vectors can be checked by
any Ed25519 implementation. Run once when the contract changes: python scripts/make-token-vectors.py
tests/unit/core/test_token_vectors.py and tests/e2e/test_verifier_js.py check the committed file;
they never regenerate it.
"""

from __future__ import annotations

import base64
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import base45  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from gantong.core import tokens, verifier  # noqa: E402

OWN_SECRET = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
PARTNER_SECRET = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
OWN_KID, RETIRED_KID, PARTNER_KID, OLD_PARTNER_KID = "0a1b2c3d", "0badc0de", "7e57beef", "0ddba11a"
NOW = 1_700_000_000


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def main() -> None:
    own = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(OWN_SECRET))
    partner = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(PARTNER_SECRET))
    own_x = b64url(tokens.public_bytes(own.public_key()))
    partner_x = b64url(tokens.public_bytes(partner.public_key()))
    bundle = {
        "format": verifier.BUNDLE_FORMAT,
        "issued_at": NOW - 600,
        "refresh_after": NOW - 600 + 900,
        "refuse_after": NOW - 600 + 86400,
        "keys": [
            {
                "kid": OWN_KID,
                "kty": "OKP",
                "crv": "Ed25519",
                "x": own_x,
                "not_before": NOW - 86400,
                "not_after": None,
                "signs_from": NOW - 86400,
            },
            # The same key material under another kid, retired an hour ago: only the window differs.
            {
                "kid": RETIRED_KID,
                "kty": "OKP",
                "crv": "Ed25519",
                "x": own_x,
                "not_before": NOW - 10 * 86400,
                "not_after": NOW - 3600,
                "signs_from": NOW - 10 * 86400,
            },
        ],
        "partners": [
            {
                "kid": PARTNER_KID,
                "kty": "OKP",
                "crv": "Ed25519",
                "x": partner_x,
                "name": "Partner test issuer",
                "region": "TEST",
                "max_ttl": 600,
                "not_before": NOW - 86400,
                "not_after": None,
            },
            {
                "kid": OLD_PARTNER_KID,
                "kty": "OKP",
                "crv": "Ed25519",
                "x": partner_x,
                "name": "Expired partner",
                "region": "TEST",
                "max_ttl": 600,
                "not_before": NOW - 10 * 86400,
                "not_after": NOW - 60,
            },
        ],
        "revoked": [{"id": "5e5e5e5e5e5e5e5e", "from": NOW - 7200}],
        "paper_colours": {"9a9a9a9a9a9a9a9a": "yellow", "7b7b7b7b7b7b7b7b": "red"},
    }

    def token(
        kind="screen",
        kid=OWN_KID,
        subject="0123456789abcdef",
        colour="green",
        issued_at=NOW - 30,
        ttl=120,
        masked_name="张*三",
        doc_tail="0014",
        version=2,
    ):
        return tokens.Token(
            type=kind,
            kid=kid,
            subject=subject,
            colour=colour,
            issued_at=issued_at,
            ttl=ttl,
            masked_name=masked_name,
            doc_tail=doc_tail,
            version=version,
        )

    def fields(t: tokens.Token) -> dict:
        return {
            "version": t.version,
            "type": t.type,
            "kid": t.kid,
            "subject": t.subject,
            "colour": t.colour,
            "issued_at": t.issued_at,
            "ttl": t.ttl,
            "masked_name": t.masked_name,
            "doc_tail": t.doc_tail,
        }

    valid, invalid = [], []

    def add_valid(name, t, key=own, now=NOW):
        text = tokens.sign(t, key)
        raw = base45.b45decode(text[len(tokens.PREFIX) :])
        verdict = verifier.verify(text, bundle, now)
        assert verdict.ok, (name, verdict)
        valid.append(
            {
                "name": name,
                "fields": fields(t),
                "payload_hex": raw[:-64].hex(),
                "signature_hex": raw[-64:].hex(),
                "text": text,
                "now": now,
                "expect": {"colour": verdict.colour, "issuer": verdict.issuer},
            }
        )
        return text

    def add_invalid(name, text, reason, now=NOW):
        verdict = verifier.verify(text, bundle, now)
        assert not verdict.ok and verdict.reason == reason, (name, verdict)
        invalid.append({"name": name, "text": text, "now": now, "reason": reason})

    green = add_valid("v2 screen green, Chinese masked name", token())
    add_valid("v2 screen yellow", token(colour="yellow", subject="1111111111111111"))
    add_valid(
        "v2 screen red, Latin name",
        token(colour="red", subject="2222222222222222", masked_name="J*** S****", doc_tail="123A"),
    )
    longest = tokens.fit_name("欧" + "*" * 98 + "阳")
    add_valid(
        "v2 screen, longest masked name (23 bytes, shortened with …)",
        token(subject="3333333333333333", masked_name=longest, doc_tail="ZZZZ"),
    )
    add_valid(
        "v2 screen, no name and no tail",
        token(subject="4444444444444444", masked_name="", doc_tail=""),
    )
    add_valid(
        "v1 screen (no name, still verifies until it expires)",
        token(subject="5555555555555555", masked_name="", doc_tail="", version=1),
    )
    add_valid(
        "v2 paper, serial not listed: green as of the bundle",
        token(
            kind="paper",
            subject="8c8c8c8c8c8c8c8c",
            colour=None,
            issued_at=NOW - 86400 * 30,
            ttl=tokens.PAPER_TTL,
        ),
    )
    add_valid(
        "v2 paper listed yellow",
        token(
            kind="paper",
            subject="9a9a9a9a9a9a9a9a",
            colour=None,
            issued_at=NOW - 86400 * 30,
            ttl=tokens.PAPER_TTL,
        ),
    )
    add_valid(
        "v2 paper listed red",
        token(
            kind="paper",
            subject="7b7b7b7b7b7b7b7b",
            colour=None,
            issued_at=NOW - 86400 * 30,
            ttl=tokens.PAPER_TTL,
        ),
    )
    add_valid(
        "v1 paper",
        token(
            kind="paper",
            subject="6d6d6d6d6d6d6d6d",
            colour=None,
            issued_at=NOW - 86400,
            ttl=tokens.PAPER_TTL,
            masked_name="",
            doc_tail="",
            version=1,
        ),
    )
    add_valid(
        "partner screen within its cap",
        token(kid=PARTNER_KID, subject="abababababababab", issued_at=NOW - 500, ttl=86400),
        key=partner,
    )
    add_valid(
        "clock skew: issued 299 s in the future",
        token(subject="6666666666666666", issued_at=NOW + 299),
    )

    raw = bytearray(base45.b45decode(green[len(tokens.PREFIX) :]))
    tampered = bytearray(raw)
    tampered[14] = 3  # green -> red, signature unchanged
    add_invalid(
        "tampered payload byte (colour)",
        tokens.PREFIX + base45.b45encode(bytes(tampered)).decode(),
        "bad_signature",
    )
    flipped = bytearray(raw)
    flipped[-1] ^= 1
    add_invalid(
        "tampered signature byte",
        tokens.PREFIX + base45.b45encode(bytes(flipped)).decode(),
        "bad_signature",
    )
    add_invalid("unknown kid", tokens.sign(token(kid="deadbeef"), own), "unknown_key")
    add_invalid(
        "expired (now = issued_at + ttl)", tokens.sign(token(issued_at=NOW - 120), own), "expired"
    )
    add_invalid(
        "not yet valid (issued 301 s ahead)",
        tokens.sign(token(issued_at=NOW + 301), own),
        "not_yet_valid",
    )
    add_invalid("wrong prefix", "GT2:" + green[len(tokens.PREFIX) :], "malformed")
    add_invalid("lower-case prefix", "gt1:" + green[len(tokens.PREFIX) :], "malformed")
    add_invalid(
        "bad base45 (character outside the alphabet)", green[:-2] + "#" + green[-1], "malformed"
    )
    add_invalid(
        "bad base45 (triple over 0xFFFF)",
        tokens.PREFIX + "GGW" + green[len(tokens.PREFIX) + 3 :],
        "malformed",
    )
    add_invalid(
        "truncated by one byte",
        tokens.PREFIX + base45.b45encode(bytes(raw[:-1])).decode(),
        "malformed",
    )
    signed_v3 = bytearray(raw[:-64])
    signed_v3[0] = 3
    add_invalid(
        "unknown version 3, properly signed",
        tokens.PREFIX + base45.b45encode(bytes(signed_v3) + own.sign(bytes(signed_v3))).decode(),
        "malformed",
    )
    add_invalid(
        "revoked paper serial",
        tokens.sign(
            token(
                kind="paper",
                subject="5e5e5e5e5e5e5e5e",
                colour=None,
                issued_at=NOW - 86400 * 30,
                ttl=tokens.PAPER_TTL,
            ),
            own,
        ),
        "revoked",
    )
    add_invalid(
        "retired key", tokens.sign(token(kid=RETIRED_KID, issued_at=NOW - 30), own), "key_retired"
    )
    add_invalid(
        "partner token over its cap (ttl one day, cap 600 s)",
        tokens.sign(
            token(kid=PARTNER_KID, subject="cdcdcdcdcdcdcdcd", issued_at=NOW - 600, ttl=86400),
            partner,
        ),
        "over_partner_cap",
    )
    add_invalid(
        "partner paper code",
        tokens.sign(
            token(kind="paper", kid=PARTNER_KID, colour=None, issued_at=NOW - 60, ttl=86400),
            partner,
        ),
        "partner_paper",
    )
    add_invalid(
        "partner no longer trusted",
        tokens.sign(token(kid=OLD_PARTNER_KID, issued_at=NOW - 30), partner),
        "issuer_expired",
    )
    add_invalid("bundle past refuse-after", green, "bundle_stale", now=bundle["refuse_after"])

    document = {
        "description": "Known-answer and negative vectors for docs/token-format.md. Keys: RFC 8032 section "
        "7.1 test 1 (own, secret below) and test 2 (partner). Ed25519 is deterministic, so "
        "signing 'fields' with the secret gives exactly 'text'.",
        "own_secret_hex": OWN_SECRET,
        "partner_secret_hex": PARTNER_SECRET,
        "bundle": bundle,
        "valid": valid,
        "invalid": invalid,
    }
    path = pathlib.Path(__file__).resolve().parent.parent / "docs" / "token-vectors.json"
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{path}: {len(valid)} valid, {len(invalid)} invalid")


if __name__ == "__main__":
    main()
