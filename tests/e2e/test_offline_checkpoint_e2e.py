"""The checkpoint with the server process stopped: the scan page verifies and queues on its own.

The app runs in a separate server process (flask run) that the test stops and starts again;
the browser's camera is a canvas stream the test draws codes on, one after another.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import segno

from gantong.codes import keys, paper, trust_list
from gantong.core import tokens
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import FeverFinding, Holder, SigningKey, User, VerificationRecord, utcnow
from gantong.review import official_records
from tests.conftest import PASSWORD, USING_POSTGRES, resident_id
from tests.e2e.conftest import CHROME_ARGS, CHROMIUM, PHONE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The camera: a canvas stream; window.__showCode(uri) puts a QR in front of it, null a blank card.
FAKE_CAMERA = """(() => {
  let img = null;
  window.__showCode = async (uri) => {
    if (!uri) { img = null; return; }
    const next = new Image(); next.src = uri; await next.decode(); img = next;
  };
  navigator.mediaDevices.getUserMedia = async () => {
    const cv = document.createElement('canvas'); cv.width = 640; cv.height = 480;
    const ctx = cv.getContext('2d');
    const draw = () => { ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, 640, 480);
                         if (img) ctx.drawImage(img, 140, 60, 360, 360); };
    draw(); setInterval(draw, 50);
    return cv.captureStream(20);
  };
})();"""


@pytest.fixture
def app_config(app_config):
    # Screen codes live long enough for the whole walk through; the expired one is made old.
    return {**app_config, "TOKEN_TTL": 1800}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`flask run` in its own process, on the test's database; stop() kills it."""

    def __init__(self, app, port):
        self.port, self.proc = port, None
        self.env = {
            **os.environ,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "RATELIMIT_STORAGE_URI": "memory://",
            "TOKEN_TTL": "1800",
            "PYTHONUNBUFFERED": "1",
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        if not USING_POSTGRES:
            self.env["DATABASE_URL"] = app.config["SQLALCHEMY_DATABASE_URI"]

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def start(self):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "app",
                "run",
                "--no-reload",
                "--no-debugger",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not self.up():
            assert self.proc.poll() is None, "the server process ended"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        assert not self.up()


@pytest.fixture
def server(app):
    process = ServerProcess(app, free_port())
    process.start()
    yield process
    process.stop()


def qr_uri(text: str) -> str:
    return segno.make_qr(text, error="M").png_data_uri(scale=10, border=4)


def make_red(app, holder_id, make_user):
    _, first = make_user(
        role="officer", district_code="360102", badge_number="A1", department="疾控"
    )
    _, second = make_user(
        role="officer", district_code="360102", badge_number="A2", department="疾控"
    )
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        by_phone = lambda phone: db.session.scalar(db.select(User).where(User.phone == phone))  # noqa: E731
        entry = official_records.record(holder, by_phone(first), "confirmed", "东卫疾控〔2022〕1号")
        official_records.approve(entry, by_phone(second), "核实")
        assert db.session.get(Holder, holder_id).colour == "red"


def declare_fever(app, holder_id):
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        registry.declare(
            holder,
            registry.DeclarationFacts(
                symptoms=["fever"], close_contact=False, contact_date=None, stays=[]
            ),
            author=None,
        )
        return db.session.get(Holder, holder_id).colour


def test_the_scan_page_verifies_and_records_with_the_server_stopped(
    app, server, playwright, make_staff, make_holder, make_user, screen_token, tmp_path
):
    _, staff_phone, _ = make_staff()
    green = make_holder(name="张小三")
    yellow = make_holder(name="李四", number=resident_id("36010219800101123"))
    red = make_holder(name="王五", number=resident_id("36010219800101124"))
    stale = make_holder(name="赵六", number=resident_id("36010219800101125"))
    paper_yellow = make_holder(name="孙七", number=resident_id("36010219800101126"))
    paper_lost = make_holder(name="周八", number=resident_id("36010219800101127"))
    assert declare_fever(app, yellow) == "yellow" and declare_fever(app, paper_yellow) == "yellow"
    make_red(app, red, make_user)
    partner_private = tokens.generate_private_key()
    partner_kid = tokens.new_kid()
    with app.app_context():
        trust_list.add_issuer("粤康码", "GD", tokens.jwk(partner_private.public_key(), partner_kid))
        yellow_paper_text = paper.token_text(paper.issue(db.session.get(Holder, paper_yellow)))
        lost = paper.issue(db.session.get(Holder, paper_lost))
        lost_text = paper.token_text(lost)
        paper.report_lost(db.session.get(Holder, paper_lost))
    over_cap = tokens.sign(
        tokens.Token(
            tokens.SCREEN,
            partner_kid,
            "a1b2c3d4e5f60718",
            "green",
            int(utcnow().timestamp()) - 700,
            86400,
        ),
        partner_private,
    )
    with app.app_context():
        # The signing key is older than the expired token, as in real life (a token stamped
        # before its key was made would be refused as back-dated, not as expired).
        keys.signing_key()
        for key in db.session.scalars(db.select(SigningKey)):
            key.created_at = utcnow() - timedelta(hours=2)
        db.session.commit()
    codes = {
        "green": screen_token(green),
        "yellow": screen_token(yellow),
        "red": screen_token(red),
        "stale": screen_token(stale),  # green now; the holder turns yellow before it is shown
        "expired": screen_token(green, now=utcnow() - timedelta(seconds=3600)),
        "revoked_paper": lost_text,
        "yellow_paper": yellow_paper_text,
        "over_cap": over_cap,
    }

    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
    try:
        context = browser.new_context(viewport=PHONE, locale="en-US")
        context.grant_permissions(["camera"], origin=server.base)
        context.add_init_script(FAKE_CAMERA)
        page = context.new_page()
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(server.base + "/login")
        page.fill("#phone", staff_phone)
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/checkpoint/")
        page.goto(server.base + "/checkpoint/scan")
        page.wait_for_selector("body[data-scan-ready]", state="attached", timeout=20000)
        bundle = json.loads(page.evaluate("localStorage.getItem('gantong-verifier-bundle')"))
        assert bundle["etag"] and bundle["document"]["paper_colours"]
        assert "This phone checks codes itself" in page.locator("#bundle-status").inner_text()

        server.stop()  # the server process, not just the browser's network
        sent_before = len(requests)
        elapsed = {}

        def show(name, expect_colour=None, expect_reason=None, temperature=None):
            reads = int(page.locator("#verdict").get_attribute("data-reads") or 0)
            page.evaluate("uri => window.__showCode(uri)", qr_uri(codes[name]))
            page.wait_for_selector(
                f"#verdict[data-reads='{reads + 1}']", state="attached", timeout=10000
            )
            verdict = page.locator("#verdict")
            elapsed[name] = int(verdict.get_attribute("data-elapsed-ms"))
            page.evaluate("() => window.__showCode(null)")
            if expect_reason:
                assert verdict.get_attribute("data-reason") == expect_reason, name
                assert page.locator("#scan-record-form").is_hidden()
                return
            assert verdict.get_attribute("data-colour") == expect_colour, name
            page.fill("#scan-temperature", temperature)
            # A yellow or red code is referred whatever the temperature (rules.decision_for).
            referred = float(temperature) >= 37.3 or expect_colour in ("yellow", "red")
            expected_decision = "refer" if referred else "pass"
            assert page.locator(f"#scan-decision-{expected_decision}").is_checked(), name
            page.click("#scan-record-form button[type=submit]")
            assert page.locator("#scan-record-form").is_hidden()

        show("green", "green", temperature="38.2")  # a fever, recorded offline
        assert "张*三" in page.locator("#last-saved").inner_text()
        show("yellow", "yellow", temperature="36.5")
        show("red", "red", temperature="36.6")
        show("expired", expect_reason="expired")
        show("revoked_paper", expect_reason="revoked")
        show("yellow_paper", "yellow", temperature="36.4")
        show("over_cap", expect_reason="over_partner_cap")
        assert declare_fever(app, stale) == "yellow"
        time.sleep(1.1)  # the scan is in a later second than the colour change
        show("stale", "green", temperature="36.7")
        print("read-to-verdict ms with the server stopped:", elapsed)

        # Verdicts came from the phone alone: nothing was fetched after the server stopped but
        # the queue's and the bundle's attempts, which failed.
        queued = json.loads(page.evaluate("localStorage.getItem('gantong-record-queue')"))
        assert len(queued) == 5 and len({item["record_id"] for item in queued}) == 5
        with app.app_context():
            assert (
                db.session.scalar(db.select(db.func.count()).select_from(VerificationRecord)) == 0
            )
        assert all(
            "/checkpoint/scan-records" in url or "bundle.json" in url
            for url in requests[sent_before:]
        )

        server.start()
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            with app.app_context():
                count = db.session.scalar(
                    db.select(db.func.count()).select_from(VerificationRecord)
                )
            if count >= 5 and page.evaluate("localStorage.getItem('gantong-record-queue')") == "[]":
                break
            time.sleep(0.5)
        time.sleep(6)  # another round of the queue's timer: nothing more may arrive
        with app.app_context():
            stored = db.session.scalars(db.select(VerificationRecord)).all()
            assert len(stored) == 5
            assert sorted(r.record_id for r in stored) == sorted(
                item["record_id"] for item in queued
            )
            by_holder = {r.holder_id: r for r in stored}
            assert by_holder[stale].stale_colour and by_holder[stale].colour == "yellow"
            assert not by_holder[yellow].stale_colour and not by_holder[green].stale_colour
            assert (
                by_holder[paper_yellow].paper_serial
                and by_holder[paper_yellow].token_colour == "yellow"
            )
            assert all(r.offline and r.recorded_at for r in stored)
            assert db.session.scalar(db.select(db.func.count()).select_from(FeverFinding)) == 1
            assert db.session.get(Holder, green).colour == "yellow"  # the fever's hit arrived
        # The volunteer is told of the stale colour once the server answers.
        page.wait_for_selector(
            "#server-alerts [data-server-colour]", state="attached", timeout=10000
        )
        assert "赵*" in page.locator("#server-alerts").inner_text()
        page.screenshot(path=str(tmp_path / "scan-offline-360x640.png"))
        context.close()
    finally:
        browser.close()
