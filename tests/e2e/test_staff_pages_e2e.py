"""In Chromium at 360x640 (and a desk's 1280 px), in both languages:
hidden controls stay hidden, the record banner shows the colour now, an API token is made once and
its revoke button is legible, the audit table is readable, staff pages use a desk's width."""

from __future__ import annotations

import pytest
from PIL import Image

from gantong import audit
from gantong.extensions import db
from gantong.models import PointApiToken, User
from tests.e2e.conftest import PHONE
from tests.e2e.site import log_in, seed

DESK = {"width": 1280, "height": 800}
LONG_REASON = (
    "经区疾控中心流调核实：该人员于 2022 年 4 月 12 日 14:00 至 16:30 在南昌市东湖区八一大道"
    "某商场与一名确诊病例同一楼层停留，按《新型冠状病毒肺炎防控方案（第九版）》判定为密切接触者，"
    "需集中隔离医学观察 7 天并进行 5 次核酸检测，居家健康监测 3 天。"
)


@pytest.fixture
def site(app, live_server):
    return seed(app)


def shot(page, tmp_path, name):
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print("screenshot:", path, Image.open(path).size)


def context(browser, language, viewport=PHONE, javascript=True):
    return browser.new_context(
        viewport=viewport,
        locale="zh-CN" if language == "zh" else "en-US",
        java_script_enabled=javascript,
    )


def choose(page, base, language, path):
    page.goto(f"{base}/language/{language}?next={path}")


LANGUAGES = pytest.mark.parametrize("language", ["zh", "en"])


@LANGUAGES
def test_hidden_controls_stay_hidden(browser, live_server, site, language, tmp_path):
    # the checkpoint's "dismiss the refused records" shows only when there are some.
    staff = context(browser, language)
    page = staff.new_page()
    log_in(page, live_server, "staff")
    choose(page, live_server, language, "/checkpoint/")
    assert page.locator("[data-queue-dismiss]").count() == 1
    assert not page.locator("[data-queue-dismiss]").is_visible()
    page.goto(live_server + site["staff"][0])
    assert not page.locator("[data-queue-dismiss]").is_visible()
    shot(page, tmp_path, f"record-{language}")
    staff.close()
    # The paper code's Print button: shown by print.js where it can print, hidden without JavaScript.
    for javascript in (False, True):
        officer = context(browser, language, javascript=javascript)
        page = officer.new_page()
        log_in(page, live_server, "officer")
        choose(page, live_server, language, "/entry/holders")
        page.click("a[href$='/paper']")
        page.wait_for_load_state("load")  # print.js (deferred) has run by then
        if javascript:
            page.locator("[data-print]").wait_for(state="visible")
        assert page.locator("[data-print]").is_visible() is javascript
        shot(page, tmp_path, f"paper-{language}-js-{javascript}")
        officer.close()


@LANGUAGES
def test_after_a_fever_the_record_banner_shows_the_colour_now(
    browser, live_server, site, language, tmp_path
):
    # the record was opened green; the fever recorded on it turns the code yellow.
    staff = context(browser, language)
    page = staff.new_page()
    log_in(page, live_server, "staff")
    record = site["staff"][0]
    choose(page, live_server, language, record)
    assert page.get_attribute("#verdict", "class") == "card green"
    page.fill("#temperature", "38.6")
    page.check("input[name=decision][value=refer]")
    page.click("#record-form button[type=submit]")
    page.wait_for_url("**/checkpoint/scan")  # the camera again at once: the next person is waiting
    page.goto(live_server + record)
    assert page.get_attribute("#verdict", "class") == "card yellow"
    assert page.locator("#verdict .banner").inner_text().strip() == (
        "黄码" if language == "zh" else "Yellow code"
    )
    assert page.locator("#colour-then").is_visible()
    shot(page, tmp_path, f"record-after-fever-{language}")
    staff.close()


