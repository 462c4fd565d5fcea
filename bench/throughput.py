"""Throughput of the project's hot paths beside a bare Flask app, with wrk.

Run from the repository root:
    .venv/bin/python bench/throughput.py            # 10 s a measurement, 3 rounds (~12 min with PostgreSQL)
    .venv/bin/python bench/throughput.py --quick    # 3 s a measurement (~5 min)
    .venv/bin/python bench/throughput.py --no-postgres --profile bench/profiles

What it does, all on 127.0.0.1:
- installs wrk from Debian if it is missing (the client is C, not bound by Python's GIL);
- prepares a fresh SQLite file and (unless --no-postgres) a PostgreSQL database of its own
  (default bench_scratch, dropped and created again) with `flask --app app db upgrade` and
  `flask --app app gantong demo`;
- serves the project with `gunicorn -w N -b 127.0.0.1:PORT app:app` for each N of --workers on
  each database, and the bare app (bench/bare_app.py) with 2 workers, all side by side;
- logs in over HTTP (the login form and its CSRF token) as the red demo resident and the staff;
- measures, interleaved round by round, with the wrk scripts in bench/wrk/: the bare routes,
  the red holder's code page (gzip), one scan as the scan page does it (one tap: the browser
  verified the code, one JSON record per person, bench/wrk/scan_json.lua), one whole scan
  without JavaScript (verify, record page, submit, station: bench/wrk/scan.lua), and the
  record submit alone (bench/wrk/submit.lua); the one-tap scans and the submits are checked
  against the rows stored;
- prints a table of medians and spreads (min-max over the rounds), counts errors, and greps
  every server log for "database is locked"; --json writes every figure to a file.

The app is driven only over HTTP and the `flask` CLI, except for live tokens and pre-opened
records, which `mint()` makes in a subprocess: the one place that knows gantong's internals.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = Path(sys.executable).parent

RESIDENT = "13900000006"  # the red demo holder's account (close contact)
STAFF = "13900000002"  # the demo checkpoint volunteer
PASSWORD = "gantong-demo"
USER_AGENT = "gantong-bench"


# --- the one place that imports gantong internals -------------------------------------------
# When the package layout changes, adapt the imports and calls in MINT_SOURCE below and nothing
# else. It runs in its own
# process against the same DATABASE_URL and SECRET_KEY as the servers.
MINT_SOURCE = r"""
import sys
from gantong import create_app
from gantong.checkpoint import verification         # open_record, reference_for
from gantong.codes import keys                       # signed_screen_token
from gantong.extensions import db
from gantong.models import Holder, User, VerificationRecord, utcnow

mode, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
app = create_app()
with app.app_context(), open(out, "w") as handle:
    if mode == "tokens":      # live screen tokens of every demo holder, as their code pages show
        people = db.session.scalars(db.select(Holder).order_by(Holder.id)).all()
        for i in range(count):  # "text<TAB>colour" (base45 has spaces): the colour the scan page shows
            token, text = keys.signed_screen_token(people[i % len(people)])
            handle.write(f"{text}\t{token.colour}\n")
    elif mode == "records":   # records opened at the staff's point, as a verify does, not yet submitted
        staff = db.session.scalar(db.select(User).where(User.phone == "+86" + sys.argv[4]))
        holder = db.session.scalars(db.select(Holder).order_by(Holder.id)).first()  # the green one
        for _ in range(count):
            record, _ = verification.open_record(holder, staff.point, staff, "camera", None, utcnow())
            handle.write(f"{record.record_id} {verification.reference_for(record)}\n")
    elif mode == "submitted":  # how many records are stored with their body (durable submits, scans)
        handle.write(str(db.session.scalar(db.select(db.func.count()).select_from(VerificationRecord)
                                           .where(VerificationRecord.recorded_at.is_not(None)))))
