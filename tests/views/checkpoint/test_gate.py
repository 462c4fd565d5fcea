"""Verify-only points: the point's mode set by an administrator, the verify-only page and its
server verdicts, and the records kept (or not) as the point's setting says."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from gantong.core.kinds import Decision, PointMode
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import AuditEvent, Holder, InformationPoint, User, VerificationRecord, utcnow
from gantong.review import official_records
from tests.conftest import PASSWORD, resident_id

EN = {"Accept-Language": "en"}
POINT = {
    "name": "万达广场东门",
    "district": "360102",
    "address": "红谷滩新区",
    "latitude": "28.68",
    "longitude": "115.86",
}


def set_mode(app, point_id, mode, keeps_records=True):
    with app.app_context():
        point = db.session.get(InformationPoint, point_id)
        point.mode, point.keeps_records = mode, keeps_records
        db.session.commit()


def records(app):
    with app.app_context():
        return [
            (record.colour, record.temperature, record.decision, record.recorded_at is not None)
            for record in db.session.scalars(
                db.select(VerificationRecord).order_by(VerificationRecord.id)
            )
        ]


def make_red(app, holder_id, make_user):
    """Make the holder red: a confirmed case entered by one officer, approved by another."""
    first, second = (
        make_user(role="officer", district_code="360102", badge_number=badge, department="疾控")[0]
        for badge in ("A1", "A2")
    )
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        entry = official_records.record(
            holder, db.session.get(User, first), "confirmed", "东卫疾控〔2022〕1号"
        )
        official_records.approve(entry, db.session.get(User, second), "核实")
        assert db.session.get(Holder, holder_id).colour == "red"


@pytest.fixture
def gate(app, client, make_staff, make_holder):
    """A logged-in volunteer at a verify-only point that keeps records, and a green resident."""
    staff_id, phone, point_id = make_staff()
    set_mode(app, point_id, PointMode.VERIFY)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return {"staff_id": staff_id, "point_id": point_id, "holder_id": make_holder()}


def verify_token(client, text):
    return client.post(
        "/checkpoint/verify/token", data={"token": text, "method": "camera"}, headers=EN
    )


# The point's setting


@pytest.fixture
def admin(client, make_user):
    user_id, phone = make_user(role="admin")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return user_id


def test_an_existing_point_stays_in_record_mode(app, make_point):
    point_id = make_point()
    with app.app_context():
        point = db.session.get(InformationPoint, point_id)
        assert (point.mode, point.keeps_records, point.verify_only) == ("record", True, False)


def test_an_admin_makes_a_point_verify_only_and_chooses_whether_records_are_kept(
    app, client, admin
):
    form = client.get("/admin/points/new", headers=EN).get_data(as_text=True)
    assert 'name="mode" type="radio" value="verify"' in form
    assert 'id="keeps_records" name="keeps_records" type="checkbox" value="y"' in form
    response = client.post("/admin/points/new", data={**POINT, "mode": "verify"})
    assert response.status_code == 303
    with app.app_context():
        point = db.session.scalar(db.select(InformationPoint))
        assert (point.mode, point.keeps_records) == ("verify", False)
        point_id = point.id
    page = client.get(f"/admin/points/{point_id}", headers=EN).get_data(as_text=True)
    assert 'checked id="mode-1" name="mode" type="radio" value="verify"' in page

    kept = {**POINT, "mode": "verify", "keeps_records": "y"}
    assert client.post(f"/admin/points/{point_id}", data=kept).status_code == 303
    with app.app_context():
        point = db.session.get(InformationPoint, point_id)
        assert (point.mode, point.keeps_records) == ("verify", True)
        change = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "point.update"))
        assert '"keeps_records": true' in change.after


def test_a_wrong_mode_is_refused_next_to_the_field_and_nothing_changes(app, client, admin):
    response = client.post("/admin/points/new", data={**POINT, "mode": "turnstile"}, headers=EN)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="mode-error"' in html and 'value="万达广场东门"' in html
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(InformationPoint)) == 0


@pytest.mark.parametrize(
    "role, fields",
    [
        ("officer", {"district_code": "360102", "badge_number": "B1", "department": "疾控"}),
        ("officer", {"district_code": "360111", "badge_number": "B2", "department": "疾控"}),
        ("staff", {}),
        ("resident", {}),
    ],
)
def test_only_an_administrator_sets_a_points_mode(app, client, make_user, make_point, role, fields):
    point_id = make_point()
    if role == "staff":
        fields = {"point_id": point_id}
    _, phone = make_user(role=role, **fields)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    assert client.get(f"/admin/points/{point_id}").status_code == 403
    response = client.post(f"/admin/points/{point_id}", data={**POINT, "mode": "verify"})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(InformationPoint, point_id).mode == "record"


# Who reaches the verify-only page


def test_a_record_mode_point_keeps_its_scan_page_and_cannot_use_the_gate(app, client, make_staff):
    _, phone, _ = make_staff()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    station = client.get("/checkpoint/", headers=EN).get_data(as_text=True)
    assert 'href="/checkpoint/scan"' in station and "/checkpoint/gate" not in station
    assert client.get("/checkpoint/gate").status_code == 403
    assert client.get("/checkpoint/scan").status_code == 200


def test_a_verify_only_point_lands_on_the_gate_and_is_offered_no_record_form(
    app, client, gate, screen_token
):
    station = client.get("/checkpoint/", headers=EN).get_data(as_text=True)
    assert 'href="/checkpoint/gate"' in station and 'href="/checkpoint/scan"' not in station
    page = client.get("/checkpoint/gate", headers=EN)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "js/gate.js" in html and "Temperature" not in html
    assert 'data-keep="1"' in html
    # A scan page cached before the change, or an old record link, leads to the gate.
    scan = client.get("/checkpoint/scan")
    assert scan.status_code == 303 and scan.headers["Location"].endswith("/checkpoint/gate")
    verify_token(client, screen_token(gate["holder_id"]))
    with app.app_context():
        record_id = db.session.scalar(db.select(VerificationRecord.record_id))
    record = client.get(f"/checkpoint/records/{record_id}")
    assert record.status_code == 303 and record.headers["Location"].endswith("/checkpoint/gate")


@pytest.mark.parametrize(
    "role, fields",
    [
        ("officer", {"district_code": "360102", "badge_number": "C1", "department": "疾控"}),
        ("admin", {}),
        ("resident", {}),
    ],
)
def test_other_roles_cannot_open_the_gate(client, make_user, role, fields):
    _, phone = make_user(role=role, **fields)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    assert client.get("/checkpoint/gate").status_code == 403


# The server's verdicts (the lanes without JavaScript)


def test_a_green_code_gets_a_full_screen_verdict_and_a_record_without_temperature(
    app, client, gate, screen_token
):
    response = verify_token(client, screen_token(gate["holder_id"]))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="verdict"' in html and 'data-colour="green"' in html
    assert "Let the person through." in html and "张*三 ···123X" in html and "Recorded." in html
    assert 'id="next-person" href="/checkpoint/gate"' in html
    assert 'name="temperature"' not in html
    assert records(app) == [("green", None, Decision.PASS, True)]


def test_a_red_code_is_recorded_as_referred_by_the_typed_number(
    app, client, gate, make_holder, make_user
):
    red = make_holder(name="王五", number=resident_id("36010219800101124"))
    make_red(app, red, make_user)
    with app.app_context():
        number = registry.dynamic_number(db.session.get(Holder, red))
    response = client.post("/checkpoint/verify/number", data={"number": number}, headers=EN)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-colour="red"' in html and "Entry refused: call the medical staff." in html
    assert records(app) == [("red", None, Decision.REFER, True)]


def test_a_refused_code_gets_its_reason_full_screen_and_records_nothing(
    app, client, gate, screen_token
):
    expired = screen_token(gate["holder_id"], now=utcnow() - timedelta(seconds=121))
    response = verify_token(client, expired)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-colour="refused"' in html and "Expired code" in html
    assert "Nothing was recorded." in html
    assert records(app) == []


def test_a_wrong_number_stays_on_the_gate_with_the_error_beside_the_field(app, client, gate):
    response = client.post("/checkpoint/verify/number", data={"number": "12"}, headers=EN)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="number-error"' in html and 'value="12"' in html and "js/gate.js" in html


def test_a_point_that_keeps_no_records_stores_nothing_about_the_person(
    app, client, gate, screen_token
):
    set_mode(app, gate["point_id"], PointMode.VERIFY, keeps_records=False)
    response = verify_token(client, screen_token(gate["holder_id"]))
    html = response.get_data(as_text=True)
    assert 'data-colour="green"' in html and "Nothing was recorded." in html
    assert 'data-keep=""' in html
    assert records(app) == []
    queued = client.post(
        "/checkpoint/scan-records",
        json={
            "record_id": str(uuid.uuid4()),
            "token": screen_token(gate["holder_id"]),
            "scanned_at": int(time.time()),
            "shown_colour": "green",
            "offline": True,
        },
    )
    assert queued.status_code == 403 and queued.get_json()["error"] == "not_kept"
    assert records(app) == []
    station = client.get("/checkpoint/", headers=EN).get_data(as_text=True)
    assert "This point keeps no record of the people verified." in station


# The page's own records, through the scan-records queue


@pytest.mark.parametrize(
    "shown, decision", [("green", Decision.PASS), ("yellow", Decision.REFER), ("", Decision.REFER)]
)
def test_a_queued_gate_record_has_no_temperature_and_its_decision_follows_the_colour(
    app, client, gate, screen_token, shown, decision
):
    body = {
        "record_id": str(uuid.uuid4()),
        "token": screen_token(gate["holder_id"]),
        "scanned_at": int(time.time()),
        "shown_colour": shown,
        "offline": True,
    }
    response = client.post("/checkpoint/scan-records", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert client.post("/checkpoint/scan-records", json=body).status_code == 200  # stored once
    assert records(app) == [("green", None, decision, True)]


def test_a_record_mode_point_still_needs_the_temperature(app, client, make_staff, make_holder):
    _, phone, _ = make_staff()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    response = client.post(
        "/checkpoint/scan-records",
        json={
            "record_id": str(uuid.uuid4()),
            "token": "GT1:X",
            "scanned_at": int(time.time()),
            "shown_colour": "green",
        },
    )
    assert response.status_code == 422 and "temperature" in response.get_json()["errors"]
