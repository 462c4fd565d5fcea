"""Transcoding, the officer's queue and the second officer, in Chromium."""

from __future__ import annotations

import re

from gantong.extensions import db
from gantong.models import Application, Holder, OfficialRecord
from tests.conftest import PASSWORD, resident_id
from tests.e2e.conftest import PHONE

DEPARTMENT = "东湖区疾控中心"


def log_in(page, base, phone):
    page.goto(base + "/login")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")


def new_page(browser):
    return browser.new_context(viewport=PHONE, locale="zh-CN").new_page()


def colour(app, holder_id):
    with app.app_context():
        return db.session.get(Holder, holder_id).colour


def test_a_yellow_resident_applies_the_officer_approves_and_the_code_turns_green(
    app, live_server, page, browser, request_log, make_user, make_holder, today, tmp_path
):
    user_id, phone = make_user()
    holder_id = make_holder(user_id, name="李小红", symptoms=["fever"])
    _, officer_phone = make_user(
        role="officer", district_code="360102", badge_number="DH-0301", department=DEPARTMENT
    )

    # The resident: yellow, applies with a negative test.
    log_in(page, live_server, phone)
    page.wait_for_url(f"**/me/people/{holder_id}")
    assert "黄码" in page.locator("#code-card .banner").inner_text()
    page.click("#apply")
    page.wait_for_url("**/apply")
    page.check("input[name=hits]")
    page.check("input[name=grounds][value=negative_test]")
    page.fill("#test_date", today.isoformat())
    page.fill("#institution", "南昌大学第一附属医院")
    page.fill("#report_number", "NAT-2020-0211")
    page.screenshot(path=str(tmp_path / "apply-360x640.png"), full_page=True)
    page.click("main button[type=submit]")
    page.wait_for_url("**/me/applications/*")
    application_id = int(page.url.rsplit("/", 1)[1])
    assert "NAT-2020-0211" in page.locator("main").inner_text()
    page.screenshot(path=str(tmp_path / "application-360x640.png"), full_page=True)

    # The officer of the district: the queue, the htmx filter, the application, the decision.
    officer = new_page(browser)
    log_in(officer, live_server, officer_phone)
    officer.wait_for_url("**/review/")
    link = f"#queue-list a[href='/review/applications/{application_id}']"
    assert officer.locator(link).count() == 1
    officer.screenshot(path=str(tmp_path / "queue-360x640.png"), full_page=True)
    officer.select_option("#kind", "claim")
    officer.wait_for_selector(link, state="detached")
    assert "kind=claim" in officer.url  # htmx pushed the filtered URL
    officer.select_option("#kind", "application")
    officer.wait_for_selector(link)
    officer.click(link)
    officer.wait_for_url(f"**/review/applications/{application_id}")
    assert "李小红" in officer.locator("main").inner_text()  # officers see the full name
    officer.fill("#reason", "核酸检测阴性，报告编号已核实")
    officer.screenshot(path=str(tmp_path / "review-application-360x640.png"), full_page=True)
    officer.click("main button[value=approve]")
    officer.wait_for_selector("main button[value=approve]", state="detached")
    with app.app_context():
        assert db.session.get(Application, application_id).status == "approved"

    # The resident's code is green, and the page says who changed it and why.
    page.goto(f"{live_server}/me/people/{holder_id}")
    assert "绿码" in page.locator("#code-card .banner").inner_text()
    changes = page.locator("#changes").inner_text()
    assert DEPARTMENT in changes and "DH-0301" in changes and "核酸检测阴性" in changes
    page.screenshot(path=str(tmp_path / "code-green-360x640.png"), full_page=True)

    assert request_log.foreign_hosts(live_server) == set()
    assert request_log.csp_violations() == []


