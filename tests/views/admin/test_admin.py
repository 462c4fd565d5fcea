"""The admin pages: points and their API tokens, accounts, key areas, issuers and the audit trail."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from gantong.checkpoint import points
from gantong.core import tokens
from gantong.extensions import db
from gantong.holders import registry, sms
from gantong.models import (
    AccountChange,
    AuditEvent,
    Holder,
    InformationPoint,
    PointApiToken,
    RiskArea,
    TrustedIssuer,
    User,
)
from tests.conftest import PASSWORD, resident_id

EN = {"Accept-Language": "en"}


@pytest.fixture
def admin(client, make_user):
    """A logged-in administrator: returns the account id."""
    user_id, phone = make_user(role="admin")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return user_id


def events(app, prefix=""):
    with app.app_context():
        query = (
            db.select(AuditEvent)
            .where(AuditEvent.action.startswith(prefix))
            .order_by(AuditEvent.seq)
        )
        return [
            (
                event.action,
                event.actor_id,
                event.subject_id,
                json.loads(event.before),
                json.loads(event.after),
                event.reason,
            )
            for event in db.session.scalars(query)
        ]


def count(app, model):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


POINT = {
    "name": "南昌西站",
    "district": "360104",
    "address": "南昌市青云谱区",
    "latitude": "28.62",
    "longitude": "115.79",
}


def test_an_admin_adds_and_edits_a_point_and_each_change_is_audited(app, client, admin):
    response = client.post("/admin/points/new", data=POINT)
    assert response.status_code == 303
    with app.app_context():
        point = db.session.scalar(db.select(InformationPoint))
        assert (point.name, point.district_code, point.latitude, point.longitude) == (
            "南昌西站",
            "360104",
            28.62,
            115.79,
        )
        point_id = point.id
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert 'value="28.62"' in page and "南昌西站" in page

    moved = {**POINT, "latitude": "28.63", "longitude": "115.80", "address": "新地址"}
    assert client.post(f"/admin/points/{point_id}", data=moved).status_code == 303
    assert (
        client.post(
            f"/admin/points/{point_id}/active", data={"reason": "closed for works"}
        ).status_code
        == 303
    )
    with app.app_context():
        assert db.session.get(InformationPoint, point_id).active is False
    assert [e[0] for e in events(app, "point.")] == [
        "point.create",
        "point.update",
        "point.deactivate",
    ]
    _, actor, subject, before, after, _ = events(app, "point.update")[0]
    assert (actor, subject) == (admin, str(point_id))
    assert before == {"address": "南昌市青云谱区", "latitude": 28.62, "longitude": 115.79}
    assert after == {"address": "新地址", "latitude": 28.63, "longitude": 115.8}
    assert events(app, "point.deactivate")[0][5] == "closed for works"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("name", "", "Enter the point's name."),
        ("district", "", "Choose the district."),
        ("latitude", "north", "A latitude is a number from -90 to 90"),
        ("longitude", "", "Give both latitude and longitude, or neither."),
    ],
)
def test_a_wrong_point_form_keeps_what_was_typed_and_writes_nothing(
    app, client, admin, field, value, message
):
    response = client.post("/admin/points/new", data={**POINT, field: value}, headers=EN)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(rf'<p class="error" id="{field}-error">[^<]*{re.escape(message)}', html)
    assert 'value="南昌市青云谱区"' in html
    assert count(app, InformationPoint) == 0 and events(app) == []


def test_a_deactivated_point_stops_its_staff(app, client, admin, make_staff):
    _, phone, point_id = make_staff()
    staff = app.test_client()
    staff.post("/login", data={"phone": phone, "password": PASSWORD})
    assert staff.get("/checkpoint/").status_code == 200
    client.post(f"/admin/points/{point_id}/active", data={"reason": "closed"})
    assert staff.get("/checkpoint/").status_code == 403


def test_an_api_token_is_shown_once_and_stored_hashed(app, client, admin, make_point):
    point_id = make_point()
    posted = client.post(
        f"/admin/points/{point_id}/tokens", data={"label": "gate tablet"}, headers=EN
    )
    # Shown once, in the answer to the post that made it: never in the session cookie, which
    # is signed, not encrypted (anyone holding the cookie reads it without the secret).
    assert posted.status_code == 200 and posted.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="new-token">([^<]+)<', posted.get_data(as_text=True)).group(1)
    assert token.startswith(points.TOKEN_PREFIX)
    cookie = client.get_cookie("session").value
    session = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert token not in json.dumps(session)
    with app.app_context():
        row = db.session.scalar(db.select(PointApiToken))
        assert (
            row.token_hash == hashlib.sha256(token.encode()).hexdigest()
            and row.label == "gate tablet"
        )
        assert points.point_for_api_token(token).id == point_id
        token_id = row.id
    assert token not in client.get(f"/admin/points/{point_id}").get_data(as_text=True)
    assert token not in json.dumps(events(app))
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PointApiToken)) == 1

    assert client.post(f"/admin/points/{point_id}/tokens/{token_id}/revoke").status_code == 303
    with app.app_context():
        assert points.point_for_api_token(token) is None
    assert [e[0] for e in events(app, "point.api_token")] == [
        "point.api_token.create",
        "point.api_token.revoke",
    ]


def test_a_token_stops_with_its_point_and_outlives_the_admin_who_made_it(
    app, client, admin, make_point, make_user
):
    """Tokens are the point's: a point out of use stops them; the administrator who made one
    leaving (deactivated) does not, as the station's tablet still works (revoke it to stop it)."""
    point_id = make_point()
    made = client.post(f"/admin/points/{point_id}/tokens", data={"label": "gate"})
    token = re.search(r'id="new-token">([^<]+)<', made.get_data(as_text=True)).group(1)
    _, other_phone = make_user(role="admin")
    other = app.test_client()
    other.post("/login", data={"phone": other_phone, "password": PASSWORD})
    other.post(f"/admin/accounts/{admin}/active", data={"reason": "left"})
    with app.app_context():
        assert not db.session.get(User, admin).active
        assert points.point_for_api_token(token).id == point_id
    other.post(f"/admin/points/{point_id}/active", data={"reason": "closed"})
    with app.app_context():
        assert points.point_for_api_token(token) is None