"""


def mint(env: dict, mode: str, count: int, out: Path, *extra: str) -> Path:
    """Make live tokens / open records / count submitted records with gantong's own code."""
    subprocess.run(
        [sys.executable, "-c", MINT_SOURCE, mode, str(count), str(out), *extra],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return out


# ---------------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    print("wrk is missing: apt-get install -y wrk", flush=True)
    if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"]).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
    return shutil.which("wrk") or "/usr/bin/wrk"


PORTS: list[int] = []  # --ports: the ports to serve on, taken in turn (else any free one)


def free_port() -> int:
    if PORTS:
        return PORTS.pop(0)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flask_cli(env: dict, *args: str) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


@dataclass
class Server:
    name: str
    workers: int
    port: int
    log: Path
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, app_spec: str, env: dict, chdir: Path = ROOT) -> None:
        # The project's settings: sync workers, `gunicorn -w N -b 127.0.0.1:PORT app:app`.
        command = [
            str(VENV_BIN / "gunicorn"),
            "-w",
            str(self.workers),
            "-b",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(chdir),
            app_spec,
        ]
        self.process = subprocess.Popen(
            command,
            cwd=chdir,
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.log}")
            try:
                urllib.request.urlopen(self.base + path, timeout=5).read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer on {self.base}")

    def worker_pids(self) -> list[int]:
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(child) for child in children]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Session:
    """A logged-in browser: its cookies, and the last page's CSRF token."""

    def __init__(self, base: str, phone: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("User-Agent", USER_AGENT), ("Accept-Language", "en")]
        page = self.get("/login")
        data = urllib.parse.urlencode(
            {"csrf_token": csrf_token(page), "phone": phone, "password": PASSWORD}
        )
        with self.opener.open(base + "/login", data.encode(), timeout=30) as response:
            self.home = urllib.parse.urlparse(response.geturl()).path
            if self.home.startswith("/login"):
                raise RuntimeError(f"login as {phone} failed on {base}")

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            self.last_url = response.geturl()
            return response.read().decode()

    @property
    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    if not match:
        raise RuntimeError("no csrf_token on the page")
    return match.group(1)


@dataclass
class Target:
    """One database served at several worker counts, with its logins and pools."""

    kind: str  # sqlite | postgresql
    env: dict
    servers: dict[int, Server] = field(default_factory=dict)
    resident_cookie: str = ""
    code_path: str = ""
    staff_cookie: str = ""
    staff_csrf: str = ""
    tokens: Path | None = None


