"""Legal names as identity documents print them, on every form that takes one; the pre-entry
form's defaults for a foreigner."""

from __future__ import annotations

import html as html_lib

import pytest

from gantong.extensions import db
from gantong.models import Holder
from tests.conftest import PASSWORD, resident_id
from tests.views.entry.test_entry import trip_form

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh"}
REFUSED = {
    "en": "Write the name as the identity document has it: letters of any script, spaces, and "
    "the marks · - ' only; no digits, emoji or other symbols.",
    "zh": "请按身份证件上的写法填写姓名：只能包含文字（任何语种）、空格和 · - ' 符号，"
    "不能有数字、表情符号或其他符号。",
}


def log_in_as(client, make_user, role, **fields):
    _, phone = make_user(role=role, **fields)
    client.post("/login", data={"phone": phone, "password": PASSWORD})


def person_form(**overrides):
    form = {
        "name": "张三",
        "doc_type": "resident_id",
        "doc_number": resident_id("36010219900101123"),
        "doc_country": "",
        "nationality": "CN",
    }
    form.update(overrides)
    return form


# Every page where a legal name is typed: the resident adding a person, pre-entry registration,
# and the officer registering a person without a phone.
FORMS = {
    "add person": (
        "/me/people/new",
        "resident",
        {},
        lambda today, name: person_form(name=name, district="360102", address="八一大道 9 号"),
    ),
    "pre-entry": (
        "/entry/trip",
        "resident",
        {},
        lambda today, name: trip_form(today, name=name),
    ),
    "officer's registration": (
        "/entry/holders/new",
        "officer",
        {"district_code": "360102", "badge_number": "DH-1", "department": "东湖区疾控中心"},
        lambda today, name: person_form(name=name, address="东湖区八一大道 9 号"),
    ),
}


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("page", FORMS)
@pytest.mark.parametrize("name", ["😀😀", "John 2", "张三$"])
def test_a_name_with_emoji_digits_or_symbols_is_refused_next_to_the_field(
    app, client, make_user, today, page, name, language
):
    path, role, fields, form = FORMS[page]
    log_in_as(client, make_user, role, **fields)
    response = client.post(path, data=form(today, name), headers={"Accept-Language": language})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="name-error">{REFUSED[language]}<' in html
    assert f'value="{html_lib.escape(name)}"' in html  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Holder)) == 0


@pytest.mark.parametrize("page", FORMS)
@pytest.mark.parametrize(
    "name, stored",
    [
        ("买买提·艾力", "买买提·艾力"),
        ("ئابدۇرېھىم ئەھمەت", "ئابدۇرېھىم ئەھمەت"),
        ("Seán  O'Brien-Müller", "Seán O'Brien-Müller"),
    ],
)
def test_names_of_any_script_are_kept_as_on_the_document(
    app, client, make_user, today, page, name, stored
):
    path, role, fields, form = FORMS[page]
    log_in_as(client, make_user, role, **fields)
    response = client.post(path, data=form(today, name), headers=EN)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(Holder.name)) == stored


def test_the_pre_entry_form_starts_on_passport_with_no_nationality_chosen(client, make_user):
    log_in_as(client, make_user, "resident")
    html = client.get("/entry/trip", headers=EN).get_data(as_text=True)
    assert '<option selected value="passport">' in html
    assert '<option selected value="">— choose —</option>' in html.split('id="nationality"')[1]
    assert '<option selected value="CN">' not in html


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_pre_entry_without_a_nationality_is_told_to_choose_one(
    app, client, make_user, today, language
):
    log_in_as(client, make_user, "resident")
    response = client.post(
        "/entry/trip",
        data=trip_form(today, nationality=""),
        headers={"Accept-Language": language},
    )
    message = {"en": "Choose your nationality.", "zh": "请选择国籍。"}[language]
    assert f'id="nationality-error">{message}<' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Holder)) == 0
