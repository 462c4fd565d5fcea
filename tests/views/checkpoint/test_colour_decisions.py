"""A yellow or red code is referred by default; a pass for one is an explicit override, named.

Through every way a record arrives: the typed lanes' record form (page and JSON queue) and the
scan page's JSON records; and on every page that shows the record.
"""

from __future__ import annotations

import pytest

from gantong.extensions import db
from gantong.models import Holder, User, VerificationRecord
from gantong.review import official_records
from tests.conftest import PASSWORD
from tests.views.checkpoint.test_checkpoint import EN, open_record, record_body
from tests.views.checkpoint.test_scan_records import scan

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def red_station(app, client, make_staff, make_holder, make_user):
    """A logged-in volunteer, a red holder, and an officer of the holder's district."""
    staff_id, phone, point_id = make_staff()
    owner_id, _ = make_user()
    holder_id = make_holder(owner_id)
    officers = [
        make_user(role="officer", district_code="360102", badge_number=f"A{n}", department="疾控")
        for n in (1, 2)
    ]
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        by_phone = lambda phone: db.session.scalar(db.select(User).where(User.phone == phone))  # noqa: E731
        entry = official_records.record(
            holder, by_phone(officers[0][1]), "confirmed", "东卫疾控〔2022〕1号"
        )
        official_records.approve(entry, by_phone(officers[1][1]), "核实")
        assert db.session.get(Holder, holder_id).colour == "red"
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return {"holder_id": holder_id, "officer_phone": officers[0][1], "point_id": point_id}


def stored(app):
    with app.app_context():
        return [
            (r.decision, r.pass_override, r.temperature)
            for r in db.session.scalars(
                db.select(VerificationRecord).where(VerificationRecord.recorded_at.is_not(None))
            )
        ]


def test_a_red_record_with_no_decision_chosen_is_referred_not_passed(
    app, client, red_station, screen_token
):
    record_id, reference, page = open_record(client, screen_token(red_station["holder_id"]))
    assert 'name="pass_override"' in page  # the override is offered for a red code
    response = client.post(
        "/checkpoint/records", data=record_body(record_id, reference, "36.4", ""), headers=EN
    )
    assert response.status_code == 303
    assert stored(app) == [("refer", False, 36.4)]


@pytest.mark.parametrize(("headers", "message"), [(EN, "to let the person through"), (ZH, "放行")])
def test_a_pass_for_a_red_code_without_the_override_is_not_stored(
    app, client, red_station, screen_token, headers, message
):
    record_id, reference, _ = open_record(client, screen_token(red_station["holder_id"]))
    response = client.post(
        "/checkpoint/records",
        data=record_body(record_id, reference, "36.4", "pass", note="ok"),
        headers=headers,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="decision-error"' in html and message in html
    assert 'value="36.4"' in html and 'value="ok"' in html
    assert stored(app) == []
    as_json = client.post(
        "/checkpoint/records", json=record_body(record_id, reference, "36.4", "pass")
    )
    assert as_json.status_code == 422 and as_json.get_json()["error"] == "override_required"
    assert stored(app) == []


def test_an_explicit_pass_for_a_red_code_is_stored_and_named_everywhere(
    app, client, red_station, screen_token
):
    record_id, reference, _ = open_record(client, screen_token(red_station["holder_id"]))
    response = client.post(
        "/checkpoint/records",
        data=record_body(record_id, reference, "36.4", "pass", pass_override="y"),
        headers=EN,
    )
    assert response.status_code == 303
    assert stored(app) == [("pass", True, 36.4)]
    record_page = client.get(f"/checkpoint/records/{record_id}", headers=EN).get_data(as_text=True)
    assert "Pass despite Red code (override)" in record_page
    assert "Pass despite Red code (override)" in client.get("/checkpoint/", headers=EN).get_data(
        as_text=True
    )
    assert "红码仍放行" in client.get("/checkpoint/", headers=ZH).get_data(as_text=True)
    officer = app.test_client()
    officer.post("/login", data={"phone": red_station["officer_phone"], "password": PASSWORD})
    officer_file = officer.get(f"/review/people/{red_station['holder_id']}", headers=EN).get_data(
        as_text=True
    )
    assert "Pass despite Red code (override)" in officer_file


def test_a_green_code_without_a_fever_still_passes_by_default(
    app, client, make_staff, make_holder, screen_token
):
    _, phone, _ = make_staff()
    holder_id = make_holder()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    record_id, reference, page = open_record(client, screen_token(holder_id))
    assert 'name="pass_override"' not in page
    client.post("/checkpoint/records", data=record_body(record_id, reference, "36.4", ""))
    assert stored(app) == [("pass", False, 36.4)]


def test_a_scan_record_of_a_red_code_posted_as_pass_without_the_override_is_refused(
    app, client, red_station, screen_token
):
    token = screen_token(red_station["holder_id"])
    # The page's colour left out: the token's own colour decides.
    for shown in ("red", ""):
        response = client.post(
            "/checkpoint/scan-records", json=scan(token, "36.4", "pass", shown=shown)
        )
        assert response.status_code == 422, response.get_data(as_text=True)
        assert response.get_json()["error"] == "override_required"
    assert stored(app) == []


def test_a_scan_record_of_a_red_code_is_referred_by_default_and_an_override_is_kept(
    app, client, red_station, screen_token
):
    token = screen_token(red_station["holder_id"])
    referred = client.post("/checkpoint/scan-records", json=scan(token, "36.4", "", shown="red"))
    assert referred.status_code == 201, referred.get_data(as_text=True)
    body = {**scan(token, "36.4", "pass", shown="red"), "pass_override": True}
    passed = client.post("/checkpoint/scan-records", json=body)
    assert passed.status_code == 201, passed.get_data(as_text=True)
    assert client.post("/checkpoint/scan-records", json=body).status_code == 200  # a repeat
    assert sorted(stored(app)) == [("pass", True, 36.4), ("refer", False, 36.4)]


@pytest.mark.nodb
def test_a_record_id_stored_before_the_override_existed_repeats_with_the_same_digest():
    from gantong.checkpoint.verification import RecordBody

    body = RecordBody(temperature=36.5, decision="pass")
    # The digest a record stored before the override column existed carries.
    assert body.digest() == "171be718953c0b8f4b09de95ee826e46d19fcb953fd4a2fda5241ad542e1beb9"
