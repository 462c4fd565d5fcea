"""Travel places are picked province -> city -> county, without JavaScript
too, and a county stay meets a county key area."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from gantong.extensions import db
from gantong.models import Declaration, Holder, RiskArea, Stay
from tests.views.resident.test_resident_flow import (
    count,
    declaration_form,
    identity_form,
    registered,
)

EN = {"Accept-Language": "en"}


@pytest.fixture
def declarer(client):
    registered(client)
    client.post("/me/people/new", data=identity_form())
    return "/me/people/1/declare"


def test_the_refine_button_offers_the_cities_then_the_counties_and_keeps_what_was_typed(
    app, client, declarer, today
):
    start = (today - timedelta(days=3)).isoformat()
    form = declaration_form(
        **{
            "stays-0-province": "42",
            "stays-0-start": start,
            "symptoms": ["dry_cough"],
            "refine": "0",
        }
    )
    page = client.post(declarer, data=form, headers=EN).get_data(as_text=True)
    assert '<option value="4201">Wuhan</option>' in page
    assert 'value="420102"' not in page
    assert f'value="{start}"' in page
    assert re.search(r'value="dry_cough"[^>]*checked|checked[^>]*value="dry_cough"', page)
    form.update({"stays-0-city": "4201"})
    page = client.post(declarer, data=form, headers=EN).get_data(as_text=True)
    assert '<option value="420102">Jiangan District</option>' in page
    assert '<option selected value="4201">' in page or '<option value="4201" selected>' in page
    zh = client.post(declarer, data=form).get_data(as_text=True)
    assert '<option value="420102">江岸区</option>' in zh
    # Nothing was saved by choosing.
    assert count(app, Declaration) == 1 - 1


def test_a_municipalitys_districts_are_its_second_step(client, declarer):
    form = declaration_form(**{"stays-0-province": "11", "refine": "0"})
    page = client.post(declarer, data=form, headers=EN).get_data(as_text=True)
    assert '<option value="110101">Dongcheng District</option>' in page
    assert "市辖区" not in page


def test_a_county_stay_is_saved_and_meets_a_county_key_area(app, client, declarer, today):
    with app.app_context():
        db.session.add(RiskArea(code="420102", name="江岸区", days=14, active=True))
        db.session.commit()
    response = client.post(
        declarer,
        data=declaration_form(
            **{
                "stays-0-province": "42",
                "stays-0-city": "4201",
                "stays-0-county": "420102",
                "stays-0-start": (today - timedelta(days=4)).isoformat(),
                "stays-0-end": (today - timedelta(days=1)).isoformat(),
            }
        ),
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(Stay.place_code)) == "420102"
        assert db.session.get(Holder, 1).colour == "yellow"


def test_a_neighbouring_county_is_not_a_key_area(app, client, declarer, today):
    with app.app_context():
        db.session.add(RiskArea(code="420102", name="江岸区", days=14, active=True))
        db.session.commit()
    client.post(
        declarer,
        data=declaration_form(
            **{
                "stays-0-province": "42",
                "stays-0-city": "4201",
                "stays-0-county": "420103",
                "stays-0-start": (today - timedelta(days=4)).isoformat(),
                "stays-0-end": (today - timedelta(days=1)).isoformat(),
            }
        ),
    )
    with app.app_context():
        assert db.session.get(Holder, 1).colour == "green"


def test_a_city_outside_its_province_is_refused_next_to_the_field(app, client, declarer, today):
    response = client.post(
        declarer,
        data=declaration_form(
            **{
                "stays-0-province": "36",
                "stays-0-city": "4201",
                "stays-0-start": today.isoformat(),
                "stays-0-end": today.isoformat(),
            }
        ),
        headers=EN,
    )
    assert response.status_code == 200
    assert 'id="stays-0-province-error">Choose the place again' in response.get_data(as_text=True)
    assert count(app, Declaration) == 0


def test_without_javascript_each_row_has_its_refine_button(client, declarer):
    page = client.get(declarer, headers=EN).get_data(as_text=True)
    assert page.count('name="refine"') == 3
    assert 'hx-post="/me/people/1/declare"' in page
