"""Two app hosts behind HAProxy; one is killed with SIGKILL under a scan-record load.

Run from the repository root (one command; about 40 s):
    .venv/bin/python bench/failover/failover.py --database-url postgresql://postgres@127.0.0.1:5432/test_i19h \
        --redis-url redis://127.0.0.1:6379/4

What it does:
- empties the database's public schema (it refuses `test` and `postgres`), migrates it and loads
  the demo data with the `flask` CLI; empties the Redis database given;
- starts two app hosts, each `gunicorn -c deploy/gunicorn.conf.py app:app` with 2 sync workers,
  on their own loopback addresses (127.0.0.2 and 127.0.0.3), sharing the database, Redis (the
  rate-limit counters) and SECRET_KEY (sessions and the sealed signing keys), as
  docs/deployment.md deploys them; and HAProxy with deploy/haproxy.cfg in front, on 127.0.0.1;
- checks that the limits are shared: failed logins for one account from one address, sent to
  the two hosts directly in turn, are refused on the sixth (5 a minute), whichever host counts;
- runs a scan-record load through the balancer: several clients, each sending one
  `POST /checkpoint/scan-records` at a time as the scan page's queue does (the staff session,
  live tokens of the demo holders, a fresh record id per person); a record that gets no answer,
  a connection error or a 5xx is sent again, the same body with the same id, until it is
  acknowledged (201 stored, or 200 for a repeat);
- SIGKILLs the second host's whole process group (master and workers: the host is gone) at
  --kill-at, starts it again at --restart-at, and polls HAProxy's admin socket for when the
  balancer marks it DOWN and UP;
- at the end checks that every acknowledged record id is stored exactly once and that nothing
  is stored that was not acknowledged, and reports the failures clients saw (5xx and connection
  errors), the longest window of failures against the health check's detection time, and how
  long the load took to recover (from the kill to the last failure, and to the throughput of
  before the kill).

The one place that imports gantong is MINT_SOURCE (live tokens), run in its own process.
`run()` is what tests/system/test_failover.py calls for a short run.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
HAPROXY = os.environ.get("HAPROXY", "/usr/sbin/haproxy")
STAFF = "13900000002"  # the demo checkpoint volunteer
RESIDENT = "13900000006"  # the red demo holder's account: the login limit is tried on it
PASSWORD = "gantong-demo"
HOST_ADDRESSES = ("127.0.0.2", "127.0.0.3")
# What the health check promises (deploy/haproxy.cfg): checked every `inter`, out after `fall`
# failures in a row, so a dead host stops getting requests within inter x fall (+ a check's
# connect timeout); live-traffic errors make it sooner (fastinter).
CHECK_INTER, CHECK_FALL, CHECK_RISE = 1.0, 2, 2

# The one place that imports gantong: in one process (one import of the app, which takes seconds
# on a loaded machine), the migrations as `flask db upgrade`, the demo data as
# `flask gantong demo`, and live screen tokens of the demo holders as their code pages show them.
PREPARE_SOURCE = r"""
import sys
from gantong import create_app
from gantong.codes import keys
from gantong.extensions import db
from gantong.models import Holder

count, out = int(sys.argv[1]), sys.argv[2]
app = create_app()
for command in (["db", "upgrade"], ["gantong", "demo"]):
    done = app.test_cli_runner().invoke(args=command)
    if done.exit_code != 0:
        sys.exit(f"flask {' '.join(command)} failed: {done.output} {done.exception!r}")
with app.app_context(), open(out, "w") as handle:
    people = db.session.scalars(db.select(Holder).order_by(Holder.id)).all()
    for i in range(count):
        token, text = keys.signed_screen_token(people[i % len(people)])
        handle.write(text + "\t" + token.colour + "\n")  # base45 has spaces, never a tab
"""
# The rows stored, by record id (the table of gantong.models.VerificationRecord).
COUNT_SQL = """
    SELECT record_id, count(*) FROM verification_record
    WHERE recorded_at IS NOT NULL GROUP BY record_id
