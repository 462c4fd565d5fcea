"""An officer's close-contact record: its contact date inside the rules' look-back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gantong.core import date_windows
from gantong.models import OfficialRecord
from tests.conftest import PASSWORD
from tests.views.review.test_review import EN, count, error_next_to


@pytest.fixture
def officer(make_user):
    """Make an officer of the district; each call a new one."""
    badges = iter(range(301, 400))
    return lambda: make_user(
        role="officer", district_code="360102", badge_number=f"DH-{next(badges)}"
    )


@pytest.fixture
def login(app):
    def make(phone):
        client = app.test_client()
        client.post("/login", data={"phone": phone, "password": PASSWORD})
        return client

    return make


@pytest.fixture
def fever(make_user, make_holder):
    """A resident who declared a fever: yellow."""
    user_id, _ = make_user()
    return {"holder_id": make_holder(user_id, symptoms=["fever"])}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (EN, "Only contacts in the last 14 days"),
        ({"Accept-Language": "zh-CN"}, "只问近14天内的接触"),
    ],
)
def test_a_close_contact_dated_1990_is_refused(app, officer, login, fever, headers, message):
    _, phone = officer()
    response = login(phone).post(
        f"/review/people/{fever['holder_id']}/records",
        data={
            "status": "close_contact",
            "contact_date": "1990-01-01",
            "basis": "东卫疾控〔2020〕3号",
        },
        headers=headers,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in error_next_to(html, "contact_date")
    assert 'value="1990-01-01"' in html
    assert count(app, OfficialRecord) == 0


def test_a_contact_inside_the_look_back_is_recorded(app, officer, login, fever, today):
    _, phone = officer()
    first = today - timedelta(days=date_windows.LOOK_BACK_DAYS)
    response = login(phone).post(
        f"/review/people/{fever['holder_id']}/records",
        data={
            "status": "close_contact",
            "contact_date": first.isoformat(),
            "basis": "东卫疾控〔2020〕3号",
        },
    )
    assert response.status_code == 303
    assert count(app, OfficialRecord) == 1
