"""The temperature at 360x640: our own message next to the field in the page's language (never
the browser's bubble), and a decimal comma taken, on the one-tap page and the record page."""

from __future__ import annotations

import time

import pytest

from gantong.extensions import db
from gantong.models import VerificationRecord
from tests.conftest import resident_id
from tests.e2e.conftest import CHROME_ARGS, CHROMIUM, PHONE
from tests.e2e.test_offline_checkpoint_e2e import FAKE_CAMERA
from tests.e2e.test_scan_decisions_e2e import login, open_record, show

MESSAGES = {
    "en-US": "Type the temperature as a number, such as 36.5.",
    "zh-CN": "请以数字填写体温，例如 36.5。",
}
RANGE = {"en-US": "between 34.0 and 43.0", "zh-CN": "34.0"}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TOKEN_TTL": 1800}


def temperatures(app, holder_id):
    """The holder's stored temperatures, once there is one (polled, at most 10 s)."""
    for _ in range(100):
        with app.app_context():
            found = list(
                db.session.scalars(
                    db.select(VerificationRecord.temperature).where(
                        VerificationRecord.holder_id == holder_id,
                        VerificationRecord.recorded_at.is_not(None),
                    )
                )
            )
        if found:
            return found
        time.sleep(0.1)
    return []


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_temperature_messages_are_ours_and_a_decimal_comma_is_taken(
    app, live_server, playwright, make_staff, make_holder, screen_token, tmp_path, locale
):
    staff_id, staff_phone, _ = make_staff()
    scanned = make_holder(name="张小三")
    typed = make_holder(name="李四", number=resident_id("36010219800101123"))
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
    try:
        context = browser.new_context(viewport=PHONE, locale=locale)
        context.grant_permissions(["camera"], origin=live_server)
        context.add_init_script(FAKE_CAMERA)
        page = context.new_page()
        login(page, live_server, staff_phone)

        # The one-tap page.
        page.goto(live_server + "/checkpoint/scan")
        page.wait_for_selector("body[data-scan-ready]", state="attached", timeout=20000)
        show(page, screen_token(scanned))
        field = page.locator("#scan-temperature")
        field.fill("abc")
        page.click("#scan-record-form button[type=submit]")
        error = page.locator("#scan-temperature-error")
        assert error.is_visible() and error.inner_text() == MESSAGES[locale]
        assert field.evaluate("el => el.validationMessage") == ""  # no browser bubble
        assert field.get_attribute("aria-invalid") == "true"
        assert page.locator("#scan-record-form").is_visible()
        page.screenshot(path=str(tmp_path / f"scan-abc-{locale}.png"))
        field.fill("51")
        page.click("#scan-record-form button[type=submit]")
        assert RANGE[locale] in error.inner_text()
        field.fill("37,5")
        page.click("#scan-record-form button[type=submit]")
        assert temperatures(app, scanned) == [37.5]

        # The record page of the typed lanes, with its script.
        page.goto(live_server + f"/checkpoint/records/{open_record(app, typed, staff_id)}")
        page.fill("#temperature", "abc")
        page.click("#record-form button[type=submit]")
        error = page.locator("#temperature-error")
        assert error.is_visible() and error.inner_text() == MESSAGES[locale]
        assert page.evaluate("localStorage.getItem('gantong-record-queue')") in (None, "[]")
        page.screenshot(path=str(tmp_path / f"record-abc-{locale}.png"))
        page.fill("#temperature", "36,8")
        page.click("#record-form button[type=submit]")
        page.wait_for_url("**/checkpoint/scan")
        assert temperatures(app, typed) == [36.8]
        print("screenshots in", tmp_path)
        context.close()
    finally:
        browser.close()
