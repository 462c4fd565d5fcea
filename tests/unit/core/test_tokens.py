import json
import string

import base45
import pytest
import segno
from hypothesis import given
from hypothesis import strategies as st

from gantong.core import tokens
from gantong.core.tokens import PAPER, PREFIX, SCREEN, Token, TokenError

# Pure: no app, no database; run once, on the SQLite pass.
pytestmark = pytest.mark.nodb

QR_ALPHANUMERIC = set(string.digits + string.ascii_uppercase + " $%*+-./:")
NOW = 1_700_000_000


@pytest.fixture(scope="module")
def private_key():
    return tokens.generate_private_key()


@pytest.fixture(scope="module")
def kid():
    return tokens.new_kid()


@pytest.fixture(scope="module")
def public_keys(private_key, kid):
    return {kid: private_key.public_key()}


@pytest.fixture
def screen_token(kid):
    return Token(SCREEN, kid, tokens.new_subject(), "green", NOW, tokens.DEFAULT_TTL)


@pytest.fixture
def paper_token(kid):
    return Token(PAPER, kid, tokens.new_subject(), None, NOW, tokens.PAPER_TTL)


def raw_bytes(text):
    return bytearray(base45.b45decode(text[len(PREFIX) :]))


def reencode(raw):
    return PREFIX + base45.b45encode(bytes(raw)).decode()


def signed_raw(payload, private_key):
    """Return a properly signed token text for an arbitrary payload."""
    return reencode(payload + private_key.sign(bytes(payload)))


def reason(excinfo):
    return excinfo.value.reason


# Round trips


@pytest.mark.parametrize("colour", ["green", "yellow", "red"])
def test_screen_round_trip(private_key, public_keys, kid, colour):
    token = Token(SCREEN, kid, tokens.new_subject(), colour, NOW, 120)
    text = tokens.sign(token, private_key)
    assert tokens.decode(text) == token
    assert tokens.verify(text, public_keys, NOW) == token


def test_paper_round_trip(private_key, public_keys, paper_token):
    text = tokens.sign(paper_token, private_key)
    assert tokens.decode(text) == paper_token
    assert tokens.verify(text, public_keys, NOW + 364 * 86400) == paper_token


def test_expires_at(screen_token):
    assert screen_token.expires_at == NOW + tokens.DEFAULT_TTL


def test_surrounding_whitespace_is_ignored(private_key, public_keys, screen_token):
    text = tokens.sign(screen_token, private_key)
    assert tokens.verify(f"  {text}\r\n", public_keys, NOW) == screen_token


@given(
    type_and_colour=st.sampled_from(
        [(SCREEN, "green"), (SCREEN, "yellow"), (SCREEN, "red"), (PAPER, None)]
    ),
    kid=st.binary(min_size=4, max_size=4).map(bytes.hex),
    subject=st.binary(min_size=8, max_size=8).map(bytes.hex),
    issued_at=st.integers(0, 2**32 - 1),
    ttl=st.integers(1, 2**32 - 1),
)
def test_any_token_round_trips_in_qr_alphanumeric(
    private_key, type_and_colour, kid, subject, issued_at, ttl
):
    token_type, colour = type_and_colour
    token = Token(token_type, kid, subject, colour, issued_at, ttl)
    text = tokens.sign(token, private_key)
    assert set(text) <= QR_ALPHANUMERIC
    assert tokens.decode(text) == token
    assert tokens.verify(text, {kid: private_key.public_key()}, issued_at) == token


# Size of the QR


@pytest.mark.parametrize(
    "token",
    [
        Token(SCREEN, "ffffffff", "ffffffffffffffff", "yellow", 2**32 - 1, 120),
        Token(PAPER, "00000000", "0123456789abcdef", None, NOW, tokens.PAPER_TTL),
    ],
)
def test_qr_is_small_and_not_micro(private_key, token):
    text = tokens.sign(token, private_key)
    qr = segno.make_qr(text, error="M")
    assert set(text) <= QR_ALPHANUMERIC
    assert qr.mode == "alphanumeric"
    assert not qr.is_micro
    assert qr.version <= 7


# Refusals


def test_flipped_signature_byte_is_bad_signature(private_key, public_keys, screen_token):
    raw = raw_bytes(tokens.sign(screen_token, private_key))
    raw[-1] ^= 0x01
    with pytest.raises(TokenError) as excinfo:
        tokens.verify(reencode(raw), public_keys, NOW)
    assert reason(excinfo) == "bad_signature"