def run_wrk(
    wrk: str,
    script: str,
    url: str,
    connections: int,
    threads: int,
    seconds: float,
    headers: dict | None = None,
    env: dict | None = None,
) -> dict:
    command = [
        wrk,
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        f"wrk/{script}",
        url,
    ]
    for name, value in (headers or {}).items():
        command[1:1] = ["-H", f"{name}: {value}"]
    done = subprocess.run(
        command,
        cwd=BENCH,
        env={**os.environ, "BENCH_THREADS": str(threads), **(env or {})},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON ") :])
    raise RuntimeError(f"wrk gave no figures:\n{done.stdout}\n{done.stderr}")


def prepare_database(kind: str, args, workdir: Path) -> dict:
    env = {
        **os.environ,
        "SECRET_KEY": "bench-throughput",
        "TOKEN_TTL": "3600",
        # One staff account stands for a whole station's volunteers: no per-staff rate limit.
        "VERIFY_LIMIT_PER_STAFF": "1000000 per minute",
        "RECORD_LIMIT_PER_STAFF": "1000000 per minute",
        "RECORD_LIMIT_PER_POINT": "1000000 per minute",
        "FLASK_DEBUG": "0",
        "PUBLIC_URL": "http://127.0.0.1",  # production refuses to start without it
    }
    if kind == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite"
    else:
        url = args.postgres_url
        name = urllib.parse.urlparse(url).path.lstrip("/")
        if name in ("", "test", "postgres"):
            raise SystemExit(f"refusing to drop the database {name!r}: give a scratch one")
        host = urllib.parse.urlparse(url)
        base = [
            "-h",
            host.hostname or "127.0.0.1",
            "-p",
            str(host.port or 5432),
            "-U",
            host.username or "postgres",
        ]
        subprocess.run(["dropdb", *base, "--if-exists", name], check=True)
        subprocess.run(["createdb", *base, name], check=True)
        env["DATABASE_URL"] = url
    flask_cli(env, "db", "upgrade")
    print(flask_cli(env, "gantong", "demo").strip().replace("\n", "\n    "), flush=True)
    return env


def served_env(env: dict) -> dict:
    """The servers' environment: the bench's, but with the deployment's token lifetime.

    Only mint() needs TOKEN_TTL=3600, for tokens that outlive the run (a token carries its own
    lifetime, which the servers honour). Served with it, the code page grew by a CSS rule per
    5 s of lifetime, 59 KB of inline CSS where residents get 12 KB: measured so, the page cost
    more to render and gzip than the page in use (runs before 7 December, 15:00 UTC).
    """
    return {key: value for key, value in env.items() if key != "TOKEN_TTL"}


def disk_flush_rate(folder: Path, seconds: float) -> float:
    """The disk's durable flushes a second: 4 KB appended and fsync'd in a loop, in the folder
    the SQLite file lives in (PostgreSQL's data folder is on the same disk here)."""
    path = folder / "flush-probe.bin"
    block = os.urandom(4096)
    flushes = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        ends = time.monotonic() + seconds
        started = time.monotonic()
        while time.monotonic() < ends:
            os.write(fd, block)
            os.fsync(fd)
            flushes += 1
        return flushes / (time.monotonic() - started)
    finally:
        os.close(fd)
        path.unlink()


def log_in(target: Target, server: Server) -> None:
    resident = Session(server.base, RESIDENT)
    resident.get(resident.home)
    target.code_path = urllib.parse.urlparse(resident.last_url).path  # /me -> the code page
    if not re.fullmatch(r"/me/people/\d+", target.code_path):
        raise RuntimeError(f"the resident landed on {target.code_path}, not a code page")
    target.resident_cookie = resident.cookie
    staff = Session(server.base, STAFF)
    target.staff_csrf = csrf_token(staff.get("/checkpoint/scan"))
    target.staff_cookie = staff.cookie


def spread(values: list[float]) -> str:
    if not values:
        return "—"
    med = statistics.median(values)
    fmt = (
        (lambda v: f"{v:,.0f}")
        if med >= 100
        else (lambda v: f"{v:,.1f}")
        if med >= 1
        else (lambda v: f"{v:.3f}")
    )
    return f"{fmt(med)} ({fmt(min(values))}–{fmt(max(values))})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="length of one measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="3 s a measurement")
    parser.add_argument("--workers", default="1,2,4", help="worker counts for the scaling")
    parser.add_argument(
        "--headline-workers",
        type=int,
        default=2,
        help="the worker count of the ratios (and of the bare app)",
    )
    parser.add_argument(
        "--connections", type=int, default=8, help="for the code page and bare routes"
    )
    parser.add_argument(
        "--staff", type=int, default=16, help="connections for the scan and the submit"
    )
    parser.add_argument(
        "--postgres-url", default="postgresql://postgres@127.0.0.1:5432/bench_scratch"
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--submit-rate",
        type=float,
        default=300,
        help="records/s the first round's submit pool is sized for (later rounds: 2x measured)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="also py-spy one worker (code page, one-tap scan, scan without JS) into this folder",
    )
    parser.add_argument("--profile-seconds", type=float, default=10)
    parser.add_argument(
        "--profile-all", action="store_true", help="profile every database, not only SQLite"
    )
    parser.add_argument("--profile-name", default="", help="a prefix of the profiles' files")
    parser.add_argument("--json", type=Path, help="write every measurement to this file")
    parser.add_argument(
        "--only",
        default="bare,code,scan,nojs,submit,batch",
        help="the measurements to run (bare is always run: the ratios' yardstick)",
    )
    parser.add_argument("--ports", help="a range of ports to serve on, e.g. 5121-5129")
    parser.add_argument("--batch", type=int, default=10, help="records a batch (scan_batch.lua)")
    args = parser.parse_args()
    only = set(args.only.split(",")) | {"bare"}
    if args.ports:
        first, last = (int(p) for p in args.ports.split("-"))
        PORTS.extend(range(first, last + 1))
    if args.quick:
        args.seconds = 3
    worker_counts = sorted({int(n) for n in args.workers.split(",")} | {args.headline_workers})
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="gantong-throughput-"))
    print(f"work folder {workdir}", flush=True)

    targets: list[Target] = []
    servers: list[Server] = []
    bare = Server("bare", args.headline_workers, free_port(), workdir / "bare.log")
    servers.append(bare)
    try:
        bare.start("bare_app:app", {**os.environ}, chdir=BENCH)
        for kind in ["sqlite"] + ([] if args.no_postgres else ["postgresql"]):
            print(f"preparing {kind}", flush=True)
            target = Target(kind, prepare_database(kind, args, workdir))
            for n in worker_counts:
                server = Server(f"{kind}-w{n}", n, free_port(), workdir / f"{kind}-w{n}.log")
                server.start("app:app", served_env(target.env))
                target.servers[n] = server
                servers.append(server)
            targets.append(target)
        for server in servers:
            server.wait_ready("/ok" if server is bare else "/login")
        for target in targets:
            log_in(target, target.servers[args.headline_workers])
            target.tokens = mint(target.env, "tokens", 96, workdir / f"{target.kind}-tokens.txt")
            print(
                f"{target.kind}: code page {target.code_path}, {sum(1 for _ in target.tokens.open())} tokens",
                flush=True,
            )

        results: dict[str, list[dict]] = {}

        def measure(key: str, figure: dict) -> None:
            results.setdefault(key, []).append(figure)

        gzip = {"Accept-Encoding": "gzip", "User-Agent": USER_AGENT}
        submit_rate = {t.kind: args.submit_rate for t in targets}
        for round_no in range(1, args.rounds + 1):
            # Fresh pools of opened records for this round's submits, made while all is idle.
            pools = {}
            for target in targets if "submit" in only else []:
                size = int(max(200, submit_rate[target.kind] * args.seconds * 2))
                started = time.monotonic()
                pools[target.kind] = mint(
                    target.env,
                    "records",
                    size,
                    workdir / f"{target.kind}-records-{round_no}.txt",
                    STAFF,
                )
                print(
                    f"round {round_no}: {size} records opened on {target.kind} in "
                    f"{time.monotonic() - started:.0f} s",
                    flush=True,
                )
            c = args.connections
            measure(
                "bare /ok",
                run_wrk(
                    wrk,
                    "get.lua",
                    bare.base + "/ok",
                    c,
                    2,
                    args.seconds,
                    {"User-Agent": USER_AGENT},
                ),
            )
            measure(
                "bare /template",
                run_wrk(wrk, "get.lua", bare.base + "/template", c, 2, args.seconds, gzip),
            )
            for target in targets if "code" in only else []:
                for n, server in target.servers.items():
                    measure(
                        f"code page|{target.kind}|{n}",
                        run_wrk(
                            wrk,
                            "get.lua",
                            server.base + target.code_path,
                            c,
                            2,
                            args.seconds,
                            {**gzip, "Cookie": target.resident_cookie},
                        ),
                    )
            for target in targets if "scan" in only else []:
                for n, server in target.servers.items():
                    before = int(
                        mint(target.env, "submitted", 0, workdir / "count.txt").read_text()
                    )
                    figure = run_wrk(
                        wrk,
                        "scan_json.lua",
                        server.base + "/checkpoint/scan-records",
                        args.staff,
                        2,
                        args.seconds,
                        env={
                            "BENCH_TOKENS": str(target.tokens),
                            "BENCH_COOKIE": target.staff_cookie,
                        },
                    )
                    after = int(mint(target.env, "submitted", 0, workdir / "count.txt").read_text())
                    figure["stored"] = after - before
                    measure(f"scan|{target.kind}|{n}", figure)
            for target in targets if "nojs" in only else []:
                for n, server in target.servers.items():
                    measure(
                        f"scan without JavaScript|{target.kind}|{n}",
                        run_wrk(
                            wrk,
                            "scan.lua",
                            server.base + "/checkpoint/",
                            args.staff,
                            args.staff,
                            args.seconds,
                            env={
                                "BENCH_TOKENS": str(target.tokens),
                                "BENCH_COOKIE": target.staff_cookie,
                                "BENCH_CSRF": target.staff_csrf,
                            },
                        ),
                    )
            if "batch" in only:
                measure("disk flushes", {"per_second": disk_flush_rate(workdir, 3.0)})
            for target in targets if "batch" in only else []:
                server = target.servers[args.headline_workers]
                before = int(mint(target.env, "submitted", 0, workdir / "count.txt").read_text())
                figure = run_wrk(
                    wrk,
                    "scan_batch.lua",
                    server.base + "/checkpoint/scan-records",
                    args.staff,
                    2,
                    args.seconds,
                    env={
                        "BENCH_TOKENS": str(target.tokens),
                        "BENCH_COOKIE": target.staff_cookie,
                        "BENCH_BATCH": str(args.batch),
                    },
                )
                time.sleep(1)  # the batches in flight when wrk stopped are committed by now
                after = int(mint(target.env, "submitted", 0, workdir / "count.txt").read_text())
                figure["stored"] = after - before
                measure(f"batch|{target.kind}|{args.headline_workers}", figure)
            for target in targets if "submit" in only else []:
                server = target.servers[args.headline_workers]
                before = int(mint(target.env, "submitted", 0, workdir / "count.txt").read_text())
                figure = run_wrk(
                    wrk,
                    "submit.lua",
                    server.base + "/checkpoint/records",
                    args.staff,
                    args.staff,
                    args.seconds,
                    env={
                        "BENCH_RECORDS": str(pools[target.kind]),
                        "BENCH_COOKIE": target.staff_cookie,
                    },
                )
                after = int(mint(target.env, "submitted", 0, workdir / "count.txt").read_text())
                figure["stored"] = after - before
                measure(f"submit|{target.kind}|{args.headline_workers}", figure)
                # The next pool: twice the fastest rate seen so far, so that no thread runs dry.
                submit_rate[target.kind] = max(
                    submit_rate[target.kind], figure["counters"]["durable"] / figure["seconds"]
                )
            print(f"round {round_no} done", flush=True)

        if args.profile:
            for target in targets if args.profile_all else targets[:1]:
                args.profile_prefix = (
                    f"{args.profile_name}{target.kind}_" if args.profile_all else args.profile_name
                )
                profile(args, wrk, target, workdir)
    finally:
        for server in servers:
            server.stop()

    locked = {
        s.name: s.log.read_text(errors="replace").count("database is locked") for s in servers
    }
    tracebacks = {s.name: s.log.read_text(errors="replace").count("Traceback") for s in servers}
    report(args, results, locked, tracebacks, targets)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "results": results,
                    "database_is_locked": locked,
                    "tracebacks": tracebacks,
                },
                indent=1,
            )
        )
    print(f"server logs in {workdir}")


