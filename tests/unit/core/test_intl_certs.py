"""gantong.core.intl_certs: reading and verifying HC1: and shc:/ certificates, and its bounds."""

import base64
import json
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import base45
import cbor2
import pytest

from gantong.core import intl_certs as ic
from gantong.core import intl_conformance
from tests.intl_factory import (
    TEST_OID,
    VACCINATION_OID,
    hc1_of_cose,
    hcert_of_a_test,
    make_hc1,
    make_signer,
    tampered,
)

pytestmark = pytest.mark.nodb

DATA = Path(__file__).parents[2] / "data" / "credentials"
SHC = DATA / "smart-health-cards" / "examples"
NOW = datetime.now(UTC)
# What a refused bomb may cost us at most: the inflate limit (64 KB) and zlib's window, with
# room; the bombs below would take 1 MB to 100 MB if they were inflated or built.
MEMORY_BOUND = 512 * 1024


@pytest.fixture(scope="module")
def ec_signer():
    return make_signer(usages=(TEST_OID,))


def _keys(cert_der: bytes, label="DE DSC") -> dict:
    read = ic.read_signer_certificate(cert_der)
    kid = base64.b64encode(ic.dcc_key_id(cert_der)).decode()
    return {
        kid: ic.TrustedKey(read.public_key, label, read.key_usages, read.not_before, read.not_after)
    }


def test_a_test_certificate_verifies_with_its_facts(ec_signer):
    key, der = ec_signer
    result = ic.read_and_verify(make_hc1(key, der, hcert_of_a_test()), _keys(der), NOW)
    assert result.verified and result.signer == "DE DSC" and result.negative_test()
    cert = result.certificate
    assert (cert.format, cert.kind, cert.name, cert.birth_date, cert.issuer) == (
        "eu-dcc",
        "test",
        "Erika Mustermann",
        "1964-08-12",
        "DE",
    )
    assert cert.details["result"] == "negative" and cert.details["test_type"] == "naat"


def test_ps256_verifies():
    key, der = make_signer(rsa_key=True)
    result = ic.read_and_verify(make_hc1(key, der, hcert_of_a_test("260373001")), _keys(der), NOW)
    assert result.verified and result.certificate.details["result"] == "positive"
    assert not result.negative_test()


def test_refusals_name_their_reason(ec_signer):
    key, der = ec_signer
    text = make_hc1(key, der, hcert_of_a_test())
    assert ic.read_and_verify(tampered(text), _keys(der), NOW).status == "bad_signature"
    assert ic.read_and_verify(text, {}, NOW).status == "unknown_key"
    later = NOW + timedelta(days=3)
    assert ic.read_and_verify(text, _keys(der), later).status == "expired"
    vaccine_only_key, vaccine_only = make_signer(usages=(VACCINATION_OID,))
    signed = make_hc1(vaccine_only_key, vaccine_only, hcert_of_a_test())
    assert ic.read_and_verify(signed, _keys(vaccine_only), NOW).status == "key_usage"
    for text, reason in (
        ("HC1:not base45!", "base45"),
        ("HC1:" + base45.b45encode(b"\x78\x9c garbage").decode(), "compression"),
        ("GT1:ABC", "prefix"),
        ("shc:/1/2/5676", "chunked"),
    ):
        with pytest.raises(ic.CertificateError) as refused:
            ic.parse(text)
        assert refused.value.reason == reason


def test_a_certificate_strict_x509_refuses_verifies_by_its_key_id():
    """dgc-testdata common/CO15: its DSC has an empty extension value cryptography refuses."""
    data = json.loads((DATA / "dgc-testdata/common/2DCode/raw/CO15.json").read_text())
    der = base64.b64decode(data["TESTCTX"]["CERTIFICATE"])
    with pytest.raises(ValueError):
        from cryptography import x509

        x509.load_der_x509_certificate(der).extensions  # noqa: B018
    signer = ic.read_signer_certificate(der)
    assert not signer.strict and signer.not_before < signer.not_after
    parsed = ic.parse(data["PREFIX"])
    assert ic.signature_valid(parsed, signer.public_key)
    clock = datetime.fromisoformat(data["TESTCTX"]["VALIDATIONCLOCK"].replace("Z", "+00:00"))
    assert ic.verify(parsed, _keys(der), clock).verified


