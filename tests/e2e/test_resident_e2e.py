"""A new resident registers, declares a fever, and shows a yellow code; in Chromium."""

from __future__ import annotations

import io
import time

import pytest
import zxingcpp
from PIL import Image

from gantong.codes import keys
from gantong.core import tokens
from tests.conftest import PASSWORD, resident_id


def register_and_declare_fever(page, base):
    page.goto(base + "/register")
    page.fill("#phone", "138 1234 5678")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/me/people/new")
    page.fill("#name", "赵小六")
    page.select_option("#doc_type", "resident_id")
    page.fill("#doc_number", resident_id("36010219880808123"))
    page.select_option("#district", "360102")
    page.fill("#address", "南昌市东湖区八一大道 8 号")
    page.click("main button[type=submit]")
    page.wait_for_url("**/declare")
    page.check("input[name=symptoms][value=fever]")
    page.check("#acknowledge")
    page.click("main button[type=submit]:not([name=refine])")
    page.wait_for_url("**/me/people/*")


def decode_screenshot(png: bytes) -> str:
    image = Image.open(io.BytesIO(png))
    results = zxingcpp.read_barcodes(image)
    assert results, "no QR code found in the screenshot"
    return results[0].text


@pytest.mark.smoke
def test_register_declare_fever_yellow_code_in_chinese_then_english(
    app, live_server, page, request_log, tmp_path
):
    register_and_declare_fever(page, live_server)
    banner = page.locator("#code-card .banner")
    assert "黄码" in banner.inner_text()
    assert "发热" in page.locator(".reasons").inner_text()
    assert "赵*六" in page.locator(".who").inner_text()

    png = page.screenshot(path=str(tmp_path / "code-360x640.png"))
    text = decode_screenshot(png)
    with app.app_context():
        token = tokens.verify(text, keys.verification_keys(), int(time.time()))
    assert token.type == tokens.SCREEN and token.colour == "yellow"

    page.click("text=English")
    assert "Yellow code" in page.locator("#code-card .banner").inner_text()
    assert "Fever" in page.locator(".reasons").inner_text()

    assert request_log.foreign_hosts(live_server) == set()
    assert request_log.csp_violations() == []


def test_code_shows_without_javascript(app, live_server, browser, make_user, make_holder):
    user_id, phone = make_user()
    make_holder(user_id, symptoms=["fever"])
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 360, "height": 640}, locale="zh-CN"
    )
    page = context.new_page()
    page.goto(live_server + "/login")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/me/people/*")
    assert "黄码" in page.locator(".banner").inner_text()
    assert page.locator(".qr svg").is_visible()
    # No meta refresh (offline it would show the browser's error page): a refresh link.
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    assert page.locator("#refresh").is_visible()
    text = decode_screenshot(page.screenshot())
    with app.app_context():
        tokens.verify(text, keys.verification_keys(), int(time.time()))
    context.close()
