"""The pure core of the code on the phone: credentials, presentations, the revocation set and
the derived dynamic number (gantong/core/credentials.py, gantong/core/numbers.py)."""

from __future__ import annotations

import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gantong.core import credentials, numbers, tokens

pytestmark = pytest.mark.nodb

ISSUER = Ed25519PrivateKey.generate()
DEVICE = ec.generate_private_key(ec.SECP256R1())
POINT = credentials.compress_point(
    DEVICE.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
)
NOW = 1_800_000_000


def make(**fields):
    values = dict(
        kid="0a1b2c3d",
        code_id="0123456789abcdef",
        colour=tokens.GREEN,
        valid_from=NOW - 60,
        lifetime=3600,
        device_key=POINT,
        masked_name="张*三",
        doc_tail="0014",
    )
    values.update(fields)
    return credentials.Credential(**values)


def test_a_presentation_round_trips_and_binds_credential_time_and_device():
    signed = credentials.sign_credential(make(), ISSUER)
    text = credentials.present(signed, NOW, DEVICE)
    parsed = credentials.decode(" " + text + "\r\n")
    assert parsed.credential == make() and parsed.presented_at == NOW
    assert parsed.credential_id == signed[-64:][:8].hex()
    assert credentials.device_signature_ok(parsed)
    assert credentials.verify_credential(parsed.credential_bytes, ISSUER.public_key()) == make()
    with pytest.raises(credentials.CredentialError, match="bad_signature"):
        credentials.verify_credential(
            parsed.credential_bytes, Ed25519PrivateKey.generate().public_key()
        )
    other = ec.generate_private_key(ec.SECP256R1())
    assert not credentials.device_signature_ok(
        credentials.decode(credentials.present(signed, NOW, other))
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"colour": None},
        {"lifetime": 0},
        {"lifetime": 65536},
        {"device_key": b"\x04" + POINT[1:]},
        {"device_key": POINT[:32]},
        {"masked_name": "张" * 5},  # 15 bytes
        {"masked_name": " 张*三"},
        {"doc_tail": "001x"},
        {"code_id": "0123"},
    ],
)
def test_a_credential_refuses_what_the_layout_cannot_carry(fields):
    with pytest.raises(ValueError):
        make(**fields)


def test_the_time_rules_and_their_edges():
    signed = credentials.sign_credential(make(valid_from=NOW, lifetime=600), ISSUER)

    def reason(presented_at, now, age=120, skew=300):
        presentation = credentials.decode(credentials.present(signed, presented_at, DEVICE))
        try:
            credentials.check_time(presentation, now, skew, age)
        except credentials.CredentialError as error:
            return error.reason
        return None

    assert reason(NOW + 10, NOW + 10) is None
    assert reason(NOW + 10, NOW + 129) is None
    assert reason(NOW + 10, NOW + 130) == "stale_presentation"
    assert reason(NOW + 70, NOW + 10) is None  # 60 s ahead
    assert reason(NOW + 71, NOW + 10) == "future_presentation"
    assert reason(NOW + 71, NOW + 10, skew=30) == "future_presentation"
    assert reason(NOW + 40, NOW + 10, skew=30) is None
    assert reason(NOW - 300, NOW - 300) is None
    assert reason(NOW - 301, NOW - 301) == "not_yet_valid"
    assert reason(NOW + 599, NOW + 599) is None
    assert reason(NOW + 599, NOW + 600) == "expired"


def test_the_masked_name_is_cut_at_13_bytes_with_an_ellipsis():
    assert credentials.fit_name("张*三") == "张*三"
    cut = credentials.fit_name("阿" + "*" * 10 + "明")
    assert cut == "阿*******…" and len(cut.encode()) == 13


def test_the_revocation_set_finds_every_listed_id_and_rarely_another():
    listed = [secrets.token_hex(8) for _ in range(2000)]
    member = credentials.gcs_encode(listed)
    values = credentials.gcs_decode(member)
    assert member["n"] == 2000 and member["p"] == credentials.GCS_P
    assert all(credentials.revoked_in(item, member, values) for item in listed)
    # At p = 20 an id not listed matches with probability about 2^-20.
    assert (
        sum(credentials.revoked_in(secrets.token_hex(8), member, values) for _ in range(5000)) <= 1
    )
    empty = credentials.gcs_encode([])
    assert empty == {"n": 0, "p": 20, "gcs": ""} and credentials.gcs_decode(empty) == []
    with pytest.raises(ValueError):
        credentials.gcs_decode({**member, "n": 2001})
    with pytest.raises(ValueError):
        credentials.gcs_decode({**member, "p": 0})


def test_the_number_permutation_is_a_bijection_inverted_by_the_server():
    key = secrets.token_bytes(32)
    ids = [0, 1, 9999, 10000, 45_000_000, numbers.SPACE - 1]
    for slot in (0, 1, 2_999_999):
        shown = [numbers.number(key, holder, slot) for holder in ids]
        assert all(len(n) == 8 and n.isdigit() for n in shown)
        assert [numbers.holder_id(key, n, slot) for n in shown] == ids
    # A slot and a key each give another permutation.
    assert numbers.number(key, 42, 7) != numbers.number(key, 42, 8)
    assert numbers.number(key, 42, 7) != numbers.number(secrets.token_bytes(32), 42, 7)
    assert len({numbers.number(key, holder, 5) for holder in range(3000)}) == 3000
    for junk in ("1234567", "123456789", "1234567a", "１２３４５６７８", None):
        assert numbers.holder_id(key, junk, 5) is None
    with pytest.raises(ValueError):
        numbers.number(key, numbers.SPACE, 1)