def report(args, results: dict, locked: dict, tracebacks: dict, targets: list[Target]) -> None:
    h = args.headline_workers
    rate = lambda fig: fig["requests"] / fig["seconds"]  # noqa: E731
    persons = lambda fig: fig["counters"].get("persons", 0) / fig["seconds"]  # noqa: E731
    durable = lambda fig: fig["counters"].get("durable", 0) / fig["seconds"]  # noqa: E731
    bare_template = [rate(f) for f in results["bare /template"]]

    def ratio(figures, fn):  # per round against the same round's bare template
        return [fn(f) / b for f, b in zip(figures, bare_template, strict=True)]

    def errors(figures):
        return sum(
            f["status_errors"]
            + f["socket_errors"]
            + f["counters"].get("flow_errors", 0)
            + f["counters"].get("lost", 0)
            for f in figures
        )

    rows = [
        (
            "bare `/ok`",
            spread([rate(f) for f in results["bare /ok"]]) + " req/s",
            "—",
            spread([f["p99_ms"] for f in results["bare /ok"]]) + " ms",
            errors(results["bare /ok"]),
        ),
        (
            "bare `/template` (4 KB, gzip 6)",
            spread(bare_template) + " req/s",
            "1",
            spread([f["p99_ms"] for f in results["bare /template"]]) + " ms",
            errors(results["bare /template"]),
        ),
    ]
    for target in targets if f"code page|{targets[0].kind}|{h}" in results else []:
        code = results[f"code page|{target.kind}|{h}"]
        rows.append(
            (
                f"code page, {target.kind}, {h} workers",
                spread([rate(f) for f in code]) + " req/s",
                spread(ratio(code, rate)) + "x",
                spread([f["p99_ms"] for f in code]) + " ms",
                errors(code),
            )
        )
    for target in targets if f"scan|{targets[0].kind}|{h}" in results else []:
        scan = results[f"scan|{target.kind}|{h}"]  # one request a person: wrk's p99 is a person's
        rows.append(
            (
                f"one scan (one-tap, as the scan page does it), {target.kind}, {h} workers",
                spread([persons(f) for f in scan]) + " persons/s",
                spread(ratio(scan, persons)) + " persons/bare req",
                spread([f["p99_ms"] for f in scan]) + " ms a person",
                errors(scan),
            )
        )
    for target in targets if f"scan without JavaScript|{targets[0].kind}|{h}" in results else []:
        scan = results[f"scan without JavaScript|{target.kind}|{h}"]
        rows.append(
            (
                f"one scan without JavaScript (4 requests), {target.kind}, {h} workers",
                spread([persons(f) for f in scan]) + " persons/s",
                spread(ratio(scan, persons)) + " persons/bare req",
                spread([f.get("flow_p99_ms", 0) for f in scan]) + " ms a person",
                errors(scan),
            )
        )
    if "disk flushes" in results:
        rows.append(
            (
                "the disk's flushes (write 4 KB + fsync, one thread, between the rounds)",
                spread([f["per_second"] for f in results["disk flushes"]]) + " fsyncs/s",
                "—",
                "—",
                0,
            )
        )
    for target in targets if f"batch|{targets[0].kind}|{h}" in results else []:
        batch = results[f"batch|{target.kind}|{h}"]
        rows.append(
            (
                f"scan records in batches of {args.batch}, {target.kind}, {h} workers",
                spread([durable(f) for f in batch]) + " durable records/s",
                spread(ratio(batch, durable)) + " records/bare req",
                spread([f["p99_ms"] for f in batch]) + " ms a batch",
                errors(batch),
            )
        )
    for target in targets if f"submit|{targets[0].kind}|{h}" in results else []:
        sub = results[f"submit|{target.kind}|{h}"]
        rows.append(
            (
                f"record submit alone, {target.kind}, {h} workers",
                spread([durable(f) for f in sub]) + " durable records/s",
                spread(ratio(sub, durable)) + "x",
                spread([f["p99_ms"] for f in sub]) + " ms",
                errors(sub),
            )
        )
    print()
    print(
        f"{args.rounds} rounds of {args.seconds:g} s, interleaved; median (min–max); "
        f"code page and bare: {args.connections} connections, scan and submit: {args.staff}"
    )
    print("| path | throughput | ratio to bare /template | p99 | errors |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print()
    counts = list(targets[0].servers)
    print(
        "| scaling | "
        + " | ".join(f"{n} worker{'s' if n > 1 else ''}" for n in counts)
        + " | "
        + " | ".join(f"{n}/{counts[0]}" for n in counts[1:])
        + " |"
    )
    print("|---|" + "---|" * (2 * len(counts) - 1))
    for path, label, fn, unit in (
        ("code page", "code page", rate, "req/s"),
        ("scan", "one scan (one-tap)", persons, "persons/s"),
        ("scan without JavaScript", "one scan without JavaScript", persons, "persons/s"),
    ):
        for target in targets if f"{path}|{targets[0].kind}|{h}" in results else []:
            medians = []
            cells = []
            for n in target.servers:
                figures = results[f"{path}|{target.kind}|{n}"]
                medians.append(statistics.median([fn(f) for f in figures]))
                cells.append(spread([fn(f) for f in figures]))
            print(
                f"| {label}, {target.kind} ({unit}) | "
                + " | ".join(cells)
                + " | "
                + " | ".join(f"{m / medians[0]:.2f}x" for m in medians[1:])
                + " |"
            )
    print()
    for key, figures in results.items():
        if key.startswith("submit"):
            stored = sum(f["stored"] for f in figures)
            answered = sum(f["counters"].get("durable", 0) for f in figures)
            exhausted = sum(f["counters"].get("exhausted", 0) for f in figures)
            print(
                f"{key}: {answered} submits answered 303, {stored} records stored"
                + (
                    f"; {exhausted} wrk threads ran out of records (a lower bound)"
                    if exhausted
                    else ""
                )
            )
        if key.startswith("batch|"):
            stored = sum(f["stored"] for f in figures)
            answered = sum(f["counters"].get("durable", 0) for f in figures)
            print(
                f"{key}: {answered} records acknowledged (201, stored), {stored} records stored "
                "(the batches in flight when wrk stopped are stored but not counted as answered)"
            )
        if key.startswith("scan|"):
            stored = sum(f["stored"] for f in figures)
            answered = sum(f["counters"].get("persons", 0) for f in figures)
            print(f"{key}: {answered} one-tap records answered 201 stored, {stored} records stored")
        if key.startswith("scan"):
            refused = sum(f["counters"].get("refused", 0) for f in figures)
            if refused:
                print(f"{key}: {refused} tokens refused")
    total_errors = sum(errors(figures) for key, figures in results.items() if key != "disk flushes")
    print(f"errors (non-2xx/3xx, socket, broken flows) over all runs: {total_errors}")
    print(f'"database is locked" in the server logs: {sum(locked.values())} {locked}')
    print(f"tracebacks in the server logs: {sum(tracebacks.values())}")


def profile(args, wrk: str, target: Target, workdir: Path) -> None:
    """py-spy one worker of the headline server while wrk loads it: the code page, then the scans."""
    args.profile.mkdir(parents=True, exist_ok=True)
    server = target.servers[args.headline_workers]
    pid = server.worker_pids()[0]
    py_spy = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
    if not py_spy:
        raise SystemExit("py-spy is missing: .venv/bin/pip install py-spy")
    runs = {
        "code_page": (
            "get.lua",
            server.base + target.code_path,
            args.connections,
            2,
            {"Accept-Encoding": "gzip", "User-Agent": USER_AGENT, "Cookie": target.resident_cookie},
            {},
        ),
        "scan_one_tap": (
            "scan_json.lua",
            server.base + "/checkpoint/scan-records",
            args.staff,
            2,
            None,
            {"BENCH_TOKENS": str(target.tokens), "BENCH_COOKIE": target.staff_cookie},
        ),
        "scan": (
            "scan.lua",
            server.base + "/checkpoint/",
            args.staff,
            args.staff,
            None,
            {
                "BENCH_TOKENS": str(target.tokens),
                "BENCH_COOKIE": target.staff_cookie,
                "BENCH_CSRF": target.staff_csrf,
            },
        ),
        "scan_batch": (
            "scan_batch.lua",
            server.base + "/checkpoint/scan-records",
            args.staff,
            2,
            None,
            {
                "BENCH_TOKENS": str(target.tokens),
                "BENCH_COOKIE": target.staff_cookie,
                "BENCH_BATCH": str(args.batch),
            },
        ),
    }
    wanted = {"code_page": "code", "scan_one_tap": "scan", "scan": "nojs", "scan_batch": "batch"}
    for name, (script, url, connections, threads, headers, env) in runs.items():
        if wanted[name] not in args.only.split(","):
            continue
        raw = workdir / f"{name}.raw"
        spy = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                f"{args.profile_seconds:g}",
                "--rate",
                "200",
                "--idle",
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1)
        figure = run_wrk(
            wrk, script, url, connections, threads, args.profile_seconds + 1, headers, env
        )
        spy.wait(60)
        header = (
            f"py-spy record --idle --rate 200 --format raw, {args.profile_seconds:g} s, one worker of "
            f"`gunicorn -w {server.workers}` on {target.kind}; {name} under wrk -c {connections}: "
            f"{figure['requests'] / figure['seconds']:.1f} req/s"
            + (
                f", {figure['counters'].get('persons', 0) / figure['seconds']:.1f} persons/s"
                if name.startswith("scan") and name != "scan_batch"
                else f", {figure['counters'].get('durable', 0) / figure['seconds']:.1f} records/s"
                if name == "scan_batch"
                else ""
            )
        )
        summary = summarise_profile(raw.read_text(), header)
        (args.profile / f"{args.profile_prefix}{name}.txt").write_text(summary)
        print(summary, flush=True)


