"""docs/token-vectors.json, the contract's known answers, checked by the Python side.

The browser verifier runs the same file (tests/e2e/test_verifier_js.py): both sides are held to
the same bytes, not to a round trip through their own code.
"""

import json
import pathlib
import re

import base45
import pytest
import segno
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gantong.core import credentials, identity, tokens, verifier

# Pure: no app, no database; run once, on the SQLite pass.
pytestmark = pytest.mark.nodb

VECTORS = json.loads(
    (pathlib.Path(__file__).resolve().parents[3] / "docs" / "token-vectors.json").read_text(
        encoding="utf-8"
    )
)
BUNDLE = VECTORS["bundle"]


def _key(name):
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTORS[name]))


def test_the_keys_are_rfc_8032s_test_keys():
    own = tokens.public_bytes(_key("own_secret_hex").public_key()).hex()
    partner = tokens.public_bytes(_key("partner_secret_hex").public_key()).hex()
    assert own == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    assert partner == "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"


def test_there_are_vectors_of_every_kind():
    assert len(VECTORS["valid"]) >= 10
    # Every refusal reason the document names has a vector, and no vector names another.
    reasons = {case["reason"] for case in VECTORS["invalid"]}
    presentation_only = {"bad_device_signature", "future_presentation", "stale_presentation"}
    assert reasons == set(verifier.REASONS) - presentation_only


def test_every_reason_the_document_names_is_one_the_verifier_returns():
    document = (pathlib.Path(__file__).resolve().parents[3] / "docs" / "token-format.md").read_text(
        encoding="utf-8"
    )
    steps = document.split("### Verifying with a bundle")[1].split("The server")[0]
    steps += document.split("### 8.7 Verifying a presentation")[1].split("### 8.8")[0]
    assert set(verifier.REASONS) <= set(re.findall(r"`([a-z_]+)`", steps))


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda case: case["name"])
def test_known_answer_signing_gives_the_expected_text(case):
    fields = dict(case["fields"])
    token = tokens.Token(**fields)
    signer = _key(
        "partner_secret_hex"
        if fields["kid"] in {p["kid"] for p in BUNDLE["partners"]}
        else "own_secret_hex"
    )
    text = tokens.sign(token, signer)
    assert text == case["text"]
    raw = base45.b45decode(text[len(tokens.PREFIX) :])
    assert raw[:-64].hex() == case["payload_hex"] and raw[-64:].hex() == case["signature_hex"]
    assert tokens.decode(case["text"]) == token


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda case: case["name"])
def test_valid_vectors_verify_with_the_bundle(case):
    verdict = verifier.verify(case["text"], case.get("bundle", BUNDLE), case["now"])
    assert verdict.ok, verdict.reason
    assert verdict.colour == case["expect"]["colour"]
    assert verdict.issuer == case["expect"]["issuer"]
    assert verdict.token.masked_name == case["fields"]["masked_name"]
    assert verdict.token.doc_tail == case["fields"]["doc_tail"]


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda case: case["name"])
def test_negative_vectors_are_refused_with_their_reason(case):
    verdict = verifier.verify(case["text"], case.get("bundle", BUNDLE), case["now"])
    assert not verdict.ok and verdict.reason == case["reason"]


@pytest.mark.parametrize("case", VECTORS["valid"], ids=lambda case: case["name"])
def test_every_vector_fits_a_version_7_qr_at_level_m(case):
    qr = segno.make_qr(case["text"], error="m", boost_error=False)
    assert qr.mode == "alphanumeric" and not qr.is_micro and qr.version <= 7