"""


@dataclass
class Attempt:
    """One try of one record: when it was sent and answered, and how it ended."""

    client: int
    record_id: str
    sent: float
    answered: float
    outcome: str  # "201", "200", "502", ..., or "conn:<error>"


@dataclass
class Result:
    acknowledged: int = 0
    stored: int = 0
    duplicates: int = 0
    lost: list = field(default_factory=list)
    unacknowledged_stored: list = field(default_factory=list)
    attempts: int = 0
    failures: dict = field(default_factory=dict)
    other_answers: dict = field(default_factory=dict)
    login_statuses: list = field(default_factory=list)
    login_limit_shared: bool = False
    killed_at: float = 0.0
    marked_down_after: float | None = None
    restarted_after: float | None = None
    marked_up_after: float | None = None
    first_failure_after: float | None = None
    last_failure_after: float | None = None
    failure_window: float = 0.0
    longest_wait_for_ack: float = 0.0
    recovered_after: float | None = None
    acknowledged_after_kill: int = 0
    longest_gap: float = 0.0
    rate_before: float = 0.0
    rate_down: float = 0.0
    rate_after: float = 0.0
    seconds: float = 0.0
    served_by: dict = field(default_factory=dict)
    steps: dict = field(default_factory=dict)  # seconds each step of the set-up took

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def reset_database(url: str) -> None:
    """Empty the public schema of a scratch database (refusing the shared ones)."""
    import psycopg

    name = urllib.parse.urlparse(url).path.lstrip("/")
    if name in ("", "test", "postgres"):
        raise SystemExit(f"refusing to empty the database {name!r}: give a scratch one")
    with psycopg.connect(plain_url(url), autocommit=True) as connection:
        connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
        connection.execute("CREATE SCHEMA public")


def plain_url(url: str) -> str:
    return re.sub(r"^postgresql(\+psycopg)?://", "postgresql://", url)


def stored_rows(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(plain_url(url)) as connection:
        return dict(connection.execute(COUNT_SQL).fetchall())


def python_snippet(env: dict, source: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-c", source, *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


class Host:
    """One app host: a gunicorn master and its workers in a process group of their own."""

    def __init__(self, name: str, address: str, port: int, env: dict, log: Path):
        self.name, self.address, self.port, self.env, self.log = name, address, port, env, log
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://{self.address}:{self.port}"

    def start(self) -> None:
        env = {**self.env, "GANTONG_BIND": f"{self.address}:{self.port}"}
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "app:app"],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, deadline_seconds: float = 60) -> None:
        wait_for(self.base + "/healthz", self.process, self.log, deadline_seconds)

    def kill(self) -> None:
        """SIGKILL the master and every worker at once: the host is gone, mid-request."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            try:
                # SIGQUIT: gunicorn's quick shutdown (the load has ended; nothing is in flight).
                os.killpg(self.process.pid, signal.SIGQUIT)
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def wait_for(url: str, process: subprocess.Popen, log: Path, deadline_seconds: float) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited: see {log}\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered at {url}: see {log}")


