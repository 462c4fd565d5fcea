"""An administrator alone cannot give themselves a second officer: nobody alone makes a code red.

Creating an officer or an administrator, moving an officer to another district and a new
password for either wait for a second, different administrator; no administrator ever sees a
one-time password (it goes by SMS to the account's own number); the holder's history names both
officers of a record and the administrators behind their accounts.
"""

from __future__ import annotations

import re

import pytest

from gantong.extensions import db
from gantong.holders import sms
from gantong.models import AccountChange, User
from gantong.review import official_records
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}
OTP = re.compile(r"[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}")


@pytest.fixture
def admins(app, make_user):
    app.config["SMS_BACKEND"] = "memory"
    clients = []
    for _ in range(2):
        user_id, phone = make_user(role="admin")
        client = app.test_client()
        client.post("/login", data={"phone": phone, "password": PASSWORD})
        clients.append((user_id, client))
    return clients


def pending(app):
    with app.app_context():
        return [
            (c.id, c.kind, c.user_id)
            for c in db.session.scalars(
                db.select(AccountChange).where(AccountChange.state == "pending")
            )
        ]


def test_a_move_to_another_district_and_a_new_password_wait_for_a_second_admin(
    app, admins, make_user
):
    (first_id, first), (second_id, second) = admins
    officer_id, phone = make_user(
        role="officer", district_code="360103", badge_number="XH-1", department="西湖"
    )
    moved = first.post(
        f"/admin/accounts/{officer_id}",
        data={"district": "360102", "badge_number": "XH-1", "department": "西湖"},
    )
    assert moved.status_code == 303 and moved.headers["Location"] == "/admin/accounts/changes"
    assert first.post(f"/admin/accounts/{officer_id}/password").status_code == 303
    with app.app_context():
        assert db.session.get(User, officer_id).district_code == "360103"
    assert [kind for _, kind, _ in pending(app)] == ["rebind", "password"]
    page = first.get("/admin/accounts/changes", headers=EN).get_data(as_text=True)
    assert page.count("another administrator must confirm") == 2
    assert "/confirm" not in page
    for change_id, _, _ in pending(app):
        first.post(f"/admin/accounts/changes/{change_id}/confirm")
    assert len(pending(app)) == 2 and sms.outbox(app) == []
    assert 'action="/admin/accounts/changes/' in second.get("/admin/accounts/changes").get_data(
        as_text=True
    )
    for change_id, _, _ in pending(app):
        assert second.post(f"/admin/accounts/changes/{change_id}/confirm").status_code == 303
    with app.app_context():
        officer = db.session.get(User, officer_id)
        assert officer.district_code == "360102" and officer.must_change_password
    [(to, text)] = sms.outbox(app)
    assert to == phone and OTP.search(text)
    # Neither administrator's pages showed it.
    for _, client in admins:
        for path in ("/admin/accounts/changes", f"/admin/accounts/{officer_id}"):
            assert OTP.search(text).group(0) not in client.get(path).get_data(as_text=True)


def test_a_badge_change_and_a_staff_password_need_one_admin(app, admins, make_user, make_staff):
    (_, first), _ = admins
    officer_id, _ = make_user(
        role="officer", district_code="360102", badge_number="DH-1", department="东湖"
    )
    assert (
        first.post(
            f"/admin/accounts/{officer_id}",
            data={"district": "360102", "badge_number": "DH-2", "department": "东湖"},
        ).status_code
        == 303
    )
    staff_id, staff_phone, _ = make_staff()
    first.post(f"/admin/accounts/{staff_id}/password")
    assert pending(app) == []
    with app.app_context():
        assert db.session.get(User, officer_id).badge_number == "DH-2"
    assert [to for to, _ in sms.outbox(app)] == [staff_phone]


def test_an_admin_cannot_confirm_a_change_to_their_own_account(app, admins):
    (first_id, first), (second_id, second) = admins
    first.post(f"/admin/accounts/{second_id}/password")
    [(change_id, _, _)] = pending(app)
    second.post(f"/admin/accounts/changes/{change_id}/confirm")
    assert len(pending(app)) == 1
    second.post(f"/admin/accounts/changes/{change_id}/reject")
    assert pending(app) == [] and sms.outbox(app) == []


def test_the_history_names_both_officers_and_the_admins_behind_their_accounts(
    app, admins, make_user, make_holder
):
    (first_id, first), (second_id, second) = admins
    officer_ids = []
    for badge, phone in (("DH-0301", "13800000301"), ("DH-0307", "13800000307")):
        first.post(
            "/admin/accounts/new",
            data={
                "role": "officer",
                "phone": phone,
                "district": "360102",
                "badge_number": badge,
                "department": "东湖区疾控中心",
            },
        )
        [(change_id, _, _)] = pending(app)
        second.post(f"/admin/accounts/changes/{change_id}/confirm")
        with app.app_context():
            officer_ids.append(
                db.session.scalar(db.select(User.id).where(User.phone == "+86" + phone))
            )
    resident_id, resident_phone = make_user()
    holder_id = make_holder(resident_id)
    with app.app_context():
        from gantong.models import Holder

        holder = db.session.get(Holder, holder_id)
        entry = official_records.record(
            holder, db.session.get(User, officer_ids[0]), "suspected", "东卫〔2020〕7号"
        )
        official_records.approve(entry, db.session.get(User, officer_ids[1]), "已核对")
    resident = app.test_client()
    resident.post("/login", data={"phone": resident_phone, "password": PASSWORD})
    page = resident.get(f"/me/people/{holder_id}/history", headers=EN).get_data(as_text=True)
    assert "recorded by 东湖区疾控中心, badge DH-0301" in page
    assert "approved by 东湖区疾控中心, badge DH-0307" in page
    assert page.count(f"account set up by administrators no. {first_id} and no. {second_id}") == 2


