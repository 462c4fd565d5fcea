"""Benchmark: what one open code page costs the server in an hour, before and after issue 18.

Run: .venv/bin/python bench/code_page_hour.py [--database-url URL] [--port 5111]
     .venv/bin/python bench/code_page_hour.py --throttle-draws 20   # also time the QR drawing

Migrates a fresh database (a temporary SQLite file, or the PostgreSQL database given, whose
public schema is dropped first), loads the demo data and serves the app in this process. Debian's
Chromium logs in as the green demo resident and opens the code page; Playwright's clock then runs
an hour (in one-minute steps, letting every request the page makes finish) while the server
counts what reaches it: HTTP requests, response bytes (headers and body as sent, gzip where
the client took it), database statements and the transactions' BEGIN, COMMIT or ROLLBACK and
the pool's reset (each a round trip on PostgreSQL).

"before" is the code page without holder-code.js (the bench blocks that one script): htmx
refreshes the card every 60 s, as before issue 18 (run `--phases before` on a checkout of the
commit before it for the server's work of then: since issue 18 the dynamic number is derived,
not written). "after" is the page with it: presentations made on the phone,
one conditional request for the credential every 30 minutes.

With --throttle-draws N it also times, under Chromium's 4x CPU throttling (CDP
Emulation.setCPUThrottlingRate), N presentations (signing included) and N QR drawings on the page.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROME_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GREEN_DEMO = "13900000001"


class Tally:
    """What reached the server: requests, bytes sent, statements, commits; by path."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.requests: list[str] = []
            self.bytes = 0
            self.statements = 0
            self.commits = 0  # BEGIN, COMMIT, ROLLBACK and pool resets

    def wrap(self, wsgi_app):
        def counted(environ, start_response):
            with self.lock:
                self.requests.append(environ["REQUEST_METHOD"] + " " + environ["PATH_INFO"])

            def counted_start(status, headers, *args):
                # The status line and headers as HTTP/1.1 sends them: a 304 is nothing else.
                size = len(f"HTTP/1.1 {status}\r\n") + 2
                size += sum(len(f"{name}: {value}\r\n") for name, value in headers)
                with self.lock:
                    self.bytes += size
                return start_response(status, headers, *args)

            for chunk in wsgi_app(environ, counted_start):
                with self.lock:
                    self.bytes += len(chunk)
                yield chunk

        return counted


