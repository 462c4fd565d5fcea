"""A foreigner registers before arrival in English; an officer prints a paper code; in Chromium."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta

import pytest
import zxingcpp
from babel.dates import format_date
from PIL import Image

from gantong.codes import keys
from gantong.core import tokens
from gantong.extensions import db
from gantong.models import PaperCode, PreEntry, VerificationRecord
from tests.conftest import PASSWORD, resident_id
from tests.e2e.codes import shown_colour
from tests.e2e.conftest import PHONE, RequestLog

CJK = re.compile(r"[\u3400-\u9fff]")


def english_page(browser):
    context = browser.new_context(locale="en-US", viewport=PHONE)
    return context, context.new_page()


def log_in(page, base, phone, landing):
    page.goto(base + "/login")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(landing)


def decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code found in the screenshot"
    return results[0].text


def assert_all_english(page):
    # The only Chinese on an English page is the link back to Chinese.
    text = page.locator("body").inner_text().replace("中文", "")
    assert not CJK.search(text), CJK.findall(text)[:10]


def test_a_foreigner_registers_in_english_before_arrival_and_the_officer_sees_the_arrival(
    app, live_server, browser, make_user, today, tmp_path
):
    context, page = english_page(browser)
    requests = RequestLog(page)
    page.goto(live_server + "/entry/")
    assert "Register before you arrive" in page.locator("h1").inner_text()
    assert_all_english(page)
    page.click("main a:has-text('Create an account')")
    page.wait_for_url("**/entry/register")
    assert_all_english(page)
    page.fill("#phone", "+44 7911 123456")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/entry/trip")
    assert_all_english(page)

    planned = today + timedelta(days=3)
    page.check("input[name=category][value=foreigner]")
    page.fill("#name", "John Smith")
    page.select_option("#doc_type", "passport")
    page.fill("#doc_number", "K1234567")
    page.select_option("#doc_country", "GB")
    page.select_option("#nationality", "GB")
    page.select_option("#origin_country", "GB")
    page.fill("#entry_port", "Shanghai Pudong International Airport")
    page.fill("#transport_number", "MU552")
    page.fill("#planned_arrival", planned.isoformat())
    page.select_option("#destination", "360102")
    assert page.input_value("#contact_phone") == "+447911123456"
    page.check("#acknowledge")
    page.screenshot(path=str(tmp_path / "entry-trip-360x640.png"), full_page=True)
    page.click("main button[type=submit]")
    page.wait_for_url("**/me/people/*")

    assert "Yellow code" in page.locator("#code-card .banner").inner_text()
    green_on = format_date(planned + timedelta(days=14), "d MMM y", locale="en")
    assert f"Turns green by itself on {green_on}" in page.locator(".reasons").inner_text()
    assert "J*** S****" in page.locator("#code-card .who").inner_text()
    assert_all_english(page)
    png = page.screenshot(path=str(tmp_path / "entry-code-360x640.png"))
    with app.app_context():
        assert shown_colour(decode(png)) == "yellow"
        assert db.session.scalar(db.select(PreEntry.planned_arrival)) == planned
    assert requests.foreign_hosts(live_server) == set() and requests.csp_violations() == []
    context.close()

    _, officer_phone = make_user(
        role="officer", district_code="360102", badge_number="DH-1", department="东湖区疾控中心"
    )
    context, page = english_page(browser)
    log_in(page, live_server, officer_phone, "**/review/")
    page.goto(live_server + "/entry/arrivals")
    row = page.locator("#arrivals tbody tr").first
    assert "John Smith" in row.inner_text()
    assert format_date(planned, "d MMM y", locale="en") in row.inner_text()
    assert "Foreigner entering the province" in row.inner_text()
    assert "Yellow code" in row.inner_text()
    page.screenshot(path=str(tmp_path / "entry-arrivals-360x640.png"))
    context.close()


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_a_paper_code_prints_on_one_page_is_checked_at_the_checkpoint_and_refused_after_lost(
    app, live_server, browser, make_user, make_staff, tmp_path
):
    _, officer_phone = make_user(
        role="officer", district_code="360102", badge_number="DH-1", department="东湖区疾控中心"
    )
    _, staff_phone, _ = make_staff()

    officer_context, officer = english_page(browser)
    requests = RequestLog(officer)
    log_in(officer, live_server, officer_phone, "**/review/")
    officer.goto(live_server + "/entry/holders/new")
    officer.fill("#name", "王奶奶")
    officer.select_option("#doc_type", "resident_id")
    officer.fill("#doc_number", resident_id("36010219400101123"))
    officer.fill("#address", "东湖区八一大道 9 号")
    officer.click("main button[type=submit]")
    officer.wait_for_url("**/entry/people/*/paper")
    assert officer.locator("#paper-code").is_visible()
    old_png = tmp_path / "paper-360x640.png"
    old_png.write_bytes(officer.screenshot(path=str(old_png)))
    old_text = decode(old_png.read_bytes())
    with app.app_context():
        token = tokens.verify(old_text, keys.verification_keys(), int(time.time()))
        printed = db.session.scalars(db.select(PaperCode)).one()
    assert token.type == tokens.PAPER and token.colour is None and token.subject == printed.serial

    # One printed page, on A6 as on A4, and the QR still reads from the print layout.
    for paper_format in ("A6", "A4"):
        pdf = officer.pdf(format=paper_format, print_background=True)
        (tmp_path / f"paper-{paper_format}.pdf").write_bytes(pdf)
        assert pdf_pages(pdf) == 1, paper_format
    officer.emulate_media(media="print")
    officer.set_viewport_size({"width": 397, "height": 559})  # A6 at 96 dpi
    assert officer.locator("body > header").is_hidden() and officer.locator(".no-print").is_hidden()
    assert (
        decode(officer.screenshot(path=str(tmp_path / "paper-print-A6.png"), full_page=True))
        == old_text
    )
    officer.emulate_media(media="screen")
    officer.set_viewport_size(PHONE)

    staff_context, staff = english_page(browser)
    log_in(staff, live_server, staff_phone, "**/checkpoint/")
    staff.goto(live_server + "/checkpoint/scan")
    staff.wait_for_selector("body[data-scan-ready]", state="attached")
    staff.set_input_files("#photo", str(old_png))
    # Verified on the phone: the staff bundle says the paper serial's holder is green.
    staff.wait_for_selector("#verdict[data-colour=green]", state="attached")
    assert "Green code" in staff.locator("#verdict .banner:visible").inner_text()
    staff.fill("#scan-temperature", "36.5")
    with staff.expect_response(lambda r: r.url.endswith("/checkpoint/scan-records")) as answered:
        staff.click("#scan-record-form button[type=submit]")
    assert answered.value.status == 201
    with app.app_context():
        record = db.session.scalars(db.select(VerificationRecord)).one()
        assert record.paper_serial == printed.serial

    officer.check("#confirm")
    officer.click("form:has(#confirm) button[type=submit]")
    officer.wait_for_selector("text=The old paper code no longer works")
    new_text = decode(officer.screenshot(path=str(tmp_path / "paper-reprinted-360x640.png")))
    assert new_text != old_text

    staff.goto(live_server + "/checkpoint/scan")
    staff.wait_for_selector("body[data-scan-ready]", state="attached")
    staff.set_input_files("#photo", str(old_png))
    # The page opened with a fresh bundle, whose revocation list has the old serial.
    staff.wait_for_selector("#verdict[data-reason=revoked]", state="attached")
    assert "Paper code reported lost" in staff.locator("#verdict [data-refusal-title]").inner_text()
    staff.screenshot(path=str(tmp_path / "paper-refused-360x640.png"))
    assert requests.foreign_hosts(live_server) == set() and requests.csp_violations() == []
    staff_context.close()
    officer_context.close()


@pytest.mark.parametrize(
    "locale, path, said",
    [
        ("zh-CN", "/register", r"这个号码尝试次数过多，请 (\d+) 分钟后再试。"),
        (
            "en-US",
            "/entry/register",
            r"This number has been tried too many times\. Try again in (\d+) minutes\.",
        ),
    ],
)
def test_a_sign_up_refused_for_too_many_tries_keeps_the_form_on_a_phone(
    app, live_server, browser, make_user, tmp_path, locale, path, said
):
    app.config["SIGNUP_LIMIT_PER_NUMBER"] = "2 per hour"
    make_user(phone="+447911123456")  # each try meets "has an account already", and counts
    context = browser.new_context(locale=locale, viewport=PHONE)
    page = context.new_page()
    page.goto(live_server + path)
    for _ in range(2):
        page.fill("#phone", "+44 7911 123456")
        page.fill("#password", PASSWORD)
        page.fill("#confirm", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_selector("#phone-error")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    with page.expect_response(lambda response: response.request.method == "POST") as answered:
        page.click("main button[type=submit]")
    assert answered.value.status == 429
    page.wait_for_load_state()
    page.screenshot(path=str(tmp_path / f"signup-refused-{locale}-360x640.png"))
    # The form again, as typed (the passwords excepted), the wait beside the number, in view.
    assert page.input_value("#phone") == "+44 7911 123456"
    assert page.input_value("#password") == "" and page.input_value("#confirm") == ""
    message = page.locator("#phone-error")
    assert re.fullmatch(said, message.inner_text()), message.inner_text()
    assert int(re.fullmatch(said, message.inner_text()).group(1)) > 1
    box = message.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["y"] + box["height"] <= PHONE["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("#phone").get_attribute("aria-describedby") == "phone-error"
    context.close()