@LANGUAGES
def test_an_api_token_is_made_once_and_its_revoke_button_is_legible(
    app, browser, live_server, site, language, tmp_path
):
    # Shown once, in the answer to the post (never carried in the session cookie); the point's
    # page opened again shows it no more.
    admin = context(browser, language)
    page = admin.new_page()
    log_in(page, live_server, "admin")
    choose(page, live_server, language, "/admin/points")
    page.click("#results a[href^='/admin/points/']")
    point_url = page.url
    page.fill("#label", "闸机平板" if language == "zh" else "gate tablet")
    page.click("form[action$='/tokens'] button[type=submit]")
    token = page.locator("#new-token").inner_text()
    assert token
    shot(page, tmp_path, f"token-shown-{language}")
    page.goto(point_url)
    assert page.locator("#new-token").count() == 0
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PointApiToken)) == 1
    revoke = page.locator("form[action$='/revoke'] button")
    colours = revoke.evaluate("""b => { const s = getComputedStyle(b), p = getComputedStyle(b.closest('main'));
        return [s.color, s.backgroundColor, p.backgroundColor]; }""")
    text, background, page_background = colours
    assert text != "rgb(255, 255, 255)" and text != background
    assert background in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)") or background != page_background
    shot(page, tmp_path, f"token-revoke-{language}")
    revoke.click()
    page.wait_for_selector("form[action$='/revoke']", state="detached")
    admin.close()


@LANGUAGES
def test_the_audit_table_reads_at_360_px_with_a_long_reason(
    app, browser, live_server, site, language, tmp_path
):
    # the time-and-actor column keeps a readable width; the reason wraps in its cell.
    with app.app_context():
        officer = db.session.scalar(db.select(User).where(User.role == "officer"))
        audit.append(
            "colour.change",
            "holder",
            3,
            actor=officer,
            before={"colour": "green"},
            after={"colour": "red"},
            reason=LONG_REASON,
        )
        db.session.commit()
    admin = context(browser, language)
    page = admin.new_page()
    log_in(page, live_server, "admin")
    choose(page, live_server, language, "/admin/audit")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    first = page.locator("table.audit tbody tr").first
    widths = first.locator("td").evaluate_all(
        "cells => cells.map(c => c.getBoundingClientRect().width)"
    )
    assert widths[1] >= 130 and widths[2] >= 130, widths
    assert LONG_REASON in first.inner_text()
    # The phone number (a serial) is on one line; the time-and-actor cell is at most four lines.
    phone = first.locator("td:nth-child(2) .serial")
    assert phone.evaluate("s => s.getClientRects().length") == 1
    cell = first.locator("td:nth-child(2)")
    line = cell.evaluate("c => parseFloat(getComputedStyle(c).lineHeight)")
    content = cell.evaluate(
        "c => { const r = document.createRange(); r.selectNodeContents(c); "
        "return r.getBoundingClientRect().height; }"
    )
    assert content <= 4 * line + 2, (content, line)
    shot(page, tmp_path, f"audit-{language}")
    admin.close()


@LANGUAGES
@pytest.mark.parametrize(
    "role,path",
    [("officer", "/review/people"), ("admin", "/admin/accounts"), ("admin", "/admin/audit")],
)
def test_staff_pages_use_a_desks_width_and_serials_stay_whole(
    browser, live_server, site, language, role, path, tmp_path
):
    # a 1280 px screen gets more than a phone's column; serials do not break in tables.
    for viewport in (DESK, PHONE):
        desk = context(browser, language, viewport=viewport)
        page = desk.new_page()
        log_in(page, live_server, role)
        choose(page, live_server, language, path)
        width = page.locator("main").evaluate("m => m.getBoundingClientRect().width")
        if viewport is DESK:
            assert width >= 1200, width
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        serials = page.locator("table .serial, table a[href^='/admin/accounts/']")
        for index in range(serials.count()):
            assert serials.nth(index).evaluate("s => s.getClientRects().length") == 1
        shot(
            page,
            tmp_path,
            f"{role}-{path.strip('/').replace('/', '_')}-{language}-{viewport['width']}",
        )
        desk.close()


def test_the_residents_pages_keep_a_phones_column_on_a_desk(browser, live_server, site):
    resident = context(browser, "zh", viewport=DESK)
    page = resident.new_page()
    log_in(page, live_server, "resident")
    assert page.locator("main").evaluate("m => m.getBoundingClientRect().width") <= 640
    resident.close()
