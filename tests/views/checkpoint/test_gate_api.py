"""/api/v1/verify at a verify-only point: the point's setting holds for a partner system's gate
too, so a point that keeps no records stores nothing about the person through the API either."""

from __future__ import annotations

import pytest

from gantong.checkpoint import points
from gantong.core.kinds import Decision, PointMode
from gantong.extensions import db
from gantong.models import InformationPoint, VerificationRecord


def set_mode(app, point_id, keeps_records):
    with app.app_context():
        point = db.session.get(InformationPoint, point_id)
        point.mode, point.keeps_records = PointMode.VERIFY, keeps_records
        db.session.commit()


def stored(app):
    with app.app_context():
        return [
            (row.colour, row.temperature, row.decision, row.recorded_at is not None)
            for row in db.session.scalars(db.select(VerificationRecord))
        ]


@pytest.fixture
def gate_api(app, make_point, make_holder):
    point_id = make_point()
    with app.app_context():
        token = points.new_api_token(point_id, "闸机 1")
    return {
        "point_id": point_id,
        "holder_id": make_holder(),
        "headers": {"Authorization": f"Bearer {token}"},
    }


def test_a_verify_only_point_that_keeps_no_records_stores_nothing_through_the_api(
    app, gate_api, screen_token
):
    set_mode(app, gate_api["point_id"], keeps_records=False)
    response = app.test_client().post(
        "/api/v1/verify",
        json={"token": screen_token(gate_api["holder_id"])},
        headers=gate_api["headers"],
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["result"] == "verified" and body["mode"] == "verify"
    assert body["colour"] == "green" and body["decision"] == Decision.PASS
    assert body["holder"]["masked_name"] == "张*三"
    assert body["record_id"] is None and "reference" not in body and "record_url" not in body
    assert stored(app) == []


def test_a_verify_only_point_that_keeps_records_stores_a_finished_record_without_temperature(
    app, gate_api, screen_token
):
    set_mode(app, gate_api["point_id"], keeps_records=True)
    response = app.test_client().post(
        "/api/v1/verify",
        json={"token": screen_token(gate_api["holder_id"])},
        headers=gate_api["headers"],
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["mode"] == "verify" and body["record_id"] and "reference" not in body
    assert stored(app) == [("green", None, Decision.PASS, True)]


def test_a_record_mode_point_still_opens_a_record_to_fill(app, gate_api, screen_token):
    response = app.test_client().post(
        "/api/v1/verify",
        json={"token": screen_token(gate_api["holder_id"])},
        headers=gate_api["headers"],
    )
    body = response.get_json()
    assert body["mode"] == "record" and body["reference"] and body["record_url"]
    assert stored(app) == [("green", None, None, False)]
