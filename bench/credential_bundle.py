"""Benchmark: the size of the bundle's revoked credentials, and the presentation's QR.

Run: .venv/bin/python bench/credential_bundle.py [--entries 100000]
Prints the revoked_credentials member's size for N random credential ids (raw, as JSON, and
gzipped as the server sends it), against a sorted list of the ids as hex strings; the time to
encode and decode the set in Python; and the QR version of the longest presentations.
Pure: no app, no database (docs/token-format.md, 8.6).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import segno  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402

from gantong.core import credentials, identity  # noqa: E402


def sizes(document: object) -> tuple[int, int]:
    text = json.dumps(document, separators=(",", ":")).encode()
    return len(text), len(gzip.compress(text, 6))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    ids = [secrets.token_hex(8) for _ in range(args.entries)]
    started = time.perf_counter()
    member = credentials.gcs_encode(ids)
    encoded = time.perf_counter() - started
    started = time.perf_counter()
    values = credentials.gcs_decode(member)
    decoded = time.perf_counter() - started
    assert all(credentials.revoked_in(item, member, values) for item in ids[:1000])
    misses = sum(
        credentials.revoked_in(secrets.token_hex(8), member, values) for _ in range(100_000)
    )
    raw = len(base64.urlsafe_b64decode(member["gcs"] + "=" * (-len(member["gcs"]) % 4)))
    as_json, gzipped = sizes({"revoked_credentials": member})
    plain_json, plain_gzipped = sizes({"revoked_credentials": sorted(ids)})
    print(f"entries: {args.entries}, p = {member['p']}")
    print(f"Golomb-coded set: {raw} bytes raw ({raw * 8 / args.entries:.1f} bits an id)")
    print(f"  as the JSON member: {as_json} bytes, gzipped {gzipped} bytes")
    print(f"  encode {encoded * 1000:.0f} ms, decode {decoded * 1000:.0f} ms (Python)")
    print(f"  false matches among 100,000 ids not listed: {misses}")
    print(f"sorted hex ids instead: {plain_json} bytes, gzipped {plain_gzipped} bytes")
    issuer = Ed25519PrivateKey.generate()
    device = ec.generate_private_key(ec.SECP256R1())
    point = credentials.compress_point(
        device.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    for name in ("张三", "欧" * 100, "阿卜杜热合曼·买买提依明·艾合买提江·吐尔逊", "𠀀𠀁𠀂𠀃𠀄𠀅𠀆"):
        masked = credentials.fit_name(identity.mask_name(name))
        credential = credentials.Credential(
            "ffffffff", "ffffffffffffffff", "red", 2**32 - 65536, 65535, point, masked, "ZZZZ"
        )
        text = credentials.present(
            credentials.sign_credential(credential, issuer), 2**32 - 1, device
        )
        qr = segno.make_qr(text, error="m", boost_error=False)
        print(f"presentation for {masked!r}: {len(text)} characters, QR version {qr.version}-M")


if __name__ == "__main__":
    main()