class Balancer:
    """HAProxy with deploy/haproxy.cfg, in the foreground, and its admin socket."""

    def __init__(self, port: int, hosts: list[Host], workdir: Path, maxconn: int):
        self.port, self.hosts, self.workdir, self.maxconn = port, hosts, workdir, maxconn
        self.socket_path = workdir / "haproxy.sock"
        self.log = workdir / "haproxy.log"
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "GANTONG_FRONTEND": f"127.0.0.1:{self.port}",
            "GANTONG_HOST1": f"{self.hosts[0].address}:{self.hosts[0].port}",
            "GANTONG_HOST2": f"{self.hosts[1].address}:{self.hosts[1].port}",
            "GANTONG_HOST_MAXCONN": str(self.maxconn),
            "HAPROXY_STATS_SOCKET": str(self.socket_path),
        }
        self.process = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.base + "/healthz", self.process, self.log, 30)

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(self.socket_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_states(self) -> dict[str, dict]:
        """status (UP/DOWN/...) and total sessions per server, from `show stat` (CSV)."""
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        states = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "app_hosts" and row.get("svname", "").startswith("host"):
                states[row["svname"]] = {"status": row["status"], "sessions": int(row["stot"])}
        return states

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Browser:
    """A cookie jar and the last page's CSRF token, on one base address."""

    def __init__(self, base: str, forwarded_for: str | None = None):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("User-Agent", "gantong-failover"), ("Accept-Language", "en")]
        if forwarded_for:  # what the balancer would add: the client's own address
            self.opener.addheaders.append(("X-Forwarded-For", forwarded_for))

    def csrf(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            html = response.read().decode()
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
        if not match:
            raise RuntimeError(f"no csrf_token on {path}")
        return match.group(1)

    def post_login(self, phone: str, password: str) -> tuple[int, str]:
        data = urllib.parse.urlencode(
            {"csrf_token": self.csrf("/login"), "phone": phone, "password": password}
        ).encode()
        try:
            with self.opener.open(self.base + "/login", data, timeout=30) as response:
                return response.status, urllib.parse.urlparse(response.geturl()).path
        except urllib.error.HTTPError as error:
            return error.code, ""

    @property
    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def login_limit_is_shared(hosts: list[Host]) -> list[int]:
    """Failed logins on one account from one address, to each host directly in turn.

    Both requests say the same client address in X-Forwarded-For, as HAProxy would (the hosts
    run with PROXY_COUNT=1): 5 failures a minute are allowed per address and account, so the
    sixth is 429 only if the hosts count in the same place (Redis here).
    """
    statuses = []
    for attempt in range(6):
        host = hosts[attempt % 2]
        browser = Browser(host.base, forwarded_for="198.51.100.19")
        status, _ = browser.post_login(RESIDENT, "not-the-password")
        statuses.append(status)
    return statuses


class Load:
    """Clients sending scan records through the balancer, retrying each until acknowledged."""

    def __init__(
        self, balancer_port: int, cookie: str, tokens: list[tuple[str, str]], clients: int
    ):
        self.port, self.cookie, self.tokens, self.clients = balancer_port, cookie, tokens, clients
        self.attempts: list[Attempt] = []
        self.acknowledged: dict[str, int] = {}  # record id -> client
        self.sent: set[str] = set()
        self.stop_new = threading.Event()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []

    def start(self) -> None:
        for client in range(self.clients):
            thread = threading.Thread(target=self.client, args=(client,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self.threads):
            self.errors.append("a client was still retrying a record at the end")

    def post(self, connection: http.client.HTTPConnection | None, body: bytes):
        """One try; returns (outcome, connection to reuse or None)."""
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Language": "en",
            "Cookie": self.cookie,
            "User-Agent": "gantong-failover",
        }
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            connection.request("POST", "/checkpoint/scan-records", body, headers)
            response = connection.getresponse()
            answer = response.read()
            keep = connection if not response.will_close else None
            if keep is None:
                connection.close()
            return str(response.status), answer, keep
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            return f"conn:{type(error).__name__}", b"", None

    def client(self, client: int) -> None:
        connection = None
        turn = client
        while not self.stop_new.is_set():
            text, colour = self.tokens[turn % len(self.tokens)]
            turn += self.clients
            record_id = str(uuid.uuid4())
            body = json.dumps(
                {
                    "record_id": record_id,
                    "token": text,
                    "scanned_at": int(time.time()),
                    "shown_colour": colour,
                    "offline": False,
                    "temperature": "36.5",
                    "decision": "pass" if colour == "green" else "refer",
                    "note": "",
                }
            ).encode()
            with self.lock:
                self.sent.add(record_id)
            pause = 0.05
            # The same body, the same id, until it is acknowledged: what the scan page's queue does.
            while True:
                sent = time.monotonic()
                outcome, answer, connection = self.post(connection, body)
                with self.lock:
                    self.attempts.append(
                        Attempt(client, record_id, sent, time.monotonic(), outcome)
                    )
                if outcome in ("201", "200"):
                    with self.lock:
                        self.acknowledged[record_id] = client
                    break
                if outcome == "409" or outcome == "422":
                    with self.lock:
                        self.errors.append(f"{record_id}: {outcome} {answer[:200]!r}")
                    break
                time.sleep(pause)
                pause = min(pause * 2, 0.5)


def read_tokens(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("\t")) for line in path.read_text().splitlines() if line]