# Changes that leave the payload well formed with the same kid: subject,
# colour (green to red), issued_at and ttl.
@pytest.mark.parametrize(
    ("offset", "mask"), [(6, 1), (13, 1), (14, 2), (15, 1), (18, 1), (19, 1), (22, 1)]
)
def test_changed_payload_byte_is_bad_signature(
    private_key, public_keys, screen_token, offset, mask
):
    raw = raw_bytes(tokens.sign(screen_token, private_key))
    raw[offset] ^= mask
    tampered = reencode(raw)
    assert tokens.decode(tampered) != screen_token
    with pytest.raises(TokenError) as excinfo:
        tokens.verify(tampered, public_keys, NOW)
    assert reason(excinfo) == "bad_signature"


def test_another_key_with_the_same_kid_is_bad_signature(private_key, kid, screen_token):
    text = tokens.sign(screen_token, private_key)
    impostor = {kid: tokens.generate_private_key().public_key()}
    with pytest.raises(TokenError) as excinfo:
        tokens.verify(text, impostor, NOW)
    assert reason(excinfo) == "bad_signature"


def test_unknown_key(private_key, screen_token):
    text = tokens.sign(screen_token, private_key)
    other = {tokens.new_kid(): private_key.public_key()}
    with pytest.raises(TokenError) as excinfo:
        tokens.verify(text, other, NOW)
    assert reason(excinfo) == "unknown_key"


def test_expiry_boundary(private_key, public_keys, screen_token):
    text = tokens.sign(screen_token, private_key)
    assert tokens.verify(text, public_keys, screen_token.expires_at - 1) == screen_token
    with pytest.raises(TokenError) as excinfo:
        tokens.verify(text, public_keys, screen_token.expires_at)
    assert reason(excinfo) == "expired"


def test_not_yet_valid_boundary(private_key, public_keys, kid):
    token = Token(SCREEN, kid, tokens.new_subject(), "red", NOW + 300, 120)
    text = tokens.sign(token, private_key)
    assert tokens.verify(text, public_keys, NOW) == token
    with pytest.raises(TokenError) as excinfo:
        tokens.verify(text, public_keys, NOW - 1)
    assert reason(excinfo) == "not_yet_valid"


def test_checks_run_in_order(private_key, public_keys, screen_token):
    text = tokens.sign(screen_token, private_key)
    late = screen_token.expires_at + 1
    with pytest.raises(TokenError) as excinfo:
        tokens.verify(text, {}, late)
    assert reason(excinfo) == "unknown_key"
    raw = raw_bytes(text)
    raw[-1] ^= 0x01
    with pytest.raises(TokenError) as excinfo:
        tokens.verify(reencode(raw), public_keys, late)
    assert reason(excinfo) == "bad_signature"


def _malformed_texts(text):
    raw = raw_bytes(text)
    body = text[len(PREFIX) :]
    return {
        "empty": "",
        "garbage": "hello world",
        "prefix only": PREFIX,
        "wrong prefix": "GT2:" + body,
        "lower-case prefix": PREFIX.lower() + body,
        "no prefix": body,
        "dot prefix": "GT1." + body,
        "truncated by one character": text[:-1],
        "truncated by three characters": text[:-3],
        "one byte short": reencode(raw[:-1]),
        "trailing byte": reencode(raw + b"\x00"),
        "trailing garbage": text + "00",
        "lower-case base45": PREFIX + body.lower(),
        "base45 triple over 0xFFFF": PREFIX + "GGW" + body[3:],
        "character outside base45": text[:-2] + "#" + text[-1],
        "not a string": raw,
    }


@pytest.mark.parametrize(
    "case",
    list(_malformed_texts(PREFIX + base45.b45encode(bytes(87)).decode())),
)
def test_malformed(private_key, public_keys, screen_token, case):
    text = _malformed_texts(tokens.sign(screen_token, private_key))[case]
    for check in (tokens.decode, lambda t: tokens.verify(t, public_keys, NOW)):
        with pytest.raises(TokenError) as excinfo:
            check(text)
        assert reason(excinfo) == "malformed"