def test_a_token_of_another_point_is_not_found(app, client, admin, make_point):
    first, second = make_point(), make_point(name="西湖站")
    with app.app_context():
        points.new_api_token(first)
    assert client.post(f"/admin/points/{second}/tokens/1/revoke").status_code == 404


def test_an_officer_account_needs_a_district_and_a_badge(app, client, admin, make_user):
    response = client.post(
        "/admin/accounts/new", data={"role": "officer", "phone": "13800002222"}, headers=EN
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'id="district-error">Officers work for one district: choose it.<', html)
    assert re.search(r'id="badge_number-error">Enter the officer(\'|&#39;)s badge number.<', html)
    assert 'id="point-error"' not in html
    assert 'value="13800002222"' in html
    assert count(app, User) == 1 and events(app, "account.") == []

    app.config["SMS_BACKEND"] = "memory"
    response = client.post(
        "/admin/accounts/new",
        data={
            "role": "officer",
            "phone": "13800002222",
            "district": "360102",
            "badge_number": "DH-0999",
            "department": "东湖区疾控中心",
            "point": "",
        },
    )
    # An officer account waits for a second administrator; nobody sees its password.
    assert response.status_code == 303 and response.headers["Location"] == "/admin/accounts/changes"
    assert count(app, User) == 1 and sms.outbox(app) == []
    second = app.test_client()
    second.post("/login", data={"phone": make_user(role="admin")[1], "password": PASSWORD})
    with app.app_context():
        change_id = db.session.scalar(db.select(AccountChange.id))
    assert client.post(f"/admin/accounts/changes/{change_id}/confirm").status_code == 303
    assert count(app, User) == 2  # the requester cannot confirm
    assert second.post(f"/admin/accounts/changes/{change_id}/confirm").status_code == 303
    [(to, text)] = sms.outbox(app)
    assert to == "+8613800002222" and re.search(r"[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}", text)
    with app.app_context():
        officer = db.session.scalar(db.select(User).where(User.phone == "+8613800002222"))
        assert (officer.role, officer.district_code, officer.badge_number, officer.point_id) == (
            "officer",
            "360102",
            "DH-0999",
            None,
        )
        assert officer.must_change_password and officer.active
    [request, (action, actor, subject, _, after, _), confirmed] = events(app, "account.")
    assert request[0] == "account.create_request" and request[1] == admin
    assert (action, subject) == ("account.create", str(officer.id)) and after[
        "requested_by"
    ] == admin
    assert actor != admin and confirmed[0] == "account.change_confirm"
    assert after["district_code"] == "360102" and "password" not in json.dumps(after)


def test_staff_need_a_point_in_use_and_a_number_has_one_account(
    app, client, admin, make_point, make_user
):
    response = client.post(
        "/admin/accounts/new", data={"role": "staff", "phone": "13800003333"}, headers=EN
    )
    assert "Staff work at an information point: choose one." in response.get_data(as_text=True)
    _, taken = make_user()
    point_id = make_point()
    response = client.post(
        "/admin/accounts/new",
        headers=EN,
        data={"role": "staff", "phone": taken, "point": str(point_id)},
    )
    assert "This number has an account already." in response.get_data(as_text=True)
    assert events(app, "account.") == []


