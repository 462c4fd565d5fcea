"""Records are limited per staff account and per point (RECORD_LIMIT_PER_STAFF,
RECORD_LIMIT_PER_POINT): one session cannot store records by the thousand. A refusal is JSON
429 with Retry-After, and nothing is stored."""

from __future__ import annotations

import time
import uuid

import pytest

from gantong.checkpoint import verification
from gantong.extensions import db
from gantong.models import Holder, InformationPoint, User, VerificationRecord, utcnow
from tests.conftest import PASSWORD


@pytest.fixture
def station(client, make_staff, make_holder):
    staff_id, phone, point_id = make_staff()
    holder_id = make_holder()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return {"staff_id": staff_id, "point_id": point_id, "holder_id": holder_id, "phone": phone}


def scan(token):
    return {
        "record_id": str(uuid.uuid4()),
        "token": token,
        "scanned_at": int(time.time()),
        "shown_colour": "green",
        "offline": False,
        "temperature": "36.5",
        "decision": "pass",
        "note": "",
    }


def stored(app):
    with app.app_context():
        return db.session.scalar(
            db.select(db.func.count())
            .select_from(VerificationRecord)
            .where(VerificationRecord.recorded_at.is_not(None))
        )


def opened(app, station, count):
    """`count` records opened at the point (as the record page opens them), with references."""
    with app.app_context():
        point = db.session.get(InformationPoint, station["point_id"])
        staff = db.session.get(User, station["staff_id"])
        holder = db.session.get(Holder, station["holder_id"])
        pairs = []
        for _ in range(count):
            record, _result = verification.open_record(
                holder, point, staff, "camera", None, utcnow()
            )
            pairs.append((record.record_id, verification.reference_for(record)))
        db.session.commit()
        return pairs


def record_body(record_id, reference):
    return {
        "record_id": record_id,
        "reference": reference,
        "temperature": "36.5",
        "decision": "pass",
    }


def test_scan_records_are_limited_per_staff_account(app, client, station, screen_token):
    app.config["RECORD_LIMIT_PER_STAFF"] = "3 per minute"
    token = screen_token(station["holder_id"])
    responses = [client.post("/checkpoint/scan-records", json=scan(token)) for _ in range(4)]
    assert [r.status_code for r in responses] == [201, 201, 201, 429]
    refused = responses[-1]
    assert refused.get_json()["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.get_json()["retry_after"] == int(refused.headers["Retry-After"])
    assert stored(app) == 3


def test_submitted_records_are_limited_per_staff_account(app, client, station):
    app.config["RECORD_LIMIT_PER_STAFF"] = "2 per minute"
    statuses = [
        client.post("/checkpoint/records", json=record_body(*pair)).status_code
        for pair in opened(app, station, 3)
    ]
    assert statuses == [201, 201, 429]
    assert stored(app) == 2


def test_a_queued_record_sent_after_logout_counts_for_the_staff_of_its_reference(
    app, client, station
):
    app.config["RECORD_LIMIT_PER_STAFF"] = "1 per minute"
    pairs = opened(app, station, 2)
    client.post("/logout")
    statuses = [
        client.post("/checkpoint/records", json=record_body(*pair)).status_code for pair in pairs
    ]
    assert statuses == [201, 429]


def test_the_form_without_javascript_is_told_to_wait_and_keeps_its_record(app, client, station):
    app.config["RECORD_LIMIT_PER_STAFF"] = "1 per minute"
    (first, second) = opened(app, station, 2)
    assert client.post("/checkpoint/records", data=record_body(*first)).status_code == 303
    response = client.post(
        "/checkpoint/records", data=record_body(*second), headers={"Accept-Language": "en"}
    )
    assert response.status_code == 429
    assert "Too many records" in response.get_data(as_text=True)
    assert response.headers["Retry-After"]
    assert stored(app) == 1


def test_records_are_limited_per_point_across_its_staff(
    app, client, station, screen_token, make_staff
):
    app.config["RECORD_LIMIT_PER_POINT"] = "3 per minute"
    token = screen_token(station["holder_id"])
    statuses = [
        client.post("/checkpoint/scan-records", json=scan(token)).status_code for _ in range(2)
    ]
    # A second volunteer at the same point shares the point's budget.
    _other_id, other_phone, _point = make_staff(station["point_id"])
    second = app.test_client()
    second.post("/login", data={"phone": other_phone, "password": PASSWORD})
    statuses += [
        second.post("/checkpoint/scan-records", json=scan(token)).status_code for _ in range(2)
    ]
    assert statuses == [201, 201, 201, 429]
