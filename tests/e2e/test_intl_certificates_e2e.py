"""International certificates in Chromium: an administrator imports signers, a volunteer scans an
HC1: test certificate from the dgc-testdata and a tampered one, a returnee attaches one at
pre-entry and the officer sees it verified."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import segno

from gantong.extensions import db
from gantong.models import LabResult
from tests.conftest import PASSWORD
from tests.e2e.conftest import CHROME_ARGS, CHROMIUM, PHONE
from tests.e2e.test_offline_checkpoint_e2e import FAKE_CAMERA
from tests.intl_factory import gateway_file, hcert_of_a_test, make_hc1, make_signer, tampered

DATA = Path(__file__).parents[1] / "data" / "credentials"
# Germany's PCR test certificate for Erika Mustermann, signed 2021 by the DSC in its TESTCTX.
DE_TEST = json.loads((DATA / "dgc-testdata/DE/2DCode/raw/2.json").read_text())
# A certificate's QR (version 17 or so) drawn inside the scanner's central scan region.
CAMERA = FAKE_CAMERA.replace(
    "ctx.drawImage(img, 140, 60, 360, 360)", "ctx.drawImage(img, 170, 90, 300, 300)"
)
assert CAMERA != FAKE_CAMERA


def qr_uri(text: str, border: int = 1) -> str:
    return segno.make_qr(text, error="L").png_data_uri(scale=6, border=border)


def _login(page, base, phone, lands):
    page.goto(base + "/login")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lands)


def test_a_certificate_from_scan_to_the_officer(
    app, live_server, playwright, make_user, make_staff, today, tmp_path
):
    key, our_dsc = make_signer()
    de_dsc = base64.b64decode(DE_TEST["TESTCTX"]["CERTIFICATE"])
    trust_list = tmp_path / "trust-list.json"
    trust_list.write_bytes(gateway_file((de_dsc, "DE"), (our_dsc, "DE")))
    _, admin = make_user(role="admin")
    _, staff, _ = make_staff()
    _, returnee = make_user(phone="+447911123456")
    _, officer = make_user(role="officer", district_code="360102", badge_number="DH-9")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
    try:
        context = browser.new_context(viewport=PHONE, locale="en-US")
        context.grant_permissions(["camera"], origin=live_server)
        context.add_init_script(CAMERA)
        page = context.new_page()

        # An administrator imports the signers from a file in the gateway's format.
        _login(page, live_server, admin, "**/admin/**")
        page.goto(live_server + "/admin/certificates")
        page.set_input_files("#file", str(trust_list))
        page.click("form[action$='/certificates/dsc'] button[type=submit]")
        page.wait_for_url("**/admin/certificates")
        assert page.locator("#dsc-list li").count() == 2
        page.click("header form[action$='/logout'] button, form[action$='/logout'] button")

        # The volunteer's camera reads the test data's HC1: code: a verified test, its issuer.
        _login(page, live_server, staff, "**/checkpoint/")
        page.goto(live_server + "/checkpoint/scan")
        page.wait_for_selector("body[data-scan-ready]", state="attached", timeout=20000)
        page.evaluate("uri => window.__showCode(uri)", qr_uri(DE_TEST["PREFIX"], border=1))
        page.wait_for_selector("#certificate", timeout=20000)
        facts = page.locator("#certificate").inner_text()
        assert "Test result: negative" in facts and "Erika Mustermann" in facts
        assert "1964-08-12" in facts and "Robert Koch-Institut" in facts
        assert "verified against DE DSC" in facts
        # Signed in 2021 for 2 days: genuine, and shown as expired now.
        assert "Expired" in page.locator("[data-field=validity]").inner_text()
        assert "not a Gantong code" in facts
        page.screenshot(path=str(tmp_path / "certificate-360x640.png"), full_page=True)

        # The same code with one letter of the name changed: refused as altered.
        page.goto(live_server + "/checkpoint/scan")
        page.wait_for_selector("body[data-scan-ready]", state="attached", timeout=20000)
        page.evaluate(
            "uri => window.__showCode(uri)", qr_uri(tampered(DE_TEST["PREFIX"]), border=1)
        )
        page.wait_for_selector("#certificate", timeout=20000)
        assert page.locator("#certificate[role=alert] h1").inner_text() == (
            "Forged or altered certificate"
        )
        assert "verified against" not in page.locator("#certificate").inner_text()
        page.evaluate("() => window.__showCode(null)")
        context.close()

        # A returnee pastes a fresh negative test certificate into their pre-entry registration.
        context = browser.new_context(viewport=PHONE, locale="en-US")
        page = context.new_page()
        _login(page, live_server, returnee, lambda url: "/login" not in url)
        page.goto(live_server + "/entry/trip")
        page.check("input[name=category][value=foreigner]")
        page.fill("#name", "John Smith")
        page.select_option("#doc_type", "passport")
        page.fill("#doc_number", "K1234567")
        page.select_option("#doc_country", "GB")
        page.select_option("#nationality", "GB")
        page.select_option("#origin_country", "GB")
        page.fill("#entry_port", "Shanghai Pudong International Airport")
        page.fill("#transport_number", "MU552")
        page.fill("#planned_arrival", (today + timedelta(days=3)).isoformat())
        page.select_option("#destination", "360102")
        page.fill("#certificate", make_hc1(key, our_dsc, hcert_of_a_test(name=("John", "Smith"))))
        page.check("#acknowledge")
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("p.error").all_inner_texts() == []
        page.wait_for_url("**/me/people/*")
        context.close()

        # The officer's arrivals show the certificate, verified.
        context = browser.new_context(viewport=PHONE, locale="en-US")
        page = context.new_page()
        _login(page, live_server, officer, "**/review/**")
        page.goto(live_server + "/entry/arrivals")
        attached = page.locator(".attached-certificate[data-status=verified]")
        assert attached.locator("summary").inner_text() == "Test result: negative · verified"
        attached.locator("summary").click()
        assert "John Smith" in attached.inner_text()
        assert "verified against DE DSC" in attached.inner_text()
        page.screenshot(path=str(tmp_path / "arrivals-360x640.png"), full_page=True)
        context.close()
    finally:
        browser.close()
    with app.app_context():
        result = db.session.scalar(db.select(LabResult))
        assert (result.source, result.result) == ("certificate", "negative")