@pytest.mark.parametrize(
    "name",
    [
        "欧" * 100,  # the longest name a holder may have (100 characters)
        "阿卜杜热合曼·买买提依明·艾合买提江·吐尔逊",
        " ".join(["Maximiliana"] * 9),
        "𠀀𠀁𠀂𠀃𠀄𠀅𠀆",  # 4-byte characters
    ],
)
def test_the_longest_names_keep_a_paper_and_a_screen_qr_at_version_7(name):
    masked = tokens.fit_name(identity.mask_name(name))
    assert len(masked.encode("utf-8")) <= tokens.MAX_NAME_BYTES
    key = _key("own_secret_hex")
    for kind, colour, ttl in (
        (tokens.SCREEN, tokens.YELLOW, 120),
        (tokens.PAPER, None, tokens.PAPER_TTL),
    ):
        token = tokens.Token(
            kind,
            "ffffffff",
            "ffffffffffffffff",
            colour,
            2**32 - 1 - ttl,
            ttl,
            masked_name=masked,
            doc_tail="ZZZZ",
        )
        text = tokens.sign(token, key)
        qr = segno.make_qr(text, error="m", boost_error=False)
        assert qr.mode == "alphanumeric" and qr.version <= 7
        assert tokens.decode(text).masked_name == masked


def test_fit_name_keeps_short_names_and_shortens_long_ones_with_an_ellipsis():
    assert tokens.fit_name("张*三") == "张*三"
    long = tokens.fit_name("欧" + "*" * 98 + "阳")
    assert long.endswith("…") and len(long.encode()) <= tokens.MAX_NAME_BYTES
    assert tokens.fit_name("a\x00b  c") == "a b c"
    assert tokens.fit_tail("44052418800101001x") == "001X"


# Holder credentials and presentations (docs/token-format.md, section 8).


def test_every_presentation_reason_has_a_vector():
    reasons = {case["reason"] for case in VECTORS["presentation_invalid"]}
    assert {"stale_presentation", "bad_device_signature", "expired", "not_yet_valid"} <= reasons
    assert {"revoked", "future_presentation", "malformed", "bundle_invalid"} <= reasons
    every = reasons | {case["reason"] for case in VECTORS["invalid"]}
    assert every == set(verifier.REASONS)


@pytest.mark.parametrize("case", VECTORS["presentation_valid"], ids=lambda case: case["name"])
def test_known_answer_credentials_and_valid_presentations(case):
    fields = dict(case["fields"])
    fields["device_key"] = bytes.fromhex(fields.pop("device_key_hex"))
    signed = credentials.sign_credential(credentials.Credential(**fields), _key("own_secret_hex"))
    assert signed.hex() == case["credential_hex"]
    assert (
        credentials.credential_id(signed)
        == case["credential_id"]
        == case["expect"]["credential_id"]
    )
    verdict = verifier.verify(case["text"], case.get("bundle", BUNDLE), case["now"])
    assert verdict.ok, verdict.reason
    assert verdict.colour == case["expect"]["colour"] == fields["colour"]
    assert verdict.credential.masked_name == fields["masked_name"]
    qr = segno.make_qr(case["text"], error="m", boost_error=False)
    assert qr.mode == "alphanumeric" and not qr.is_micro and qr.version <= 10


@pytest.mark.parametrize("case", VECTORS["presentation_invalid"], ids=lambda case: case["name"])
def test_negative_presentations_are_refused_with_their_reason(case):
    verdict = verifier.verify(case["text"], case.get("bundle", BUNDLE), case["now"])
    assert not verdict.ok and verdict.reason == case["reason"]


@pytest.mark.parametrize(
    "name",
    [
        "欧" * 100,
        "阿卜杜热合曼·买买提依明·艾合买提江·吐尔逊",
        " ".join(["Maximiliana"] * 9),
        "𠀀𠀁𠀂𠀃𠀄𠀅𠀆",
    ],
)
def test_the_longest_names_keep_a_presentation_at_version_10(name):
    device = ec.generate_private_key(ec.SECP256R1())
    point = credentials.compress_point(
        device.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    masked = credentials.fit_name(identity.mask_name(name))
    credential = credentials.Credential(
        "ffffffff",
        "ffffffffffffffff",
        tokens.YELLOW,
        2**32 - 1 - 65535,
        65535,
        point,
        masked,
        "ZZZZ",
    )
    text = credentials.present(
        credentials.sign_credential(credential, _key("own_secret_hex")), 2**32 - 1, device
    )
    assert len(text) == 310
    qr = segno.make_qr(text, error="m", boost_error=False)
    assert qr.mode == "alphanumeric" and qr.version == 10
    assert credentials.decode(text).credential == credential
