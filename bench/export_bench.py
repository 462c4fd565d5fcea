"""Benchmark the streamed CSV export (and the purge) on a million verification records.

    .venv/bin/python bench/export_bench.py                       # SQLite in a temporary folder
    .venv/bin/python bench/export_bench.py --rows 200000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/scratch .venv/bin/python bench/export_bench.py

With DATABASE_URL the tables of that database are DROPPED and made again: give it a scratch one.
Each measured step runs in a fresh process, so its peak resident memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench password"
FIRST_DAY = datetime(2024, 5, 1, tzinfo=UTC)


def make_app(sqlite_path: str | None):
    from gantong import create_app

    config = {"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}
    if sqlite_path:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{sqlite_path}"
    return create_app(config)


def seed(sqlite_path: str | None, rows: int) -> dict:
    from gantong.auth.accounts import register
    from gantong.checkpoint import points
    from gantong.extensions import db
    from gantong.models import VerificationRecord

    app = make_app(sqlite_path)
    with app.app_context():
        db.drop_all()
        db.create_all()
        point = points.add_point(
            "南昌站北广场", "360102", "南昌市东湖区二七北路 1 号", 28.6654, 115.9096
        )
        register("+8613900000004", PASSWORD, role="admin")
        started = time.perf_counter()
        batch = 20_000
        for start in range(0, rows, batch):
            db.session.execute(
                db.insert(VerificationRecord),
                [
                    {
                        "record_id": str(uuid.uuid4()),
                        "point_id": point.id,
                        "method": "camera",
                        "colour": "green",
                        "verified_at": FIRST_DAY + timedelta(seconds=3 * n),
                        "recorded_at": FIRST_DAY + timedelta(seconds=3 * n + 20),
                        "temperature": 36.5,
                        "decision": "pass",
                        "note": "体温正常" if n % 7 else "=1+1",
                        "position_source": "point",
                        "latitude": 28.6654,
                        "longitude": 115.9096,
                    }
                    for n in range(start, min(start + batch, rows))
                ],
            )
            db.session.commit()
        seconds = time.perf_counter() - started
        db.engine.dispose()
    return {"seed_seconds": round(seconds, 1)}


def export(sqlite_path: str | None, traced: bool, empty: bool = False) -> dict:
    app = make_app(sqlite_path)
    client = app.test_client()
    client.post("/login", data={"phone": "13900000004", "password": PASSWORD})
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    response = client.post(
        "/admin/exports",
        buffered=False,
        data={
            "kind": "verification_records",
            "district": "",
            "start": "2024-01-01",
            "end": "2024-01-01" if empty else "2025-12-31",
        },
    )
    size = lines = 0
    first_byte = None
    for chunk in response.response:
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
        lines += chunk.count(b"\r\n")
    response.close()
    seconds = time.perf_counter() - started
    result = {
        "rows": lines - 1,
        "megabytes": round(size / 1e6, 1),
        "seconds": round(seconds, 1),
        "first_byte_ms": round(first_byte * 1000),
        "rows_per_second": round((lines - 1) / seconds),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if traced:
        result["traced_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 1e6, 2)
        tracemalloc.stop()
    return result


def purge(sqlite_path: str | None) -> dict:
    from gantong.admin import retention
    from gantong.extensions import db

    app = make_app(sqlite_path)
    with app.app_context():
        started = time.perf_counter()
        result = retention.purge_verification_records(28)
        seconds = time.perf_counter() - started
        db.engine.dispose()
    return {
        "deleted": result.deleted,
        "batches": result.batches,
        "seconds": round(seconds, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def run_step(step: str, sqlite_path: str | None, *extra: str) -> dict:
    command = [sys.executable, __file__, "--step", step, *extra]
    if sqlite_path:
        command += ["--sqlite", sqlite_path]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--step", choices=["seed", "baseline", "export", "export-traced", "purge"])
    parser.add_argument("--sqlite")
    args = parser.parse_args()
    if args.step == "seed":
        print(json.dumps(seed(args.sqlite, args.rows)))
        return
    if args.step in ("baseline", "export", "export-traced"):
        print(
            json.dumps(
                export(args.sqlite, args.step == "export-traced", empty=args.step == "baseline")
            )
        )
        return
    if args.step == "purge":
        print(json.dumps(purge(args.sqlite)))
        return

    with tempfile.TemporaryDirectory() as folder:
        sqlite_path = (
            None if os.environ.get("DATABASE_URL") else os.path.join(folder, "bench.sqlite")
        )
        database = "PostgreSQL" if sqlite_path is None else "SQLite (file, WAL)"
        print(f"{database}, {args.rows:,} verification records")
        print("seed:", run_step("seed", sqlite_path, "--rows", str(args.rows)))
        print(
            "baseline (same process, an export of an empty day):", run_step("baseline", sqlite_path)
        )
        print("export:", run_step("export", sqlite_path))
        print("export under tracemalloc:", run_step("export-traced", sqlite_path))
        print("purge (all older than 28 days):", run_step("purge", sqlite_path))


if __name__ == "__main__":
    main()
