"""An officer's "Confirm arrival" on a phone refuses 1990-01-01 next to the field, in zh and en,
keeps what was typed and leaves the code yellow; in Chromium at 360x640."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gantong.entry import preentry
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Holder, PreEntry
from tests.conftest import PASSWORD
from tests.e2e.conftest import PHONE


@pytest.mark.parametrize(
    ("locale", "message"),
    [("zh-CN", "早于此登记允许的最早抵达日期"), ("en-US", "Too early for this registration")],
)
def test_confirm_arrival_refuses_1990_next_to_the_field(
    app, live_server, browser, make_user, today, tmp_path, locale, message
):
    with app.app_context():
        pre_entry = preentry.register(
            None,
            registry.Identity("John Smith", "passport", "K1234567", "GB", "GB", "360102", ""),
            preentry.Trip(
                category=preentry.FOREIGNER,
                planned_arrival=today + timedelta(days=2),
                destination_district="360102",
                contact_phone="+447911123456",
                origin_country="GB",
                entry_port="Changbei",
                transport_number="MU5043",
            ),
        )
        db.session.commit()
        pre_entry_id, holder_id = pre_entry.id, pre_entry.holder_id
    _, phone = make_user(role="officer", district_code="360102", badge_number="DH-1")
    context = browser.new_context(locale=locale, viewport=PHONE)
    page = context.new_page()
    page.goto(live_server + "/login")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/review/**")
    page.goto(live_server + "/entry/arrivals")

    field = page.locator(f"#arrival{pre_entry_id}-arrived_on")
    field.fill("1990-01-01")
    page.locator(f"#arrival-{pre_entry_id} + tr button[type=submit]").click()
    page.wait_for_load_state()

    error = page.locator(f"#arrival{pre_entry_id}-arrived_on-error")
    assert message in error.inner_text()
    # Next to the field: right after it, and inside the phone's width.
    assert page.locator(f"#arrival{pre_entry_id}-arrived_on + p.error").count() == 1
    box = error.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert field.input_value() == "1990-01-01"
    error.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / f"arrival-refused-{locale}.png"))
    with app.app_context():
        assert db.session.get(PreEntry, pre_entry_id).actual_arrival is None
        assert db.session.get(Holder, holder_id).colour == "yellow"
    context.close()
