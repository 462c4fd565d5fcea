"""Dates a resident types that start a quarantine or end one: each inside its window, refused next
to the field in the user's language otherwise, with what was typed kept and nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gantong.core import date_windows
from gantong.extensions import db
from gantong.models import Application, Declaration, Holder
from tests.conftest import PASSWORD
from tests.views.resident.test_resident_flow import declaration_form, error_next_to

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def resident(client, make_user, make_holder):
    """A logged-in resident with one holder, who declared a fever today (yellow)."""
    user_id, phone = make_user()
    holder_id = make_holder(user_id, symptoms=["fever"])
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return holder_id


def declarations(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Declaration))


@pytest.mark.parametrize(
    ("headers", "message"),
    [(EN, "Only contacts in the last 14 days"), (ZH, "只问近14天内的接触")],
)
def test_a_close_contact_dated_1990_is_refused(app, client, resident, headers, message):
    before = declarations(app)
    response = client.post(
        f"/me/people/{resident}/declare",
        data=declaration_form(close_contact="y", contact_date="1990-01-01"),
        headers=headers,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in error_next_to(html, "contact_date")
    assert 'value="1990-01-01"' in html
    assert declarations(app) == before
    with app.app_context():
        assert db.session.get(Holder, resident).colour == "yellow"


def test_a_contact_on_the_first_day_of_the_look_back_is_taken(app, client, resident, today):
    first = today - timedelta(days=date_windows.LOOK_BACK_DAYS)
    response = client.post(
        f"/me/people/{resident}/declare",
        data=declaration_form(close_contact="y", contact_date=first.isoformat()),
    )
    assert response.status_code == 303
    response = client.post(
        f"/me/people/{resident}/declare",
        data=declaration_form(
            close_contact="y", contact_date=(first - timedelta(days=1)).isoformat()
        ),
    )
    assert response.status_code == 200


def test_an_entry_port_without_an_entry_date_is_refused(app, client, resident):
    before = declarations(app)
    response = client.post(
        f"/me/people/{resident}/declare",
        data=declaration_form(entry_port="Changbei"),
        headers=EN,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert error_next_to(html, "entry_date") == "Give the date you entered China."
    assert 'value="Changbei"' in html
    assert declarations(app) == before


def test_an_entry_dated_1990_is_refused(app, client, resident):
    response = client.post(
        f"/me/people/{resident}/declare",
        data=declaration_form(entry_port="Changbei", entry_date="1990-01-01"),
        headers=EN,
    )
    assert response.status_code == 200
    assert "Only entries in the last 14 days" in error_next_to(
        response.get_data(as_text=True), "entry_date"
    )


def first_key(app, holder_id):
    from gantong.review import applications

    with app.app_context():
        return applications.open_hits(db.session.get(Holder, holder_id))[0].key


@pytest.mark.parametrize(
    ("headers", "message"),
    [(EN, "A negative test counts for 7 days"), (ZH, "阴性检测结果7天内有效")],
)
def test_a_negative_test_dated_1990_is_refused(app, client, resident, headers, message):
    response = client.post(
        f"/me/people/{resident}/apply",
        data={
            "hits": first_key(app, resident),
            "grounds": "negative_test",
            "test_date": "1990-01-01",
            "institution": "南昌大学一附院",
            "report_number": "NAT-0211",
        },
        headers=headers,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in error_next_to(html, "test_date")
    assert 'value="1990-01-01"' in html
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 0


def test_a_test_taken_before_the_reason_began_is_refused(
    app, client, make_user, make_holder, today
):
    user_id, phone = make_user()
    contact = today - timedelta(days=3)
    holder_id = make_holder(user_id, close_contact=True, contact_date=contact)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    response = client.post(
        f"/me/people/{holder_id}/apply",
        data={
            "hits": first_key(app, holder_id),
            "grounds": "negative_test",
            "test_date": (contact - timedelta(days=1)).isoformat(),
            "institution": "南昌大学一附院",
            "report_number": "NAT-0211",
        },
        headers=EN,
    )
    assert response.status_code == 200
    assert "taken on or after" in error_next_to(response.get_data(as_text=True), "test_date")


def test_an_isolation_that_ended_before_the_reason_began_is_refused(app, client, resident, today):
    response = client.post(
        f"/me/people/{resident}/apply",
        data={
            "hits": first_key(app, resident),
            "grounds": "isolation_completed",
            "isolation_end": "1990-01-01",
        },
        headers=EN,
    )
    assert response.status_code == 200
    assert "cannot end before" in error_next_to(response.get_data(as_text=True), "isolation_end")
