"""CPU a request of the resident's code page, in process, two versions interleaved (A B A B).

Run from the repository root:
    .venv/bin/python bench/code_page_cpu.py --before main --out bench/profiles/code_page_cpu.txt
    .venv/bin/python bench/code_page_cpu.py --before main --database-url postgresql://postgres@127.0.0.1:5432/NAME

--before and --after name git revisions (after: the working tree unless given); each is exported
with `git archive` into a temporary folder (with this tree's static/vendor files and its
translations compiled by pybabel), and runs in a process of its own, so both versions' modules
never meet. Each process makes the app (create_app), logs in through Flask's test client as the
red demo resident (13900000006, the login form and its CSRF token), and answers "run N" on its
standard input: N times GET /me/people/<id> with Accept-Encoding gzip (and Accept-Language,
--lang), timed with time.process_time(); it also counts the SQL statements a page and checks every
answer (200, gzip, the QR drawn). The rounds alternate which version goes first (A B, B A, ...),
so a change in the machine's load falls on both. It prints the median and the min-max of the
milliseconds of CPU a request for each version, and their ratio.

SQLite (default): one demo database (`flask --app app db upgrade && flask --app app gantong demo`
with the after version) is copied for each version. PostgreSQL (--database-url, a database of your
own that this script empties): both versions read the same demo data (the page only reads it).
The server's environment is the app's defaults (TOKEN_TTL=120; --token-ttl for another).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RED_DEMO, PASSWORD = "13900000006", "gantong-demo"


def export(revision: str | None, into: Path) -> Path:
    """The tree of `revision` (None: the working tree as it is) ready to run, in `into`."""
    if revision is None:
        return ROOT
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", revision], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    # What git does not hold: the vendored front-end files and the compiled catalogues.
    shutil.copytree(ROOT / "static" / "vendor", into / "static" / "vendor")
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [
            str(pybabel),
            "-q",
            "compile",
            "--use-fuzzy",
            "-d",
            str(into / "gantong" / "translations"),
        ],
        check=True,
    )
    return into


def flask_env(database_url: str, token_ttl: int) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-code-page-cpu",
        "PUBLIC_URL": "http://127.0.0.1",
        "FLASK_DEBUG": "0",
        "TOKEN_TTL": str(token_ttl),
    }


def demo_database(tree: Path, database_url: str, token_ttl: int) -> None:
    env = flask_env(database_url, token_ttl)
    flask = str(Path(sys.executable).parent / "flask")
    for command in (["db", "upgrade"], ["gantong", "demo"]):
        subprocess.run(
            [flask, "--app", "app", *command], cwd=tree, env=env, check=True, capture_output=True
        )


def worker(tree: Path, lang: str) -> None:
    """Serve "N" lines on stdin with one JSON line each: CPU ms a request, statements a page."""
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    from sqlalchemy import event

    from gantong import create_app
    from gantong.extensions import db

    app = create_app()
    with app.app_context():
        engine = db.engine
    counted = {"statements": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        counted["statements"] += 1

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"csrf_token": csrf, "phone": RED_DEMO, "password": PASSWORD})
    landed = client.get("/me", follow_redirects=True)
    path = landed.request.path
    if landed.status_code != 200 or not re.fullmatch(r"/me/people/\d+", path):
        raise SystemExit(f"the login did not land on a code page: {landed.status_code} {path}")
    headers = {"Accept-Encoding": "gzip", "Accept-Language": lang}

    def one_page() -> int:
        response = client.get(path, headers=headers)
        body = response.get_data()
        if response.status_code != 200 or response.headers.get("Content-Encoding") != "gzip":
            raise SystemExit(f"{response.status_code}: {body[:300]!r}")
        return len(body)

    for _ in range(30):  # warm-up: imports, compiled templates and statements, the connection
        size = one_page()
    print(json.dumps({"ready": path, "gzip_bytes": size}), flush=True)
    for line in sys.stdin:
        count = int(line)
        counted["statements"] = 0
        started = time.process_time()
        for _ in range(count):
            size = one_page()
        cpu_ms = 1000 * (time.process_time() - started) / count
        print(
            json.dumps(
                {
                    "cpu_ms": cpu_ms,
                    "statements": counted["statements"] / count,
                    "gzip_bytes": size,
                }
            ),
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=False, help="git revision A (e.g. main)")
    parser.add_argument("--after", help="git revision B (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--requests", type=int, default=300, help="requests a version a round")
    parser.add_argument("--database-url", help="PostgreSQL (emptied); default: SQLite files")
    parser.add_argument("--token-ttl", type=int, default=120)
    parser.add_argument("--lang", default="zh", help="Accept-Language of the requests")
    parser.add_argument("--out", type=Path, help="also write the report here")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.lang)
    if not args.before:
        parser.error("--before is required")

    work = Path(tempfile.mkdtemp(prefix="gantong-code-page-cpu-"))
    trees = {
        "before": export(args.before, work / "before"),
        "after": export(args.after, work / "after"),
    }
    labels = {"before": args.before, "after": args.after or "working tree"}
    if args.database_url:
        urls = {name: args.database_url for name in trees}
        subprocess.run(
            [sys.executable, "-c", _EMPTY_POSTGRES, args.database_url], check=True, cwd=ROOT
        )
        demo_database(trees["after"], args.database_url, args.token_ttl)
    else:
        source = work / "demo.sqlite"
        demo_database(trees["after"], f"sqlite:///{source}", args.token_ttl)
        urls = {}
        for name in trees:
            shutil.copyfile(source, work / f"{name}.sqlite")
            urls[name] = f"sqlite:///{work / name}.sqlite"
    processes = {}
    ready = {}
    for name, tree in trees.items():
        processes[name] = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(tree), "--lang", args.lang],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=flask_env(urls[name], args.token_ttl),
            cwd=tree,
        )
        ready[name] = json.loads(processes[name].stdout.readline())
    figures: dict[str, list[dict]] = {name: [] for name in trees}
    order = ["before", "after"]
    for round_number in range(args.rounds):
        for name in order if round_number % 2 == 0 else order[::-1]:
            processes[name].stdin.write(f"{args.requests}\n")
            processes[name].stdin.flush()
            figures[name].append(json.loads(processes[name].stdout.readline()))
    for process in processes.values():
        process.stdin.close()
        process.wait()

    database = "PostgreSQL" if args.database_url else "SQLite"
    lines = [
        f"bench/code_page_cpu.py: GET {ready['after']['ready']} (red demo holder {RED_DEMO}), "
        f"{database}, TOKEN_TTL={args.token_ttl}, Accept-Language {args.lang}, gzip",
        f"{args.rounds} rounds of {args.requests} requests a version, interleaved (A B, B A, ...); "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
        + " ".join(f"{value:.1f}" for value in os.getloadavg()),
        "",
        f"{'version':<28}{'CPU ms a request: median (min-max)':<40}{'statements':>11}"
        f"{'gzip bytes':>12}",
    ]
    medians = {}
    for name in order:
        cpu = [round_["cpu_ms"] for round_ in figures[name]]
        medians[name] = statistics.median(cpu)
        lines.append(
            f"{name + ' (' + labels[name] + ')':<28}"
            f"{f'{medians[name]:.3f} ({min(cpu):.3f}-{max(cpu):.3f})':<40}"
            f"{figures[name][-1]['statements']:>11.1f}{figures[name][-1]['gzip_bytes']:>12}"
        )
    ratios = sorted(
        a["cpu_ms"] / b["cpu_ms"] for a, b in zip(figures["before"], figures["after"], strict=True)
    )
    lines += [
        "",
        f"after / before, median of medians: {medians['after'] / medians['before']:.3f}; "
        f"before / after round by round: median {statistics.median(ratios):.2f}x "
        f"({ratios[0]:.2f}-{ratios[-1]:.2f})",
        "every round (ms): "
        + "; ".join(
            f"{a['cpu_ms']:.2f} {b['cpu_ms']:.2f}"
            for a, b in zip(figures["before"], figures["after"], strict=True)
        ),
    ]
    report = "\n".join(lines) + "\n"
    print(report, end="")
    if args.out:
        args.out.write_text(report, encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)


# Drop and make again the public schema of the given PostgreSQL database.
_EMPTY_POSTGRES = """
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as connection:
    connection.execute("DROP SCHEMA public CASCADE")
    connection.execute("CREATE SCHEMA public")
"""


if __name__ == "__main__":
    main()
