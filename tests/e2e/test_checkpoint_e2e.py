"""A volunteer scans a resident's code, by camera, by photo, and records offline; in Chromium."""

from __future__ import annotations

import io
import socket
import time

import segno
from PIL import Image

from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Holder, VerificationRecord
from tests.conftest import PASSWORD, resident_id
from tests.e2e.conftest import CHROME_ARGS, CHROMIUM, PHONE

RECORD_URL = "**/checkpoint/records/*"


def write_y4m(path, payload, w=640, h=480, qr_px=360):
    """A one-frame video of the QR code for Chromium's fake camera (it loops the file)."""
    buf = io.BytesIO()
    segno.make_qr(payload, error="M").save(buf, kind="png", scale=10, border=4)
    qr = Image.open(buf).convert("L").resize((qr_px, qr_px), Image.NEAREST)
    y = Image.new("L", (w, h), 255)
    y.paste(qr, ((w - qr_px) // 2, (h - qr_px) // 2))
    uv = b"\x80" * (w // 2 * h // 2)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n".encode())
        f.write(b"FRAME\n" + y.tobytes() + uv + uv)


def log_in(page, base, phone, landing):
    page.goto(base + "/login")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(landing)


def records(app):
    with app.app_context():
        return db.session.scalars(
            db.select(VerificationRecord).order_by(VerificationRecord.id)
        ).all()


def poll(check, timeout=20.0, interval=0.2):
    """Call check() until it returns a true value, or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def test_camera_scan_fever_turns_the_residents_code_yellow(
    app, live_server, playwright, make_staff, make_user, make_holder, screen_token, tmp_path
):
    _, staff_phone, _ = make_staff()
    owner_id, owner_phone = make_user()
    holder_id = make_holder(owner_id)
    y4m = tmp_path / "code.y4m"
    write_y4m(y4m, screen_token(holder_id))

    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=CHROME_ARGS
        + [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}",
        ],
    )
    try:
        staff = browser.new_context(viewport=PHONE, locale="en-US")
        page = staff.new_page()
        console = []
        page.on("console", lambda message: console.append(message.text))
        log_in(page, live_server, staff_phone, "**/checkpoint/")
        page.goto(live_server + "/checkpoint/scan")
        scan_url = page.url
        # The page verifies the code itself and shows the verdict in place: no navigation.
        page.wait_for_selector("#verdict[data-colour=green]", state="attached", timeout=15000)
        assert page.url == scan_url

        verdict = page.locator("#verdict")
        assert "Green code" in verdict.locator(".banner:visible").inner_text()
        assert "张*三" in verdict.locator(".who").inner_text()
        assert "张小三" not in page.content()
        assert records(app) == []  # nothing is written until the record is submitted

        page.fill("#scan-temperature", "38.1")
        assert page.locator("#scan-decision-refer").is_checked()  # a fever defaults to refer
        shot = tmp_path / "scan-360x640.png"
        page.screenshot(path=str(shot))
        assert Image.open(shot).size == (360, 640)
        # Look at it: pytest --basetemp=... keeps the file.
        print("scan page screenshot:", shot)
        with page.expect_response(lambda r: r.url.endswith("/checkpoint/scan-records")) as answered:
            page.click("#scan-record-form button[type=submit]")
        assert answered.value.status == 201
        assert answered.value.json()["fever"] is True
        assert page.url == scan_url  # the camera is live again, on the same page
        [record] = records(app)
        # The colour at the check; the fever then turned the code yellow, and the page says so.
        assert (record.method, record.colour, record.token_colour) == ("camera", "green", "green")
        page.wait_for_selector(
            "#server-alerts [data-server-colour=yellow]", state="attached", timeout=10000
        )
        assert (record.temperature, record.decision) == (38.1, "refer")
        assert record.recorded_at is not None
        assert [text for text in console if "Content Security Policy" in text] == []
        staff.close()

        resident = browser.new_context(viewport=PHONE, locale="en-US")
        page = resident.new_page()
        log_in(page, live_server, owner_phone, "**/me/people/*")
        page.goto(live_server + "/me")
        page.wait_for_url(f"**/me/people/{holder_id}")
        assert "Yellow code" in page.locator("#code-card .banner").inner_text()
        reasons = page.locator("#code-card .reasons").inner_text()
        assert "Fever of 38.1 °C at 东湖站" in reasons
        resident.close()
    finally:
        browser.close()


def test_photo_of_the_code_is_decoded_in_the_browser(
    app, live_server, page, request_log, make_staff, make_user, make_holder, screen_token, tmp_path
):
    _, staff_phone, _ = make_staff()
    owner_id, _ = make_user()
    holder_id = make_holder(owner_id)
    photo = tmp_path / "code.png"
    segno.make_qr(screen_token(holder_id), error="m").save(
        str(photo), kind="png", scale=8, border=4
    )

    log_in(page, live_server, staff_phone, "**/checkpoint/")
    page.goto(live_server + "/checkpoint/scan")
    # scan.js has loaded qr-scanner once it shows the camera (no camera here: it says so).
    page.wait_for_selector("body[data-scan-ready]", state="attached")
    requests_before = len(request_log.urls)
    page.set_input_files("#photo", str(photo))
    # Decoded and verified here, not by the server: neither the picture nor the token was posted.
    page.wait_for_selector("#verdict[data-colour=green]", state="attached")
    assert "张*三" in page.locator("#verdict .who").inner_text()
    assert not [url for url in request_log.urls[requests_before:] if "/checkpoint/verify" in url]
    page.fill("#scan-temperature", "36.5")
    with page.expect_response(lambda r: r.url.endswith("/checkpoint/scan-records")) as answered:
        page.click("#scan-record-form button[type=submit]")
    assert answered.value.status == 201
    with app.app_context():
        [record] = records(app)
        assert record.holder_id == holder_id and record.decision == "pass"
    assert request_log.foreign_hosts(live_server) == set()
    assert request_log.csp_violations() == []


def open_by_number(page, base, number):
    page.goto(base + "/checkpoint/scan")
    page.fill("#number", number)
    page.click("form:has(#number) button[type=submit]")
    page.wait_for_url(RECORD_URL)
    return page.url.rsplit("/", 1)[1]


class Outage:
    """Take the network down: Playwright's offline mode, and meanwhile a server that drops every
    connection. Chromium's offline emulation lets the odd request through once a service worker
    controls the page (seen: the page's own POST just after an offline reload, and the worker's
    update check); the server side makes the outage complete."""

    def __init__(self, app, context):
        self.context, self.down, self.attempts = context, False, []
        inner = app.wsgi_app

        def wsgi(environ, start_response):
            if not self.down:
                return inner(environ, start_response)
            self.attempts.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            return []

        app.wsgi_app = wsgi

    def __enter__(self):
        self.down = True
        self.context.set_offline(True)
        return self

    def __exit__(self, *exc):
        self.down = False  # the server first: going online makes queue.js send at once
        self.context.set_offline(False)


def waiting(page, count):
    page.wait_for_selector(
        f"[data-queue-status][data-waiting='{count}']", state="attached", timeout=20000
    )


def test_records_wait_offline_and_arrive_once_when_the_network_returns(
    app, live_server, browser, make_staff, make_user, make_holder
):
    _, staff_phone, _ = make_staff()
    owner_id, _ = make_user()
    holder_ids = [
        make_holder(owner_id, name=name, number=resident_id(first17))
        for name, first17 in [
            ("张小三", "36010219900101123"),
            ("李小四", "36010219910202123"),
            ("王小五", "36010219920303123"),
        ]
    ]
    with app.app_context():
        numbers = [
            registry.dynamic_number(db.session.get(Holder, holder_id)) for holder_id in holder_ids
        ]

    context = browser.new_context(viewport=PHONE, locale="en-US")
    try:
        first = context.new_page()
        log_in(first, live_server, staff_phone, "**/checkpoint/")
        tabs, record_ids = [], []
        for number in numbers:
            page = first if not tabs else context.new_page()
            record_ids.append(open_by_number(page, live_server, number))
            # queue.js registers the service worker; once it controls the page, a reload
            # goes through it and leaves the page (and its assets) in its cache.
            page.wait_for_selector("[data-queue-status][data-waiting='0']", state="attached")
            poll(lambda p=page: p.evaluate("!!navigator.serviceWorker.controller"), timeout=10)
            page.reload()
            assert page.evaluate("!!navigator.serviceWorker.controller")
            tabs.append(page)
        assert len(set(record_ids)) == 3

        with Outage(app, context) as outage:
            for n, (page, temperature) in enumerate(
                zip(tabs, ["36.5", "36.6", "36.7"], strict=True), start=1
            ):
                page.fill("#temperature", temperature)
                page.check("input[name=decision][value=pass]")
                page.click("main button[type=submit]")
                page.wait_for_selector("#offline-status:not([hidden])")
                assert "No network" in page.locator("#offline-status").inner_text()
                assert page.url.endswith(record_ids[n - 1])
                waiting(page, n)
            for page in tabs:  # the other tabs hear of it through the storage event
                waiting(page, 3)
                assert (
                    "3 records are waiting to be sent."
                    in page.locator("[data-queue-status]").inner_text()
                )

            response = tabs[1].reload()  # the service worker answers from its cache
            assert response.from_service_worker
            assert tabs[1].locator("h1").inner_text() == "Verification Record"
            assert tabs[1].input_value("input[name=record_id]") == record_ids[1]
            waiting(tabs[1], 3)
            assert tabs[1].locator("[data-queue-status]").is_visible()
            assert [r.recorded_at for r in records(app)] == [None] * 3
        print("requests during the outage:", outage.attempts)

        def all_stored():
            stored = [r for r in records(app) if r.recorded_at is not None]
            return stored if len(stored) == 3 else None

        stored = poll(all_stored, timeout=20)
        assert stored, [(r.record_id, r.recorded_at) for r in records(app)]
        assert {r.record_id: r.temperature for r in stored} == dict(
            zip(record_ids, [36.5, 36.6, 36.7], strict=True)
        )
        assert {r.decision for r in stored} == {"pass"}
        assert len(records(app)) == 3
        for n, page in enumerate(tabs):
            waiting(page, 0)
            assert page.locator("[data-queue-status]").is_hidden()
            if n != 1:  # the reloaded tab shows the page as it was cached, before the record
                assert page.locator("#offline-status").inner_text() == "Record saved."
        assert tabs[0].evaluate("localStorage.getItem('gantong-record-failed')") is None
    finally:
        context.close()


def test_logging_out_drops_the_cached_checkpoint_pages(app, live_server, page, make_staff):
    _, phone, _ = make_staff()
    log_in(page, live_server, phone, "**/checkpoint/")
    # The second load is served through the service worker, which keeps a copy.
    page.wait_for_selector("[data-queue-status]", state="attached")
    assert poll(
        lambda: page.evaluate(
            "() => navigator.serviceWorker.getRegistration().then(r => !!(r && r.active))"
        )
    )
    page.reload()
    assert poll(lambda: page.evaluate("() => caches.has('gantong-checkpoint-v1')"))
    page.click("header button[type=submit]")
    page.wait_for_url(live_server + "/")
    assert page.evaluate("() => caches.has('gantong-checkpoint-v1')") is False


def test_the_checkpoint_worker_drops_only_its_own_old_caches(app, live_server, page, make_staff):
    # Caches belong to the origin: a volunteer's phone may also keep its owner's code page
    # (holder-sw.js). The checkpoint worker once deleted every cache but its own on activation.
    _, phone, _ = make_staff()
    page.goto(live_server + "/login")
    page.evaluate(
        "() => Promise.all([caches.open('gantong-holder-v1'), caches.open('gantong-checkpoint-v0')])"
    )
    log_in(page, live_server, phone, "**/checkpoint/")
    assert poll(
        lambda: page.evaluate(
            "() => navigator.serviceWorker.getRegistration().then(r => !!(r && r.active))"
        )
    )
    assert poll(lambda: page.evaluate("() => caches.has('gantong-checkpoint-v0')") is False)
    assert page.evaluate("() => caches.has('gantong-holder-v1')") is True
