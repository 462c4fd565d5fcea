"""Records the scan page verified itself: re-verified on arrival, stored once, stale colours flagged."""

from __future__ import annotations

import time
import uuid

import pytest

from gantong.extensions import db
from gantong.holders import registry
from gantong.models import FeverFinding, Holder, VerificationRecord
from tests.conftest import PASSWORD


@pytest.fixture
def station(client, make_staff, make_holder):
    staff_id, phone, point_id = make_staff()
    holder_id = make_holder()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return {"staff_id": staff_id, "point_id": point_id, "holder_id": holder_id}


def scan(
    token, temperature="36.5", decision="pass", record_id=None, shown="green", offline=True, at=None
):
    return {
        "record_id": record_id or str(uuid.uuid4()),
        "token": token,
        "scanned_at": at or int(time.time()),
        "shown_colour": shown,
        "offline": offline,
        "temperature": temperature,
        "decision": decision,
        "note": "",
    }


def records(app):
    with app.app_context():
        return list(db.session.scalars(db.select(VerificationRecord)))


def test_a_record_is_stored_once_by_its_id_and_a_different_body_is_a_conflict(
    app, client, station, screen_token
):
    body = scan(screen_token(station["holder_id"]))
    first = client.post("/checkpoint/scan-records", json=body)
    assert first.status_code == 201, first.get_data(as_text=True)
    answer = first.get_json()
    assert answer["stored"] and answer["colour"] == "green" and not answer["stale_colour"]
    again = client.post("/checkpoint/scan-records", json=body)
    assert again.status_code == 200 and again.get_json()["stored"] is False
    assert (
        client.post("/checkpoint/scan-records", json={**body, "temperature": "36.7"}).status_code
        == 409
    )
    (record,) = records(app)
    assert (
        record.offline
        and record.recorded_at
        and record.decision == "pass"
        and record.method == "camera"
    )


def test_the_server_re_verifies_the_signature_and_refuses_a_forged_token(
    app, client, station, screen_token
):
    import base45

    text = screen_token(station["holder_id"])
    raw = bytearray(base45.b45decode(text[4:]))
    raw[14] = 1 if raw[14] != 1 else 2
    forged = "GT1:" + base45.b45encode(bytes(raw)).decode()
    response = client.post("/checkpoint/scan-records", json=scan(forged))
    assert response.status_code == 422 and response.get_json()["reason"] == "bad_signature"
    assert records(app) == []


def test_a_colour_worse_at_the_scan_than_the_token_showed_is_flagged(
    app, client, station, screen_token
):
    green_text = screen_token(station["holder_id"])  # signed while green
    with app.app_context():
        holder = db.session.get(Holder, station["holder_id"])
        registry.declare(
            holder,
            registry.DeclarationFacts(
                symptoms=["fever"], close_contact=False, contact_date=None, stays=[]
            ),
            author=None,
        )
        assert db.session.get(Holder, station["holder_id"]).colour != "green"
    response = client.post(
        "/checkpoint/scan-records", json=scan(green_text, at=int(time.time()) + 1)
    )
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["stale_colour"] and answer["worse"] and answer["token_colour"] == "green"
    (record,) = records(app)
    assert record.stale_colour


def test_a_colour_that_turned_worse_after_the_scan_is_not_stale_but_the_volunteer_is_told(
    app, client, station, screen_token
):
    green_text = screen_token(station["holder_id"])
    time.sleep(1.1)
    scanned_at = int(time.time())  # after the code was issued, before the colour changed
    time.sleep(1.1)
    with app.app_context():
        holder = db.session.get(Holder, station["holder_id"])
        registry.declare(
            holder,
            registry.DeclarationFacts(
                symptoms=["fever"], close_contact=False, contact_date=None, stays=[]
            ),
            author=None,
        )
    response = client.post("/checkpoint/scan-records", json=scan(green_text, at=scanned_at))
    assert response.status_code == 201
    answer = response.get_json()
    # Green at the scan (read from the colour history), yellow now: worse, not stale.
    assert not answer["stale_colour"] and answer["worse"] and answer["colour"] == "yellow"
    (record,) = records(app)
    assert not record.stale_colour and record.colour == "yellow"


def test_a_stored_colour_out_of_date_is_refreshed_when_the_record_arrives(
    app, client, station, screen_token
):
    from gantong.models import ColourChange

    text = screen_token(station["holder_id"])
    with app.app_context():  # stored red with nothing behind it: the facts say green
        db.session.get(Holder, station["holder_id"]).colour = "red"
        db.session.commit()
        changes = db.session.scalar(db.select(db.func.count()).select_from(ColourChange))
    response = client.post("/checkpoint/scan-records", json=scan(text))
    assert response.status_code == 201 and response.get_json()["colour"] == "green"
    with app.app_context():
        assert db.session.get(Holder, station["holder_id"]).colour == "green"
        assert (
            db.session.scalar(db.select(db.func.count()).select_from(ColourChange)) == changes + 1
        )
    (record,) = records(app)
    assert record.colour == "green"


