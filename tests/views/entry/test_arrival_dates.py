"""An officer's arrival date must fit the registration: not before the registration or the planned
arrival less a margin, not in the future; refused next to the field, in the user's language."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from gantong.core import date_windows
from gantong.entry import preentry
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Holder, PreEntry, utcnow
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def officer(client, make_user):
    """An officer of the destination district, logged in."""
    user_id, phone = make_user(role="officer", district_code="360102", badge_number="DH-1")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return user_id


def error_after(html: str, field_id: str) -> str:
    match = re.search(
        rf'id="{field_id}"[^>]*>\s*<p class="error" id="{field_id}-error">([^<]+)</p>', html
    )
    assert match, f"no error next to {field_id}"
    return match.group(1)


def foreigner(app, planned, now=None):
    """Register a foreigner arriving on `planned` (registered at `now`, by default now)."""
    with app.app_context():
        pre_entry = preentry.register(
            None,
            registry.Identity("John Smith", "passport", "K1234567", "GB", "GB", "360102", ""),
            preentry.Trip(
                category="foreigner",
                planned_arrival=planned,
                destination_district="360102",
                contact_phone="+447911123456",
                origin_country="GB",
                entry_port="Changbei",
                transport_number="MU5043",
            ),
            now=now,
        )
        return pre_entry.id, pre_entry.holder_id


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (EN, "Too early for this registration"),
        (ZH, "早于此登记"),
    ],
)
def test_an_arrival_in_1990_is_refused_next_to_the_field_and_the_code_stays_yellow(
    app, client, today, officer, headers, message
):
    pre_entry_id, holder_id = foreigner(app, today + timedelta(days=2))
    field = f"arrival{pre_entry_id}-arrived_on"
    response = client.post(
        f"/entry/arrivals/{pre_entry_id}?show=expected", data={field: "1990-01-01"}, headers=headers
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in error_after(html, field)
    assert 'value="1990-01-01"' in html
    with app.app_context():
        assert db.session.get(PreEntry, pre_entry_id).actual_arrival is None
        assert db.session.get(Holder, holder_id).colour == "yellow"


def test_an_arrival_before_the_planned_day_less_the_margin_is_refused(app, client, today, officer):
    registered = utcnow() - timedelta(days=30)
    planned = today - timedelta(days=5)
    pre_entry_id, _ = foreigner(app, planned, now=registered)
    field = f"arrival{pre_entry_id}-arrived_on"
    too_early = planned - timedelta(days=date_windows.ARRIVAL_EARLY_DAYS + 1)
    response = client.post(
        f"/entry/arrivals/{pre_entry_id}", data={field: too_early.isoformat()}, headers=EN
    )
    assert response.status_code == 200
    earliest = planned - timedelta(days=date_windows.ARRIVAL_EARLY_DAYS)
    assert f"on or after {earliest.day} {earliest:%b} {earliest.year}" in error_after(
        response.get_data(as_text=True), field
    )
    response = client.post(
        f"/entry/arrivals/{pre_entry_id}", data={field: earliest.isoformat()}, headers=EN
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(PreEntry, pre_entry_id).actual_arrival == earliest


def test_an_arrival_before_the_registration_is_refused(app, client, today, officer):
    pre_entry_id, _ = foreigner(app, today + timedelta(days=1))
    field = f"arrival{pre_entry_id}-arrived_on"
    response = client.post(
        f"/entry/arrivals/{pre_entry_id}",
        data={field: (today - timedelta(days=1)).isoformat()},
        headers=EN,
    )
    assert response.status_code == 200
    assert "Too early for this registration" in error_after(response.get_data(as_text=True), field)


def test_an_arrival_tomorrow_is_refused(app, client, today, officer):
    pre_entry_id, _ = foreigner(app, today)
    field = f"arrival{pre_entry_id}-arrived_on"
    response = client.post(
        f"/entry/arrivals/{pre_entry_id}",
        data={field: (today + timedelta(days=1)).isoformat()},
        headers=EN,
    )
    assert error_after(response.get_data(as_text=True), field) == "This date is in the future."
