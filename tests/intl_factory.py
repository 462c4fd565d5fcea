"""Signers and certificates for the tests: EU DCC (HC1:) signed with our own test DSCs."""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime, timedelta

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from gantong.core import intl_certs

TEST_OID = "1.3.6.1.4.1.1847.2021.1.1"
VACCINATION_OID = "1.3.6.1.4.1.1847.2021.1.2"


def make_signer(rsa_key: bool = False, usages: tuple[str, ...] = (), country: str = "DE"):
    """A private key and its self-signed DSC (DER), valid 2020 to 2040."""
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa_key
        else ec.generate_private_key(ec.SECP256R1())
    )
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{country} test DSC"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
    )
    if usages:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in usages]), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    return key, cert.public_bytes(serialization.Encoding.DER)


def gateway_file(*signers: tuple[bytes, str]) -> bytes:
    """A trust-list file in the DCC gateway's format for (certificate DER, country) pairs."""
    return json.dumps(
        [
            {
                "kid": base64.b64encode(intl_certs.dcc_key_id(der)).decode(),
                "country": country,
                "certificateType": "DSC",
                "rawData": base64.b64encode(der).decode(),
                "thumbprint": "",
                "signature": "",
                "timestamp": "2021-06-01T00:00:00Z",
            }
            for der, country in signers
        ]
    ).encode()


def hcert_of_a_test(result: str = "260415000", name=("Erika", "Mustermann")) -> dict:
    """A DCC test certificate's content, sampled five hours ago."""
    sampled = (datetime.now(UTC) - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "ver": "1.3.0",
        "nam": {"gn": name[0], "fn": name[1], "gnt": name[0].upper(), "fnt": name[1].upper()},
        "dob": "1964-08-12",
        "t": [
            {
                "tg": "840539006",
                "tt": "LP6464-4",
                "sc": sampled,
                "tr": result,
                "tc": "Testzentrum Köln Hbf",
                "co": "DE",
                "is": "Robert Koch-Institut",
                "ci": "URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8#W",
            }
        ],
    }


def make_hc1(
    key,
    cert_der: bytes,
    hcert: dict,
    issued: datetime | None = None,
    lifetime: timedelta = timedelta(days=2),
    payload: bytes | None = None,
) -> str:
    """Sign a DCC as HC1: text (ES256 or PS256 by the key's type)."""
    issued = issued or datetime.now(UTC) - timedelta(hours=1)
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    protected = cbor2.dumps(
        {1: intl_certs.PS256 if is_rsa else intl_certs.ES256, 4: intl_certs.dcc_key_id(cert_der)}
    )
    if payload is None:
        payload = cbor2.dumps(
            {
                1: "DE",
                6: int(issued.timestamp()),
                4: int((issued + lifetime).timestamp()),
                -260: {1: hcert},
            }
        )
    signed = cbor2.dumps(["Signature1", protected, b"", payload])
    if is_rsa:
        signature = key.sign(
            signed,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            hashes.SHA256(),
        )
    else:
        r, s = decode_dss_signature(key.sign(signed, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    return "HC1:" + base45.b45encode(zlib.compress(cose, 9)).decode()


def hc1_of_cose(cose: bytes) -> str:
    return "HC1:" + base45.b45encode(zlib.compress(cose, 9)).decode()


def tampered(text: str) -> str:
    """The same certificate with one letter of the name changed, its signature kept."""
    cose = zlib.decompress(base45.b45decode(text[4:]))
    tag = cbor2.loads(cose)
    protected, unprotected, payload, signature = tag.value
    claims = cbor2.loads(payload)
    dcc = dict(claims[-260][1])
    dcc["nam"] = dict(dcc["nam"]) | {"gn": dcc["nam"]["gn"][:-1] + "X"}
    claims = dict(claims) | {-260: {1: dcc}}
    forged = cbor2.dumps(
        cbor2.CBORTag(18, [protected, dict(unprotected), cbor2.dumps(claims), signature])
    )
    return hc1_of_cose(forged)
