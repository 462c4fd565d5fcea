"""16 threads verify and record at once for 10 s through gunicorn on a database of the test's
own (a SQLite file, or PostgreSQL when DATABASE_URL is set): every request succeeds and every
acknowledged record is in the database."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gantong import create_app
from gantong.checkpoint import points
from gantong.codes import keys
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Holder, VerificationRecord
from gantong.web import rate_limits
from tests.conftest import resident_id

ROOT = Path(__file__).resolve().parents[2]
THREADS, SECONDS = 16, 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post_json(url, body, headers):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


@pytest.fixture
def load_app(scratch_database_url):
    url = scratch_database_url
    app = create_app({"TESTING": True, "SECRET_KEY": "load-secret", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        # The rate-limit table made here, once: two gunicorn workers making it at once on a new
        # PostgreSQL database can collide in pg_type (CREATE TABLE IF NOT EXISTS is not atomic).
        rate_limits.DatabaseStorage(database_uri=url).reset()
        point = points.add_point("负载测试站", "360102")
        token = points.new_api_token(point.id)
        holder_ids = [
            registry.add_holder(
                None,
                registry.Identity(
                    name=f"测试{i}",
                    doc_type="resident_id",
                    doc_number=resident_id(f"3601021990010{i:04d}"),
                    doc_country="",
                    nationality="CN",
                    district_code="360102",
                    address="x",
                ),
            ).id
            for i in range(20)
        ]
        keys.signing_key()
    yield app, url, token, holder_ids
    with app.app_context():
        db.engine.dispose()


def test_sixteen_threads_through_gunicorn_lose_nothing(load_app):
    app, url, api_token, holder_ids = load_app
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "load-secret",
        "VERIFY_LIMIT_PER_STAFF": "100000 per minute",
        "RECORD_LIMIT_PER_STAFF": "100000 per minute",
        "RECORD_LIMIT_PER_POINT": "100000 per minute",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "--threads",
            "8",
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
        with app.app_context():
            # Fresh tokens for the whole run: they live 120 s.
            texts = [keys.signed_screen_token(db.session.get(Holder, hid))[1] for hid in holder_ids]
        headers = {"Authorization": f"Bearer {api_token}"}
        acknowledged, failures, lock = {}, [], threading.Lock()
        deadline = time.monotonic() + SECONDS

        def worker(seed):
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                try:
                    status, verified = post_json(
                        base + "/api/v1/verify", {"token": rng.choice(texts)}, headers
                    )
                    temperature = round(rng.uniform(36.0, 37.6), 1)
                    body = {
                        "record_id": verified["record_id"],
                        "reference": verified["reference"],
                        "temperature": str(temperature),
                        # The decision the colour and temperature call for (a pass for a yellow
                        # or red code would need an explicit override).
                        "decision": "",
                    }
                    status, stored = post_json(base + verified["record_url"], body, {})
                    assert status == 201, status
                    with lock:
                        acknowledged[stored["record_id"]] = temperature
                except Exception as error:  # noqa: BLE001 - every failure is collected and reported
                    with lock:
                        failures.append(repr(error))

        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(10)

    assert failures == []
    assert len(acknowledged) > THREADS  # the run did real work
    with app.app_context():
        rows = db.session.execute(
            db.select(VerificationRecord.record_id, VerificationRecord.temperature).where(
                VerificationRecord.recorded_at.is_not(None)
            )
        ).all()
    stored = {record_id: temperature for record_id, temperature in rows}
    assert stored == acknowledged
    print(f"{len(acknowledged)} records in {SECONDS} s with {THREADS} threads")
