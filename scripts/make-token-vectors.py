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
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature  # noqa: E402

from gantong.core import credentials, tokens, verifier  # noqa: E402

OWN_SECRET = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
PARTNER_SECRET = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
OWN_KID, RETIRED_KID, PARTNER_KID, OLD_PARTNER_KID = "0a1b2c3d", "0badc0de", "7e57beef", "0ddba11a"
FUTURE_PARTNER_KID = "f00dfeed"
NOW = 1_700_000_000
# Device keys: RFC 6979 A.2.5's P-256 key, and two more scalars; deterministic ECDSA (RFC 6979)
# makes every presentation below come out byte for byte the same on each run.
DEVICE_SECRETS = (
    "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
    "0000000000000000000000000000000000000000000000000000000000000002",
    "0000000000000000000000000000000000000000000000000000000000000003",
)


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
        "max_presentation_age": 120,
        "revoked_credentials": credentials.gcs_encode([]),
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

    presentation_valid, presentation_invalid = presentations(own, partner_x, bundle)

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
        "device_secrets_hex": list(DEVICE_SECRETS),
        "presentation_valid": presentation_valid,
        "presentation_invalid": presentation_invalid,
    }
    path = pathlib.Path(__file__).resolve().parent.parent / "docs" / "token-vectors.json"
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(
        f"{path}: {len(valid)} valid, {len(invalid)} invalid tokens; "
        f"{len(presentation_valid)} valid, {len(presentation_invalid)} invalid presentations"
    )


def device_key(index: int) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int(DEVICE_SECRETS[index], 16), ec.SECP256R1())


