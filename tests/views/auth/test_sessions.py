"""Sessions end when they should: a copied cookie opens nothing after logout, a password change,
a reset by text message, a new one-time password, deactivation or a role change.

A copied cookie is a second test client carrying the first one's session cookie."""

from __future__ import annotations

import re

import pytest

from gantong.extensions import db
from gantong.holders import sms
from gantong.models import User
from tests.conftest import PASSWORD


def logged_in(app, phone, password=PASSWORD):
    client = app.test_client()
    assert client.post("/login", data={"phone": phone, "password": password}).status_code == 303
    return client


def copy_of(app, client):
    """A second browser holding a copy of `client`'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def is_in(client) -> bool:
    """Whether the client's session is live: a page for any logged-in account answers 200."""
    return client.get("/account/password").status_code == 200


def test_a_copied_cookie_works_only_while_the_session_does(app, make_user):
    """The check itself: a copy works like the original until something ends the session."""
    _, phone = make_user()
    owner = logged_in(app, phone)
    assert is_in(copy_of(app, owner))


def test_logout_ends_the_copied_cookie_too(app, make_user):
    _, phone = make_user()
    owner = logged_in(app, phone)
    other_device = logged_in(app, phone)
    thief = copy_of(app, owner)
    assert owner.post("/logout").status_code == 303
    assert not is_in(thief)
    # Logging out ends every session of the account (its other devices' too): see auth/views.py.
    assert not is_in(other_device)
    assert is_in(logged_in(app, phone))


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app, make_user):
    _, phone = make_user()
    owner = logged_in(app, phone)
    thief = copy_of(app, owner)
    changed = owner.post(
        "/account/password",
        data={"current": PASSWORD, "password": "a new secret", "confirm": "a new secret"},
    )
    assert changed.status_code == 303
    assert not is_in(thief)
    assert is_in(owner)


def test_a_reset_by_text_message_ends_the_sessions(app, make_user):
    app.config["SMS_BACKEND"] = "memory"
    _, phone = make_user()
    owner = logged_in(app, phone)
    thief = copy_of(app, owner)
    stranger = app.test_client()
    stranger.post("/account/password/forgot", data={"phone": phone})
    [code] = [re.search(r"\b(\d{6})\b", text).group(1) for to, text in sms.outbox(app)]
    form = {"phone": phone, "code": code, "password": "a new secret", "confirm": "a new secret"}
    assert stranger.post("/account/password/reset", data=form).status_code == 303
    assert not is_in(thief)
    assert not is_in(owner)


@pytest.mark.parametrize(
    "change",
    [
        lambda user: setattr(user, "active", False),
        lambda user: setattr(user, "role", "staff"),
        lambda user: setattr(user, "password_hash", "scrypt:changed"),
    ],
    ids=["deactivation", "role change", "new password hash"],
)
def test_any_change_to_the_credential_role_or_state_ends_the_sessions(app, make_user, change):
    user_id, phone = make_user()
    owner = logged_in(app, phone)
    with app.app_context():
        change(db.session.get(User, user_id))
    with app.app_context():
        user = db.session.get(User, user_id)
        user.active, user.role = True, "resident"  # back as it was: the old cookie stays dead
    assert not is_in(owner)
    assert not is_in(copy_of(app, owner))


def test_a_new_one_time_password_from_an_admin_ends_the_sessions(app, make_staff, make_user):
    app.config["SMS_BACKEND"] = "memory"
    _, staff_phone, _ = make_staff()
    volunteer = logged_in(app, staff_phone)
    assert is_in(volunteer)
    _, admin_phone = make_user(role="admin")
    admin = logged_in(app, admin_phone)
    staff_id = _id_of(app, staff_phone)
    assert admin.post(f"/admin/accounts/{staff_id}/password").status_code == 303
    assert not is_in(volunteer)


def _id_of(app, phone):
    with app.app_context():
        return db.session.scalar(db.select(User.id).where(User.phone == phone))


def test_loading_the_user_is_one_statement(app, make_user):
    """The session check costs nothing more than loading the account."""
    from sqlalchemy import event

    _, phone = make_user()
    owner = logged_in(app, phone)
    statements = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        if "FROM user" in statement.replace('"', ""):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert is_in(owner)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
