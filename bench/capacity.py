"""Per-request costs of the hot paths, measured, and the capacity model of docs/capacity.md.

Run from the repository root (about 4 minutes):
    .venv/bin/python bench/capacity.py --json bench/profiles/capacity.json

Measured, on a PostgreSQL 15 cluster of its own (initdb in a temporary folder, run as the
`postgres` user on --pg-port, fsync and synchronous_commit on as in production; its own so that
its WAL, its commits and its processes' CPU are this bench's alone, not the other databases' of
the shared server):
- the project served by `gunicorn -c deploy/gunicorn.conf.py app:app` with 1 sync worker, and
  the bare Flask app (bench/bare_app.py) with 1 worker beside it;
- per request of each kind, averaged over --requests requests a round, interleaved round by round:
  app CPU (the worker's user+system time from /proc), PostgreSQL CPU (every process of the
  cluster: backends, WAL writer, checkpointer...), statements sent (pg_stat_statements calls,
  BEGIN and COMMIT included: each is one round trip with psycopg, which pipelines nothing here),
  write commits (COMMIT records in the WAL, by pg_walinspect: read-only statements in autocommit
  write none), WAL bytes (pg_current_wal_lsn before and after) and WAL flushes (pg_stat_wal);
- the kinds: the bare template (the yardstick), the code page (GET of the red demo holder's
  page, gzip), the one-tap scan (one `POST /checkpoint/scan-records` with a fresh record id, the
  scan page's whole request per person) and the record submit (the record page's form post of a
  record opened beforehand, the scan without JavaScript's write);
- the replicas (docs/deployment.md): a hot standby of the bench's cluster (pg_basebackup -R, on
  --standby-port) and a second app server with DATABASE_REPLICA_URLS naming it; the code page
  and the one-tap scan sent to it too ("replica on"), with the standby's statements, its
  backends' CPU (the reads) and its replay's (startup and WAL receiver processes) per request;
  and the replay of a backlog (--replay-scans scan records stored while replay is paused, then
  timed): how many scans a second one standby's single replay process gets through.

Then the model (printed as the tables of docs/capacity.md): for the province at Xi'an's design
ratio and on a 穗康-like day, the app cores, PostgreSQL cores, commits/s and WAL MB/s, and the
population one primary holds on each resource, today and after issue 18 (the code on the phone:
an open code page costs at most 2 requests an hour instead of 60), without and with replicas
taking the code page's and the scan's reads (and how many 64-core replicas that needs). Every assumption is an
option with its default printed beside the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
RESIDENT, STAFF, PASSWORD = "13900000006", "13900000002", "gantong-demo"
KINDS = (
    "bare template",
    "code page",
    "one-tap scan",
    "record submit",
    # The same requests to a second app server on the same primary, configured with the
    # standby as its replica (DATABASE_REPLICA_URLS): their reads go there.
    "code page, replica on",
    "one-tap scan, replica on",
)
REPLICA_ON = ", replica on"

# The one place that imports gantong (in its own process): migrations, demo data, live screen
# tokens of the demo holders, and records opened at the staff's point for the record submit.
PREPARE_SOURCE = r"""
import sys
from gantong import create_app
from gantong.checkpoint import verification
from gantong.codes import keys
from gantong.extensions import db
from gantong.models import Holder, User, utcnow

tokens, records, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
app = create_app()
for command in (["db", "upgrade"], ["gantong", "demo"]):
    done = app.test_cli_runner().invoke(args=command)
    if done.exit_code != 0:
        sys.exit(f"flask {' '.join(command)} failed: {done.output} {done.exception!r}")
with app.app_context():
    people = db.session.scalars(db.select(Holder).order_by(Holder.id)).all()
    with open(folder + "/tokens.txt", "w") as handle:
        for i in range(tokens):
            token, text = keys.signed_screen_token(people[i % len(people)])
            handle.write(text + "\t" + token.colour + "\n")
    staff = db.session.scalar(db.select(User).where(User.phone == "+86" + sys.argv[4]))
    with open(folder + "/records.txt", "w") as handle:
        for _ in range(records):
            record, _ = verification.open_record(people[0], staff.point, staff, "camera", None, utcnow())
            handle.write(f"{record.record_id} {verification.reference_for(record)}\n")
    db.session.commit()
