"""Venue check-ins per second over HTTP, as a ratio to the bare Flask template, on SQLite and
PostgreSQL.

    .venv/bin/python bench/venue_checkin.py                 # 10 s a measurement, 3 rounds
    .venv/bin/python bench/venue_checkin.py --seconds 3 --rounds 1 --no-postgres

Serves the project as throughput.py does (`gunicorn -w 2`, sync workers, the demo data on a fresh
SQLite file and on the scratch PostgreSQL database --postgres-url, dropped and made again) and
the bare app (`bench/bare_app.py`, `gunicorn -w 2`), all side by side, and measures each in turn,
round after round (interleaved), with wrk -c 4 on:

- `/v/<code>` "stored": every request stores a visit (VENUE_CHECKIN_REPEAT_MINUTES=0: the green
  demo resident checking in again and again stands for a queue of different residents);
- `/v/<code>` "repeat": the default 30 minutes, a reload within them (nothing stored);
- the bare app's `/template`.

The pass is fetched gzipped, as a phone does. Figures are 2xx answers a second (wrk counts);
the visits the "stored" runs wrote are counted in the database afterwards.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import (  # noqa: E402 (the bench folder is put on the path first)
    BENCH,
    Server,
    Session,
    ensure_wrk,
    prepare_database,
    run_wrk,
)

RESIDENT = "13900000001"  # the green demo resident


def venue_code(env: dict) -> str:
    url = env["DATABASE_URL"]
    query = "SELECT code FROM venue_code ORDER BY id LIMIT 1"
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            return conn.execute(query).fetchone()[0]
    return subprocess.run(
        ["psql", url, "-At", "-c", query], check=True, capture_output=True, text=True
    ).stdout.strip()


def count_visits(env: dict) -> int:
    url = env["DATABASE_URL"]
    query = "SELECT count(*) FROM venue_visit"
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            return conn.execute(query).fetchone()[0]
    return int(
        subprocess.run(
            ["psql", url, "-At", "-c", query], check=True, capture_output=True, text=True
        ).stdout
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--port", type=int, default=5141, help="the first of 5 ports")
    parser.add_argument(
        "--postgres-url", default="postgresql://postgres@127.0.0.1:5432/bench_scratch"
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="venue-bench-"))
    kinds = ["sqlite"] if args.no_postgres else ["sqlite", "postgresql"]
    servers: list[Server] = []
    measured: dict[str, tuple[Server, str, dict]] = {}
    envs = {}
    port = args.port
    try:
        bare = Server("bare", 2, port, workdir / "bare.log")
        bare.start("bare_app:app", {}, chdir=BENCH)
        servers.append(bare)
        port += 1
        for kind in kinds:
            env = prepare_database(kind, args, workdir)
            envs[kind] = env
            code = venue_code(env)
            for mode, minutes in (("stored", "0"), ("repeat", "30")):
                server = Server(f"{kind}-{mode}", 2, port, workdir / f"{kind}-{mode}.log")
                port += 1
                server.start("app:app", {**env, "VENUE_CHECKIN_REPEAT_MINUTES": minutes})
                servers.append(server)
                measured[server.name] = (server, f"/v/{code}", {})
        bare.wait_ready("/ok")
        for server, path, headers in measured.values():
            server.wait_ready("/login")
            session = Session(server.base, RESIDENT)
            session.get(path)  # the first check-in (the repeat server's reloads store nothing)
            headers.update({"Cookie": session.cookie, "Accept-Encoding": "gzip"})
        figures: dict[str, list[float]] = {name: [] for name in ["bare", *measured]}
        before = {kind: count_visits(env) for kind, env in envs.items()}
        stored_ok = {kind: 0 for kind in envs}
        for round_number in range(args.rounds):
            for name in figures:
                if name == "bare":
                    url, headers = bare.base + "/template", {"Accept-Encoding": "gzip"}
                else:
                    server, path, headers = measured[name]
                    url = server.base + path
                result = run_wrk(wrk, "get.lua", url, args.connections, 2, args.seconds, headers)
                ok = result["counters"].get("ok", 0)
                rate = ok / result["seconds"]
                figures[name].append(rate)
                if name.endswith("-stored"):
                    stored_ok[name.split("-")[0]] += ok
                print(f"round {round_number + 1} {name}: {rate:.0f}/s", flush=True)
        stored = {kind: count_visits(env) - before[kind] for kind, env in envs.items()}
        bare_median = statistics.median(figures["bare"])
        table = {
            name: {
                "median_per_second": round(statistics.median(values)),
                "min": round(min(values)),
                "max": round(max(values)),
                "ratio_to_bare": round(statistics.median(values) / bare_median, 3),
            }
            for name, values in figures.items()
        }
        table["visits_stored"] = stored
        table["stored_answers_2xx"] = stored_ok
        print(json.dumps(table, indent=1))
        if args.json:
            Path(args.json).write_text(json.dumps({"rounds": figures, "table": table}, indent=1))
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
