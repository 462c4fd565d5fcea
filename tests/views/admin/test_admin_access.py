"""Deactivated accounts' sessions, and the password change at first login."""

from __future__ import annotations

import re

import pytest

from gantong.extensions import db
from gantong.holders import sms
from gantong.models import AuditEvent, User
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


@pytest.fixture
def admin(app, make_user):
    user_id, phone = make_user(role="admin")
    return user_id, phone


def test_a_deactivated_accounts_open_session_is_refused_on_its_next_request(app, make_staff, admin):
    staff_id, staff_phone, _ = make_staff()
    staff_client, admin_client = app.test_client(), app.test_client()
    staff_client.post("/login", data={"phone": staff_phone, "password": PASSWORD})
    assert staff_client.get("/checkpoint/").status_code == 200

    admin_client.post("/login", data={"phone": admin[1], "password": PASSWORD})
    response = admin_client.post(
        f"/admin/accounts/{staff_id}/active", data={"reason": "left the team"}
    )
    assert response.status_code == 303

    refused = staff_client.get("/checkpoint/")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert (
        staff_client.post("/checkpoint/verify/number", data={"number": "12345678"}).status_code
        == 302
    )
    # Nor can it log in again.
    again = staff_client.post("/login", data={"phone": staff_phone, "password": PASSWORD})
    assert again.status_code == 200
    with app.app_context():
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "account.deactivate")
        )
        assert (event.actor_id, event.subject_id, event.reason) == (
            admin[0],
            str(staff_id),
            "left the team",
        )
        assert db.session.get(User, staff_id).active is False


def test_an_admin_cannot_deactivate_their_own_account(app, client, admin):
    client.post("/login", data={"phone": admin[1], "password": PASSWORD})
    response = client.post(
        f"/admin/accounts/{admin[0]}/active", data={"reason": "oops"}, headers=EN
    )
    assert response.status_code == 200
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, admin[0]).active


def test_a_one_time_password_must_be_changed_before_anything_else(app, client, make_point, admin):
    point_id = make_point()
    admin_client = app.test_client()
    admin_client.post("/login", data={"phone": admin[1], "password": PASSWORD})
    app.config["SMS_BACKEND"] = "memory"
    created = admin_client.post(
        "/admin/accounts/new",
        data={"role": "staff", "phone": "138 0000 1111", "point": str(point_id)},
    )
    assert created.status_code == 303
    [(to, text)] = sms.outbox(app)
    assert to == "+8613800001111" and text not in admin_client.get(
        created.headers["Location"]
    ).get_data(as_text=True)
    one_time = re.search(r"[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}", text).group(0)

    login = client.post("/login", data={"phone": "13800001111", "password": one_time})
    assert login.status_code == 303 and login.headers["Location"] == "/account/password"
    for url in ("/checkpoint/", "/checkpoint/scan", "/me", "/"):
        blocked = client.get(url)
        assert blocked.status_code == 303 and blocked.headers["Location"] == "/account/password", (
            url
        )
    assert (
        client.get("/checkpoint/", headers={"HX-Request": "true"}).headers["HX-Redirect"]
        == "/account/password"
    )

    page = client.get("/account/password", headers=EN).get_data(as_text=True)
    assert "one-time password" in page
    same = client.post(
        "/account/password",
        headers=EN,
        data={"current": one_time, "password": one_time, "confirm": one_time},
    )
    assert "not the one you were given" in same.get_data(as_text=True)
    wrong = client.post(
        "/account/password",
        headers=EN,
        data={"current": "not it", "password": "my own pass", "confirm": "my own pass"},
    )
    assert "This is not your current password." in wrong.get_data(as_text=True)

    done = client.post(
        "/account/password",
        data={"current": one_time, "password": "my own pass", "confirm": "my own pass"},
    )
    assert done.status_code == 303 and done.headers["Location"] == "/checkpoint/"
    assert client.get("/checkpoint/").status_code == 200
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.phone == "+8613800001111"))
        assert not user.must_change_password
        actions = db.session.scalars(
            db.select(AuditEvent.action).where(
                AuditEvent.subject_id == str(user.id), AuditEvent.subject_type == "user"
            )
        ).all()
        assert actions == ["account.create", "account.password_change"]
    client.post("/logout")
    assert (
        client.post("/login", data={"phone": "13800001111", "password": one_time}).status_code
        == 200
    )
    assert (
        client.post("/login", data={"phone": "13800001111", "password": "my own pass"}).status_code
        == 303
    )