def test_officer_a_records_confirmed_only_officer_b_can_make_it_red(
    app, live_server, browser, make_user, make_holder, tmp_path
):
    owner_id, _ = make_user()
    number = resident_id("36010219770707345")
    holder_id = make_holder(owner_id, name="王五", number=number)
    _, phone_a = make_user(
        role="officer", district_code="360102", badge_number="DH-0301", department=DEPARTMENT
    )
    _, phone_b = make_user(
        role="officer", district_code="360102", badge_number="DH-0307", department=DEPARTMENT
    )

    # Officer A finds the person and records "confirmed".
    officer_a = new_page(browser)
    log_in(officer_a, live_server, phone_a)
    officer_a.wait_for_url("**/review/")
    officer_a.fill("#q", number)
    officer_a.click("main form[role=search] button[type=submit]")
    officer_a.wait_for_url("**/review/people?q=*")
    officer_a.click(f"a[href='/review/people/{holder_id}']")
    officer_a.wait_for_url(f"**/review/people/{holder_id}")
    officer_a.select_option("#status", "confirmed")
    officer_a.fill("#basis", "东卫疾控〔2020〕12号")
    officer_a.click("main button[type=submit]")
    officer_a.wait_for_url("**/review/records/*")
    record_id = int(officer_a.url.rsplit("/", 1)[1])
    officer_a.screenshot(path=str(tmp_path / "own-record-360x640.png"), full_page=True)

    # Not red yet, and A is offered no approval of their own record.
    assert colour(app, holder_id) == "green"
    assert "绿码" in officer_a.locator("main .banner").inner_text()
    assert officer_a.locator("#own-record").is_visible()
    assert officer_a.locator("main button[value=approve]").count() == 0
    # Nor can A approve it by posting the form by hand.
    token = officer_a.locator("main input[name=csrf_token]").get_attribute("value")
    response = officer_a.request.post(
        f"{live_server}/review/records/{record_id}",
        form={"csrf_token": token, "decision": "approve", "reason": "我自己批准"},
    )
    assert response.status == 403
    with app.app_context():
        assert db.session.get(OfficialRecord, record_id).state == "pending"
    assert colour(app, holder_id) == "green"

    # Officer B sees it in the queue and approves: red.
    officer_b = new_page(browser)
    log_in(officer_b, live_server, phone_b)
    officer_b.wait_for_url("**/review/")
    officer_b.click(f"#queue-list a[href='/review/records/{record_id}']")
    officer_b.wait_for_url(f"**/review/records/{record_id}")
    officer_b.fill("#reason", "已核对病例报告")
    officer_b.click("main button[value=approve]")
    officer_b.wait_for_selector("main button[value=approve]", state="detached")
    assert colour(app, holder_id) == "red"
    assert "红码" in officer_b.locator("main .banner").inner_text()
    with app.app_context():
        entry = db.session.get(OfficialRecord, record_id)
        assert entry.state == "in_force" and entry.recorded_by != entry.approved_by
    officer_b.goto(f"{live_server}/review/people/{holder_id}")
    assert re.search("DH-0307", officer_b.locator("main").inner_text())
    officer_b.screenshot(path=str(tmp_path / "person-red-360x640.png"), full_page=True)


def test_the_queue_works_without_javascript(app, live_server, browser, make_user, make_holder):
    owner_id, _ = make_user()
    holder_id = make_holder(owner_id, symptoms=["fever"])
    _, officer_phone = make_user(
        role="officer", district_code="360102", badge_number="DH-0301", department=DEPARTMENT
    )
    with app.app_context():
        from gantong.review import applications

        holder = db.session.get(Holder, holder_id)
        key = applications.open_hits(holder)[0].key
        application_id = applications.apply(
            holder, [key], applications.Evidence("other", note="隔离期满"), holder.account
        ).id
    context = browser.new_context(java_script_enabled=False, viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, officer_phone)
    page.wait_for_url("**/review/")
    page.select_option("#kind", "claim")
    page.click("main form[hx-get] button[type=submit]")
    page.wait_for_url("**/review/?kind=claim*")
    assert page.locator(f"a[href='/review/applications/{application_id}']").count() == 0
    page.select_option("#kind", "application")
    page.click("main form[hx-get] button[type=submit]")
    page.wait_for_url("**/review/?kind=application*")
    page.click(f"a[href='/review/applications/{application_id}']")
    page.fill("#reason", "隔离期满")
    page.click("main button[value=approve]")
    page.wait_for_selector("main button[value=approve]", state="detached")
    assert colour(app, holder_id) == "green"
    context.close()
