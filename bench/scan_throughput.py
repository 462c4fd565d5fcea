"""Persons per minute one volunteer's scan page takes, online under Slow 3G and with the server stopped.

    .venv/bin/python bench/scan_throughput.py [--persons 40]

Starts the app as its own process (`flask run`, a temporary SQLite file), seeds a point, a
volunteer and holders, then drives Debian's Chromium at 360x640: a canvas camera shows one
code after another; for each person the bench waits for the page's verdict, types a
temperature (the decision follows it) and taps Submit: one tap per person. Two runs:

- **online, Slow 3G**: Chrome's preset (400 kbps, 2,000 ms latency) through the DevTools
  protocol, the server up; the records go out in the background;
- **server stopped**: the page opened (bundle cached), then the server process is stopped;
  the records wait in the queue, the server is started again and they arrive.

Printed: persons per minute (from the first read to the last submit), requests per person
(every request the page made during the run, divided by persons), and how long the queue
took to drain. Figures in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from gantong import create_app  # noqa: E402
from gantong.codes import keys  # noqa: E402
from gantong.extensions import db  # noqa: E402
from gantong.holders import registry  # noqa: E402
from gantong.models import Holder, VerificationRecord  # noqa: E402
from tests.e2e.conftest import CHROME_ARGS, CHROMIUM, PHONE  # noqa: E402
from tests.e2e.test_offline_checkpoint_e2e import FAKE_CAMERA, ServerProcess, free_port, qr_uri  # noqa: E402

SLOW_3G = {
    "offline": False,
    "latency": 2000,
    "downloadThroughput": 400 * 1000 / 8,
    "uploadThroughput": 400 * 1000 / 8,
}
PASSWORD = "bench-password-1"


def seed(app, persons: int) -> tuple[str, list[str]]:
    from gantong.auth.accounts import register
    from gantong.checkpoint import points
    from gantong.core.identity import check_digit

    with app.app_context():
        db.create_all()
        point = points.add_point(
            name="东湖站",
            district_code="360102",
            address="测试路 1 号",
            latitude=28.68,
            longitude=115.9,
        )
        staff = register("+8613900000001", PASSWORD, role="staff", point_id=point.id)
        texts = []
        for index in range(persons):
            first17 = f"3601021990{index:07d}"
            holder = registry.add_holder(
                None,
                registry.Identity(
                    name="张小三",
                    doc_type="resident_id",
                    doc_number=first17 + check_digit(first17),
                    doc_country="",
                    nationality="CN",
                    district_code="360102",
                    address="八一大道 1 号",
                ),
                is_self=True,
            )
            texts.append(keys.signed_screen_token(db.session.get(Holder, holder.id))[1])
        db.session.commit()
        return staff.phone, texts


def count_records(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(VerificationRecord))


def run(mode: str, persons: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="gantong-scan-bench-"))
    config = {
        "SECRET_KEY": "bench-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite'}",
        "TOKEN_TTL": 3600,
        "RATELIMIT_STORAGE_URI": "memory://",
        "PUBLIC_URL": "http://127.0.0.1",
    }
    os.environ["TOKEN_TTL"] = "3600"
    app = create_app(config)
    phone, texts = seed(app, persons)
    uris = [qr_uri(text) for text in texts]
    server = ServerProcess(app, free_port())
    server.env["VERIFY_LIMIT_PER_STAFF"] = "1000 per minute"
    server.env["RECORD_LIMIT_PER_STAFF"] = server.env["RECORD_LIMIT_PER_POINT"] = "1000 per minute"
    server.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
            context = browser.new_context(viewport=PHONE, locale="zh-CN")
            context.grant_permissions(["camera"], origin=server.base)
            context.add_init_script(FAKE_CAMERA)
            page = context.new_page()
            page.goto(server.base + "/login")
            page.fill("#phone", phone)
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url("**/checkpoint/")
            page.goto(server.base + "/checkpoint/scan")
            page.wait_for_selector("body[data-scan-ready]", state="attached", timeout=30000)
            if mode == "slow3g":
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.emulateNetworkConditions", SLOW_3G)
            else:
                server.stop()
            requests: list[str] = []
            page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
            started = time.perf_counter()
            for index, uri in enumerate(uris):
                page.evaluate("uri => window.__showCode(uri)", uri)
                page.wait_for_selector(
                    f"#verdict[data-reads='{index + 1}']", state="attached", timeout=20000
                )
                page.evaluate("() => window.__showCode(null)")
                page.fill("#scan-temperature", "36.5")
                page.click("#scan-record-form button[type=submit]")
            elapsed = time.perf_counter() - started
            drained_at = None
            if mode == "stopped":
                server.start()
                restart = time.perf_counter()
            else:
                restart = time.perf_counter()
            deadline = time.perf_counter() + 600
            while time.perf_counter() < deadline:
                if (
                    count_records(app) >= persons
                    and page.evaluate("localStorage.getItem('gantong-record-queue')") == "[]"
                ):
                    drained_at = time.perf_counter() - restart
                    break
                time.sleep(0.5)
            per_person = [r for r in requests if "/checkpoint/scan-records" in r]
            browser.close()
    finally:
        server.stop()
    stored = count_records(app)
    return {
        "mode": mode,
        "persons": persons,
        "seconds": round(elapsed, 1),
        "persons_per_minute": round(persons / elapsed * 60, 1),
        "requests_during_run": len(requests),
        "requests_per_person": round(len(requests) / persons, 2),
        "record_posts": len(per_person),
        "stored": stored,
        "queue_drained_seconds": round(drained_at, 1) if drained_at is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=40)
    parser.add_argument("--mode", choices=["slow3g", "stopped", "both"], default="both")
    args = parser.parse_args()
    modes = ["slow3g", "stopped"] if args.mode == "both" else [args.mode]
    for mode in modes:
        print(json.dumps(run(mode, args.persons), ensure_ascii=False))


if __name__ == "__main__":
    main()
