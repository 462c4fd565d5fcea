"""Register, add people, declare, see the code: through the test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from gantong.extensions import db
from gantong.models import Declaration, Holder, Stay, User
from tests.conftest import PASSWORD, resident_id


def identity_form(**overrides):
    form = {
        "name": "张小三",
        "doc_type": "resident_id",
        "doc_number": resident_id(),
        "doc_country": "",
        "nationality": "CN",
        "district": "360102",
        "address": "八一大道 1 号",
        "is_self": "y",
    }
    form.update(overrides)
    return form


def declaration_form(**overrides):
    form = {"acknowledge": "y"}
    for index in range(3):
        form.update(
            {f"stays-{index}-{name}": "" for name in ("province", "city", "county", "start", "end")}
        )
    form.update(overrides)
    return form


def error_next_to(html: str, field_id: str) -> str:
    """Return the error text rendered right after the field, or fail."""
    match = re.search(
        rf'id="{field_id}"[^>]*>\s*(?:</select>)?\s*<p class="error" id="{field_id}-error">([^<]+)</p>',
        html,
    )
    if match is None:
        # Selects render their options between the tag and the error.
        match = re.search(
            rf'id="{field_id}".*?</select>\s*<p class="error" id="{field_id}-error">([^<]+)</p>',
            html,
            re.S,
        )
    assert match, f"no error next to {field_id}"
    return match.group(1)


def count(app, model):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def registered(client, phone="13812345678"):
    response = client.post(
        "/register", data={"phone": phone, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert response.status_code == 303
    return response


def test_register_add_family_declare_and_see_the_code(app, client):
    response = registered(client)
    assert response.headers["Location"].endswith("/me/people/new")
    with app.app_context():
        assert db.session.scalar(db.select(User.phone)) == "+8613812345678"

    response = client.post("/me/people/new", data=identity_form())
    assert response.status_code == 303
    self_url = response.headers["Location"].removesuffix("/declare")

    child_id = resident_id("36010220150606002")
    response = client.post(
        "/me/people/new", data=identity_form(name="张小明", doc_number=child_id, is_self="")
    )
    assert response.status_code == 303
    child_declare = response.headers["Location"]

    response = client.post(child_declare, data=declaration_form(symptoms=["fever"]))
    assert response.status_code == 303
    page = client.get(response.headers["Location"], headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "Yellow code" in page
    assert "Symptoms declared: Fever" in page
    # The card, which the checkpoint sees, masks the name; the account's owner sees it in full.
    assert '<p class="who">张*明 <small>Child' in page
    assert "<strong>张小明 (Child)</strong>" in page
    assert "<svg" in page and 'class="number"' in page
    # The switch between the account's people.
    assert self_url in page

    # The account holder has not declared yet: no code, and the way to one.
    page = client.get(self_url, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert (
        "绿码" not in page and 'class="qr-svg"><path' not in page and 'class="number"' not in page
    )
    assert f'id="declare-first" href="{self_url}/declare"' in page


def test_code_page_in_chinese_by_default(app, client):
    registered(client)
    client.post("/me/people/new", data=identity_form())
    response = client.post("/me/people/1/declare", data=declaration_form(symptoms=["fever"]))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "黄码" in page and "申报症状" in page


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        (
            {"doc_number": resident_id()[:-1] + ("0" if resident_id()[-1] != "0" else "1")},
            "doc_number",
            "The check digit is wrong.",
        ),
        (
            {"doc_number": "99010219900101123X"},
            "doc_number",
            "The first two digits are not a province code.",
        ),
        (
            {"doc_type": "passport", "doc_number": "E12345678", "doc_country": ""},
            "doc_country",
            "Choose the country that issued the passport.",
        ),
        ({"district": "110101"}, "district", "Choose the district where you live."),
    ],
)
def test_identity_errors_are_next_to_the_field_and_keep_what_was_typed(
    app, client, overrides, field, message
):
    registered(client)
    form = identity_form(**overrides)
    response = client.post("/me/people/new", data=form, headers={"Accept-Language": "en"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert error_next_to(html, field) == message
    assert f'value="{form["doc_number"]}"' in html
    assert f'value="{form["address"]}"' in html
    assert count(app, Holder) == 0


def test_duplicate_document_is_refused_without_saying_whose(app, client, make_user, make_holder):
    owner_id, _ = make_user()
    make_holder(owner_id, name="李四")
    registered(client)
    response = client.post(
        "/me/people/new", data=identity_form(), headers={"Accept-Language": "en"}
    )
    html = response.get_data(as_text=True)
    message = error_next_to(html, "doc_number")
    assert "registered already" in message and "service desk" in message
    assert "claim" not in message
    assert "李" not in html
    assert count(app, Holder) == 1


def test_future_dates_and_missing_acknowledgement(app, client, today):
    registered(client)
    client.post("/me/people/new", data=identity_form())
    tomorrow = (today + timedelta(days=1)).isoformat()
    cases = [
        (
            declaration_form(close_contact="y", contact_date=tomorrow),
            "contact_date",
            "This date is in the future.",
        ),
        (
            declaration_form(
                **{
                    "stays-0-province": "42",
                    "stays-0-start": today.isoformat(),
                    "stays-0-end": tomorrow,
                }
            ),
            "stays-0-end",
            "This date is in the future.",
        ),
        (
            declaration_form(acknowledge=""),
            "acknowledge",
            "You must confirm that the declaration is true.",
        ),
        (declaration_form(close_contact="y"), "contact_date", "Give the date of the contact."),
        (
            declaration_form(**{"stays-1-province": "42", "stays-1-city": "4201"}),
            "stays-1-start",
            "Give the place and both dates, or leave the row empty.",
        ),
    ]
    for form, field, message in cases:
        form["symptoms"] = ["dry_cough"]
        response = client.post("/me/people/1/declare", data=form, headers={"Accept-Language": "en"})
        assert response.status_code == 200, field
        html = response.get_data(as_text=True)
        assert f'id="{field}-error">{message}<' in html, field
        # What was typed is still there.
        assert re.search(r'value="dry_cough"[^>]*checked|checked[^>]*value="dry_cough"', html)
        if "contact_date" in form and form["contact_date"]:
            assert f'value="{form["contact_date"]}"' in html
    assert count(app, Declaration) == 0
    assert count(app, Stay) == 0


def test_declarations_are_added_and_history_kept(app, client, today):
    registered(client)
    client.post("/me/people/new", data=identity_form())
    client.post("/me/people/1/declare", data=declaration_form(symptoms=["fever"]))
    client.post(
        "/me/people/1/declare",
        data=declaration_form(
            **{
                "stays-0-province": "42",
                "stays-0-city": "4201",
                "stays-0-start": (today - timedelta(days=5)).isoformat(),
                "stays-0-end": (today - timedelta(days=2)).isoformat(),
            }
        ),
    )
    with app.app_context():
        declarations = db.session.scalars(db.select(Declaration).order_by(Declaration.id)).all()
        assert [d.symptom_list for d in declarations] == [["fever"], []]
        assert declarations[1].stays[0].place_code == "4201"
        holder = db.session.get(Holder, 1)
        # A clean declaration after a symptomatic one leaves the code yellow.
        assert holder.colour == "yellow"
    page = client.get("/me/people/1/history", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert page.count("<tr>") >= 4


def test_another_accounts_person_is_not_found(app, client, make_user, make_holder):
    other_id, _ = make_user()
    holder_id = make_holder(other_id, declared=False)
    registered(client)
    for path in (
        f"/me/people/{holder_id}",
        f"/me/people/{holder_id}/declare",
        f"/me/people/{holder_id}/history",
    ):
        assert client.get(path).status_code == 404
    assert (
        client.post(
            f"/me/people/{holder_id}/declare", data=declaration_form(symptoms=["fever"])
        ).status_code
        == 404
    )
    assert count(app, Declaration) == 0


@pytest.mark.parametrize("path", ["/me", "/me/people/new", "/me/people/1", "/me/people/1/declare"])
def test_resident_pages_need_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