# Self time by library: a sample goes to the innermost frame that matches (frames read from the
# top of the stack down), so SQLAlchemy called from Jinja counts as SQLAlchemy. Frames look like
# "function (package/file.py:line)".
LIBRARIES = [
    ("QR drawing (segno)", re.compile(r"\(segno/")),
    (
        "signing, hashing (cryptography, itsdangerous, hashlib)",
        re.compile(r"\((?:cryptography|itsdangerous)/|\(hmac\.py|\(hashlib"),
    ),
    ("gzip (flask_compress, zlib)", re.compile(r"\(flask_compress/|\(gzip\.py")),
    (
        "database driver (sqlite3 / psycopg)",
        re.compile(
            r"\((?:sqlite3|psycopg|psycopg_pool)/|do_execute \(|do_commit \(|do_rollback \("
        ),
    ),
    ("SQLAlchemy (Python)", re.compile(r"\(sqlalchemy/")),
    ("Jinja", re.compile(r"\(jinja2/|\.html:")),
    ("WTForms, Flask-WTF", re.compile(r"\((?:wtforms|flask_wtf)/")),
    ("Flask-Limiter", re.compile(r"\((?:flask_limiter|limits)/")),
    ("Babel, gettext", re.compile(r"\((?:babel|flask_babel)/|\(gettext\.py")),
    (
        "Flask, Werkzeug, Flask-Login, MarkupSafe",
        re.compile(r"\((?:flask|werkzeug|flask_login|markupsafe|flask_htmx)/"),
    ),
    ("the app's own Python (gantong/)", re.compile(r"\(gantong/")),
]
WAITING = "waiting for a request (gunicorn's select/accept)"
LOCK_WAIT = "SQLite BEGIN IMMEDIATE (waiting for the write lock), inside the above"


