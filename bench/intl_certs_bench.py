"""International certificates in process: the checkpoint's certificate page, the module alone,
the bombs, and the conformance run (issue 22).

Run from the repository root:
    .venv/bin/python bench/intl_certs_bench.py [--rounds 5] [--seconds 1]

Per round, interleaved: the bare app's `/template` through its test client (bench/bare_app.py,
the reference every figure is divided by), `POST /checkpoint/verify/token` with a fresh HC1:
test certificate through the project's test client (a staff session, SQLite, one DSC trusted),
and the module alone (parse and verify, ES256 and PS256, and a SMART Health Card example). Each
runs for --seconds; the medians (min-max) of operations per second are printed, with the ratio
to the same round's bare template. Then the bombs: time and tracemalloc peak of each refusal.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import base45  # noqa: E402

from gantong.core import intl_certs, intl_conformance  # noqa: E402
from tests.intl_factory import gateway_file, hcert_of_a_test, make_hc1, make_signer  # noqa: E402

SHC = ROOT / "tests/data/credentials/smart-health-cards/examples"


def rate(call, seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        call()
        count += 1
    return count / elapsed


def project_client(folder: Path, cert_der: bytes):
    from gantong import create_app
    from gantong.auth.accounts import register
    from gantong.checkpoint import points
    from gantong.codes import intl_trust
    from gantong.extensions import db

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite'}",
            "PUBLIC_URL": "http://localhost:5000",
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
        point = points.add_point(
            name="站", district_code="360102", address="路", latitude=28.6, longitude=115.9
        )
        register("+8613900000099", "bench-password-1", role="staff", point_id=point.id)
        intl_trust.import_dsc_file(gateway_file((cert_der, "DE")), None)
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"phone": "+8613900000099", "password": "bench-password-1"})
    return client


def bombs() -> list[tuple[str, str, float, int]]:
    deflater = zlib.compressobj(9)
    stream_100mb = b"".join(deflater.compress(b"\0" * (1 << 20)) for _ in range(100))
    stream_100mb += deflater.flush()
    one_kb = zlib.compress(b"\0" * (1 << 20), 9)
    cases = [
        (
            f"HC1: code of {len(one_kb)} B deflate (inflates to 1 MB)",
            lambda: intl_certs.parse("HC1:" + base45.b45encode(one_kb).decode()),
        ),
        (
            f"{len(stream_100mb):,} B zlib stream (inflates to 100 MB)",
            lambda: intl_certs.inflate(stream_100mb),
        ),
        ("CBOR nested 20,000 deep", lambda: intl_certs.cbor_loads(b"\x81" * 20_000 + b"\x00")),
    ]
    results = []
    for name, call in cases:
        tracemalloc.start()
        start = time.perf_counter()
        try:
            call()
            reason = "ACCEPTED"
        except intl_certs.CertificateError as error:
            reason = error.reason
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        results.append((name, reason, elapsed * 1000, peak))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()

    import bare_app

    bare = bare_app.app.test_client()
    ec_key, ec_der = make_signer()
    rsa_key, rsa_der = make_signer(rsa_key=True)
    keys = {}
    for der in (ec_der, rsa_der):
        read = intl_certs.read_signer_certificate(der)
        keys[base64.b64encode(intl_certs.dcc_key_id(der)).decode()] = intl_certs.TrustedKey(
            read.public_key, "DSC"
        )
    es256 = make_hc1(ec_key, ec_der, hcert_of_a_test())
    ps256 = make_hc1(rsa_key, rsa_der, hcert_of_a_test())
    jwks = json.loads((SHC / "issuer/.well-known/jwks.json").read_text())
    shc_keys = intl_conformance.shc_trusted_keys(jwks, {}, "example")
    shc = (SHC / "example-00-f-qr-code-numeric-value-0.txt").read_text()
    now = intl_certs.datetime.now(intl_certs.UTC)
    with tempfile.TemporaryDirectory() as folder:
        client = project_client(Path(folder), ec_der)
        page = client.post("/checkpoint/verify/token", data={"token": es256}).get_data(as_text=True)
        assert 'data-status="verified"' in page, page[:500]
        runs = {
            "bare /template": lambda: bare.get("/template", headers={"Accept-Encoding": "gzip"}),
            "POST /checkpoint/verify/token (HC1:, ES256)": lambda: client.post(
                "/checkpoint/verify/token", data={"token": es256}
            ),
            "module: HC1: ES256 parse+verify": lambda: intl_certs.read_and_verify(es256, keys, now),
            "module: HC1: PS256 parse+verify": lambda: intl_certs.read_and_verify(ps256, keys, now),
            "module: shc:/ ES256 parse+verify": lambda: intl_certs.read_and_verify(
                shc, shc_keys, now
            ),
        }
        figures: dict[str, list[float]] = {name: [] for name in runs}
        ratios: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            measured = {name: rate(call, args.seconds) for name, call in runs.items()}
            for name, value in measured.items():
                figures[name].append(value)
                ratios[name].append(value / measured["bare /template"])
    print(
        "| operation (in process, one thread) | per second, median (min-max) | ratio to bare /template |"
    )
    print("|---|---|---|")
    for name, values in figures.items():
        r = ratios[name]
        print(
            f"| {name} | {statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f}) "
            f"| {statistics.median(r):.2f} ({min(r):.2f}-{max(r):.2f}) |"
        )
    print()
    print("| bomb | refused as | time | tracemalloc peak |")
    print("|---|---|---|---|")
    for name, reason, ms, peak in bombs():
        print(f"| {name} | {reason} | {ms:.1f} ms | {peak / 1024:.0f} KiB |")


if __name__ == "__main__":
    main()