"""


# --- a PostgreSQL cluster of the bench's own ---------------------------------------------------


class Cluster:
    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port
        self.data = folder / "data"
        self.log = folder / "postgres.log"

    def as_postgres(self, *command: str) -> None:
        prefix = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
        subprocess.run([*prefix, *command], check=True, capture_output=True)

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self.as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale",
            "C.UTF-8",
        )
        settings = {
            "port": self.port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.folder}'",
            "shared_preload_libraries": "'pg_stat_statements'",
            "pg_stat_statements.track_utility": "on",
            # Durable as in production: every commit waits for its WAL flush.
            "fsync": "on",
            "synchronous_commit": "on",
            # No checkpoint inside a round (its full-page images would land on whichever kind
            # runs next); autovacuum's work is not a request's either. Both are left out of the
            # per-request figures: see docs/capacity.md.
            "checkpoint_timeout": "'1h'",
            "max_wal_size": "'8GB'",
            "autovacuum": "off",
            # A standby streams from it (--standby-port); its replies come every second.
            "wal_receiver_status_interval": "'1s'",
            "hot_standby_feedback": "off",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        self.as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start"
        )
        self.sql("postgres", "CREATE DATABASE capacity")
        for extension in ("pg_stat_statements", "pg_walinspect"):
            self.sql("postgres", f"CREATE EXTENSION {extension}")

    def start_standby_of(self, primary: Cluster) -> None:
        """A hot standby streaming from `primary` (pg_basebackup -R: standby.signal and
        primary_conninfo), with the primary's settings but its own port and socket."""
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self.as_postgres(
            str(PG_BIN / "pg_basebackup"),
            "-D",
            str(self.data),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-R",
            "-c",
            "fast",
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {self.port}\nunix_socket_directories = '{self.folder}'\n")
        self.as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start"
        )

    def wait_replayed(self, primary: Cluster, timeout: float = 60, every: float = 0.05) -> None:
        target = primary.sql("postgres", "SELECT pg_current_wal_insert_lsn()::text")[0][0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sql("postgres", f"SELECT pg_last_wal_replay_lsn() >= '{target}'")[0][0]:
                return
            time.sleep(every)
        raise RuntimeError(f"the standby did not replay {target}")

    def process_named(self, word: bytes) -> list[int]:
        pids = []
        for pid in process_tree(self.postmaster_pid()):
            try:
                name = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if word in name:
                pids.append(pid)
        return pids

    def replay_pids(self) -> list[int]:
        """The standby's startup (replay) and WAL receiver processes: what every replica spends
        on the primary's writes, whatever it serves."""
        pids = []
        for pid in process_tree(self.postmaster_pid()):
            try:
                name = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"startup" in name or b"walreceiver" in name:
                pids.append(pid)
        return pids

    def stop(self) -> None:
        if getattr(self, "_monitor", None) is not None:
            self._monitor.close()
        if (self.data / "postmaster.pid").exists():
            self.as_postgres(
                str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
            )

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, database: str, statement: str):
        """Run a statement; the `postgres` database's on one connection kept open (a new
        backend a query would add its start-up to the PostgreSQL CPU measured)."""
        import psycopg

        if database == "postgres":
            if getattr(self, "_monitor", None) is None:
                self._monitor = psycopg.connect(self.url(database), autocommit=True)
            cursor = self._monitor.execute(statement)
            return cursor.fetchall() if cursor.description else None
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else None

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            todo += [
                int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()
            ]
        except OSError:
            pass
    return pids


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (after the state field)
    return total / CLOCK_TICKS


# --- the servers and the clients -----------------------------------------------------------


class Gunicorn:
    def __init__(self, command: list[str], env: dict, chdir: Path, log: Path, base: str):
        self.command, self.env, self.chdir, self.log, self.base = command, env, chdir, log, base
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=self.chdir,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        host, port = urllib.parse.urlparse(self.base).netloc.split(":")
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command} exited: {self.log.read_text()[-2000:]}")
            try:
                connection = http.client.HTTPConnection(host, int(port), timeout=5)
                connection.request("GET", "/ok" if "bare" in self.command[-1] else "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.base} did not answer")

    def workers(self) -> list[int]:
        pid = self.process.pid
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def request(
    base: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, dict, bytes]:
    host, port = urllib.parse.urlparse(base).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(method, path, body, {"User-Agent": "gantong-capacity", **(headers or {})})
    response = connection.getresponse()
    answer = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), answer