def test_smart_health_cards_examples_verify_and_the_revoked_one_is_refused():
    jwks = json.loads((SHC / "issuer/.well-known/jwks.json").read_text())
    crls = {
        p.stem: json.loads(p.read_text()) for p in (SHC / "issuer/.well-known/crl").glob("*.json")
    }
    keys = intl_conformance.shc_trusted_keys(jwks, crls, "Example issuer")
    first = ic.read_and_verify(
        (SHC / "example-00-f-qr-code-numeric-value-0.txt").read_text(), keys, NOW
    )
    assert first.verified and first.signer == "Example issuer"
    assert first.certificate.kind == "vaccination"
    assert first.certificate.name == "John B. Anyperson"
    assert first.certificate.birth_date == "1951-01-20"
    revoked = ic.read_and_verify(
        (SHC / "example-03-f-qr-code-numeric-value-0.txt").read_text(), keys, NOW
    )
    assert revoked.status == "revoked" and revoked.signature_ok


# ---- bombs -----------------------------------------------------------------------------------


def _refused_within_bound(call, reason: str) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(ic.CertificateError) as refused:
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.reason == reason
    assert peak < MEMORY_BOUND, f"peak {peak} bytes"
    return peak


def test_a_1kb_code_that_inflates_to_1mb_is_refused_within_the_bound():
    """DEFLATE's best ratio is ~1032:1, so a 1 KB code inflates to at most ~1 MB: this is it."""
    stream = zlib.compress(b"\0" * (1024 * 1024), 9)
    text = "HC1:" + base45.b45encode(stream).decode()
    assert len(stream) < 1100 and len(text) < 1700
    _refused_within_bound(lambda: ic.parse(text), "too_large")


def test_a_stream_that_inflates_to_100mb_is_refused_within_the_bound():
    """100 MB needs ~100 KB of DEFLATE (the ratio's cap): the inflate stops at 64 KB + 1,
    and as a code it is refused by its length before anything is decoded."""
    deflater = zlib.compressobj(9)
    stream = b"".join(deflater.compress(b"\0" * (1 << 20)) for _ in range(100)) + deflater.flush()
    assert len(stream) < 110_000
    _refused_within_bound(lambda: ic.inflate(stream), "too_large")
    _refused_within_bound(lambda: ic.inflate(stream[2:-4], raw=True), "too_large")
    text = "HC1:" + base45.b45encode(stream).decode()
    _refused_within_bound(lambda: ic.parse(text), "too_large")


def test_cbor_bombs_are_refused_within_the_bound():
    deep = b"\x81" * 20_000 + b"\x00"  # an array in an array, 20,000 deep, in 20 KB
    with pytest.raises(ic.CertificateError, match="depth"):
        ic.cbor_loads(deep)
    _refused_within_bound(lambda: ic.parse(hc1_of_cose(deep)), "decode")
    # A header promising 2^32 items, or a 2^62-byte string, with nothing behind it.
    _refused_within_bound(lambda: ic.cbor_loads(b"\x9b" + (1 << 32).to_bytes(8, "big")), "decode")
    _refused_within_bound(lambda: ic.cbor_loads(b"\x5b" + (1 << 62).to_bytes(8, "big")), "decode")
    # Shared references (tags 28/29) would let a few bytes stand for a huge tree.
    shared = cbor2.dumps([cbor2.CBORTag(28, [1]), cbor2.CBORTag(29, 0)])
    _refused_within_bound(lambda: ic.cbor_loads(shared), "decode")


def test_shc_bombs_are_refused_within_the_bound():
    header = base64.urlsafe_b64encode(b'{"zip":"DEF","alg":"ES256","kid":"k"}').rstrip(b"=")
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflater.compress(b" " * (10 << 20)) + deflater.flush()
    jws = f"{header.decode()}.{base64.urlsafe_b64encode(body).rstrip(b'=').decode()}.AA"
    _refused_within_bound(lambda: ic.parse_jws(jws), "too_large")
    nested = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = nested.compress(b"[" * 50_000) + nested.flush()
    jws = f"{header.decode()}.{base64.urlsafe_b64encode(body).rstrip(b'=').decode()}.AA"
    _refused_within_bound(lambda: ic.parse_jws(jws), "decode")
