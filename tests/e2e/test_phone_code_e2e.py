"""The code on the phone (issue 18): a credential kept with a device key, presentations made
and drawn by the page itself, shown offline from a cold start, refused when stale, copied or
revoked; and the QR of the longest presentation small enough for a cheap camera."""

from __future__ import annotations

import time
from datetime import timedelta

import zxingcpp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import gantong.api.views
from gantong.checkpoint import points
from gantong.core import credentials
from gantong.models import utcnow
from tests.conftest import PASSWORD
from tests.e2e.conftest import PHONE
from tests.e2e.test_offline_checkpoint_e2e import FAKE_CAMERA, make_red, qr_uri
from tests.e2e.test_resident_e2e import decode_screenshot
from tests.views.resident.test_code_page import decode_svg_path

# The credential the phone keeps for a holder, read from its IndexedDB.
HELD = """(holder) => new Promise((resolve, reject) => {
  const open = indexedDB.open("gantong-holder");
  open.onsuccess = () => {
    const get = open.result.transaction("credentials").objectStore("credentials").get(holder);
    get.onsuccess = () => resolve(get.result);
    get.onerror = () => reject(get.error);
  };
})"""
PRESENT = "(held) => window.gantongHolder.present(held)"


def asset(app, filename: str) -> str:
    with app.test_request_context():
        return app.jinja_env.globals["asset_url"](filename)


def longest_presentation() -> str:
    """A presentation whose credential carries the longest masked name and a full tail."""
    names = [
        credentials.fit_name(name)
        for name in ("阿卜杜热合曼·买买提明", "M****** R***** W*****", "Ñ*** Ö**** Ü*****", "张*三")
    ]
    name = max(names, key=lambda text: len(text.encode()))
    assert len(name.encode()) == credentials.MAX_NAME_BYTES
    device = ec.generate_private_key(ec.SECP256R1())
    credential = credentials.Credential(
        kid="0a1b2c3d",
        code_id="0123456789abcdef",
        colour="yellow",
        valid_from=1_800_000_000,
        lifetime=credentials.MAX_LIFETIME,
        device_key=device.public_key().public_bytes(
            encoding=serialization.Encoding.X962,
            format=serialization.PublicFormat.CompressedPoint,
        ),
        masked_name=name,
        doc_tail="123X",
    )
    raw = credentials.sign_credential(credential, Ed25519PrivateKey.generate())
    return credentials.present(raw, 4_294_967_295, device)


def test_longest_presentation_is_a_version_10_qr_that_reads_at_a_third_blurred(
    app, live_server, page
):
    """The phone's encoder (qrcode-generator) draws the longest presentation at level M in at
    most version 10, and zxing-cpp reads it shrunk to a third and blurred, as a cheap camera."""
    text = longest_presentation()
    assert len(text) == 310
    page.goto(live_server + "/login")
    page.add_script_tag(url=asset(app, "vendor/qrcode.js"))
    page.add_script_tag(url=asset(app, "js/holder-code.js"))
    drawn = page.evaluate("(text) => window.gantongHolder.draw(text)", text)
    assert drawn["version"] <= 10
    path = drawn["svg"].split(' d="')[1].split('"')[0]
    assert decode_svg_path(path, zxingcpp, shrink=3, blur=1.0) == text


def log_in(page, base: str, phone: str) -> None:
    page.goto(base + "/login")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def scanned(scan, text: str) -> tuple[str, str]:
    """Hold the text's QR before the scan page's camera; return the verdict's colour, reason."""
    verdict = scan.locator("#verdict")
    reads = int(verdict.get_attribute("data-reads") or 0)
    scan.evaluate("uri => window.__showCode(uri)", qr_uri(text))
    scan.wait_for_selector(f"#verdict[data-reads='{reads + 1}']", state="attached", timeout=10000)
    scan.evaluate("() => window.__showCode(null)")
    return verdict.get_attribute("data-colour"), verdict.get_attribute("data-reason")