def test_moving_staff_and_a_new_one_time_password(app, client, admin, make_staff, make_point):
    staff_id, phone, _ = make_staff()
    other = make_point(name="西湖站", district="360103")
    assert client.post(f"/admin/accounts/{staff_id}", data={"point": str(other)}).status_code == 303
    app.config["SMS_BACKEND"] = "memory"
    response = client.post(f"/admin/accounts/{staff_id}/password", headers=EN)
    [(to, text)] = sms.outbox(app)
    one_time = re.search(r"[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}", text).group(0)
    assert to == phone and response.status_code == 303
    assert one_time not in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        staff = db.session.get(User, staff_id)
        assert staff.point_id == other and staff.must_change_password
    assert [e[0] for e in events(app, "account.")] == ["account.update", "account.password_reset"]
    fresh = app.test_client()
    assert fresh.post("/login", data={"phone": phone, "password": PASSWORD}).status_code == 200
    login = fresh.post("/login", data={"phone": phone, "password": one_time})
    assert login.headers["Location"] == "/account/password"


def test_residents_accounts_are_not_managed_here(client, admin, make_user):
    resident_id_, _ = make_user()
    assert client.get(f"/admin/accounts/{resident_id_}").status_code == 404


def test_the_account_list_filters_by_role(client, admin, make_staff, make_user):
    _, staff_phone, _ = make_staff()
    _, officer_phone = make_user(role="officer", district_code="360102", badge_number="DH-7")
    page = client.get("/admin/accounts?role=officer").get_data(as_text=True)
    assert officer_phone in page and staff_phone not in page
    fragment = client.get(
        "/admin/accounts?role=staff", headers={"HX-Request": "true", "HX-Target": "results"}
    )
    html = fragment.get_data(as_text=True)
    assert html.startswith('<div id="results">') and staff_phone in html and "<html" not in html


def test_a_key_area_changes_colours_at_once_and_stored_colours_follow(
    app, client, admin, make_holder, today
):
    wuhan_stay = [("4201", today - timedelta(days=5), today - timedelta(days=3))]
    traveller = make_holder(stays=wuhan_stay)
    stay_at_home = make_holder(number=resident_id("36010219900101456"), name="李四")
    with app.app_context():
        assert db.session.get(Holder, traveller).colour == "green"

    response = client.post(
        "/admin/risk-areas/new", data={"code": "42", "days": "14", "active": "y"}, headers=EN
    )
    assert response.status_code == 303
    assert "Stored colours changed: 1." in client.get("/admin/risk-areas", headers=EN).get_data(
        as_text=True
    )
    with app.app_context():
        area = db.session.scalar(db.select(RiskArea))
        assert (area.code, area.name, area.days, area.active) == ("42", "湖北省", 14, True)
        holder = db.session.get(Holder, traveller)
        assert holder.colour == "yellow"
        assert registry.colour_of(holder).colour == "yellow"
        assert db.session.get(Holder, stay_at_home).colour == "green"
        area_id = area.id

    # Fewer days: the stay ended three days ago, so two days of quarantine are over.
    assert (
        client.post(
            f"/admin/risk-areas/{area_id}",
            data={"code": "42", "name": "湖北省", "days": "2", "active": "y"},
        ).status_code
        == 303
    )
    with app.app_context():
        assert db.session.get(Holder, traveller).colour == "green"
    [create, update] = events(app, "risk_area.")
    assert create[0] == "risk_area.create" and create[4]["days"] == 14
    assert update[0] == "risk_area.update" and (update[3]["days"], update[4]["days"]) == (14, 2)
    assert update[1] == admin


