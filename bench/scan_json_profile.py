"""In-process profile of one one-tap scan: `POST /checkpoint/scan-records`.

Run from the repository root:
    .venv/bin/python bench/scan_json_profile.py --out bench/profiles/scan_json.txt

It copies a fresh demo database (SQLite: `flask --app app db upgrade && flask --app app gantong demo`
in a temporary folder, made once and reused with --database), logs in as the demo staff through
Flask's test client (the login form and its CSRF token), mints live tokens of the three demo
holders, and posts one JSON record a person as the scan page does (fresh UUID, scanned now,
36.5 °C, pass): a warm-up, then --rounds rounds of --persons each, timed with
`time.process_time` (CPU) and `time.perf_counter` (wall), the SQL statements counted per request
(and how many began a transaction), and one more round under cProfile. It writes the medians
and the top functions (cumulative and self) to --out.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAFF, PASSWORD = "13900000002", "gantong-demo"


def demo_database(path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{path}",
        "SECRET_KEY": "bench-profile",
        "FLASK_DEBUG": "0",
        "PUBLIC_URL": "http://127.0.0.1",
    }
    flask = str(Path(sys.executable).parent / "flask")
    subprocess.run(
        [flask, "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    subprocess.run(
        [flask, "--app", "app", "gantong", "demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def postgres_demo_database(url: str) -> None:
    """Empty the PostgreSQL database, migrate it and load the demo data."""
    import psycopg

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-profile",
        "FLASK_DEBUG": "0",
        "PUBLIC_URL": "http://127.0.0.1",
    }
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")
    flask = str(Path(sys.executable).parent / "flask")
    for command in (["db", "upgrade"], ["gantong", "demo"]):
        subprocess.run(
            [flask, "--app", "app", *command], cwd=ROOT, env=env, check=True, capture_output=True
        )


def backend_cpu_seconds(url: str) -> float:
    """The CPU (user + system) every server process connected to the database has used so far
    (/proc of each backend: PostgreSQL on this machine), this monitor's own connection left out."""
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        pids = [
            row[0]
            for row in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        ]
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def interleaved(args) -> None:
    """Run the version in --ab (A) and this one (B) in turns, A B A B ..., each a fresh process
    with its own warm-up, on the same database; report CPU per record (the app's, and on
    PostgreSQL the server's), median and min-max of the runs' medians."""
    common = ["--rounds", str(args.rounds), "--persons", str(args.persons), "--json"]
    common += ["--batch", str(args.batch)] if args.batch else []
    if args.database_url:
        postgres_demo_database(args.database_url)
        common += ["--database-url", args.database_url, "--keep-database"]
    else:
        source = args.database or Path(tempfile.mkdtemp(prefix="gantong-scan-ab-")) / "demo.sqlite"
        if not source.exists():
            demo_database(source)
        common += ["--database", str(source)]
    versions = {"A": args.ab.resolve(), "B": ROOT}
    runs: dict[str, list[dict]] = {"A": [], "B": []}
    for pair in range(args.pairs):
        for name in ("A", "B") if pair % 2 == 0 else ("B", "A"):
            out = subprocess.run(
                [sys.executable, __file__, "--out", "/dev/null", "--code", str(versions[name])]
                + common,
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            runs[name].append(json.loads(out.strip().splitlines()[-1]))
    per_request = args.batch or 1

    def figures(name: str, field: str) -> str:
        medians = [statistics.median(run[field]) / per_request for run in runs[name]]
        if not medians:
            return "-"
        return f"{statistics.median(medians):.3f} ({min(medians):.3f}-{max(medians):.3f}) ms"

    kind = f"batches of {args.batch}" if args.batch else "one record a request"
    lines = [
        f"Interleaved A/B (bench/scan_json_profile.py --ab), "
        f"{'PostgreSQL' if args.database_url else 'SQLite'}, {kind}; {args.pairs} runs of each "
        f"version in turns (A B, B A, ...), each {args.rounds} rounds of {args.persons} requests "
        "after a warm-up; figures per record: median (min-max) of the runs' medians.",
        f"A = {versions['A']}, B = {versions['B']}; {args.label}",
        f"load average at the end: {os.getloadavg()[0]:.2f}",
    ]
    for name in ("A", "B"):
        lines.append(
            f"{name}: app CPU {figures(name, 'cpu_ms_per_request')}"
            + (
                f"; PostgreSQL CPU {figures(name, 'postgres_cpu_ms_per_request')}"
                if args.database_url
                else ""
            )
            + f"; wall {figures(name, 'wall_ms_per_request')}; statements per request "
            f"{runs[name][-1]['statements_per_request']:.1f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--database", type=Path, help="a demo SQLite file to copy (made if missing)"
    )
    parser.add_argument("--persons", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--batch", type=int, default=0, help="send batches of this many records (a JSON array)"
    )
    parser.add_argument("--label", default="", help="a line naming the version profiled")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL database to run on instead of a SQLite copy (emptied, migrated and "
        "given the demo data first, unless --keep-database)",
    )
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument(
        "--code", type=Path, help="import gantong from this tree (an A/B run's other version)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON line of figures, no profile"
    )
    parser.add_argument(
        "--ab",
        type=Path,
        help="another tree of the app (say `git archive BASE | tar -x -C DIR`): run it and this "
        "one in turns, --pairs times, and write both versions' CPU per record to --out",
    )
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    if args.ab:
        return interleaved(args)

    work = Path(tempfile.mkdtemp(prefix="gantong-scan-profile-"))
    if args.database_url:
        database_url = args.database_url
        if not args.keep_database:
            postgres_demo_database(database_url)
    else:
        source = args.database or work / "demo-source.sqlite"
        if not source.exists():
            demo_database(source)
        database = work / "scan.sqlite"
        shutil.copyfile(source, database)
        database_url = f"sqlite:///{database}"
    os.environ.update(
        DATABASE_URL=database_url,
        SECRET_KEY="bench-profile",
        TOKEN_TTL="3600",
        FLASK_DEBUG="0",
        PUBLIC_URL="http://127.0.0.1",
        # One staff account stands for a whole station (as in bench/throughput.py).
        RECORD_LIMIT_PER_STAFF="1000000 per minute",
        RECORD_LIMIT_PER_POINT="1000000 per minute",
    )
    sys.path.insert(0, str(args.code.resolve() if args.code else ROOT))
    from sqlalchemy import event

    from gantong import create_app
    from gantong.codes import keys
    from gantong.extensions import db
    from gantong.models import Holder

    app = create_app()
    with app.app_context():
        people = db.session.scalars(db.select(Holder).order_by(Holder.id)).all()
        minted = [keys.signed_screen_token(holder) for holder in people]
        tokens = [(text, token.colour) for token, text in minted]
        db.session.remove()
        engine = db.engine
    statements = {"all": 0, "begin": 0, "locked": 0, "lock_seconds": 0.0}
    lock = {"since": None}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        statements["all"] += 1
        if statement.startswith("BEGIN IMMEDIATE"):  # SQLite's write lock, held to the end
            lock["since"] = time.perf_counter()
        elif lock["since"] is not None:
            statements["locked"] += 1

    @event.listens_for(engine, "begin")
    def _begin(conn):
        statements["begin"] += 1

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _end(conn):
        if lock["since"] is not None:
            statements["lock_seconds"] += time.perf_counter() - lock["since"]
            lock["since"] = None

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"csrf_token": csrf, "phone": STAFF, "password": PASSWORD})
    if answer.status_code not in (302, 303) or "/login" in answer.headers.get("Location", ""):
        raise SystemExit("the staff login failed")
    counter = iter(range(10**9))

    def one_record(decision: str) -> dict:
        text, colour = tokens[next(counter) % len(tokens)]
        return {
            "record_id": str(uuid.uuid4()),
            "token": text,
            "scanned_at": int(time.time()),
            "shown_colour": colour,
            "offline": True,
            "temperature": "36.5",
            "decision": decision,
            "note": "",
        }

    def one_batch() -> None:
        response = client.post(
            "/checkpoint/scan-records",
            data=json.dumps([one_record("") for _ in range(args.batch)]),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        results = response.get_json()["results"] if response.status_code == 200 else None
        if not results or any(r["status"] != 201 for r in results):
            raise SystemExit(f"{response.status_code}: {response.get_data(as_text=True)[:500]}")

    def one_scan() -> None:
        if args.batch:
            return one_batch()
        # No decision chosen: it follows the colour (a pass for a yellow or red code needs the
        # override since the rule came in).
        body = one_record("")
        response = client.post(
            "/checkpoint/scan-records",
            data=json.dumps(body),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Accept-Encoding": "gzip",
            },
        )
        if response.status_code != 201:
            raise SystemExit(f"{response.status_code}: {response.get_data(as_text=True)}")

    for _ in range(20):  # warm-up: imports, compiled statements, the first connection
        one_scan()
    cpu, wall, per_request, server = [], [], [], []
    on_postgres = database_url.startswith("postgresql")
    for _ in range(args.rounds):
        statements.update(all=0, begin=0, locked=0, lock_seconds=0.0)
        server_before = backend_cpu_seconds(database_url) if on_postgres else 0.0
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        for _ in range(args.persons):
            one_scan()
        cpu.append(1000 * (time.process_time() - started_cpu) / args.persons)
        wall.append(1000 * (time.perf_counter() - started_wall) / args.persons)
        if on_postgres:
            server.append(1000 * (backend_cpu_seconds(database_url) - server_before) / args.persons)
        per_request.append(
            (
                statements["all"] / args.persons,
                statements["begin"] / args.persons,
                statements["locked"] / args.persons,
                1000 * statements["lock_seconds"] / args.persons,
            )
        )
    if args.json:
        print(
            json.dumps(
                {
                    "label": args.label,
                    "batch": args.batch,
                    "cpu_ms_per_request": cpu,
                    "postgres_cpu_ms_per_request": server,
                    "wall_ms_per_request": wall,
                    "statements_per_request": per_request[-1][0],
                }
            )
        )
        shutil.rmtree(work, ignore_errors=True)
        return
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.persons):
        one_scan()
    profiler.disable()

    lines = [
        "In-process profile of POST /checkpoint/scan-records (bench/scan_json_profile.py), "
        + ("PostgreSQL, " if on_postgres else "SQLite file, ")
        + (f"batches of {args.batch} records (a request is a batch), " if args.batch else "")
        + f"Flask's test client, the demo's 3 holders round-robin; {args.rounds} rounds of {args.persons}.",
        args.label,
        f"load average at the start: {os.getloadavg()[0]:.2f}",
        "",
        f"CPU per request (process_time), median (min-max): {statistics.median(cpu):.2f} "
        f"({min(cpu):.2f}-{max(cpu):.2f}) ms",
        (
            f"PostgreSQL backends' CPU per request (/proc), median (min-max): "
            f"{statistics.median(server):.2f} ({min(server):.2f}-{max(server):.2f}) ms"
            if server
            else ""
        ),
        f"wall per request, median (min-max): {statistics.median(wall):.2f} ({min(wall):.2f}-{max(wall):.2f}) ms",
        f"SQL statements per request (BEGIN included): {per_request[-1][0]:.1f}; transactions begun per "
        f"request: {per_request[-1][1]:.1f}",
        f"under SQLite's write lock (BEGIN IMMEDIATE to COMMIT) per request: {per_request[-1][2]:.1f} "
        f"statements, {statistics.median(r[3] for r in per_request):.2f} ms (median of the rounds)",
        "",
    ]
    for key, title in (
        ("cumulative", "Top 35 by cumulative time"),
        ("tottime", "Top 25 by self time"),
    ):
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.strip_dirs().sort_stats(key).print_stats(35 if key == "cumulative" else 25)
        text = stream.getvalue()
        lines += [
            f"{title} (cProfile, one round of {args.persons}):",
            text[text.find("   ncalls") :].rstrip(),
            "",
        ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:9]))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
