"""Venue codes in Chromium at 360x640: an administrator adds a venue and opens its poster; the
poster's QR, decoded by zxing-cpp, is opened on a resident's phone (login, then back); the pass
in Chinese and English; a second open stores nothing; a yellow resident is told not to enter;
offline, the check-in is queued on the phone and arrives once with its time."""

from __future__ import annotations

import io
import os
import time

import zxingcpp
from PIL import Image

from gantong.extensions import db
from gantong.models import VenueCode, VenueVisit
from tests.conftest import PASSWORD, resident_id
from tests.e2e.conftest import PHONE

SHOTS = os.environ.get("GANTONG_SCREENSHOTS")


def log_in(page, phone):
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"venue-{name}.png"), full_page=True)


def test_venue_poster_check_in_repeat_yellow_and_offline(
    app, live_server, browser, make_user, make_holder
):
    app.config["PUBLIC_URL"] = live_server  # the poster's QR holds a URL of this server
    _, admin_phone = make_user(role="admin")
    green_id, green_phone = make_user()
    green = make_holder(green_id, name="张小三")
    yellow_id, yellow_phone = make_user()
    make_holder(
        yellow_id, name="李小四", number=resident_id("36010219850101123"), symptoms=["fever"]
    )

    admin = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    admin.goto(f"{live_server}/login")
    log_in(admin, admin_phone)
    admin.goto(f"{live_server}/venues/new")
    admin.fill("#name", "八一广场超市")
    admin.select_option("#district", "360102")
    admin.select_option("#category", "shop")
    admin.click("main button[type=submit]")
    admin.click("a.poster-a4")
    shot(admin, "poster-a4")
    png = admin.locator("#poster-qr").screenshot()
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    url = decoded.text
    assert url.startswith(f"{live_server}/v/")

    # The resident's phone opens the URL: log in, come back, the pass.
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    phone = context.new_page()
    phone.goto(url)
    phone.click("#login-to-check-in")
    log_in(phone, green_phone)
    phone.wait_for_url(url)
    assert phone.text_content("#venue-pass .banner").strip() == "绿码"
    assert "张*三" in phone.text_content("#pass-who")
    assert phone.text_content("#pass-venue").strip() == "八一广场超市"
    assert "可以进入" in phone.text_content("#verdict")
    shot(phone, "pass-zh")
    phone.click("a[lang=en]")
    phone.wait_for_url(url)
    assert phone.text_content("#venue-pass .banner").strip() == "Green code"
    assert "Already checked in" in phone.text_content("#checked-in")
    shot(phone, "pass-en")
    phone.reload()
    with app.app_context():
        assert (
            db.session.scalar(
                db.select(db.func.count())
                .select_from(VenueVisit)
                .where(VenueVisit.holder_id == green)
            )
            == 1
        )

    # A yellow resident is told not to enter.
    sick = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    sick.goto(url)
    sick.click("#login-to-check-in")
    log_in(sick, yellow_phone)
    sick.wait_for_url(url)
    assert sick.text_content("#venue-pass .banner").strip() == "黄码"
    assert "请勿进入" in sick.text_content("#verdict")
    shot(sick, "pass-yellow")

    # Offline at a second venue: the phone queues the check-in and sends it once, with its time.
    admin.goto(f"{live_server}/venues/new")
    admin.fill("#name", "八一广场地铁站")
    admin.select_option("#district", "360102")
    admin.fill("#entrance", "2 号口")
    admin.click("main button[type=submit]")
    with app.app_context():
        second = db.session.scalars(db.select(VenueCode.code).order_by(VenueCode.id)).all()[-1]
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    context.set_offline(True)
    before = time.time()
    phone.goto(f"{live_server}/v/{second}")
    phone.wait_for_selector("#queued-note")
    shot(phone, "offline")
    assert phone.evaluate("JSON.parse(localStorage.getItem('gantong-visit-queue')).length") == 1
    time.sleep(1.5)
    context.set_offline(False)
    phone.wait_for_selector("#queued-sent", state="visible", timeout=15000)
    phone.goto(url)  # another /v/ page flushes too: nothing waits, nothing is sent twice
    phone.wait_for_timeout(500)
    with app.app_context():
        [queued] = db.session.scalars(
            db.select(VenueVisit).join(VenueCode).where(VenueCode.code == second)
        ).all()
        assert queued.queued and queued.holder_id == green
        assert abs(queued.at.timestamp() - before) < 1.5
        assert (queued.received_at - queued.at).total_seconds() >= 1