def log_in(base: str, phone: str) -> tuple[str, str]:
    """Log in through the form; return the session cookie and where the login sent us."""
    status, headers, page = request(base, "GET", "/login")
    cookie = headers.get("Set-Cookie", "").split(";")[0]
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1).decode()
    body = urllib.parse.urlencode({"csrf_token": token, "phone": phone, "password": PASSWORD})
    status, headers, _ = request(
        base,
        "POST",
        "/login",
        body.encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    if status != 303 and status != 302:
        raise RuntimeError(f"login as {phone} answered {status}")
    return headers["Set-Cookie"].split(";")[0], urllib.parse.urlparse(headers["Location"]).path


@dataclass
class Work:
    """What one kind of request needs: where, how, and what a right answer is."""

    kind: str
    base: str
    make: object  # i -> (method, path, body, headers)
    expect: tuple[int, ...]


def drive(work: Work, count: int, clients: int, offset: int) -> int:
    """Send `count` requests of one kind from `clients` threads; return how many answered right."""
    right = [0] * clients

    def client(number: int) -> None:
        for i in range(number, count, clients):
            method, path, body, headers = work.make(offset + i)
            status, _, _ = request(work.base, method, path, body, headers)
            right[number] += status in work.expect

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(right)


# --- one measurement -----------------------------------------------------------------------


STATEMENTS_SQL = """
    SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s
    JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'capacity'"""


def snapshot(cluster: Cluster, standby: Cluster, app_pids: list[int]) -> dict:
    rows = cluster.sql(
        "postgres",
        f"""
        SELECT ({STATEMENTS_SQL}),
               pg_current_wal_lsn()::text,
               (SELECT wal_sync FROM pg_stat_wal)""",
    )
    calls, lsn, syncs = rows[0]
    replay_pids = standby.replay_pids()
    standby_pids = [p for p in process_tree(standby.postmaster_pid()) if p not in replay_pids]
    return {
        "app_cpu": cpu_seconds(app_pids),
        "pg_cpu": cpu_seconds(process_tree(cluster.postmaster_pid())),
        "calls": int(calls),
        "lsn": lsn,
        "syncs": int(syncs),
        "replica_cpu": cpu_seconds(standby_pids),
        "replay_cpu": cpu_seconds(replay_pids),
        "replica_calls": int(standby.sql("postgres", STATEMENTS_SQL)[0][0]),
    }


def measure(
    work: Work,
    cluster: Cluster,
    standby: Cluster,
    app_pids: list[int],
    count: int,
    clients: int,
    offset: int,
) -> dict:
    before = snapshot(cluster, standby, app_pids)
    started = time.monotonic()
    right = drive(work, count, clients, offset)
    seconds = time.monotonic() - started
    time.sleep(0.3)  # the WAL writer's and the stats' last flushes of this kind
    standby.wait_replayed(cluster)  # and the standby's replay of this kind's writes
    after = snapshot(cluster, standby, app_pids)
    wal_bytes, commits = 0.0, 0
    if after["lsn"] != before["lsn"]:
        wal_bytes = cluster.sql(
            "postgres", f"SELECT pg_wal_lsn_diff('{after['lsn']}', '{before['lsn']}')"
        )[0][0]
        try:
            commits = cluster.sql(
                "postgres",
                f"""
                SELECT coalesce(sum(count), 0) FROM pg_get_wal_stats('{before["lsn"]}',
                    least('{after["lsn"]}'::pg_lsn, pg_current_wal_flush_lsn()))
                WHERE "resource_manager/record_type" = 'Transaction'""",
            )[0][0]
        except Exception as error:  # noqa: BLE001
            # A few bytes of WAL (a page header, a hint) and no whole record: no commit in it.
            if "could not find a valid record" not in str(error):
                raise
            commits = 0
    # The bench's own statements (the snapshots) run in the `postgres` database: not counted.
    return {
        "requests": count,
        "answered_right": right,
        "requests_per_s": count / seconds,
        "app_cpu_ms": 1000 * (after["app_cpu"] - before["app_cpu"]) / count,
        "pg_cpu_ms": 1000 * (after["pg_cpu"] - before["pg_cpu"]) / count,
        "statements": (after["calls"] - before["calls"]) / count,
        "commits": int(commits) / count,
        "wal_bytes": float(wal_bytes) / count,
        "wal_flushes": (after["syncs"] - before["syncs"]) / count,
        # On the standby: its backends' CPU (the reads sent there) and its replay's.
        "replica_cpu_ms": 1000 * (after["replica_cpu"] - before["replica_cpu"]) / count,
        "replay_cpu_ms": 1000 * (after["replay_cpu"] - before["replay_cpu"]) / count,
        "replica_statements": (after["replica_calls"] - before["replica_calls"]) / count,
    }


def replay_rate(cluster: Cluster, standby: Cluster, count: int) -> dict:
    """How fast one standby's replay (a single process) gets through the scans' WAL when it has
    a backlog: replay paused while `count` scan records are stored, then resumed and timed.

    At the bench's rate of a few dozen scans a second every commit wakes the WAL sender, the
    receiver and the replay process (the per-scan replay CPU of the rounds); at the province's
    peak the WAL comes in long runs, as here. The records are copies of one the app stored,
    each INSERT in its own transaction as the app's, so the WAL is the same record mix: a
    heap insert, its index entries and a commit a scan (driving tens of thousands through one
    gunicorn worker would take most of an hour)."""
    standby.sql("postgres", "SELECT pg_wal_replay_pause()")
    while standby.sql("postgres", "SELECT pg_get_wal_replay_pause_state()")[0][0] != "paused":
        time.sleep(0.05)
    start_lsn = cluster.sql("postgres", "SELECT pg_current_wal_insert_lsn()::text")[0][0]
    columns = [
        row[0]
        for row in cluster.sql(
            "capacity",
            "SELECT column_name FROM information_schema.columns WHERE table_name = "
            "'verification_record' AND column_name NOT IN ('id', 'record_id') ORDER BY 1",
        )
    ]
    listed = ", ".join(columns)
    cluster.sql(
        "capacity",
        f"""
        DO $$
        DECLARE model integer := (SELECT max(id) FROM verification_record);
        BEGIN
            -- The commits' flushes do not change what is written, only when.
            SET LOCAL synchronous_commit = off;
            FOR i IN 1..{count} LOOP
                INSERT INTO verification_record (record_id, {listed})
                SELECT gen_random_uuid()::text, {listed} FROM verification_record
                WHERE id = model;
                COMMIT;
                SET LOCAL synchronous_commit = off;
            END LOOP;
        END $$""",
    )
    end_lsn = cluster.sql("postgres", "SELECT pg_current_wal_insert_lsn()::text")[0][0]
    # Everything received (the WAL receiver goes on while replay waits) before the clock starts.
    deadline = time.monotonic() + 120
    while not standby.sql("postgres", f"SELECT pg_last_wal_receive_lsn() >= '{end_lsn}'::pg_lsn")[
        0
    ][0]:
        if time.monotonic() > deadline:
            raise RuntimeError("the standby did not receive the backlog")
        time.sleep(0.05)
    startup = standby.process_named(b"startup")
    cpu_before, started = cpu_seconds(startup), time.monotonic()
    standby.sql("postgres", "SELECT pg_wal_replay_resume()")
    standby.wait_replayed(cluster, timeout=600, every=0.005)
    seconds, cpu = time.monotonic() - started, cpu_seconds(startup) - cpu_before
    wal_bytes = float(
        cluster.sql("postgres", f"SELECT pg_wal_lsn_diff('{end_lsn}', '{start_lsn}')")[0][0]
    )
    return {
        "scans": count,
        "wal_bytes_per_scan": wal_bytes / count,
        "replay_seconds": seconds,
        "replay_cpu_ms_per_scan": 1000 * cpu / count,
        # One replay process, one core at the most, and it waits for pages too: what it got
        # through a second of the clock is what a standby keeps up with.
        "scans_per_replay_second": count / seconds,
        "wal_mb_per_replay_second": wal_bytes / 1e6 / seconds,
    }


# --- the model -----------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    scans_per_million_s: float  # scans a second per million residents at the peak
    code_minutes_per_scan: float  # minutes the code page is open for each scan


def _over(limit: float, per_million: float) -> float:
    """Millions of people a limit holds (unbounded when a short run measured nothing)."""
    return limit / per_million if per_million > 0 else math.inf


def model(
    costs: dict, scenario: Scenario, requests_per_open_hour: float, args, replicas: bool = False
) -> dict:
    """Peak load per million residents and the population one primary holds on each resource;
    with `replicas`, the code page's and the scan's reads on replicas, and the replicas needed."""
    scans = scenario.scans_per_million_s
    pages = scans * scenario.code_minutes_per_scan * requests_per_open_hour / 60
    suffix = REPLICA_ON if replicas else ""
    scan, page = costs["one-tap scan" + suffix], costs["code page" + suffix]
    per_million = {}
    for name in (
        "app_cpu_ms",
        "pg_cpu_ms",
        "statements",
        "commits",
        "wal_bytes",
        "replica_cpu_ms",
        "replay_cpu_ms",
        "replica_statements",
    ):
        per_million[name] = scans * scan.get(name, 0) + pages * page.get(name, 0)
    app_cores = per_million["app_cpu_ms"] / 1000
    pg_cores = per_million["pg_cpu_ms"] / 1000
    wal_mb = per_million["wal_bytes"] / 1e6
    budget = args.primary_cores * args.primary_utilisation
    holds = {
        "PostgreSQL CPU": _over(budget, pg_cores),
        "write commits": _over(args.max_commits, per_million["commits"]),
        "WAL bytes": _over(args.max_wal_mb, wal_mb),
    }
    first = min(holds, key=holds.get)
    figures = {
        "scans_per_million_s": scans,
        "code_pages_per_million_s": pages,
        "app_cores_per_million": app_cores,
        "pg_cores_per_million": pg_cores,
        "statements_per_million_s": per_million["statements"],
        "commits_per_million_s": per_million["commits"],
        "wal_mb_per_million_s": wal_mb,
        "holds_millions": holds,
        "saturates_first": first,
        "one_primary_millions": holds[first],
    }
    if replicas:
        # Every replica replays the whole WAL stream whatever it serves; the reads are shared.
        reads = per_million["replica_cpu_ms"] / 1000
        replay = per_million["replay_cpu_ms"] / 1000
        figures["replica_read_cores_per_million"] = reads
        figures["replica_replay_cores_per_million"] = replay
        figures["replica_statements_per_million_s"] = per_million["replica_statements"]
        replay_cap = getattr(args, "scans_per_replay_second", None)
        if replay_cap:
            # The whole province's write stream through one process on each standby.
            figures["replay_process_share_at_goal"] = scans * args.population / replay_cap
        for label, millions in (
            ("at_what_one_primary_holds", holds[first]),
            ("at_goal", args.population),
        ):
            room = budget - millions * replay
            figures[f"replicas_{label}"] = math.ceil(millions * reads / room) if room > 0 else None
    return figures


def print_costs(rounds: list[dict]) -> dict:
    medians = {}
    print(
        "\n| per request | app CPU ms | PostgreSQL CPU ms | statements (round trips) "
        "| write commits | WAL bytes | WAL flushes | ratio to bare (app CPU) "
        "| replica: statements | replica: reads' CPU ms | replica: replay CPU ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    bare = statistics.median(r["bare template"]["app_cpu_ms"] for r in rounds)
    for kind in KINDS:
        if kind not in rounds[0]:
            continue  # a run saved before the replica kinds
        values = {name: [r[kind].get(name, 0) for r in rounds] for name in rounds[0][kind]}
        for name in ("replica_statements", "replica_cpu_ms", "replay_cpu_ms"):
            values.setdefault(name, [0.0] * len(rounds))
        medians[kind] = {name: statistics.median(v) for name, v in values.items()}

        def cell(name: str, digits: int, values: dict = values) -> str:
            v = values[name]
            return f"{statistics.median(v):,.{digits}f} ({min(v):,.{digits}f}–{max(v):,.{digits}f})"

        ratio = bare / medians[kind]["app_cpu_ms"]
        print(
            f"| {kind} | {cell('app_cpu_ms', 2)} | {cell('pg_cpu_ms', 2)} | "
            f"{cell('statements', 1)} | {cell('commits', 2)} | {cell('wal_bytes', 0)} | "
            f"{cell('wal_flushes', 2)} | {ratio:.3f}x | {cell('replica_statements', 1)} | "
            f"{cell('replica_cpu_ms', 2)} | {cell('replay_cpu_ms', 2)} |"
        )
    return medians


def print_replay(replay: dict) -> None:
    print(
        f"\nReplay with a backlog: {replay['scans']:,} scan records "
        f"({replay['wal_bytes_per_scan']:,.0f} WAL bytes each) replayed in "
        f"{replay['replay_seconds']:.2f} s, {replay['replay_cpu_ms_per_scan']:.3f} ms of the "
        f"replay process's CPU a scan: one standby replays at most "
        f"{replay['scans_per_replay_second']:,.0f} scans/s "
        f"({replay['wal_mb_per_replay_second']:.1f} MB/s of WAL) on this machine."
    )


def print_model(medians: dict, args) -> dict:
    xian = Scenario("Xi'an's design ratio", 1.2e6 / 60 / 13, args.code_minutes_per_scan)
    # 穗康: 99.48 million code displays in one day for about 18 million people; the busiest
    # hour carries --busiest-hour-share of the day, and every display is taken as a scan (an
    # upper bound for the writes).
    displays = 99.48e6 / 18 * args.busiest_hour_share / 3600
    suikang = Scenario("穗康-like day", displays, args.code_minutes_per_scan)
    out = {}
    print(
        f"\nAssumptions: the code page is open {args.code_minutes_per_scan:g} min per scan; "
        f"today it costs 60 requests an hour open, after issue 18 "
        f"{args.after_requests_per_hour:g}; one primary: {args.primary_cores} cores at "
        f"{args.primary_utilisation:.0%}, {args.max_commits:,.0f} write commits/s, "
        f"{args.max_wal_mb:g} MB/s of WAL; 穗康's busiest hour {args.busiest_hour_share:.0%} "
        f"of the day."
    )
    print(
        "\n| scenario | when | scans/s | code pages/s | app cores | PostgreSQL cores "
        "| round trips/s | write commits/s | WAL MB/s | one primary holds (CPU / commits / WAL) "
        "| saturates first |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    moments = [
        ("today", 60.0, False),
        ("after issue 18", args.after_requests_per_hour, False),
    ]
    if "code page" + REPLICA_ON in medians:
        moments += [
            ("today, replicas on", 60.0, True),
            ("after issue 18, replicas on", args.after_requests_per_hour, True),
        ]
    for scenario in (xian, suikang):
        for when, per_hour, replicas in moments:
            figures = model(medians, scenario, per_hour, args, replicas)
            out[f"{scenario.name}, {when}"] = figures
            m = args.population
            holds = figures["holds_millions"]
            print(
                f"| {scenario.name} | {when} | {figures['scans_per_million_s'] * m:,.0f} | "
                f"{figures['code_pages_per_million_s'] * m:,.0f} | "
                f"{figures['app_cores_per_million'] * m:,.0f} | "
                f"{figures['pg_cores_per_million'] * m:,.0f} | "
                f"{figures['statements_per_million_s'] * m:,.0f} | "
                f"{figures['commits_per_million_s'] * m:,.0f} | "
                f"{figures['wal_mb_per_million_s'] * m:,.1f} | "
                f"{holds['PostgreSQL CPU']:.1f} M / {holds['write commits']:.1f} M / "
                f"{holds['WAL bytes']:.1f} M | {figures['saturates_first']} "
                f"({figures['one_primary_millions']:.1f} million) |"
            )
    print(
        "\n| scenario | when | one primary holds | replica cores a million people: reads "
        "+ replay (each replica) | replicas of "
        f"{args.primary_cores} cores for that population | for {args.population:g} million "
        f"| each standby's replay at {args.population:g} million |"
    )
    print("|---|---|---|---|---|---|---|")
    for key, figures in out.items():
        if "replica_read_cores_per_million" not in figures:
            continue
        name, when = key.split(", ", 1)
        needed = figures["replicas_at_what_one_primary_holds"]
        at_goal = figures["replicas_at_goal"]
        print(
            f"| {name} | {when} | {figures['one_primary_millions']:.1f} million "
            f"({figures['saturates_first']}) | "
            f"{figures['replica_read_cores_per_million']:.2f} + "
            f"{figures['replica_replay_cores_per_million']:.2f} | "
            f"{needed if needed is not None else 'replay alone saturates'} | "
            f"{at_goal if at_goal is not None else 'replay alone saturates'} | "
            f"{figures.get('replay_process_share_at_goal', 0):.0%} of what it replays |"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests a kind a round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--pg-port", type=int, default=5133)
    parser.add_argument("--app-port", type=int, default=5134)
    parser.add_argument("--bare-port", type=int, default=5135)
    parser.add_argument("--standby-port", type=int, default=5136)
    parser.add_argument("--replica-app-port", type=int, default=5137)
    parser.add_argument(
        "--replay-scans", type=int, default=50_000, help="scan records stored while replay waits"
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/4",
        help="the rate limits' storage (emptied); database:// to keep them in PostgreSQL",
    )
    parser.add_argument("--population", type=float, default=45, help="millions (Jiangxi: 45)")
    parser.add_argument("--code-minutes-per-scan", type=float, default=2.0)
    parser.add_argument("--after-requests-per-hour", type=float, default=2.0)
    parser.add_argument("--busiest-hour-share", type=float, default=0.10)
    parser.add_argument("--primary-cores", type=int, default=64)
    parser.add_argument("--primary-utilisation", type=float, default=1.0)
    parser.add_argument("--max-commits", type=float, default=100_000)
    parser.add_argument("--max-wal-mb", type=float, default=200)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--costs", type=Path, help="model only, from a --json file of before")
    args = parser.parse_args()

    if args.costs:
        saved = json.loads(args.costs.read_text())
        medians = print_costs(saved["rounds"])
        if "replay" in saved:
            print_replay(saved["replay"])
            args.scans_per_replay_second = saved["replay"]["scans_per_replay_second"]
        print_model(medians, args)
        return

    folder = Path(tempfile.mkdtemp(prefix="gantong-capacity-"))
    cluster = Cluster(folder, args.pg_port)
    (folder / "standby").mkdir()
    standby = Cluster(folder / "standby", args.standby_port)
    servers: list[Gunicorn] = []
    try:
        cluster.start()
        if args.redis_url.startswith("redis"):
            import redis

            redis.Redis.from_url(args.redis_url).flushdb()
        env = {
            **os.environ,
            "DATABASE_URL": cluster.url("capacity"),
            "SECRET_KEY": "capacity-bench",
            "PUBLIC_URL": "http://127.0.0.1",
            "FLASK_DEBUG": "0",
            "TOKEN_TTL": "3600",
            "WEB_CONCURRENCY": "1",
            "RECORD_LIMIT_PER_STAFF": "1000000 per minute",
            "RECORD_LIMIT_PER_POINT": "1000000 per minute",
            "VERIFY_LIMIT_PER_STAFF": "1000000 per minute",
            # The limits' counters in Redis, as deployed (docs/deployment.md): their upserts
            # are not the primary's work.
            "RATELIMIT_STORAGE_URI": args.redis_url,
        }
        needed = args.requests * args.rounds
        subprocess.run(
            [sys.executable, "-c", PREPARE_SOURCE, "60", str(needed), str(folder), STAFF],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        standby.start_standby_of(cluster)
        standby.wait_replayed(cluster)
        tokens = [line.split("\t") for line in (folder / "tokens.txt").read_text().splitlines()]
        records = [line.split(" ") for line in (folder / "records.txt").read_text().splitlines()]

        app_base = f"http://127.0.0.1:{args.app_port}"
        bare_base = f"http://127.0.0.1:{args.bare_port}"
        # Only the prepared tokens need TOKEN_TTL=3600 (they outlive the run; a token carries its
        # own lifetime): the servers keep the deployment's, or the code page they serve carries
        # more inline CSS than residents get (bench/throughput.py, served_env).
        env = {key: value for key, value in env.items() if key != "TOKEN_TTL"}
        app = Gunicorn(
            [str(VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "app:app"],
            {**env, "GANTONG_BIND": f"127.0.0.1:{args.app_port}"},
            ROOT,
            folder / "app.log",
            app_base,
        )
        bare = Gunicorn(
            [
                str(VENV_BIN / "gunicorn"),
                "-w",
                "1",
                "-b",
                f"127.0.0.1:{args.bare_port}",
                "bare_app:app",
            ],
            env,
            BENCH,
            folder / "bare.log",
            bare_base,
        )
        replica_base = f"http://127.0.0.1:{args.replica_app_port}"
        replica_app = Gunicorn(
            [str(VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "app:app"],
            {
                **env,
                "GANTONG_BIND": f"127.0.0.1:{args.replica_app_port}",
                "DATABASE_REPLICA_URLS": standby.url("capacity"),
            },
            ROOT,
            folder / "replica_app.log",
            replica_base,
        )
        servers = [app, bare, replica_app]
        for server in servers:
            server.start()

        resident, home = log_in(app_base, RESIDENT)
        _, _, _ = request(app_base, "GET", home, headers={"Cookie": resident})
        code_path = None
        status, headers, _ = request(app_base, "GET", "/me", headers={"Cookie": resident})
        code_path = urllib.parse.urlparse(headers.get("Location", "/me")).path
        if not re.fullmatch(r"/me/people/\d+", code_path):
            raise RuntimeError(f"/me sent the resident to {code_path}, not a code page")
        staff, _ = log_in(app_base, STAFF)

        def scan(i: int):
            text, colour = tokens[i % len(tokens)]
            body = json.dumps(
                {
                    "record_id": str(__import__("uuid").uuid4()),
                    "token": text,
                    "scanned_at": int(time.time()),
                    "shown_colour": colour,
                    "offline": False,
                    "temperature": "36.5",
                    "decision": "pass" if colour == "green" else "refer",
                    "note": "",
                }
            ).encode()
            return (
                "POST",
                "/checkpoint/scan-records",
                body,
                {
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "Cookie": staff,
                    "Accept-Encoding": "gzip",
                },
            )

        def submit(i: int):
            record_id, reference = records[i]
            body = urllib.parse.urlencode(
                {
                    "record_id": record_id,
                    "reference": reference,
                    "temperature": "36.5",
                    "decision": "pass",
                    "note": "",
                }
            ).encode()
            return (
                "POST",
                "/checkpoint/records",
                body,
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": staff,
                    "Accept-Encoding": "gzip",
                },
            )

        works = {
            "bare template": Work(
                "bare template",
                bare_base,
                lambda i: ("GET", "/template", None, {"Accept-Encoding": "gzip"}),
                (200,),
            ),
            "code page": Work(
                "code page",
                app_base,
                lambda i: ("GET", code_path, None, {"Cookie": resident, "Accept-Encoding": "gzip"}),
                (200,),
            ),
            "one-tap scan": Work("one-tap scan", app_base, scan, (201,)),
            "record submit": Work("record submit", app_base, submit, (303,)),
            # The same session cookies: both servers are one app on one database.
            "code page" + REPLICA_ON: Work(
                "code page" + REPLICA_ON,
                replica_base,
                lambda i: ("GET", code_path, None, {"Cookie": resident, "Accept-Encoding": "gzip"}),
                (200,),
            ),
            "one-tap scan" + REPLICA_ON: Work(
                "one-tap scan" + REPLICA_ON, replica_base, scan, (201,)
            ),
        }
        # A warm-up of each kind (connections, caches), not counted.
        for kind in (
            "code page",
            "one-tap scan",
            "code page" + REPLICA_ON,
            "one-tap scan" + REPLICA_ON,
        ):
            drive(works[kind], 20, 1, 0)
        rounds = []
        for number in range(args.rounds):
            figures = {}
            for kind in KINDS:
                server = bare if kind == "bare template" else app
                server = replica_app if kind.endswith(REPLICA_ON) else server
                figures[kind] = measure(
                    works[kind],
                    cluster,
                    standby,
                    server.workers(),
                    args.requests,
                    args.clients,
                    number * args.requests,
                )
                if figures[kind]["answered_right"] != args.requests:
                    raise RuntimeError(f"{kind}: {figures[kind]}")
            rounds.append(figures)
            print(
                f"round {number + 1}: "
                + json.dumps(
                    {k: {n: round(v, 3) for n, v in f.items()} for k, f in figures.items()}
                ),
                flush=True,
            )
        medians = print_costs(rounds)
        replay = replay_rate(cluster, standby, args.replay_scans)
        print_replay(replay)
        args.scans_per_replay_second = replay["scans_per_replay_second"]
        model_figures = print_model(medians, args)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "rounds": rounds,
                        "medians": medians,
                        "replay": replay,
                        "model": model_figures,
                        "options": {k: str(v) for k, v in vars(args).items()},
                    },
                    indent=1,
                    ensure_ascii=False,
                )
            )
    finally:
        for server in servers:
            server.stop()
        standby.stop()
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
