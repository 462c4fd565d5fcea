"""Password reset by a one-time SMS code."""

from __future__ import annotations

import re
from datetime import timedelta

from gantong.holders import sms
from gantong.models import utcnow
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


def sent_code(app, phone):
    messages = [
        text for to, text in sms.outbox(app) if to == phone and re.search(r"\b\d{6}\b", text)
    ]
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
    assert (
        client.post("/login", data={"phone": phone, "password": "a new secret"}).status_code == 303
    )
    client.post("/logout")
    assert client.post("/login", data={"phone": phone, "password": PASSWORD}).status_code == 200
    # The code dies with the password it was made for.
    again = client.post(
        "/account/password/reset",
        data={**form, "password": "third one!", "confirm": "third one!"},
        headers=EN,
    )
    assert 'id="code-error">This code is wrong or has expired.' in again.get_data(as_text=True)


def test_a_wrong_code_keeps_the_password_and_what_was_typed(app, client, make_user):
    app.config["SMS_BACKEND"] = "memory"
    _, phone = make_user()
    client.post("/account/password/forgot", data={"phone": phone})
    code = sent_code(app, phone)
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(
        "/account/password/reset",
        headers=EN,
        data={"phone": phone, "code": wrong, "password": "a new secret", "confirm": "a new secret"},
    )
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


def test_codes_are_stored_hashed_and_issued_only_when_asked(app, client, make_user):
    """No code exists for an account nobody asked one for; an issued one is
    kept only as a keyed hash."""
    from gantong.auth import password_reset
    from gantong.extensions import db
    from gantong.models import PasswordResetCode

    app.config["SMS_BACKEND"] = "memory"
    _, phone = make_user()
    with app.app_context():
        # Without asking, no code of any window works (the derived codes did).
        for code in ("000000", "123456"):
            assert not password_reset.reset(phone, code, "a new secret")
    client.post("/account/password/forgot", data={"phone": phone})
    code = sent_code(app, phone)
    with app.app_context():
        stored = db.session.scalar(db.select(PasswordResetCode))
        assert code not in stored.code_hash and len(stored.code_hash) == 64


def test_wrong_codes_are_limited_per_account_and_the_owner_is_told(app, client, make_user):
    from gantong.auth import password_reset

    app.config["SMS_BACKEND"] = "memory"
    _, phone = make_user()
    client.post("/account/password/forgot", data={"phone": phone})
    code = sent_code(app, phone)
    wrong = [f"{n:06d}" for n in range(10) if f"{n:06d}" != code][: password_reset.MAX_ATTEMPTS]
    with app.app_context():
        for guess in wrong:
            assert not password_reset.reset(phone, guess, "a new secret")
        # The right code is dead too now, and the owner knows.
        assert not password_reset.reset(phone, code, "a new secret")
    texts = [text for to, text in sms.outbox(app) if to == phone]
    assert "wrong password-reset codes were tried" in texts[-1]


def test_an_account_gets_a_few_codes_an_hour_whoever_asks(app, make_user):
    from gantong.auth import password_reset

    app.config["SMS_BACKEND"] = "memory"
    _, phone = make_user()
    with app.app_context():
        for _ in range(password_reset.CODES_PER_HOUR + 3):
            password_reset.send_code(phone)
    assert len([to for to, _ in sms.outbox(app) if to == phone]) == password_reset.CODES_PER_HOUR


def test_the_owner_is_told_when_the_password_was_reset(app, client, make_user):
    app.config["SMS_BACKEND"] = "memory"
    _, phone = make_user()
    client.post("/account/password/forgot", data={"phone": phone})
    code = sent_code(app, phone)
    client.post(
        "/account/password/reset",
        data={"phone": phone, "code": code, "password": "a new secret", "confirm": "a new secret"},
    )
    assert "your password was reset" in [text for to, text in sms.outbox(app) if to == phone][-1]
