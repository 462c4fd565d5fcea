"""A new resident registers, declares a fever, and shows a yellow code; a red close contact
after an approved transcoding; a family account's landing; large-text mode. In Chromium."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from gantong.codes import keys
from gantong.core import tokens
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Application, User
from gantong.review import applications
from tests.conftest import PASSWORD, resident_id
from tests.e2e.codes import shown_colour
from tests.e2e.conftest import PHONE
from tests.views.review.test_review import DEPARTMENT, file_application

SCREENSHOTS = os.environ.get("GANTONG_SCREENSHOTS")


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
        assert shown_colour(text) == "yellow"

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


def log_in(context, base, phone, language):
    page = context.new_page()
    page.goto(f"{base}/language/{language}?next=/login")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/me/people/*")
    return page


@pytest.fixture
def approved_contact(app, make_user, make_holder, today):
    """A red close contact (3 days ago) whose transcoding was approved: (phone, holder id)."""
    user_id, phone = make_user()
    holder_id = make_holder(
        user_id, name="王红", close_contact=True, contact_date=today - timedelta(days=3)
    )
    officer_id, _ = make_user(
        role="officer", district_code="360102", badge_number="DH-0301", department=DEPARTMENT
    )
    application_id = file_application(app, holder_id)
    with app.app_context():
        applications.decide(
            db.session.get(Application, application_id),
            db.session.get(User, officer_id),
            True,
            "核酸阴性",
        )
    return phone, holder_id


# Every control a finger must hit, with its box, in the header and the page.
TARGETS = """() => [...document.querySelectorAll(
    'header a, header button, main a, main button, main input:not([type=hidden]), main select, main textarea')]
  .filter(el => el.offsetParent !== null)
  .map(el => { const box = el.getBoundingClientRect();
               return {what: el.outerHTML.slice(0, 80), width: box.width, height: box.height}; })"""
# The elements that stick out of the page on the right, if any.
WIDER = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
  .map(el => el.outerHTML.slice(0, 80))"""
FONT_SIZE = "() => parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)"


def is_box(target):
    return 'type="checkbox"' in target["what"] or 'type="radio"' in target["what"]


def small_targets(page, least):
    """The controls lower than `least` px, and the checkboxes or radios narrower."""
    return [
        target
        for target in page.evaluate(TARGETS)
        if target["height"] < least or is_box(target) and target["width"] < least
    ]


def small_boxes(page, least):
    """The checkboxes and radios smaller than `least` px either way."""
    return [target for target in small_targets(page, least) if is_box(target)]


@pytest.mark.parametrize(
    ("language", "approved", "colour"),
    [("zh", "转码申请已于", "红码"), ("en", "Transcoding approved on", "Red code")],
)
def test_red_contact_after_an_approved_transcoding_is_told_so_and_not_offered_to_apply(
    live_server, browser, approved_contact, language, approved, colour
):
    phone, _ = approved_contact
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = log_in(context, live_server, phone, language)
    assert colour in page.locator("#code-card .banner").inner_text()
    assert page.locator("#apply").count() == 0
    assert approved in page.locator("#transcoding").inner_text()
    # The first button of what can be done is no longer an application.
    first = page.locator("#todo .actions a").first.inner_text()
    assert first not in ("申请转码", "Apply for transcoding")
    context.close()


