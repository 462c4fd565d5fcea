"""Throughput of POST /api/v1/lab-results beside the bare Flask app (issue 22).

Run from the repository root (SQLite, and PostgreSQL when --postgres-url is given):
    .venv/bin/python bench/lab_results.py --port 5151
    .venv/bin/python bench/lab_results.py --port 5151 --postgres-url postgresql://postgres@127.0.0.1:5432/DB

What it does, all on 127.0.0.1:
- prepares a fresh database (`flask db upgrade`, `flask gantong demo`: the demo lab and its lab
  account 13900000009) and makes the lab account's API token with `flask gantong lab token`;
  the PostgreSQL database given is emptied first (its schema dropped): give one of your own;
- serves the project (`gunicorn -w 2 app:app`, port P) and the bare app (bench/bare_app.py,
  `gunicorn -w 2`, port P+1) side by side;
- measures, interleaved round by round: the bare `/template` with wrk (8 connections), then
  the lab API with 2 client threads each posting batches of --batch fresh results (new sample
  ids; one in ten for a demo resident, the rest for people not registered: pre-entry) for
  --seconds; a result counts when the answer says it was stored; the rows stored are counted
  after the run and must equal the sum;
- prints results per second, the batch's latency, and the ratio of results per second to the
  same round's bare template requests per second.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = Path(sys.executable).parent
LAB_ACCOUNT = "13900000009"
DEMO_NUMBERS = ("360102199001011234", "360102198505052345")  # first 17 digits matter


def check_digit(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def resident_id(serial: int) -> str:
    # Valid GB 11643 numbers of Donghu district, born 1970-1999, one per serial.
    year, day, seq = 1970 + serial % 30, 1 + (serial // 30) % 28, (serial // 840) % 1000
    first17 = f"360102{year}01{day:02d}{seq:03d}"
    return first17 + check_digit(first17)


def flask(env: dict, *args: str) -> str:
    return subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def wait_for(port: int) -> None:
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answers on port {port}")


def wrk_template(port: int, seconds: int) -> float:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c8",
            f"-d{seconds}s",
            "-H",
            "Accept-Encoding: gzip",
            f"http://127.0.0.1:{port}/template",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


class Poster:
    """Posts batches of fresh results until told to stop; counts what the server stored."""

    counter = 0
    lock = threading.Lock()

    def __init__(self, port: int, token: str, batch: int):
        self.port, self.token, self.batch = port, token, batch
        self.stored = 0
        self.latencies: list[float] = []
        self.errors = 0

    def body(self) -> bytes:
        with Poster.lock:
            start = Poster.counter
            Poster.counter += self.batch
        now = datetime.now(UTC)
        items = []
        for n in range(start, start + self.batch):
            sampled = now - timedelta(hours=30 + n % 40)
            number = (
                DEMO_NUMBERS[n % 2][:17] + check_digit(DEMO_NUMBERS[n % 2][:17])
                if n % 10 == 0
                else resident_id(n)
            )
            items.append(
                {
                    "doc_type": "resident_id",
                    "doc_number": number,
                    "sample_id": f"B-{n}",
                    "sampled_at": sampled.isoformat(),
                    "resulted_at": (sampled + timedelta(hours=6)).isoformat(),
                    "test_type": "pcr",
                    "result": "negative",
                }
            )
        return json.dumps({"results": items}).encode()

    def run(self, until: float) -> None:
        while time.monotonic() < until:
            payload = self.body()
            started = time.monotonic()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                connection.request(
                    "POST",
                    "/api/v1/lab-results",
                    body=payload,
                    headers={
                        "Authorization": f"Bearer {self.token}",
                        "Content-Type": "application/json",
                    },
                )
                response = connection.getresponse()
                answer = response.read()
                if response.status != 200:
                    self.errors += 1
                    continue
                self.stored += json.loads(answer)["stored"]
                self.latencies.append(time.monotonic() - started)
            except OSError:
                self.errors += 1


def measure_api(port: int, token: str, batch: int, seconds: int, threads: int = 2):
    posters = [Poster(port, token, batch) for _ in range(threads)]
    until = time.monotonic() + seconds
    started = time.monotonic()
    workers = [threading.Thread(target=poster.run, args=(until,)) for poster in posters]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    latencies = sorted(latency for poster in posters for latency in poster.latencies)
    return (
        sum(poster.stored for poster in posters) / elapsed,
        statistics.median(latencies) if latencies else float("nan"),
        sum(poster.errors for poster in posters),
        sum(poster.stored for poster in posters),
    )


COUNT_SOURCE = """
from gantong import create_app
from gantong.extensions import db
from gantong.models import LabResult
with create_app().app_context():
    print(db.session.scalar(db.select(db.func.count()).select_from(LabResult)))
"""


def stored_rows(env: dict) -> int:
    out = subprocess.run(
        [sys.executable, "-c", COUNT_SOURCE],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5151)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--postgres-url", default="")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lab-bench-"))
    env = {
        **os.environ,
        "PUBLIC_URL": f"http://127.0.0.1:{args.port}",
        "SECRET_KEY": "bench",
        "LAB_POST_LIMIT": "1000000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    if args.postgres_url:
        env["DATABASE_URL"] = args.postgres_url
        subprocess.run(
            ["psql", args.postgres_url, "-qc", "DROP SCHEMA public CASCADE; CREATE SCHEMA public"],
            check=True,
            env={**os.environ, "PGOPTIONS": "--client-min-messages=warning"},
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite'}"
    flask(env, "db", "upgrade")
    flask(env, "gantong", "demo")
    token = flask(env, "gantong", "lab", "token", LAB_ACCOUNT, "--label", "bench").strip()
    gunicorn = str(VENV_BIN / "gunicorn")
    servers = [
        subprocess.Popen(
            [gunicorn, "-w", "2", "-b", f"127.0.0.1:{args.port}", "app:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "app.log", "w"),
            start_new_session=True,
        ),
        subprocess.Popen(
            [gunicorn, "-w", "2", "-b", f"127.0.0.1:{args.port + 1}", "bare_app:app"],
            cwd=BENCH,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        ),
    ]
    try:
        wait_for(args.port)
        wait_for(args.port + 1)
        before = stored_rows(env)  # the demo's own results
        *_rest, total = measure_api(args.port, token, args.batch, 2)  # warm both workers
        rows = []
        for round_number in range(1, args.rounds + 1):
            bare = wrk_template(args.port + 1, args.seconds)
            rate, latency, errors, stored = measure_api(args.port, token, args.batch, args.seconds)
            total += stored
            rows.append((bare, rate, latency, errors))
            print(
                f"round {round_number}: bare /template {bare:,.0f} req/s; lab API "
                f"{rate:,.0f} results/s ({latency * 1000:,.0f} ms a batch of {args.batch}, "
                f"{errors} errors); ratio {rate / bare:.2f} results per bare request",
                flush=True,
            )
        ratios = [rate / bare for bare, rate, _l, _e in rows]
        print(
            f"median: bare {statistics.median(r[0] for r in rows):,.0f} req/s, "
            f"{statistics.median(r[1] for r in rows):,.0f} results/s, "
            f"batch {statistics.median(r[2] for r in rows) * 1000:,.0f} ms, ratio "
            f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        )
        rows_stored = stored_rows(env) - before
        print(
            f"results stored, counted by the answers: {total:,}; rows in the table: {rows_stored:,}"
        )
        log = (folder / "app.log").read_text()
        print(
            "database is locked:",
            log.count("database is locked"),
            "Traceback:",
            log.count("Traceback"),
        )
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
