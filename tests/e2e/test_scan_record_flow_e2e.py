"""The one-tap scan page's records at 360x640: the phone's GPS, offline only when really queued,
"saved" only when the server has it, and a person's code held after their record."""

from __future__ import annotations

import time

import pytest

from gantong.extensions import db
from gantong.models import VerificationRecord
from tests.conftest import resident_id
from tests.e2e.conftest import CHROME_ARGS, CHROMIUM, PHONE
from tests.e2e.test_offline_checkpoint_e2e import FAKE_CAMERA, qr_uri
from tests.e2e.test_scan_decisions_e2e import login, show

GPS = {"latitude": 28.6912, "longitude": 115.8571, "accuracy": 12}
TEXTS = {
    "en-US": {"saved": "Record saved.", "queued": "sent when the server can be reached"},
    "zh-CN": {"saved": "记录已保存。", "queued": "连上服务器后"},
}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TOKEN_TTL": 1800}


def stored(app, holder_id):
    """The holder's stored record once the page has sent it (polled, at most 20 s)."""
    for _ in range(200):
        with app.app_context():
            record = db.session.scalar(
                db.select(VerificationRecord).where(VerificationRecord.holder_id == holder_id)
            )
            if record is not None:
                return (
                    record.position_source,
                    record.latitude,
                    record.longitude,
                    record.accuracy,
                    record.offline,
                )
        time.sleep(0.1)
    return None


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_one_tap_records_carry_gps_and_are_offline_only_when_queued(
    app, live_server, playwright, make_staff, make_holder, screen_token, tmp_path, locale
):
    _, staff_phone, _ = make_staff()
    online = make_holder(name="张小三")
    queued = make_holder(name="李四", number=resident_id("36010219800101123"))
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
    try:
        context = browser.new_context(viewport=PHONE, locale=locale, geolocation=GPS)
        context.grant_permissions(["camera", "geolocation"], origin=live_server)
        context.add_init_script(FAKE_CAMERA)
        page = context.new_page()
        login(page, live_server, staff_phone)
        page.goto(live_server + "/checkpoint/scan")
        page.wait_for_selector("body[data-scan-ready]", state="attached", timeout=20000)

        # Online: straight through, with the phone's position, and said to be saved.
        token = screen_token(online)
        show(page, token)
        page.fill("#scan-temperature", "36.5")
        page.click("#scan-record-form button[type=submit]")
        assert stored(app, online) == ("gps", 28.6912, 115.8571, 12.0, False)
        page.wait_for_selector("#last-saved[data-state=saved]", timeout=10000)
        saved = page.locator("#last-saved").inner_text()
        assert TEXTS[locale]["saved"] in saved and TEXTS[locale]["queued"] not in saved
        page.screenshot(path=str(tmp_path / f"saved-{locale}.png"))

        # The same code still in front of the camera does not reopen the person's form.
        reads = page.locator("#verdict").get_attribute("data-reads")
        page.evaluate("uri => window.__showCode(uri)", qr_uri(token))
        page.wait_for_selector("#verdict[data-held]", state="attached", timeout=10000)
        assert page.locator("#scan-record-form").is_hidden()
        assert page.locator("#verdict").get_attribute("data-reads") == reads
        # Unless the volunteer asks for it.
        page.click("#scan-again")
        page.wait_for_selector("#scan-record-form:not([hidden])", timeout=10000)
        page.evaluate("() => window.__showCode(null)")
        page.click("#scan-record-form [data-discard]")

        # No network: verified on the phone, queued, and only then stored as offline.
        context.set_offline(True)
        show(page, screen_token(queued))
        page.fill("#scan-temperature", "36.6")
        page.click("#scan-record-form button[type=submit]")
        page.wait_for_selector("#last-saved[data-state=queued]", timeout=10000)
        assert TEXTS[locale]["queued"] in page.locator("#last-saved").inner_text()
        page.screenshot(path=str(tmp_path / f"queued-{locale}.png"))
        context.set_offline(False)
        assert stored(app, queued) == ("gps", 28.6912, 115.8571, 12.0, True)
        page.wait_for_selector("#last-saved[data-state=saved]", timeout=10000)
        print("screenshots in", tmp_path)
        context.close()
    finally:
        browser.close()