def logged_in(app, phone, password=PASSWORD):
    client = app.test_client()
    assert client.post("/login", data={"phone": phone, "password": password}).status_code == 303
    return client


def is_in(client) -> bool:
    return client.get("/account/password").status_code == 200


def test_reactivating_an_officer_waits_for_a_second_admin_and_old_cookies_stay_dead(
    app, admins, make_user
):
    (_, first), (_, second) = admins
    officer_id, phone = make_user(
        role="officer", district_code="360102", badge_number="DH-9", department="东湖"
    )
    officer = logged_in(app, phone)
    copied = app.test_client()
    copied.set_cookie("session", officer.get_cookie("session").value)
    assert first.post(f"/admin/accounts/{officer_id}/active", data={"reason": "离职"}).status_code
    assert not is_in(officer) and not is_in(copied)
    # One administrator alone only asks.
    asked = first.post(f"/admin/accounts/{officer_id}/active", data={"reason": "返岗"})
    assert asked.headers["Location"] == "/admin/accounts/changes"
    with app.app_context():
        assert not db.session.get(User, officer_id).active
    [(change_id, kind, user_id)] = pending(app)
    assert (kind, user_id) == ("reactivate", officer_id)
    page = first.get("/admin/accounts/changes", headers=EN).get_data(as_text=True)
    assert f"Reactivate {phone}" in page and "/confirm" not in page
    first.post(f"/admin/accounts/changes/{change_id}/confirm")
    with app.app_context():
        assert not db.session.get(User, officer_id).active
    assert second.post(f"/admin/accounts/changes/{change_id}/confirm").status_code == 303
    with app.app_context():
        assert db.session.get(User, officer_id).active
    # Back in use, but not the sessions it had before.
    assert not is_in(officer) and not is_in(copied)
    assert is_in(logged_in(app, phone))


def test_a_staff_account_is_reactivated_by_one_admin(app, admins, make_staff):
    (_, first), _ = admins
    staff_id, _, _ = make_staff()
    for reason in ("休假", "返岗"):
        first.post(f"/admin/accounts/{staff_id}/active", data={"reason": reason})
    assert pending(app) == []
    with app.app_context():
        assert db.session.get(User, staff_id).active


def _admin_on_a_phone_of(app, requester, confirmer, phone):
    """`requester` asks for an administrator account on `phone`, `confirmer` confirms; its
    holder logs in with the texted one-time password and replaces it. Returns (id, client)."""
    requester.post("/admin/accounts/new", data={"role": "admin", "phone": phone})
    [(change_id, _, _)] = pending(app)
    assert confirmer.post(f"/admin/accounts/changes/{change_id}/confirm").status_code == 303
    [otp] = [OTP.search(text).group(0) for to, text in sms.outbox(app) if to == "+86" + phone]
    client = logged_in(app, phone, otp)
    client.post(
        "/account/password", data={"current": otp, "password": PASSWORD, "confirm": PASSWORD}
    )
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.phone == "+86" + phone))
    return user_id, client


def test_an_admin_cannot_confirm_through_an_admin_account_they_asked_for(app, admins, make_user):
    """The rule counts people: an account asked for by the requester (or one that asked for the
    requester's, however far up) is the requester's own hand."""
    (first_id, first), (second_id, second) = admins
    # The first asks for an administrator account on a phone they hold; the second confirms once.
    own_id, own = _admin_on_a_phone_of(app, first, second, "13700000001")
    officer = {"role": "officer", "district": "360102", "department": "东湖", "badge_number": "1"}
    first.post("/admin/accounts/new", data={**officer, "phone": "13700000002"})
    [(change_id, _, _)] = pending(app)
    own.post(f"/admin/accounts/changes/{change_id}/confirm")
    assert len(pending(app)) == 1
    page = own.get("/admin/accounts/changes", headers=EN).get_data(as_text=True)
    assert "/confirm" not in page and "another administrator must confirm" in page
    own.post(f"/admin/accounts/changes/{change_id}/reject")
    # Nor the other way round: the first does not confirm what their own account asks.
    own.post("/admin/accounts/new", data={**officer, "phone": "13700000003"})
    [(change_id, _, _)] = pending(app)
    page = first.get("/admin/accounts/changes", headers=EN).get_data(as_text=True)
    assert f"whose account administrator no. {first_id} asked for" in page
    first.post(f"/admin/accounts/changes/{change_id}/confirm")
    assert len(pending(app)) == 1
    # Down the chain too: an administrator account asked for by that one.
    assert second.post(f"/admin/accounts/changes/{change_id}/reject").status_code == 303
    third_id, third = _admin_on_a_phone_of(app, own, second, "13700000004")
    first.post("/admin/accounts/new", data={**officer, "phone": "13700000005"})
    [(change_id, _, _)] = pending(app)
    third.post(f"/admin/accounts/changes/{change_id}/confirm")
    assert len(pending(app)) == 1
    # An unrelated administrator can.
    assert second.post(f"/admin/accounts/changes/{change_id}/confirm").status_code == 303
    assert pending(app) == []
