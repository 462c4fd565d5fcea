"""The one-tap scan page at 360x640 in both languages: verdict in place, what to do, the lanes."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, resident_id
from tests.e2e.conftest import CHROME_ARGS, CHROMIUM, PHONE
from tests.e2e.test_offline_checkpoint_e2e import FAKE_CAMERA, make_red, qr_uri

VIBRATIONS = "window.__vibrations = []; navigator.vibrate = (p) => { window.__vibrations.push(p); return true; };"

TEXTS = {
    "en-US": {
        "red": "Entry refused: call the medical staff.",
        "green": "Let the person through.",
        "verified": "Verified on this phone at",
    },
    "zh-CN": {"red": "禁止通行，联系医务人员。", "green": "准予通行。", "verified": "本机于"},
}


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_one_tap_scan_page_shows_the_verdict_in_place_and_the_camera_stays_live(
    app, live_server, playwright, make_staff, make_holder, make_user, screen_token, tmp_path, locale
):
    _, staff_phone, _ = make_staff()
    green = make_holder(name="张小三")
    red = make_holder(name="王五", number=resident_id("36010219800101124"))
    make_red(app, red, make_user)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
    try:
        context = browser.new_context(viewport=PHONE, locale=locale)
        context.grant_permissions(["camera"], origin=live_server)
        context.add_init_script(FAKE_CAMERA)
        context.add_init_script(VIBRATIONS)
        page = context.new_page()
        page.goto(live_server + "/login")
        page.fill("#phone", staff_phone)
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/checkpoint/")
        page.goto(live_server + "/checkpoint/scan")
        page.wait_for_selector("body[data-scan-ready]", state="attached", timeout=20000)
        assert page.get_attribute("#photo", "accept") == "image/*"
        assert page.get_attribute("#photo", "capture") == "environment"
        assert page.get_attribute("#number", "inputmode") == "numeric"
        scan_url = page.url

        page.evaluate("uri => window.__showCode(uri)", qr_uri(screen_token(red)))
        page.wait_for_selector("#verdict[data-colour=red]", state="attached", timeout=10000)
        page.evaluate("() => window.__showCode(null)")
        assert page.url == scan_url  # no navigation
        assert page.locator("#verdict [data-banner]:visible").count() == 1
        assert (
            page.locator("#verdict .banner:visible")
            .inner_text()
            .strip()
            .endswith(("红码", "Red code"))
        )
        assert TEXTS[locale]["red"] in page.locator("#verdict [data-instruction]").inner_text()
        assert "王*" in page.locator("#verdict [data-who]").inner_text()
        assert TEXTS[locale]["verified"] in page.locator("#verdict [data-verified-at]").inner_text()
        assert page.evaluate("window.__vibrations.length") >= 1
        page.fill("#scan-temperature", "36.5")
        # A red code is referred whatever the temperature; a pass would need the override.
        assert page.locator("#scan-decision-refer").is_checked()
        assert not page.locator("#scan-decision-pass").is_checked()
        assert page.locator("#scan-pass-override").is_visible()
        page.fill("#scan-temperature", "37.3")
        assert page.locator("#scan-decision-refer").is_checked()
        page.screenshot(path=str(tmp_path / f"scan-red-{locale}.png"))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        page.check("#scan-decision-deny")
        page.fill("#scan-temperature", "36.6")
        assert page.locator("#scan-decision-deny").is_checked()  # a chosen decision stays
        page.click("#scan-record-form button[type=submit]")

        # The camera is live again at once: the next code is read with no tap.
        page.evaluate("uri => window.__showCode(uri)", qr_uri(screen_token(green)))
        page.wait_for_selector("#verdict[data-colour=green]", state="attached", timeout=10000)
        assert page.url == scan_url
        assert TEXTS[locale]["green"] in page.locator("#verdict [data-instruction]").inner_text()
        page.screenshot(path=str(tmp_path / f"scan-green-{locale}.png"))
        print("screenshots in", tmp_path)
        context.close()
    finally:
        browser.close()