# Each is properly signed, so only the structure can refuse it.
@pytest.mark.parametrize(
    ("offset", "value"),
    [
        (0, 0),  # version 0
        (0, 3),  # unknown version (the identity part is cut off too)
        (1, 2),  # unknown type
        (14, 4),  # unknown colour
        (14, 0),  # screen token without colour
        (22, 0),  # ttl 0
    ],
)
def test_signed_but_malformed_payload(private_key, public_keys, screen_token, offset, value):
    payload = raw_bytes(tokens.sign(screen_token, private_key))[:23]
    payload[offset] = value
    with pytest.raises(TokenError) as excinfo:
        tokens.verify(signed_raw(payload, private_key), public_keys, NOW)
    assert reason(excinfo) == "malformed"


def test_paper_token_with_colour_is_malformed(private_key, public_keys, paper_token):
    payload = raw_bytes(tokens.sign(paper_token, private_key))[:23]
    payload[14] = 1
    with pytest.raises(TokenError) as excinfo:
        tokens.verify(signed_raw(payload, private_key), public_keys, NOW)
    assert reason(excinfo) == "malformed"


@given(st.text(alphabet="".join(sorted(QR_ALPHANUMERIC)) + "gt1\n\x00é", max_size=200))
def test_decode_refuses_anything_with_token_error_only(text):
    try:
        tokens.decode(text)
    except TokenError as error:
        assert error.reason == "malformed"


@given(st.binary(max_size=120))
def test_decode_of_random_bytes_is_malformed_or_token(raw):
    try:
        token = tokens.decode(reencode(raw))
    except TokenError as error:
        assert error.reason == "malformed"
    else:
        assert len(raw) >= 87 and token.type in (SCREEN, PAPER)


# The Token value itself


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "card"},
        {"kid": "ABCDEF01"},
        {"kid": "abcdef0"},
        {"subject": "0123456789abcde"},
        {"colour": None},
        {"colour": "blue"},
        {"type": PAPER},
        {"issued_at": -1},
        {"issued_at": 2**32},
        {"ttl": 0},
        {"ttl": 2**32},
        {"ttl": True},
    ],
)
def test_token_refuses_bad_fields(fields):
    good = {
        "type": SCREEN,
        "kid": "0123abcd",
        "subject": "0123456789abcdef",
        "colour": "green",
        "issued_at": NOW,
        "ttl": 120,
    }
    with pytest.raises(ValueError):
        Token(**{**good, **fields})


def test_signing_is_deterministic(private_key, screen_token):
    # Ed25519 is deterministic: the same token signs to the same text.
    assert tokens.sign(screen_token, private_key) == tokens.sign(screen_token, private_key)


def test_new_ids():
    kids = {tokens.new_kid() for _ in range(50)}
    subjects = {tokens.new_subject() for _ in range(50)}
    assert len(kids) == len(subjects) == 50
    assert all(len(kid) == 8 and set(kid) <= set("0123456789abcdef") for kid in kids)
    assert all(len(s) == 16 and set(s) <= set("0123456789abcdef") for s in subjects)


def test_token_error_reason():
    error = TokenError("expired")
    assert error.reason == "expired"
    with pytest.raises(ValueError):
        TokenError("nope")


# Key storage


def test_encrypt_decrypt_round_trip(private_key, kid):
    blob = tokens.encrypt_private_key(private_key, "app secret", kid)
    restored = tokens.decrypt_private_key(blob, "app secret", kid)
    assert tokens.public_bytes(restored.public_key()) == tokens.public_bytes(
        private_key.public_key()
    )
    assert tokens.public_bytes(private_key.public_key()) not in blob


def test_encryption_uses_a_fresh_nonce(private_key, kid):
    first = tokens.encrypt_private_key(private_key, "app secret", kid)
    second = tokens.encrypt_private_key(private_key, "app secret", kid)
    assert first[:12] != second[:12]
    assert first != second


def test_wrong_secret_kid_or_damage_fails(private_key, kid):
    blob = tokens.encrypt_private_key(private_key, "app secret", kid)
    with pytest.raises(ValueError):
        tokens.decrypt_private_key(blob, "another secret", kid)
    with pytest.raises(ValueError):
        tokens.decrypt_private_key(blob, "app secret", tokens.new_kid())
    damaged = bytearray(blob)
    damaged[20] ^= 0x01
    with pytest.raises(ValueError):
        tokens.decrypt_private_key(bytes(damaged), "app secret", kid)
    with pytest.raises(ValueError):
        tokens.decrypt_private_key(blob[:12], "app secret", kid)