def run(
    database_url: str,
    redis_url: str,
    workdir: Path,
    clients: int = 8,
    kill_at: float = 6.0,
    restart_at: float | None = 14.0,
    seconds: float = 22.0,
    workers: int = 2,
    balancer_port: int | None = None,
    host_port: int | None = None,
) -> Result:
    """Set everything up, run the load with the kill, check the rows; return the figures."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RATELIMIT_STORAGE_URI": redis_url,
        # One value on every host: sessions, CSRF tokens and the sealed signing keys.
        "SECRET_KEY": "failover-" + uuid.uuid4().hex,
        "PROXY_COUNT": "1",
        "PUBLIC_URL": "http://127.0.0.1",
        "FLASK_DEBUG": "0",
        "TOKEN_TTL": "3600",
        "WEB_CONCURRENCY": str(workers),
        # One demo volunteer stands for a whole station's: the record limits are lifted (the
        # login limit, which the run checks, is not).
        "RECORD_LIMIT_PER_STAFF": "1000000 per minute",
        "RECORD_LIMIT_PER_POINT": "1000000 per minute",
        "VERIFY_LIMIT_PER_STAFF": "1000000 per minute",
    }
    env.pop("GANTONG_TEST_BASE_URL", None)
    result = Result()
    clock = [time.monotonic()]

    def step(name: str) -> None:
        now = time.monotonic()
        result.steps[name] = round(now - clock[0], 2)
        clock[0] = now

    reset_database(database_url)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    tokens_file = workdir / "tokens.txt"
    python_snippet(env, PREPARE_SOURCE, "60", str(tokens_file))
    tokens = read_tokens(tokens_file)
    step("migrate, demo data, tokens")

    port = host_port or free_port(HOST_ADDRESSES[0])
    hosts = [
        Host(f"host{i + 1}", address, port, env, workdir / f"host{i + 1}.log")
        for i, address in enumerate(HOST_ADDRESSES)
    ]
    balancer = Balancer(balancer_port or free_port("127.0.0.1"), hosts, workdir, workers)
    try:
        for host in hosts:
            host.start()
        for host in hosts:
            host.wait_ready()
        step("hosts up")
        balancer.start()
        step("balancer up")
        result.login_statuses = login_limit_is_shared(hosts)
        result.login_limit_shared = result.login_statuses == [200] * 5 + [429]
        step("login limit")

        staff = Browser(balancer.base)
        status, landed = staff.post_login(STAFF, PASSWORD)
        if landed.startswith("/login"):
            raise RuntimeError(f"the staff login failed through the balancer ({status})")
        load = Load(balancer.port, staff.cookie, tokens, clients)
        states: list[tuple[float, dict]] = []
        start = time.monotonic()
        load.start()
        killed = restarted = False
        while (now := time.monotonic()) - start < seconds:
            try:
                states.append((now, balancer.server_states()))
            except OSError:
                pass
            if not killed and now - start >= kill_at:
                hosts[1].kill()
                result.killed_at = time.monotonic() - start
                killed = True
            if restart_at is not None and not restarted and now - start >= restart_at:
                hosts[1].start()
                result.restarted_after = time.monotonic() - start - result.killed_at
                restarted = True
            time.sleep(0.1)
        load.stop_new.set()
        load.join(60)
        result.seconds = time.monotonic() - start
        clock[0] = time.monotonic()
        result.served_by = {name: state["sessions"] for name, state in states[-1][1].items()}
        stored = stored_rows(database_url)
        step("count rows")
    finally:
        balancer.stop()
        for host in hosts:
            host.stop()
    step("stop")

    kill_time = start + result.killed_at
    for when, state in states:
        host2 = state.get("host2", {}).get("status", "")
        if when > kill_time and result.marked_down_after is None and host2.startswith("DOWN"):
            result.marked_down_after = when - kill_time
        if (
            result.restarted_after is not None
            and when > kill_time + result.restarted_after
            and result.marked_down_after is not None
            and result.marked_up_after is None
            and host2.startswith("UP")
            and not host2.startswith("UP ")  # "UP 1/2" is still rising
        ):
            result.marked_up_after = when - kill_time - result.restarted_after

    summarise(result, load, stored, start, kill_time)
    return result


def summarise(result: Result, load: Load, stored: dict, start: float, kill_time: float) -> None:
    """Fill in the checks and figures from the attempts and the rows stored."""
    acknowledged = set(load.acknowledged)
    result.acknowledged = len(acknowledged)
    result.stored = sum(1 for record_id in stored if record_id in load.sent)
    result.duplicates = sum(count - 1 for count in stored.values() if count > 1)
    result.lost = sorted(acknowledged - set(stored))
    result.unacknowledged_stored = sorted(set(stored) - acknowledged)
    result.attempts = len(load.attempts)
    failures = [a for a in load.attempts if a.outcome not in ("201", "200")]
    for attempt in failures:
        result.failures[attempt.outcome] = result.failures.get(attempt.outcome, 0) + 1
    for error in load.errors:
        result.other_answers[error] = result.other_answers.get(error, 0) + 1
    if failures:
        result.first_failure_after = min(a.answered for a in failures) - kill_time
        result.last_failure_after = max(a.answered for a in failures) - kill_time
        result.failure_window = max(a.answered for a in failures) - min(a.sent for a in failures)
    # The longest any record waited from its first try to its acknowledgement, among those that
    # needed more than one try: what a volunteer's queue would show as "waiting".
    first_try: dict[str, float] = {}
    for attempt in load.attempts:
        first_try.setdefault(attempt.record_id, attempt.sent)
    retried = {a.record_id for a in failures}
    waits = [
        a.answered - first_try[a.record_id]
        for a in load.attempts
        if a.outcome in ("201", "200") and a.record_id in retried
    ]
    result.longest_wait_for_ack = max(waits, default=0.0)

    # Acknowledgements a second, before the kill and after.
    acks = sorted(a.answered for a in load.attempts if a.outcome in ("201", "200"))
    result.acknowledged_after_kill = sum(1 for t in acks if t > kill_time)
    # The longest time from the kill on in which no record at all was acknowledged.
    marks = [kill_time] + [t for t in acks if t > kill_time]
    result.longest_gap = max((b - a for a, b in zip(marks, marks[1:], strict=False)), default=0.0)
    before = [t for t in acks if start + 1 <= t < kill_time]
    result.rate_before = len(before) / max(kill_time - start - 1, 1e-9)
    # Recovered: the first half-second after the kill from which on no try failed and the
    # acknowledgements ran at least at 80 % of the rate before the kill (the one host left has
    # the same two cores here, so it can).
    end = max(acks, default=kill_time)
    window, step = 0.5, 0.1
    last_failure = kill_time + (result.last_failure_after or 0.0)
    t = kill_time
    while t + window <= end:
        in_window = sum(1 for x in acks if t <= x < t + window) / window
        if t >= last_failure and in_window >= 0.8 * result.rate_before:
            result.recovered_after = t - kill_time
            break
        t += step
    restart = end if result.restarted_after is None else kill_time + result.restarted_after
    down = [x for x in acks if kill_time <= x < restart]
    result.rate_down = len(down) / max(restart - kill_time, 1e-9)
    if result.restarted_after is not None:
        after = [x for x in acks if x >= restart]
        result.rate_after = len(after) / max(end - restart, 1e-9)


def report(result: Result) -> str:
    lines = [
        f"records acknowledged {result.acknowledged}, stored {result.stored}, "
        f"duplicates {result.duplicates}, lost {len(result.lost)}, "
        f"stored but never acknowledged {len(result.unacknowledged_stored)}",
        f"tries {result.attempts}, failed tries {sum(result.failures.values())}: {result.failures}",
        f"other answers: {result.other_answers or 'none'}",
        f"login limit across hosts: {result.login_statuses} -> shared: {result.login_limit_shared}",
        f"host2 killed at {result.killed_at:.2f} s; HAProxy marked it DOWN after "
        f"{fmt(result.marked_down_after)} (health check: every {CHECK_INTER:g} s, "
        f"down after {CHECK_FALL} failures = {CHECK_INTER * CHECK_FALL:g} s)",
        f"failures seen from {fmt(result.first_failure_after)} to "
        f"{fmt(result.last_failure_after)} after the kill: window {result.failure_window:.2f} s; "
        f"longest wait of a retried record for its acknowledgement {result.longest_wait_for_ack:.2f} s",
        f"load recovered (no failure since, >= 80 % of the rate before) {fmt(result.recovered_after)} "
        f"after the kill; longest time with no record acknowledged after the kill "
        f"{result.longest_gap:.2f} s",
        f"acknowledged records/s: before the kill {result.rate_before:.1f}, one host "
        f"{result.rate_down:.1f}, after the restart {result.rate_after:.1f}",
        f"host2 restarted {fmt(result.restarted_after)} after the kill; marked UP "
        f"{fmt(result.marked_up_after)} after its restart; requests per host {result.served_by}",
        f"set-up and tear-down, seconds: {result.steps}",
    ]
    return "\n".join(lines)


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a scratch PostgreSQL database")
    parser.add_argument("--redis-url", required=True, help="a Redis database to empty and use")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=24.0)
    parser.add_argument("--kill-at", type=float, default=8.0)
    parser.add_argument("--restart-at", type=float, default=16.0, help="0: do not restart")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers a host")
    parser.add_argument("--balancer-port", type=int)
    parser.add_argument("--host-port", type=int)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write every round's figures here")
    parser.add_argument("--keep", type=Path, help="keep the logs (hosts, HAProxy) in this folder")
    args = parser.parse_args()
    results = []
    for round_number in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="gantong-failover-") as folder:
            workdir = Path(folder)
            if args.keep:
                workdir = args.keep / f"round{round_number + 1}"
                workdir.mkdir(parents=True, exist_ok=True)
            result = run(
                args.database_url,
                args.redis_url,
                workdir,
                clients=args.clients,
                kill_at=args.kill_at,
                restart_at=args.restart_at or None,
                seconds=args.seconds,
                workers=args.workers,
                balancer_port=args.balancer_port,
                host_port=args.host_port,
            )
        print(f"== round {round_number + 1}\n{report(result)}", flush=True)
        results.append(result.as_dict())
    if args.rounds > 1:
        for name in ("marked_down_after", "failure_window", "recovered_after"):
            values = [r[name] for r in results if r[name] is not None]
            if values:
                print(
                    f"{name}: min {min(values):.2f} median {statistics.median(values):.2f} "
                    f"max {max(values):.2f} s"
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    ok = all(
        not r["lost"]
        and not r["duplicates"]
        and not r["unacknowledged_stored"]
        and r["login_limit_shared"]
        and not r["other_answers"]
        for r in results
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