def test_a_fever_recorded_offline_adds_its_hit_when_it_arrives(app, client, station, screen_token):
    response = client.post(
        "/checkpoint/scan-records",
        json=scan(screen_token(station["holder_id"]), temperature="38.2", decision="refer"),
    )
    assert response.status_code == 201 and response.get_json()["fever"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(FeverFinding)) == 1
        assert db.session.get(Holder, station["holder_id"]).colour != "green"


def test_scan_records_need_json_and_a_staff_session(app, client, make_holder, screen_token):
    text = screen_token(make_holder())
    assert client.post("/checkpoint/scan-records", json=scan(text)).status_code in (302, 401, 403)


def test_scan_records_refuse_forms_and_bad_fields(app, client, station, screen_token):
    text = screen_token(station["holder_id"])
    assert client.post("/checkpoint/scan-records", data=scan(text)).status_code == 415
    bad = client.post("/checkpoint/scan-records", json={**scan(text), "temperature": "50"})
    assert bad.status_code == 422 and "temperature" in bad.get_json()["errors"]
    assert (
        client.post(
            "/checkpoint/scan-records", json={**scan(text), "record_id": "x" * 36}
        ).status_code
        == 422
    )
    old = client.post("/checkpoint/scan-records", json=scan(text, at=int(time.time()) - 3 * 86400))
    assert old.status_code == 422
    assert records(app) == []


def test_officers_of_the_district_see_the_stale_colour_records_and_others_do_not(
    app, client, station, screen_token, make_user
):
    green_text = screen_token(station["holder_id"])
    with app.app_context():
        holder = db.session.get(Holder, station["holder_id"])
        registry.declare(
            holder,
            registry.DeclarationFacts(
                symptoms=["fever"], close_contact=False, contact_date=None, stays=[]
            ),
            author=None,
        )
    assert (
        client.post(
            "/checkpoint/scan-records", json=scan(green_text, at=int(time.time()) + 1)
        ).status_code
        == 201
    )
    client.post("/logout")
    _, phone = make_user(role="officer", district_code="360102")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    page = client.get("/review/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert (
        'id="stale-colours"' in page
        and "张*三" in page
        and "shown Green code, stored Yellow code" in page
    )
    client.post("/logout")
    _, other = make_user(role="officer", district_code="360103")
    client.post("/login", data={"phone": other, "password": PASSWORD})
    assert 'id="stale-colours"' not in client.get("/review/").get_data(as_text=True)


@pytest.mark.sqlite_only(reason="SQLite's write lock only")
def test_a_scan_record_reads_without_the_write_lock_and_writes_in_one_short_transaction(
    app, client, station, screen_token
):
    from sqlalchemy import event

    text = screen_token(station["holder_id"])
    with app.app_context():
        engine = db.engine
    begun = []

    def begin(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("BEGIN") or statement.startswith(("INSERT", "UPDATE", "DELETE")):
            begun.append(statement.split()[0] + (" IMMEDIATE" if "IMMEDIATE" in statement else ""))

    event.listen(engine, "before_cursor_execute", begin)
    try:
        assert client.post("/checkpoint/scan-records", json=scan(text)).status_code == 201
    finally:
        event.remove(engine, "before_cursor_execute", begin)
    # The session, the point, the signature's key and the holder are read first; then one write.
    assert begun == ["BEGIN", "BEGIN IMMEDIATE", "INSERT"]


@pytest.mark.parametrize("offline", [False, True])
def test_a_scan_record_keeps_the_phone_gps_and_its_offline_flag_as_sent(
    app, client, station, screen_token, offline
):
    body = {
        **scan(screen_token(station["holder_id"]), offline=offline),
        "latitude": "28.691200",
        "longitude": "115.857100",
        "accuracy": 12,
    }
    assert client.post("/checkpoint/scan-records", json=body).status_code == 201
    (record,) = records(app)
    assert (record.position_source, record.latitude, record.longitude, record.accuracy) == (
        "gps",
        28.6912,
        115.8571,
        12.0,
    )
    assert record.offline is offline


def test_a_scan_record_without_gps_takes_the_point_position(app, client, station, screen_token):
    body = scan(screen_token(station["holder_id"]), offline=False)
    assert client.post("/checkpoint/scan-records", json=body).status_code == 201
    (record,) = records(app)
    assert record.position_source == "point" and record.accuracy is None and not record.offline