def summarise_profile(raw: str, header: str, top: int = 30) -> str:
    stacks = []
    other_threads = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not (stack and count.isdigit()):
            continue
        if "Thread._bootstrap" in stack:  # background threads, not the one serving requests
            other_threads += int(count)
            continue
        # One entry per function: drop the line numbers.
        stacks.append(([re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")], int(count)))
    total = sum(count for _, count in stacks) or 1
    libraries: dict[str, int] = {}
    self_time: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    lock_wait = 0
    for frames, count in stacks:
        in_request = any(frame.startswith("Flask.__call__") for frame in frames)
        if not in_request:
            leaf = frames[-1] if frames else ""
            label = (
                WAITING
                if ("SyncWorker.wait" in leaf or "SyncWorker.accept" in leaf or "select" in leaf)
                else "gunicorn outside a request (socket write, close)"
            )
        else:
            label = "other"
            for frame in reversed(frames):
                found = next((name for name, pattern in LIBRARIES if pattern.search(frame)), None)
                if found:
                    label = found
                    break
            if any("_sqlite_begin" in frame for frame in frames):  # _sqlite_begin(_immediate)
                lock_wait += count
            self_time[frames[-1]] = self_time.get(frames[-1], 0) + count
            for frame in set(frames):
                if not re.search(r"\((?:gunicorn|flask/app\.py)|<module>", frame):
                    inclusive[frame] = inclusive.get(frame, 0) + count
        libraries[label] = libraries.get(label, 0) + count
    busy = total - libraries.get(WAITING, 0) or 1
    lines = [
        header,
        f"{total} samples of the worker's main thread ({other_threads} of background threads left out); "
        f"busy (not waiting for a request) {100 * busy / total:.1f} % of the wall time",
        "",
        "Where the time goes, by the innermost library on the stack (% of wall time / % of busy time):",
    ]
    for name, count in sorted(libraries.items(), key=lambda item: -item[1]):
        busy_share = "" if name == WAITING else f" / {100 * count / busy:5.1f} %"
        lines.append(f"  {100 * count / total:5.1f} %{busy_share}  {name}")
    lines.append(
        f"  {100 * lock_wait / total:5.1f} % / {100 * lock_wait / busy:5.1f} %  {LOCK_WAIT}"
    )
    lines += [
        "",
        f"Top {top} functions by inclusive share (% of wall time / % of busy time), "
        "gunicorn and Flask's dispatch left out:",
    ]
    for frame, count in sorted(inclusive.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"  {100 * count / total:5.1f} % / {100 * count / busy:5.1f} %  {frame}")
    lines += [
        "",
        "The app's own functions (gantong/) by inclusive share (% of wall time / % of busy time):",
    ]
    for frame, count in sorted(
        ((f, c) for f, c in inclusive.items() if "(gantong/" in f), key=lambda item: -item[1]
    )[: top // 2]:
        lines.append(f"  {100 * count / total:5.1f} % / {100 * count / busy:5.1f} %  {frame}")
    lines += [
        "",
        f"Top {top} functions by self share (the frame on top of the stack), inside requests:",
    ]
    for frame, count in sorted(self_time.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"  {100 * count / total:5.1f} % / {100 * count / busy:5.1f} %  {frame}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
