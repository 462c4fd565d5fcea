"""Lab accounts (issue 22): an administrator adds a lab; its accounts wait for a second
administrator (a lab positive is the first of the two parties a red code needs); a lab account
sees only its own lab's page and tokens; others get 403 or 404."""

from __future__ import annotations

import pytest

from gantong.extensions import db
from gantong.holders import sms
from gantong.labs import results
from gantong.models import AccountChange, Lab, LabApiToken, User
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}
KEY = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"  # RFC 8032 test 1's public key


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SMS_BACKEND": "memory"}


def logged_in(app, phone):
    client = app.test_client()
    assert client.post("/login", data={"phone": phone, "password": PASSWORD}).status_code == 303
    return client


def test_a_lab_and_its_account_need_two_administrators(app, make_user):
    admins = [logged_in(app, make_user(role="admin")[1]) for _ in range(2)]
    first, second = admins
    bad = first.post(
        "/admin/labs",
        data={"name": "检验所", "district": "360102", "public_key": "xx"},
        headers=EN,
    )
    assert "An Ed25519 public key is 32 bytes" in bad.get_data(as_text=True)
    added = first.post(
        "/admin/labs", data={"name": "南昌检验所", "district": "360102", "public_key": KEY}
    )
    assert added.status_code == 303
    with app.app_context():
        lab = db.session.scalar(db.select(Lab))
        assert lab.public_key is not None and len(lab.public_key) == 32
        lab_id = lab.id
    no_lab = first.post(
        "/admin/accounts/new", data={"role": "lab", "phone": "13900000123"}, headers=EN
    )
    assert "A lab account works for one lab: choose it." in no_lab.get_data(as_text=True)
    asked = first.post(
        "/admin/accounts/new", data={"role": "lab", "phone": "13900000123", "lab": str(lab_id)}
    )
    assert asked.headers["Location"] == "/admin/accounts/changes"
    with app.app_context():
        change_id = db.session.scalar(db.select(AccountChange.id))
        assert db.session.scalar(db.select(User).where(User.role == "lab")) is None
    first.post(f"/admin/accounts/changes/{change_id}/confirm")
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.role == "lab")) is None
    assert second.post(f"/admin/accounts/changes/{change_id}/confirm").status_code == 303
    with app.app_context():
        account = db.session.scalar(db.select(User).where(User.role == "lab"))
        assert account.lab_id == lab_id and account.must_change_password
    [(to, _text)] = sms.outbox(app)
    assert to == "+8613900000123"
    page = first.get(f"/admin/labs/{lab_id}", headers=EN).get_data(as_text=True)
    assert "+8613900000123" in page and "Signs its results with its own key." in page


def test_lab_pages_are_for_their_own_roles_and_tokens_stay_in_their_lab(app, make_user):
    with app.app_context():
        ours, theirs = results.add_lab("甲", "360102"), results.add_lab("乙", "360103")
        db.session.commit()
        ours_id, theirs_id = ours.id, theirs.id
    _lab_user, lab_phone = make_user(role="lab", lab_id=ours_id)
    other_id, _other_phone = make_user(role="lab", lab_id=theirs_id)
    with app.app_context():
        results.new_api_token(db.session.get(User, other_id), "theirs")
        db.session.commit()
        their_token = db.session.scalar(db.select(LabApiToken.id))
    lab = logged_in(app, lab_phone)
    made = lab.post("/lab", data={"label": "LIS"}, headers=EN).get_data(as_text=True)
    assert "gtl_" in made
    with app.app_context():
        assert [row.lab_id for row in db.session.scalars(db.select(LabApiToken))] == [
            theirs_id,
            ours_id,
        ]
    page = lab.get("/lab", headers=EN).get_data(as_text=True)
    assert "theirs" not in page
    for path in ("/admin/labs", f"/admin/labs/{ours_id}", "/review/", "/checkpoint/"):
        assert lab.get(path).status_code in (403, 404), path
    for role in ("resident", "officer"):
        fields = {"district_code": "360102", "badge_number": "X-1"} if role == "officer" else {}
        _id, phone = make_user(role=role, **fields)
        client = logged_in(app, phone)
        assert client.get("/lab").status_code == 403
        assert client.get("/admin/labs").status_code == 403
    admin = logged_in(app, make_user(role="admin")[1])
    wrong = admin.post(f"/admin/labs/{ours_id}/tokens/{their_token}/revoke")
    assert wrong.status_code == 404