def test_public_bytes_round_trip(private_key):
    raw = tokens.public_bytes(private_key.public_key())
    assert len(raw) == 32
    assert tokens.public_bytes(tokens.public_key_from_bytes(raw)) == raw
    with pytest.raises(ValueError):
        tokens.public_key_from_bytes(raw[:31])


def test_jwk_round_trip(private_key, kid):
    key = tokens.jwk(private_key.public_key(), kid)
    assert json.loads(json.dumps(key)) == key
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519"
    assert key["kid"] == kid and key["use"] == "sig" and key["alg"] == "EdDSA"
    assert len(key["x"]) == 43 and "=" not in key["x"]
    restored = tokens.public_key_from_jwk(key)
    assert tokens.public_bytes(restored) == tokens.public_bytes(private_key.public_key())


def test_jwk_verifies_tokens(private_key, kid, screen_token):
    trusted = {kid: tokens.public_key_from_jwk(tokens.jwk(private_key.public_key(), kid))}
    assert tokens.verify(tokens.sign(screen_token, private_key), trusted, NOW) == screen_token


def test_jwk_rfc8037_example():
    # RFC 8037, appendix A.2.
    key = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert tokens.public_bytes(tokens.public_key_from_jwk(key)).hex() == (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"kty": "EC"},
        {"crv": "X25519"},
        {"crv": "Ed448"},
        {"x": "short"},
        {"x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
        {"x": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp"},
        {"x": None},
        {"d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"},
        {"use": "enc"},
        {"alg": "RS256"},
    ],
)
def test_jwk_refused(change):
    key = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    with pytest.raises(ValueError):
        tokens.public_key_from_jwk({**key, **change})


def test_jwk_missing_fields_refused():
    with pytest.raises(ValueError):
        tokens.public_key_from_jwk({"kty": "OKP", "crv": "Ed25519"})
    with pytest.raises(ValueError):
        tokens.public_key_from_jwk([])


# The dynamic number

SECRET = b"12345678901234567890123456789012"


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (59, "46119246"),
        (1111111109, "68084774"),
        (1111111111, "67062674"),
        (1234567890, "91819424"),
        (2000000000, "90698825"),
        (20000000000, "77737706"),
    ],
)
def test_dynamic_number_rfc6238_sha256_vectors(at, expected):
    assert tokens.dynamic_number(SECRET, at, step=30) == expected


def test_dynamic_number_is_stable_within_a_minute():
    start = NOW - NOW % 60
    number = tokens.dynamic_number(SECRET, start)
    assert len(number) == 8 and number.isdigit()
    assert tokens.dynamic_number(SECRET, start + 59) == number
    assert tokens.dynamic_number(SECRET, start + 60) != number
    assert tokens.dynamic_number(b"another secret", start) != number


@given(secret=st.binary(min_size=16, max_size=32), at=st.integers(0, 2**40))
def test_dynamic_number_is_always_eight_ascii_digits(secret, at):
    number = tokens.dynamic_number(secret, at)
    assert len(number) == 8 and set(number) <= set(string.digits)


def test_dynamic_number_matches_window():
    number = tokens.dynamic_number(SECRET, NOW)
    assert tokens.dynamic_number_matches(SECRET, number, NOW)
    assert tokens.dynamic_number_matches(SECRET, number, NOW + 60)
    assert not tokens.dynamic_number_matches(SECRET, number, NOW + 120)
    assert tokens.dynamic_number_matches(SECRET, number, NOW + 120, window=2)
    assert not tokens.dynamic_number_matches(SECRET, number, NOW + 60, window=0)
    # A number from the future is not accepted.
    assert not tokens.dynamic_number_matches(SECRET, number, NOW - 60)


def test_dynamic_number_matches_refuses_junk():
    number = tokens.dynamic_number(SECRET, NOW)
    assert tokens.dynamic_number_matches(SECRET, f" {number[:4]} {number[4:]} ", NOW)
    wrong = f"{(int(number) + 1) % 10**8:08d}"
    assert not tokens.dynamic_number_matches(SECRET, wrong, NOW)
    assert not tokens.dynamic_number_matches(b"another secret", number, NOW)
    for junk in ("", number[:7], number + "0", "abcdefgh", "１２３４５６７８", None):
        assert not tokens.dynamic_number_matches(SECRET, junk, NOW)