def test_the_code_lives_on_the_phone_offline_for_hours_stale_copied_and_revoked(
    app, live_server, browser, make_user, make_holder, make_staff, monkeypatch
):
    user_id, resident_phone = make_user()
    holder_id = make_holder(user_id, name="张小三")
    _, staff_phone, point_id = make_staff()
    with app.app_context():
        api_token = points.new_api_token(point_id, "gate 2")
    api = app.test_client()

    # The server's clock as the verifiers see it: moved on with the phone's.
    shift = {"by": timedelta(0)}
    monkeypatch.setattr(gantong.api.views, "utcnow", lambda: utcnow() + shift["by"])

    def verify(text: str):
        response = api.post(
            "/api/v1/verify", json={"token": text}, headers={"Authorization": f"Bearer {api_token}"}
        )
        return response.status_code, response.get_json()

    contexts = []
    try:
        # Online once: the page makes its device key, registers it, keeps a credential, and
        # its service worker keeps the page.
        phone = browser.new_context(viewport=PHONE, locale="zh-CN")
        contexts.append(phone)
        phone.clock.install(time=time.time())
        page = phone.new_page()
        page.on("console", lambda m: print("CONSOLE", m.text))
        log_in(page, live_server, resident_phone)
        code_url = f"{live_server}/me/people/{holder_id}"
        page.goto(code_url)
        page.wait_for_selector("html[data-kept-offline]", state="attached", timeout=20000)
        page.wait_for_selector("#code-card.phone .qr-svg.phone")
        phone.set_offline(True)
        page.close()

        # Six hours on, no network, a cold start: the page and a fresh code, from the phone.
        phone.clock.fast_forward("06:00:00")
        shift["by"] = timedelta(hours=6)
        page = phone.new_page()
        page.goto(code_url)
        page.wait_for_selector("#code-card.phone .qr-svg.phone", timeout=20000)
        notice = page.locator("#offline").inner_text()
        assert "起离线" in notice and "有效至" in notice, notice
        text = decode_screenshot(page.screenshot())
        assert text.startswith(credentials.PREFIX)
        status, body = verify(text)
        assert status == 200 and body["colour"] == "green", body

        # The scan page, offline with its bundle, on the same clock, accepts it.
        scanner = browser.new_context(viewport=PHONE, locale="zh-CN")
        contexts.append(scanner)
        scanner.clock.install(time=time.time() + 6 * 3600)
        scanner.grant_permissions(["camera"], origin=live_server)
        scanner.add_init_script(FAKE_CAMERA)
        scan = scanner.new_page()
        log_in(scan, live_server, staff_phone)
        scan.goto(live_server + "/checkpoint/scan")
        scan.wait_for_selector("body[data-scan-ready]", state="attached", timeout=20000)
        scanner.set_offline(True)
        assert scanned(scan, text) == ("green", "")
        scan.click("[data-discard]")  # no record: the next code

        # Three minutes later the same text is a screenshot: stale, online and offline.
        for clock in (phone.clock, scanner.clock):
            clock.fast_forward("03:00")
        shift["by"] = timedelta(hours=6, minutes=3)
        status, body = verify(text)
        assert status == 422 and body["reason"] == "stale_presentation", body
        assert scanned(scan, text) == ("refused", "stale_presentation")

        # The credential copied to another browser profile: that one has no device key to
        # present it with (it makes its own, which the credential does not name).
        held = page.evaluate(HELD, str(holder_id))
        thief = browser.new_context(viewport=PHONE)
        contexts.append(thief)
        other = thief.new_page()
        other.goto(live_server + "/login")
        other.add_script_tag(url=asset(app, "vendor/qrcode.js"))
        other.add_script_tag(url=asset(app, "js/holder-code.js"))
        copied = other.evaluate(PRESENT, held)
        status, body = verify(copied)
        assert status == 422 and body["reason"] == "bad_device_signature", body

        # Officers turn the holder red: a fresh bundle revokes the green credential, and the
        # online check shows red.
        make_red(app, holder_id, make_user)
        scanner.set_offline(False)
        scan.reload()
        scan.wait_for_selector("body[data-scan-ready]", state="attached", timeout=20000)
        old_green = page.evaluate(PRESENT, held)
        assert scanned(scan, old_green) == ("refused", "revoked")
        status, body = verify(old_green)
        assert status == 200 and body["colour"] == "red", body

        # The phone back online shows red within 60 s, and says it changed.
        phone.set_offline(False)
        page.wait_for_selector("#code-card.red", state="attached", timeout=60000)
        page.wait_for_selector("#code-card.phone .qr-svg.phone", timeout=10000)
        assert page.locator("#code-changed").is_visible()
        assert page.locator("#offline").count() == 0
        shift["by"] = timedelta(0)  # the phone now stamps by the server's clock
        status, body = verify(decode_screenshot(page.screenshot()))
        assert status == 200 and body["colour"] == "red", body
    finally:
        for context in contexts:
            context.close()