def fresh_database(url: str | None) -> dict:
    """Return the environment of a migrated database holding the demo data."""
    env = {**os.environ, "SECRET_KEY": "bench", "PUBLIC_URL": "http://127.0.0.1"}
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        env["DATABASE_URL"] = url
    else:
        env["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    for command in (["db", "upgrade"], ["gantong", "demo"]):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True, capture_output=True)
    return env


def serve(env: dict, port: int, tally: Tally):
    """Serve the app in a thread, counting into tally; return the server."""
    from sqlalchemy import event
    from werkzeug.serving import make_server

    os.environ.update({key: env[key] for key in ("DATABASE_URL", "SECRET_KEY", "PUBLIC_URL")})
    from gantong import create_app
    from gantong.extensions import db

    app = create_app({"RATELIMIT_ENABLED": False})
    with app.app_context():
        engine = db.engine

    def statement(*args):
        with tally.lock:
            tally.statements += 1

    def transaction_end(*args):
        with tally.lock:
            tally.commits += 1

    # Besides its statements, a request's transaction costs a BEGIN (psycopg sends it on its
    # own), a COMMIT or ROLLBACK, and the pool's reset when the connection goes back.
    event.listen(engine, "before_cursor_execute", statement)
    for name in ("begin", "commit", "rollback"):
        event.listen(engine, name, transaction_end)
    event.listen(engine.pool, "reset", transaction_end)
    app.wsgi_app = tally.wrap(app.wsgi_app)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def log_in(page, base: str) -> None:
    page.goto(base + "/login")
    page.fill("#phone", GREEN_DEMO)
    page.fill("#password", "gantong-demo")
    page.click("main button[type=submit]")
    page.wait_for_url("**/me/people/*")


def one_hour(browser, base: str, tally: Tally, with_phone_code: bool) -> dict:
    """Open the code page (a second visit) and keep it open for an hour of the page's clock;
    return what the server saw for the opening and for the hour."""
    context = browser.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN")
    page = context.new_page()
    if not with_phone_code:
        page.route("**/holder-code.js", lambda route: route.abort())
    in_flight = set()
    page.on("request", lambda request: in_flight.add(request))
    page.on("requestfinished", lambda request: in_flight.discard(request))
    page.on("requestfailed", lambda request: in_flight.discard(request))
    log_in(page, base)
    page.clock.install()
    page.wait_for_timeout(3000)  # the first visit's one-off work: device, page kept offline
    tally.reset()
    page.reload()
    page.wait_for_load_state("networkidle")
    if with_phone_code:
        page.wait_for_selector(".qr-svg.phone")
    page.wait_for_timeout(3000)  # the service worker's update check follows a navigation
    opening = snapshot(tally)
    tally.reset()
    for _ in range(60):
        page.clock.run_for(60_000)
        settle(page, in_flight)
    page.wait_for_load_state("networkidle")
    hour = snapshot(tally)
    context.close()
    return opening, hour


def settle(page, in_flight: set) -> None:
    """Let every request the page started finish (a loaded machine answers slowly)."""
    page.wait_for_timeout(100)
    while in_flight:
        page.wait_for_timeout(50)


def snapshot(tally: Tally) -> dict:
    with tally.lock:
        return {
            "requests": len(tally.requests),
            "bytes": tally.bytes,
            "statements": tally.statements,
            "commits": tally.commits,
            "paths": sorted(set(tally.requests)),
        }


def describe(seen: dict) -> str:
    return (
        f"{seen['requests']} requests, {seen['bytes']:,} bytes, "
        f"{seen['statements']} statements + {seen['commits']} BEGIN/COMMIT/ROLLBACK/reset "
        f"= {seen['statements'] + seen['commits']} round trips ({', '.join(seen['paths'])})"
    )


def time_draws(browser, base: str, count: int) -> dict:
    """Time presentations and QR drawings on the code page under 4x CPU throttling."""
    context = browser.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN")
    page = context.new_page()
    log_in(page, base)
    page.wait_for_selector(".qr-svg.phone")
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    timings = page.evaluate(
        """async (count) => {
          const { present, draw } = window.gantongHolder;
          const held = await new Promise((resolve) => {
            const open = indexedDB.open("gantong-holder");
            open.onsuccess = () => {
              const get = open.result.transaction("credentials").objectStore("credentials").getAll();
              get.onsuccess = () => resolve(get.result[0]);
            };
          });
          const out = { present: [], draw: [], swap: [], version: 0, chars: 0 };
          for (let i = 0; i < count; i++) {
            let start = performance.now();
            const text = await present(held);
            out.present.push(performance.now() - start);
            start = performance.now();
            const { svg, version } = draw(text);
            out.draw.push(performance.now() - start);
            start = performance.now();
            document.querySelector(".qr-svg").outerHTML = svg;
            document.body.offsetHeight;  // layout: the new QR is on the screen
            out.swap.push(performance.now() - start);
            out.version = version; out.chars = text.length;
          }
          return out;
        }""",
        count,
    )
    context.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is dropped)")
    parser.add_argument("--port", type=int, default=5111)
    parser.add_argument("--throttle-draws", type=int, default=0)
    parser.add_argument("--phases", default="before,after", help="before, after or both")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from playwright.sync_api import sync_playwright

    env = fresh_database(args.database_url)
    tally = Tally()
    server = serve(env, args.port, tally)
    base = f"http://127.0.0.1:{args.port}"
    kind = "PostgreSQL" if args.database_url else "SQLite"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROME_ARGS
            )
            for label in args.phases.split(","):
                with_phone_code = label == "after"
                opening, hour = one_hour(browser, base, tally, with_phone_code)
                print(f"{kind} {label}, opening the page again: {describe(opening)}")
                print(f"{kind} {label}, the page open for an hour: {describe(hour)}")
            if args.throttle_draws:
                timings = time_draws(browser, base, args.throttle_draws)
                for name in ("present", "draw", "swap"):
                    first, rest = timings[name][0], sorted(timings[name][1:])
                    print(
                        f"4x CPU throttling, {name}: first {first:.1f} ms; then median "
                        f"{statistics.median(rest):.1f} ms, p90 {rest[int(len(rest) * 0.9)]:.1f} ms, "
                        f"max {rest[-1]:.1f} ms over {len(rest)}"
                    )
                print(
                    f"presentation: {timings['chars']} characters, QR version {timings['version']}"
                )
            browser.close()
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
