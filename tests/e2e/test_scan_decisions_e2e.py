"""The one-tap scan page at 360x640: a red code is not passed by default; a pass is an override."""

from __future__ import annotations

import time

import pytest

from gantong.checkpoint import verification
from gantong.extensions import db
from gantong.models import Holder, InformationPoint, User, VerificationRecord, utcnow
from gantong.review import official_records
from tests.conftest import PASSWORD, resident_id
from tests.e2e.conftest import CHROME_ARGS, CHROMIUM, PHONE
from tests.e2e.test_offline_checkpoint_e2e import FAKE_CAMERA, qr_uri

TEXTS = {
    "en-US": {"override": "Pass despite Red code (override)", "needs": "to let the person through"},
    "zh-CN": {"override": "红码仍放行", "needs": "放行"},
}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TOKEN_TTL": 1800}


def make_red(app, holder_ids, make_user):
    """Turn each holder red by an approved official record (two officers of the district)."""
    phones = [
        make_user(role="officer", district_code="360102", badge_number=f"B{n}", department="疾控")[
            1
        ]
        for n in (1, 2)
    ]
    with app.app_context():
        first, second = (
            db.session.scalar(db.select(User).where(User.phone == phone)) for phone in phones
        )
        for holder_id in holder_ids:
            holder = db.session.get(Holder, holder_id)
            entry = official_records.record(holder, first, "confirmed", "东卫疾控〔2022〕1号")
            official_records.approve(entry, second, "核实")
            assert db.session.get(Holder, holder_id).colour == "red"


def stored_record(app, holder_id):
    """The holder's stored record, once the page's queue has sent it (polled, at most 10 s)."""
    for _ in range(100):
        with app.app_context():
            record = db.session.scalar(
                db.select(VerificationRecord).where(
                    VerificationRecord.holder_id == holder_id,
                    VerificationRecord.recorded_at.is_not(None),
                )
            )
            if record is not None:
                return record.decision, record.pass_override, record.temperature
        time.sleep(0.1)
    return None


def open_record(app, holder_id, staff_id):
    with app.app_context():
        staff = db.session.get(User, staff_id)
        point = db.session.get(InformationPoint, staff.point_id)
        record, _ = verification.open_record(
            db.session.get(Holder, holder_id), point, staff, "number", None, utcnow()
        )
        db.session.commit()
        return record.record_id


def login(page, base, phone):
    page.goto(base + "/login")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/checkpoint/")


def show(page, token):
    reads = int(page.locator("#verdict").get_attribute("data-reads") or 0)
    page.evaluate("uri => window.__showCode(uri)", qr_uri(token))
    page.wait_for_selector(f"#verdict[data-reads='{reads + 1}']", state="attached", timeout=10000)
    page.evaluate("() => window.__showCode(null)")


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_a_red_code_at_36_4_is_referred_by_default_and_an_explicit_pass_is_named(
    app, live_server, playwright, make_staff, make_holder, make_user, screen_token, tmp_path, locale
):
    staff_id, staff_phone, _ = make_staff()
    first = make_holder(name="王五", number=resident_id("36010219800101124"))
    second = make_holder(name="赵六", number=resident_id("36010219800101125"))
    third = make_holder(name="孙七", number=resident_id("36010219800101126"))
    make_red(app, [first, second, third], make_user)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
    try:
        context = browser.new_context(viewport=PHONE, locale=locale)
        context.grant_permissions(["camera"], origin=live_server)
        context.add_init_script(FAKE_CAMERA)
        page = context.new_page()
        login(page, live_server, staff_phone)
        page.goto(live_server + "/checkpoint/scan")
        page.wait_for_selector("body[data-scan-ready]", state="attached", timeout=20000)

        # Red, 36.4, Submit at once: the volunteer did not choose, so the person is referred.
        show(page, screen_token(first))
        assert page.locator("#verdict").get_attribute("data-colour") == "red"
        page.fill("#scan-temperature", "36.4")
        assert not page.locator("#scan-decision-pass").is_checked()
        assert page.locator("#scan-decision-refer").is_checked()
        page.screenshot(path=str(tmp_path / f"red-default-{locale}.png"))
        page.click("#scan-record-form button[type=submit]")
        assert stored_record(app, first) == ("refer", False, 36.4)

        # A pass for a red code: choosing Pass alone is not enough; the override is.
        show(page, screen_token(second))
        page.fill("#scan-temperature", "36.4")
        page.check("#scan-decision-pass")
        page.click("#scan-record-form button[type=submit]")
        error = page.locator("#scan-decision-error")
        assert error.is_visible() and TEXTS[locale]["needs"] in error.inner_text()
        assert page.locator("#scan-record-form").is_visible()
        page.screenshot(path=str(tmp_path / f"red-needs-override-{locale}.png"))
        page.check("#scan-pass-override")
        page.click("#scan-record-form button[type=submit]")
        assert stored_record(app, second) == ("pass", True, 36.4)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width

        # The typed lanes' record page, with its script: the same rule before anything is sent.
        page.goto(live_server + f"/checkpoint/records/{open_record(app, third, staff_id)}")
        page.fill("#temperature", "36.4")
        page.check("#decision-0")  # Pass
        page.click("#record-form button[type=submit]")
        error = page.locator("#override-error")
        assert error.is_visible() and TEXTS[locale]["needs"] in error.inner_text()
        assert page.evaluate("localStorage.getItem('gantong-record-queue')") in (None, "[]")
        page.screenshot(path=str(tmp_path / f"record-needs-override-{locale}.png"))
        page.check("#pass_override")
        page.click("#record-form button[type=submit]")
        page.wait_for_url("**/checkpoint/scan")
        assert stored_record(app, third) == ("pass", True, 36.4)

        page.goto(live_server + "/checkpoint/")
        assert TEXTS[locale]["override"] in page.locator("main").inner_text()
        page.screenshot(path=str(tmp_path / f"station-{locale}.png"), full_page=True)
        print("screenshots in", tmp_path)
        context.close()
    finally:
        browser.close()
