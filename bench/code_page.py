"""Benchmark: the code page (the page residents open most) through gunicorn on SQLite.

Run: .venv/bin/python bench/code_page.py [--seconds 10] [--threads 8]
Prints requests per second, latency percentiles and the compressed size of the page.
"""

from __future__ import annotations

import argparse
import gzip
import http.cookiejar
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def logged_in_opener(base: str, phone: str):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(base + "/login").read().decode()
    token = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    data = urllib.parse.urlencode(
        {"csrf_token": token, "phone": phone, "password": "gantong-demo"}
    ).encode()
    opener.open(base + "/login", data)
    return opener


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite",
        "SECRET_KEY": "bench",
        "PUBLIC_URL": "http://127.0.0.1",
    }
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run(flask + ["db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(flask + ["gantong", "demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(args.workers),
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "app:app",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/login", timeout=5)
                break
            except OSError:
                time.sleep(0.1)
        openers = [logged_in_opener(base, "13900000006") for _ in range(args.threads)]
        request = urllib.request.Request(base + "/me/people/3", headers={"Accept-Encoding": "gzip"})
        body = openers[0].open(request).read()
        size = len(body)
        assert gzip.decompress(body).count(b"<svg") >= 1
        latencies: list[float] = []
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds

        def worker(opener):
            local = []
            while time.monotonic() < deadline:
                start = time.perf_counter()
                opener.open(request).read()
                local.append(time.perf_counter() - start)
            with lock:
                latencies.extend(local)

        threads = [threading.Thread(target=worker, args=(opener,)) for opener in openers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(10)
    latencies.sort()
    print(f"code page (red demo holder): {size} bytes gzip")
    print(
        f"{len(latencies)} requests in {args.seconds:.0f} s with {args.threads} clients, "
        f"{args.workers} gunicorn workers: {len(latencies) / args.seconds:.0f} req/s"
    )
    print(
        f"latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
