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
FUTURE_PARTNER_KID = "f00dfeed"
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
                "not_before": NOW - 90 * 86400,
                "not_after": None,
                "signs_from": NOW - 60 * 86400,
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
            {
                "kid": FUTURE_PARTNER_KID,
                "kty": "OKP",
                "crv": "Ed25519",
                "x": partner_x,
                "name": "Partner recognised from tomorrow",
                "region": "TEST",
                "max_ttl": 600,
                "not_before": NOW + 86400,
                "not_after": None,
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

    def add_valid(name, t, key=own, now=NOW, own_bundle=None):
        text = tokens.sign(t, key)
        raw = base45.b45decode(text[len(tokens.PREFIX) :])
        verdict = verifier.verify(text, own_bundle or bundle, now)
        assert verdict.ok, (name, verdict)
        case = {
            "name": name,
            "fields": fields(t),
            "payload_hex": raw[:-64].hex(),
            "signature_hex": raw[-64:].hex(),
            "text": text,
            "now": now,
            "expect": {"colour": verdict.colour, "issuer": verdict.issuer},
        }
        if own_bundle is not None:
            case["bundle"] = own_bundle
        valid.append(case)
        return text

    def add_invalid(name, text, reason, now=NOW, own_bundle=None):
        verdict = verifier.verify(text, own_bundle or bundle, now)
        assert not verdict.ok and verdict.reason == reason, (name, verdict)
        case = {"name": name, "text": text, "now": now, "reason": reason}
        if own_bundle is not None:
            case["bundle"] = own_bundle
        invalid.append(case)

    def signed_payload(payload: bytes, key=own) -> str:
        """A text whose payload breaks a layout rule, properly signed (tokens.sign refuses it)."""
        return tokens.PREFIX + base45.b45encode(payload + key.sign(payload)).decode()

    def edited(t: tokens.Token, offset: int, value: bytes) -> bytes:
        """The token's payload with bytes replaced at offset."""
        payload = bytearray(tokens._payload(t))
        payload[offset : offset + len(value)] = value
        return bytes(payload)

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
        "partner screen stamped 60 s ahead (a partner's tolerance is 60 s)",
        token(kid=PARTNER_KID, subject="acacacacacacacac", issued_at=NOW + 60, ttl=600),
        key=partner,
    )
    # The same bundle, fetched just before version 1 retired: both edges are checked at its moment.
    at_sunset = {
        **bundle,
        "issued_at": tokens.VERSION_1_ISSUED_BEFORE - 600,
        "refresh_after": tokens.VERSION_1_ISSUED_BEFORE + 300,
        "refuse_after": tokens.VERSION_1_ISSUED_BEFORE + 86400,
    }
    add_valid(
        "v1 screen stamped 1 s before version 1 retired (2027-03-01)",
        token(
            subject="5656565656565656",
            masked_name="",
            doc_tail="",
            version=1,
            issued_at=tokens.VERSION_1_ISSUED_BEFORE - 1,
        ),
        now=tokens.VERSION_1_ISSUED_BEFORE,
        own_bundle=at_sunset,
    )
    add_valid(
        "clock skew: issued 299 s in the future",
        token(subject="6666666666666666", issued_at=NOW + 299),
    )
    add_valid(
        "clock skew: issued exactly 300 s in the future (max_clock_skew absent: 300)",
        token(subject="6767676767676767", issued_at=NOW + 300),
    )
    public_bundle = {name: value for name, value in bundle.items() if name != "paper_colours"}
    add_valid(
        "v2 paper under the public bundle (no paper_colours): colour unknown",
        token(
            kind="paper",
            subject="9a9a9a9a9a9a9a9a",
            colour=None,
            issued_at=NOW - 86400 * 30,
            ttl=tokens.PAPER_TTL,
        ),
        own_bundle=public_bundle,
    )
    add_valid(
        "v2 screen, Uyghur name in Arabic script and a tail with a letter",
        token(subject="6868686868686868", masked_name="ئا*", doc_tail="001X"),
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
    add_invalid(
        "bundle lacking a required member (revoked)",
        green,
        "bundle_invalid",
        own_bundle={name: value for name, value in bundle.items() if name != "revoked"},
    )
    add_invalid(
        "bundle with a negative max_clock_skew",
        green,
        "bundle_invalid",
        own_bundle={**bundle, "max_clock_skew": -1},
    )
    add_invalid(
        "the bundle's max_clock_skew (60) replaces the default: issued 61 s ahead",
        tokens.sign(token(subject="6969696969696969", issued_at=NOW + 61), own),
        "not_yet_valid",
        own_bundle={**bundle, "max_clock_skew": 60},
    )
    add_invalid(
        "partner screen stamped 61 s ahead",
        tokens.sign(
            token(kid=PARTNER_KID, subject="adadadadadadadad", issued_at=NOW + 61, ttl=600),
            partner,
        ),
        "not_yet_valid",
    )
    add_invalid(
        "v1 screen stamped when version 1 retired (2027-03-01)",
        tokens.sign(
            token(
                subject="5757575757575757",
                masked_name="",
                doc_tail="",
                version=1,
                issued_at=tokens.VERSION_1_ISSUED_BEFORE,
            ),
            own,
        ),
        "malformed",
        now=tokens.VERSION_1_ISSUED_BEFORE,
        own_bundle=at_sunset,
    )
    add_invalid(
        "partner not recognised yet (not_before tomorrow)",
        tokens.sign(token(kid=FUTURE_PARTNER_KID, issued_at=NOW - 30), partner),
        "issuer_not_yet_valid",
    )
    add_invalid(
        "issued 301 s before its key's signs_from (back-dated)",
        tokens.sign(token(issued_at=bundle["keys"][0]["signs_from"] - 301, ttl=400 * 86400), own),
        "key_not_yet_signing",
    )
    base = token(subject="7070707070707070")
    add_invalid("ttl 0", signed_payload(edited(base, 19, (0).to_bytes(4, "big"))), "malformed")
    add_invalid(
        "screen code without a colour", signed_payload(edited(base, 14, b"\x00")), "malformed"
    )
    paper_base = token(
        kind="paper", subject="7171717171717171", colour=None, issued_at=NOW - 60, ttl=86400
    )
    add_invalid(
        "paper code with a colour", signed_payload(edited(paper_base, 14, b"\x01")), "malformed"
    )

    def with_identity(name: bytes, tail: bytes) -> bytes:
        head = tokens._payload(token(masked_name="", doc_tail="", subject="7272727272727272"))
        return head[:23] + bytes([len(name)]) + name + bytes([len(tail)]) + tail

    for label, name, tail in (
        ("masked name with a control character (U+0007)", "张*\x07".encode(), b"0014"),
        ("masked name with a format character (U+200B)", "张*\u200b三".encode(), b"0014"),
        ("masked name with a private-use character (U+E000)", "张*\ue000".encode(), b"0014"),
        ("masked name with a trailing space", "张*三 ".encode(), b"0014"),
        ("masked name not in NFC (e + U+0301)", "Jose\u0301*".encode(), b"0014"),
        ("masked name of 24 bytes", ("张" * 8).encode(), b"0014"),
        ("masked name that is not UTF-8", b"\xff\xfe", b"0014"),
        ("document tail in lower case", "张*三".encode(), b"001x"),
        ("document tail of 5 characters", "张*三".encode(), b"00140"),
    ):
        add_invalid(label, signed_payload(with_identity(name, tail)), "malformed")

    document = {
        "description": "Known-answer and negative vectors for docs/token-format.md. Keys: RFC 8032 section "
        "7.1 test 1 (own, secret below) and test 2 (partner). Ed25519 is deterministic, so "
        "signing 'fields' with the secret gives exactly 'text'. Each case is verified with "
        "'bundle' below at 'now', or with the case's own 'bundle' when it has one. Negative "
        "cases that break the layout are signed properly: only the rule they break refuses them.",
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
