"""The attacks an outside review reported, each reproduced through the test client: work
accounts on the resident pages, an open redirect, a deactivated staff account or point submitting
a record, a one-time password on the API (inputs that answered 500 are in test_bad_input.py).
"""

from __future__ import annotations

import re

import pytest

from gantong.extensions import db
from gantong.models import Holder, InformationPoint, User, VerificationRecord
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


# Open redirect


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%0D/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/%20/evil.example",
        "%2F%2Fevil.example",
        "/%E3%80%80/evil.example",
        "/%00/x",
    ],
)
def test_next_never_leaves_the_site(client, make_user, target):
    _, phone = make_user()
    login = client.post(f"/login?next={target}", data={"phone": phone, "password": PASSWORD})
    language = client.get(f"/language/en?next={target}")
    if "%00" in target:  # a NUL byte is refused before any view
        assert login.status_code == language.status_code == 400
        return
    assert login.status_code == 303 and login.headers["Location"] == "/"
    assert language.status_code == 302 and language.headers["Location"] == "/"


def test_a_same_site_next_is_kept(client, make_user):
    _, phone = make_user()
    login = client.post(
        "/login?next=/me/notifications%3Fx%3D1", data={"phone": phone, "password": PASSWORD}
    )
    assert login.headers["Location"] == "/me/notifications?x=1"
    assert client.get("/language/en?next=/stats/").headers["Location"] == "/stats/"


# Work accounts are not resident accounts


@pytest.mark.parametrize("role", ["staff", "officer", "admin"])
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/me"),
        ("get", "/me/people/new"),
        ("post", "/me/people/new"),
        ("get", "/me/notifications"),
    ],
)
def test_work_accounts_cannot_use_the_resident_pages(
    app, client, make_user, make_point, role, method, path
):
    fields = {
        "staff": {"point_id": make_point()},
        "officer": {"district_code": "360102"},
        "admin": {},
    }[role]
    _, phone = make_user(role=role, **fields)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    data = {
        "name": "陌生人",
        "doc_type": "resident_id",
        "doc_number": "360102199001011234",
        "nationality": "CN",
        "district": "360102",
        "address": "x",
        "is_self": "y",
    }
    response = getattr(client, method)(path, data=data if method == "post" else None)
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Holder)) == 0


def test_a_work_account_cannot_declare_for_a_holder_it_somehow_owns(
    app, client, make_user, make_holder
):
    officer_id, phone = make_user(role="officer", district_code="360102")
    holder_id = make_holder(officer_id)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    response = client.post(f"/me/people/{holder_id}/declare", data={"close_contact": "y"})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Holder, holder_id).colour == "green"


# 7 and 8: the checkpoint


@pytest.fixture
def opened(client, make_staff, make_user, make_holder, screen_token):
    """A logged-in volunteer who opened a record and holds its signed reference."""
    staff_id, phone, point_id = make_staff()
    holder_id = make_holder(make_user()[0])
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    response = client.post(
        "/checkpoint/verify/token", data={"method": "camera", "token": screen_token(holder_id)}
    )
    record_id = response.headers["Location"].rsplit("/", 1)[1]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    reference = re.search(r'name="reference" type="hidden" value="([^"]+)"', page).group(1)
    return {
        "staff_id": staff_id,
        "point_id": point_id,
        "record_id": record_id,
        "reference": reference,
        "holder_id": holder_id,
    }


def _body(opened, temperature="38.5"):
    return {
        "record_id": opened["record_id"],
        "reference": opened["reference"],
        "temperature": temperature,
        "decision": "refer",
    }


def test_a_deactivated_account_cannot_submit_with_an_earlier_reference(app, client, opened):
    with app.app_context():
        db.session.get(User, opened["staff_id"]).active = False
        db.session.commit()
    assert app.test_client().post("/checkpoint/records", json=_body(opened)).status_code == 403
    with app.app_context():
        assert db.session.scalar(db.select(VerificationRecord.recorded_at)) is None
        assert db.session.get(Holder, opened["holder_id"]).colour == "green"


def test_a_deactivated_point_cannot_take_records_with_an_earlier_reference(app, client, opened):
    with app.app_context():
        db.session.get(InformationPoint, opened["point_id"]).active = False
        db.session.commit()
    assert app.test_client().post("/checkpoint/records", json=_body(opened)).status_code == 403
    with app.app_context():
        assert db.session.scalar(db.select(VerificationRecord.recorded_at)) is None


def test_an_active_account_still_submits(app, client, opened):
    assert (
        app.test_client().post("/checkpoint/records", json=_body(opened, "36.5")).status_code == 201
    )


def test_a_staff_account_with_its_one_time_password_cannot_call_the_api(
    app, client, make_staff, make_holder, make_user, screen_token
):
    staff_id, phone, _ = make_staff()
    holder_id = make_holder(make_user()[0])
    with app.app_context():
        db.session.get(User, staff_id).must_change_password = True
        db.session.commit()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    response = client.post("/api/v1/verify", json={"token": screen_token(holder_id)})
    assert response.status_code == 401
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(VerificationRecord)) == 0
