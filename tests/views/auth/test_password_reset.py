"""Password reset by a one-time SMS code."""
from __future__ import annotations

import re
from datetime import timedelta

from gantong.holders import sms
from gantong.models import utcnow
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


def sent_code(app, phone):
    messages = [text for to, text in sms.outbox(app) if to == phone]
    assert messages, "no text message sent"
    return re.search(r"\b(\d{6})\b", messages[-1]).group(1)


def test_a_texted_code_sets_a_new_password_once(app, client, make_user):
    app.config["SMS_BACKEND"] = "memory"
    _, phone = make_user()
    response = client.post("/account/password/forgot", data={"phone": phone[3:]}, headers=EN)
    assert response.status_code == 303
    code = sent_code(app, phone)
    form = {"phone": phone, "code": code, "password": "a new secret", "confirm": "a new secret"}
    assert client.post("/account/password/reset", data=form).status_code == 303
    assert client.post("/login", data={"phone": phone, "password": "a new secret"}).status_code == 303
    client.post("/logout")
    assert client.post("/login", data={"phone": phone, "password": PASSWORD}).status_code == 200
    # The code dies with the password it was made for.
    again = client.post("/account/password/reset", data={**form, "password": "third one!", "confirm": "third one!"},
                        headers=EN)
    assert 'id="code-error">This code is wrong or has expired.' in again.get_data(as_text=True)


def test_a_wrong_code_keeps_the_password_and_what_was_typed(app, client, make_user):
    app.config["SMS_BACKEND"] = "memory"
    _, phone = make_user()
    client.post("/account/password/forgot", data={"phone": phone})
    code = sent_code(app, phone)
    wrong = "000000" if code != "000000" else "111111"
    response = client.post("/account/password/reset", headers=EN,
                           data={"phone": phone, "code": wrong, "password": "a new secret", "confirm": "a new secret"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f'value="{wrong}"' in html and f'value="{phone}"' in html
    assert client.post("/login", data={"phone": phone, "password": PASSWORD}).status_code == 303


def test_an_unknown_number_gets_the_same_answer_and_no_text(app, client):
    app.config["SMS_BACKEND"] = "memory"
    response = client.post("/account/password/forgot", data={"phone": "13812340000"}, headers=EN)
    assert response.status_code == 303
    assert sms.outbox(app) == []


def test_an_old_code_expires(app, make_user):
    from gantong.auth import password_reset
    from gantong.extensions import db
    from gantong.models import User

    app.config["SMS_BACKEND"] = "memory"
    user_id, phone = make_user()
    with app.app_context():
        past = utcnow() - timedelta(minutes=30)
        password_reset.send_code(phone, now=past)
        code = sent_code(app, phone)
        assert not password_reset.reset(phone, code, "a new secret")
        assert password_reset.reset(phone, code, "a new secret", now=past + timedelta(minutes=5))
        assert db.session.get(User, user_id).password_hash
