"""A red close contact after an approved transcoding: the code page says it was approved and
when the code clears, and offers no second application while one covers the reason."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from gantong.core import rules
from gantong.extensions import db
from gantong.models import Application, Holder, User
from gantong.review import applications
from gantong.web import i18n
from tests.conftest import PASSWORD
from tests.views.review.test_review import DEPARTMENT, file_application

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def contact(app, client, make_user, make_holder, today):
    """A logged-in resident, red: a close contact three days ago (14 days, then a negative test)."""
    user_id, phone = make_user()
    holder_id = make_holder(
        user_id, name="王红", close_contact=True, contact_date=today - timedelta(days=3)
    )
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return holder_id


@pytest.fixture
def officer_id(make_user):
    user_id, _ = make_user(
        role="officer", district_code="360102", badge_number="DH-0301", department=DEPARTMENT
    )
    return user_id


def approve(app, application_id, officer_id):
    with app.app_context():
        applications.decide(
            db.session.get(Application, application_id),
            db.session.get(User, officer_id),
            True,
            "核酸阴性",
        )


def clears_on(app, today, language):
    with app.test_request_context(headers={"Accept-Language": language}):
        return i18n.day(rules.ends_after(today - timedelta(days=3)))


def test_before_any_application_the_red_contact_is_offered_to_apply(client, contact):
    code = client.get(f"/me/people/{contact}", headers=EN).get_data(as_text=True)
    assert "Red code" in code and 'id="apply"' in code


@pytest.mark.parametrize(
    ("headers", "approved", "clears", "colour"),
    [
        (EN, "Transcoding approved on", "The code turns green on", "Red code"),
        (ZH, "转码申请已于", "健康码将于", "红码"),
    ],
)
def test_after_an_approved_transcoding_the_code_page_says_so_and_offers_no_second_application(
    app, client, contact, officer_id, today, headers, approved, clears, colour
):
    approve(app, file_application(app, contact), officer_id)
    code = client.get(f"/me/people/{contact}", headers=headers).get_data(as_text=True)
    # Still red until 14 days after the contact: the approval alone does not end a close contact.
    assert colour in code
    assert 'id="apply"' not in code
    assert f'href="/me/people/{contact}/apply"' not in code
    status = re.search(r'<p id="transcoding"[^>]*>(.*?)</p>', code, re.S)
    assert status is not None, code
    day = clears_on(app, today, headers["Accept-Language"])
    assert approved in status.group(1) and clears in status.group(1) and day in status.group(1)
    # The main (filled) button is no longer "apply": a new declaration is.
    actions = re.search(r'<p class="actions">(.*?)</p>', code, re.S).group(1)
    main = re.findall(r'<a class="button" [^>]*>([^<]*)</a>', actions)
    assert main == ["New declaration"] or main == ["新增申报"]


def test_after_an_approved_transcoding_the_apply_page_offers_nothing_and_refuses_it(
    app, client, contact, officer_id
):
    application_id = file_application(app, contact)
    with app.app_context():
        key = db.session.get(Application, application_id).hit_keys
    approve(app, application_id, officer_id)
    page = client.get(f"/me/people/{contact}/apply", headers=EN).get_data(as_text=True)
    assert f'value="{key}"' not in page
    nothing = re.search(r'<p id="nothing-to-clear">(.*?)</p>', page, re.S).group(1)
    assert nothing.startswith("Transcoding approved on")
    response = client.post(
        f"/me/people/{contact}/apply",
        data={"hits": key, "grounds": "other", "note": "again"},
        headers=EN,
    )
    assert response.status_code == 200
    with app.app_context():
        count = db.session.scalar(
            db.select(db.func.count())
            .select_from(Application)
            .where(Application.holder_id == contact)
        )
        assert count == 1
        assert applications.open_hits(db.session.get(Holder, contact)) == []


def test_a_pending_application_is_said_on_the_code_page(app, client, contact):
    file_application(app, contact)
    code = client.get(f"/me/people/{contact}", headers=EN).get_data(as_text=True)
    assert 'id="apply"' not in code
    status = re.search(r'<p id="transcoding"[^>]*>(.*?)</p>', code, re.S)
    assert status is not None and "waiting for an officer" in status.group(1)