def present(credential_bytes: bytes, presented_at: int, key) -> str:
    """A presentation signed with deterministic ECDSA (RFC 6979), r || s."""
    signed = credential_bytes + presented_at.to_bytes(4, "big")
    der = key.sign(signed, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    raw = signed + r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return credentials.PREFIX + base45.b45encode(raw).decode("ascii")


def presentations(own, partner_x: str, bundle: dict) -> tuple[list, list]:
    """Known-answer and negative vectors for holder credentials and presentations (section 8)."""
    devices = [device_key(i) for i in range(len(DEVICE_SECRETS))]
    points = [credentials.compress_point(public_point(key)) for key in devices]
    # Both parities of y: a verifier must decompress 02 and 03 keys.
    assert {point[0] for point in points} == {2, 3}, [point[0] for point in points]

    def credential(
        code_id="0123456789abcdef",
        colour="green",
        valid_from=NOW - 3600,
        lifetime=12 * 3600,
        device=0,
        masked_name="张*三",
        doc_tail="0014",
        kid=OWN_KID,
    ):
        return credentials.Credential(
            kid=kid,
            code_id=code_id,
            colour=colour,
            valid_from=valid_from,
            lifetime=lifetime,
            device_key=points[device],
            masked_name=masked_name,
            doc_tail=doc_tail,
        )

    def fields(c: credentials.Credential) -> dict:
        return {
            "kid": c.kid,
            "code_id": c.code_id,
            "colour": c.colour,
            "valid_from": c.valid_from,
            "lifetime": c.lifetime,
            "device_key_hex": c.device_key.hex(),
            "masked_name": c.masked_name,
            "doc_tail": c.doc_tail,
        }

    valid, invalid = [], []
    revoked_ids = []

    def add_valid(name, c, presented_at=NOW - 30, device=0, now=NOW, own_bundle=None):
        signed = credentials.sign_credential(c, own)
        text = present(signed, presented_at, devices[device])
        case = {
            "name": name,
            "fields": fields(c),
            "credential_hex": signed.hex(),
            "credential_id": credentials.credential_id(signed),
            "presented_at": presented_at,
            "device": device,
            "text": text,
            "now": now,
        }
        if own_bundle is not None:
            case["bundle"] = own_bundle
        valid.append(case)
        return signed

    def add_invalid(name, text, reason, now=NOW, own_bundle=None):
        case = {"name": name, "text": text, "now": now, "reason": reason}
        if own_bundle is not None:
            case["bundle"] = own_bundle
        invalid.append(case)

    green = add_valid("green credential, presented 30 s ago", credential())
    add_valid(
        "red credential, Latin name, device key with odd y (03)",
        credential(
            code_id="2222222222222222",
            colour="red",
            masked_name="J*** S****",
            doc_tail="123A",
            device=1,
        ),
        device=1,
    )
    add_valid(
        "yellow credential, device key 03 or 02 (the other parity), no tail",
        credential(code_id="3333333333333333", colour="yellow", device=2, doc_tail=""),
        device=2,
    )
    add_valid(
        "longest masked name (13 bytes, shortened with …), longest lifetime",
        credential(
            code_id="ffffffffffffffff",
            masked_name=credentials.fit_name("阿卜杜热合曼·买买提依明"),
            doc_tail="ZZZZ",
            lifetime=credentials.MAX_LIFETIME,
        ),
    )
    add_valid("presented 119 s ago", credential(), presented_at=NOW - 119)
    add_valid(
        "presented 60 s ahead (a presentation's tolerance)", credential(), presented_at=NOW + 60
    )
    add_valid(
        "credential valid from 300 s ahead (max_clock_skew)",
        credential(code_id="4444444444444444", valid_from=NOW + 300),
    )
    add_valid(
        "credential in its last second",
        credential(code_id="5555555555555555", valid_from=NOW - 43199, lifetime=43200),
    )

    stale_source = credential(code_id="6666666666666666")
    stale_signed = credentials.sign_credential(stale_source, own)
    add_invalid(
        "stale: presented 120 s ago (max_presentation_age)",
        present(stale_signed, NOW - 120, devices[0]),
        "stale_presentation",
    )
    add_invalid(
        "the same presentation 3 minutes later",
        present(green, NOW - 30, devices[0]),
        "stale_presentation",
        now=NOW + 150,
    )
    add_invalid(
        "stale under the bundle's max_presentation_age (60)",
        present(stale_signed, NOW - 60, devices[0]),
        "stale_presentation",
        own_bundle={**bundle, "max_presentation_age": 60},
    )
    add_invalid(
        "presented 61 s ahead", present(stale_signed, NOW + 61, devices[0]), "future_presentation"
    )
    add_invalid(
        "wrong device key: the credential moved to another device",
        present(green, NOW - 30, devices[1]),
        "bad_device_signature",
    )
    text = present(green, NOW - 30, devices[0])
    raw = bytearray(base45.b45decode(text[len(credentials.PREFIX) :]))
    later = bytearray(raw)
    later[len(green) + 3] ^= 1  # presented_at changed after signing
    add_invalid(
        "presented_at altered after the device signed",
        credentials.PREFIX + base45.b45encode(bytes(later)).decode(),
        "bad_device_signature",
    )
    add_invalid(
        "credential expired (now = valid_from + lifetime)",
        present(
            credentials.sign_credential(
                credential(code_id="7777777777777777", valid_from=NOW - 43200, lifetime=43200), own
            ),
            NOW - 10,
            devices[0],
        ),
        "expired",
    )
    add_invalid(
        "credential not yet valid (valid_from 301 s ahead)",
        present(
            credentials.sign_credential(
                credential(code_id="8888888888888888", valid_from=NOW + 301), own
            ),
            NOW,
            devices[0],
        ),
        "not_yet_valid",
    )
    revoked = credentials.sign_credential(credential(code_id="9999999999999999"), own)
    revoked_ids.append(credentials.credential_id(revoked))
    other_ids = [f"{i:016x}" for i in range(1, 40)]
    listing = credentials.gcs_encode(revoked_ids + other_ids)
    add_invalid(
        "revoked: the holder turned red after issue (listed in revoked_credentials)",
        present(revoked, NOW - 5, devices[0]),
        "revoked",
        own_bundle={**bundle, "revoked_credentials": listing},
    )
    add_valid(
        "not listed among 40 revoked credentials",
        credential(code_id="abababababababab"),
        own_bundle={**bundle, "revoked_credentials": listing},
    )
    tampered = bytearray(green)
    tampered[13] = 3  # green -> red under the issuer's signature
    add_invalid(
        "credential altered (colour) after the issuer signed",
        present(bytes(tampered), NOW - 30, devices[0]),
        "bad_signature",
    )
    add_invalid(
        "credential of an unknown key",
        present(credentials.sign_credential(credential(kid="deadbeef"), own), NOW, devices[0]),
        "unknown_key",
    )
    add_invalid(
        "credential under a partner's kid (partners issue no credentials)",
        present(credentials.sign_credential(credential(kid=PARTNER_KID), own), NOW, devices[0]),
        "unknown_key",
    )
    add_invalid(
        "credential of a retired key",
        present(credentials.sign_credential(credential(kid=RETIRED_KID), own), NOW, devices[0]),
        "key_retired",
    )
    add_invalid(
        "credential dated 301 s before its key's signs_from",
        present(
            credentials.sign_credential(
                credential(valid_from=bundle["keys"][0]["signs_from"] - 301), own
            ),
            NOW,
            devices[0],
        ),
        "key_not_yet_signing",
    )
    add_invalid("bundle past refuse-after", text, "bundle_stale", now=bundle["refuse_after"])
    add_invalid(
        "bundle without revoked_credentials",
        text,
        "bundle_invalid",
        own_bundle={k: v for k, v in bundle.items() if k != "revoked_credentials"},
    )
    add_invalid(
        "revoked_credentials whose gcs ends before n values",
        text,
        "bundle_invalid",
        own_bundle={**bundle, "revoked_credentials": {**listing, "n": listing["n"] + 5}},
    )
    add_invalid(
        "max_presentation_age of 0",
        text,
        "bundle_invalid",
        own_bundle={**bundle, "max_presentation_age": 0},
    )
    add_invalid("token prefix on a presentation", "GT1:" + text[4:], "malformed")
    add_invalid(
        "truncated by one byte",
        credentials.PREFIX + base45.b45encode(bytes(raw[:-1])).decode(),
        "malformed",
    )

    def signed_body(body: bytes, presented_at=NOW, device=0) -> str:
        """A credential that breaks a layout rule, properly signed by issuer and device."""
        return present(body + own.sign(body), presented_at, devices[device])

    base_body = green[:-64]
    version_2 = bytes([2]) + base_body[1:]
    add_invalid("credential version 2, properly signed", signed_body(version_2), "malformed")
    add_invalid("colour 0", signed_body(base_body[:13] + b"\x00" + base_body[14:]), "malformed")
    add_invalid(
        "lifetime 0", signed_body(base_body[:18] + b"\x00\x00" + base_body[20:]), "malformed"
    )
    add_invalid(
        "device key in uncompressed form's first byte (04)",
        signed_body(base_body[:20] + b"\x04" + base_body[21:]),
        "malformed",
    )
    # x = 1 has no y on P-256 (1 - 3 + b is not a square mod p): not a point.
    not_a_point = b"\x02" + (1).to_bytes(32, "big")
    try:
        credentials.device_public_key(not_a_point)
    except ValueError:
        pass
    else:
        raise AssertionError("x = 1 is a point after all: choose another")
    add_invalid(
        "device key that is not a point of P-256",
        signed_body(base_body[:20] + not_a_point + base_body[53:]),
        "malformed",
    )
    name14 = "张*三四五".encode()[:12] + b"**"
    assert len(name14) == 14
    add_invalid(
        "masked name of 14 bytes",
        signed_body(base_body[:53] + bytes([14]) + name14 + b"\x040014"),
        "malformed",
    )
    add_invalid(
        "masked name with a format character (U+200B)",
        signed_body(base_body[:53] + bytes([7]) + "张*\u200b".encode()[:7] + b"\x040014"),
        "malformed",
    )
    add_invalid(
        "document tail in lower case",
        signed_body(base_body[:53] + bytes([7]) + "张*三".encode() + b"\x04001x"),
        "malformed",
    )

    for case in valid:
        verdict = verifier.verify(case["text"], case.get("bundle", bundle), case["now"])
        assert verdict.ok, (case["name"], verdict)
        case["expect"] = {"colour": verdict.colour, "credential_id": verdict.credential_id}
    for case in invalid:
        verdict = verifier.verify(case["text"], case.get("bundle", bundle), case["now"])
        assert not verdict.ok and verdict.reason == case["reason"], (case["name"], verdict)
    return valid, invalid


def public_point(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


if __name__ == "__main__":
    main()