def test_a_wrong_key_area_is_refused_next_to_its_field(app, client, admin):
    response = client.post(
        "/admin/risk-areas/new",
        headers=EN,
        data={"code": "4299", "days": "90", "active_from": "2024-05-02", "active_to": "2024-05-01"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Not a province, city or county code" in html and "Between 1 and 60 days." in html
    assert "The end is before the start." in html and 'value="4299"' in html
    assert count(app, RiskArea) == 0 and events(app) == []


def issuer_jwk(kid="a1b2c3d4"):
    return json.dumps(tokens.jwk(tokens.generate_private_key().public_key(), kid))


def test_an_admin_puts_an_issuer_on_the_trust_list_and_takes_it_off(app, client, admin, today):
    response = client.post(
        "/admin/issuers/new",
        data={
            "name": "湘通码",
            "region": "湖南省",
            "valid_from": today.isoformat(),
            "jwk": issuer_jwk(),
        },
    )
    assert response.status_code == 303
    listing = client.get("/admin/issuers", headers=EN).get_data(as_text=True)
    assert "湘通码" in listing and "a1b2c3d4" in listing and "trusted" in listing
    with app.app_context():
        issuer = db.session.scalar(db.select(TrustedIssuer))
        issuer_id = issuer.id
    assert (
        client.post(f"/admin/issuers/{issuer_id}/active", data={"reason": "key leaked"}).status_code
        == 303
    )
    assert "not trusted" in client.get("/admin/issuers", headers=EN).get_data(as_text=True)
    assert [(e[0], e[1], e[5]) for e in events(app, "issuer.")] == [
        ("issuer.add", admin, ""),
        ("issuer.deactivate", admin, "key leaked"),
    ]


def test_a_bad_issuer_key_is_refused_next_to_the_key(app, client, admin, today):
    response = client.post(
        "/admin/issuers/new",
        headers=EN,
        data={"name": "湘通码", "valid_from": today.isoformat(), "jwk": "{not json"},
    )
    assert response.status_code == 200
    assert re.search(
        r'id="jwk-error">The public key is not valid JSON.', response.get_data(as_text=True)
    )
    assert count(app, TrustedIssuer) == 0


def test_the_audit_trail_filters_and_checks_its_chain(app, client, admin, make_point):
    make_point()
    client.post("/admin/accounts/new", data={"role": "admin", "phone": "13800004444"})
    page = client.get("/admin/audit?action=account.", headers=EN).get_data(as_text=True)
    assert "account.create" in page and "point.create" not in page

    check = client.get(
        "/admin/audit/check", headers={**EN, "HX-Request": "true", "HX-Target": "chain"}
    )
    html = check.get_data(as_text=True)
    assert html.startswith('<div id="chain"') and "The chain is intact: 2 events." in html
    with app.app_context():
        # Behind the app's back, as an attacker with the database would.
        db.session.execute(db.text("UPDATE audit_event SET reason = 'rewritten' WHERE seq = 1"))
        db.session.commit()
    html = client.get("/admin/audit/check", headers=EN).get_data(as_text=True)
    assert "The chain is broken at event 1" in html


def test_the_audit_trail_pages_back_in_time(app, client, admin):
    from gantong import audit

    with app.app_context():
        for number in range(60):
            audit.append("test.event", "thing", number)
        db.session.commit()
    first = client.get("/admin/audit", headers=EN).get_data(as_text=True)
    assert "thing:59" in first and "thing:9<" not in first
    older = (
        re.search(r'href="(/admin/audit\?[^"]*before=\d+[^"]*)"', first)
        .group(1)
        .replace("&amp;", "&")
    )
    second = client.get(older, headers=EN).get_data(as_text=True)
    assert "thing:9<" in second and "thing:59" not in second


def test_an_issuers_last_day_counts_whole_and_can_be_changed(app, client, admin):
    client.post(
        "/admin/issuers/new",
        data={
            "name": "沪通码",
            "valid_from": "2024-05-01",
            "valid_to": "2024-12-31",
            "jwk": issuer_jwk("0f0f0f0f"),
        },
    )
    with app.app_context():
        issuer = db.session.scalar(db.select(TrustedIssuer))
        # Trust ends when 1 January begins in Shanghai.
        assert issuer.valid_to == datetime(2024, 12, 31, 16, tzinfo=UTC)
        assert issuer.valid_from == datetime(2024, 4, 30, 16, tzinfo=UTC)
        issuer_id = issuer.id
    page = client.get(f"/admin/issuers/{issuer_id}", headers=EN).get_data(as_text=True)
    assert 'value="2024-12-31"' in page and 'value="2024-05-01"' in page

    wrong = client.post(
        f"/admin/issuers/{issuer_id}",
        headers=EN,
        data={"name": "沪通码", "valid_from": "2024-05-01", "valid_to": "2024-04-01"},
    )
    assert 'id="valid_to-error">The last day is before the first.' in wrong.get_data(as_text=True)
    assert (
        client.post(
            f"/admin/issuers/{issuer_id}",
            data={
                "name": "随申码",
                "region": "上海市",
                "valid_from": "2024-05-01",
                "valid_to": "2025-06-30",
            },
        ).status_code
        == 303
    )
    [update] = events(app, "issuer.update")
    assert (update[3]["name"], update[4]["name"], update[4]["region"]) == (
        "沪通码",
        "随申码",
        "上海市",
    )
