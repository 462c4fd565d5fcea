"""An admin creates a point and a staff account; the new volunteer scans a code there; in Chromium."""

from __future__ import annotations

import re

from PIL import Image

from gantong.extensions import db
from gantong.holders import sms
from gantong.models import InformationPoint, User, VerificationRecord
from tests.e2e.conftest import CHROME_ARGS, CHROMIUM, PHONE
from tests.e2e.test_checkpoint_e2e import log_in, write_y4m

NEW_PASSWORD = "my own password"


def csp_violations(messages):
    return [text for text in messages if "Content Security Policy" in text]


def screenshot(page, tmp_path, name):
    path = tmp_path / f"{name}-360x640.png"
    page.screenshot(path=str(path), full_page=True)
    assert Image.open(path).size[0] == 360
    print(f"{name} screenshot:", path)


def test_an_admin_creates_a_point_and_staff_who_scan_a_code_there(
    app, live_server, playwright, make_user, make_holder, screen_token, tmp_path
):
    _, admin_phone = make_user(role="admin")
    owner_id, _ = make_user()
    holder_id = make_holder(owner_id)
    y4m = tmp_path / "code.y4m"
    write_y4m(y4m, "not yet")

    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=CHROME_ARGS
        + [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}",
        ],
    )
    try:
        admin_context = browser.new_context(viewport=PHONE, locale="zh-CN")
        page = admin_context.new_page()
        console = []
        page.on("console", lambda message: console.append(message.text))
        log_in(page, live_server, admin_phone, "**/admin/")
        page.click("a[href='/admin/points']")
        page.click("a[href='/admin/points/new']")
        page.fill("#name", "红谷滩地铁站")
        page.select_option("#district", "360113")
        page.fill("#address", "南昌市红谷滩区丰和中大道")
        page.fill("#latitude", "28.6823")
        page.fill("#longitude", "115.8581")
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r".*/admin/points/\d+$"))
        point_id = int(page.url.rsplit("/", 1)[1])
        screenshot(page, tmp_path, "admin-point")

        page.click(f"a[href='/admin/accounts/new?role=staff&point={point_id}']")
        assert page.is_checked("input[name=role][value=staff]")
        assert page.input_value("#point") == str(point_id)
        page.fill("#phone", "138 1234 5678")
        app.config["SMS_BACKEND"] = "memory"
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r".*/admin/accounts/\d+$"))
        # The one-time password goes by SMS to the account's own number, never to this screen.
        [(to, text)] = sms.outbox(app)
        one_time = re.search(r"[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}", text).group(0)
        assert to == "+8613812345678" and one_time not in page.content()
        screenshot(page, tmp_path, "admin-account-created")
        assert csp_violations(console) == []
        with app.app_context():
            point = db.session.get(InformationPoint, point_id)
            assert (point.name, point.district_code, point.latitude) == (
                "红谷滩地铁站",
                "360113",
                28.6823,
            )
            staff = db.session.scalar(db.select(User).where(User.phone == "+8613812345678"))
            assert (staff.role, staff.point_id, staff.must_change_password) == (
                "staff",
                point_id,
                True,
            )
            staff_id = staff.id
        admin_context.close()

        staff_context = browser.new_context(viewport=PHONE, locale="zh-CN")
        page = staff_context.new_page()
        console = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(live_server + "/login")
        page.fill("#phone", "13812345678")
        page.fill("#password", one_time)
        page.click("main button[type=submit]")
        page.wait_for_url("**/account/password")
        assert page.locator("p.warning").is_visible()
        screenshot(page, tmp_path, "first-login-password")
        page.fill("#current", one_time)
        page.fill("#password", NEW_PASSWORD)
        page.fill("#confirm", NEW_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/checkpoint/")
        assert "红谷滩地铁站" in page.locator("main").inner_text()

        write_y4m(y4m, screen_token(holder_id))
        page.goto(live_server + "/checkpoint/scan")
        # The page verifies the code itself: the verdict in place, the record on the same screen.
        page.wait_for_selector("#verdict[data-colour=green]", state="attached", timeout=15000)
        assert "张*三" in page.locator("#verdict .who").inner_text()
        page.fill("#scan-temperature", "36.6")
        assert page.locator("#scan-decision-pass").is_checked()
        with page.expect_response(lambda r: r.url.endswith("/checkpoint/scan-records")) as answered:
            page.click("#scan-record-form button[type=submit]")
        assert answered.value.status == 201
        with app.app_context():
            [record] = db.session.scalars(db.select(VerificationRecord)).all()
            assert (record.point_id, record.staff_id, record.holder_id, record.method) == (
                point_id,
                staff_id,
                holder_id,
                "camera",
            )
            assert (record.temperature, record.decision) == (36.6, "pass")
            # No GPS in this browser: the point's own position, as the admin entered it.
            assert (record.position_source, record.latitude, record.longitude) == (
                "point",
                28.6823,
                115.8581,
            )
        assert csp_violations(console) == []
        staff_context.close()
    finally:
        browser.close()


def test_admin_pages_and_statistics_in_a_phone_browser(
    app, live_server, page, request_log, make_user, make_point, make_holder, tmp_path
):
    _, admin_phone = make_user(role="admin")
    make_point()
    make_holder(symptoms=["fever"])
    log_in(page, live_server, admin_phone, "**/admin/")
    screenshot(page, tmp_path, "admin-index")
    page.goto(live_server + "/stats/")
    assert page.locator("svg.chart").count() == 8
    assert page.locator("#chart-colours").is_visible()
    screenshot(page, tmp_path, "stats")
    # htmx swaps the numbers for other days without reloading the page.
    page.fill("#start", "2024-05-01")
    page.fill("#end", "2024-05-03")
    with page.expect_response(lambda response: "/stats/?" in response.url) as swapped:
        page.click("main button[type=submit]")
    assert swapped.value.request.headers.get("hx-request") == "true"
    page.wait_for_selector("#table-days tr[data-day='2024-05-03']", state="attached")
    assert "start=2024-05-01" in page.url
    page.goto(live_server + "/admin/audit")
    page.click("#chain a")
    page.wait_for_selector("#head-hash")
    assert page.url.endswith("/admin/audit")  # swapped in by htmx, not a new page
    screenshot(page, tmp_path, "audit")
    page.goto(live_server + "/admin/exports")
    screenshot(page, tmp_path, "exports")
    assert request_log.foreign_hosts(live_server) == set()
    assert request_log.csp_violations() == []