@pytest.mark.parametrize(("language", "switch"), [("zh", "全部人员"), ("en", "All my people")])
def test_a_family_account_lands_on_its_own_code_with_the_family_one_tap_away(
    app, live_server, browser, make_user, make_holder, language, switch
):
    user_id, phone = make_user()
    make_holder(user_id, name="王大明")
    with app.app_context():
        child = registry.add_holder(
            db.session.get(User, user_id),
            registry.Identity(
                name="王小明",
                doc_type="resident_id",
                doc_number=resident_id("36010220150101123"),
                doc_country="",
                nationality="CN",
                district_code="360102",
                address="八一大道 1 号",
            ),
            relation="child",
        )
        registry.declare(child, registry.DeclarationFacts([], False, None), author=None)
        child_id = child.id
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = log_in(context, live_server, phone, language)
    assert "王*明" in page.locator("#code-card .who").inner_text()
    assert page.locator("#code-card .qr svg").is_visible()
    family = page.locator(f".switch a[href='/me/people/{child_id}']")
    assert family.is_visible()
    assert family.bounding_box()["y"] + family.bounding_box()["height"] <= PHONE["height"]
    assert page.locator(".switch").get_by_text(switch).is_visible()
    family.click()
    page.wait_for_url(f"**/me/people/{child_id}")
    assert "王*明" in page.locator("#code-card .who").inner_text()
    # In large text the switcher's chips are 48px targets too.
    page.click("#text-size")
    page.wait_for_url(f"**/me/people/{child_id}")
    assert small_targets(page, 48) == [], small_targets(page, 48)
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/family-{language}-large.png")
    context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_large_text_mode_is_one_switch_remembered_without_javascript(
    app, live_server, browser, approved_contact, language, tmp_path
):
    phone, holder_id = approved_contact
    context = browser.new_context(viewport=PHONE, locale="zh-CN", java_script_enabled=False)
    page = log_in(context, live_server, phone, language)
    folder = Path(SCREENSHOTS or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"code-{language}-normal.png"))
    if SCREENSHOTS:
        page.screenshot(path=str(folder / f"code-{language}-normal-full.png"), full_page=True)
    normal = page.evaluate(FONT_SIZE)
    assert page.locator("html.large").count() == 0
    # Checkboxes are no longer the native 13px: 24px at least.
    page.goto(f"{live_server}/me/people/{holder_id}/declare")
    assert page.locator("input[type=checkbox]").count() > 0
    assert small_boxes(page, 24) == []

    page.goto(f"{live_server}/me/people/{holder_id}")
    page.click("#text-size")
    page.wait_for_url(f"**/me/people/{holder_id}")
    assert page.locator("html.large").count() == 1
    assert round(page.evaluate(FONT_SIZE), 2) >= round(1.5 * normal, 2)
    png = page.screenshot(path=str(folder / f"code-{language}-large.png"))
    # The whole QR is on the first screen, and a camera reads it.
    with app.app_context():
        assert shown_colour(decode_screenshot(png)) == "red"
    qr = page.locator("#code-card .qr").bounding_box()
    assert qr["y"] + qr["height"] <= PHONE["height"]
    if SCREENSHOTS:
        page.screenshot(path=str(folder / f"code-{language}-large-full.png"), full_page=True)
    # The code and its colour fill the screen: the card is as wide as the phone and as high.
    card = page.locator("#code-card").bounding_box()
    assert card["width"] >= PHONE["width"] and card["height"] >= PHONE["height"]
    assert page.locator("#code-card .qr").bounding_box()["width"] >= 0.8 * PHONE["width"]
    assert small_targets(page, 48) == [], small_targets(page, 48)
    assert page.evaluate(WIDER) == []

    # Remembered (a cookie) on every page of the resident's, with 48px targets there too.
    for path in ["declare", "apply", "claim", "history", "requests"]:
        page.goto(f"{live_server}/me/people/{holder_id}/{path}")
        assert page.locator("html.large").count() == 1, path
        assert small_targets(page, 48) == [], (path, small_targets(page, 48))
        assert page.evaluate(WIDER) == [], path
    page.goto(f"{live_server}/me/people/new")
    assert small_targets(page, 48) == [], small_targets(page, 48)

    page.goto(f"{live_server}/me/people/{holder_id}")
    page.click("#text-size")
    page.wait_for_url(f"**/me/people/{holder_id}")
    assert page.locator("html.large").count() == 0
    assert page.evaluate(FONT_SIZE) == normal
    context.close()
