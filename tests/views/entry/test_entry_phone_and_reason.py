"""The pre-entry page's own phone example passes, and the reason before
arrival says 'planned arrival on', not 'your declaration of <a future date>'."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from gantong.core import identity
from tests.conftest import PASSWORD
from tests.views.entry.test_entry import EN, trip_form


@pytest.fixture
def traveller(client, make_user):
    """A resident account with an international number, logged in, no holder yet."""
    user_id, phone = make_user(phone="+447911123456")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return user_id


@pytest.mark.parametrize("headers", [EN, {"Accept-Language": "zh-CN"}])
def test_the_registration_pages_own_phone_example_is_accepted(client, headers):
    page = client.get("/entry/register", headers=headers).get_data(as_text=True)
    example = re.search(r"\+\d[\d ]{6,}\d", page)
    assert example, "the page shows an example number"
    assert identity.normalise_phone(example.group(0)) == "+447400123456"
    response = client.post(
        "/entry/register",
        data={
            "phone": example.group(0),
            "password": "correct horse 9",
            "confirm": "correct horse 9",
        },
        headers=headers,
    )
    assert response.status_code == 303


@pytest.mark.parametrize("raw", ["+86 (139) 0000 0001", "139.0000.0001", "139-0000-0001"])
def test_a_mainland_mobile_written_with_punctuation_signs_up(app, client, raw):
    response = client.post(
        "/entry/register",
        data={"phone": raw, "password": "correct horse 9", "confirm": "correct horse 9"},
        headers=EN,
    )
    assert response.status_code == 303


def test_a_prefix_without_a_mobile_range_is_refused_next_to_the_field(client):
    response = client.post(
        "/entry/register",
        data={
            "phone": "140 1234 5678",
            "password": "correct horse 9",
            "confirm": "correct horse 9",
        },
        headers=EN,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Enter an 11-digit mainland mobile number" in page
    assert 'value="140 1234 5678"' in page


def test_before_arrival_the_reason_says_planned_arrival(app, client, traveller, today):
    response = client.post("/entry/trip", data=trip_form(today), headers=EN)
    planned = today + timedelta(days=3)
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert f"planned arrival on {planned.day} {planned:%b} {planned.year}" in page
    assert "your declaration of" not in page
    zh = client.get(response.headers["Location"], headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True
    )
    assert "计划入境" in zh or "计划抵达" in zh
