"""Inputs an outside review found by fuzzing that answered 500. Each now gets 400, 404, 422 or
the form with its message, and writes nothing."""

from __future__ import annotations

import json
import re

import pytest

from gantong.extensions import db
from gantong.models import AuditEvent
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}
HUGE = str(2**63)


def snapshot(app) -> dict:
    """Row counts of every table and the audit trail's head: 'nothing written' means equal."""
    with app.app_context():
        counts = {
            table.name: db.session.scalar(db.select(db.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }
        counts["audit_head"] = db.session.scalar(db.select(db.func.max(AuditEvent.seq)))
        return counts


def login(client, make_user, role, **fields):
    _, phone = make_user(role=role, **fields)
    client.post("/login", data={"phone": phone, "password": PASSWORD})


@pytest.fixture
def opened(client, make_staff, make_user, make_holder, screen_token):
    staff_id, phone, point_id = make_staff()
    holder_id = make_holder(make_user()[0])
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    response = client.post(
        "/checkpoint/verify/token", data={"method": "camera", "token": screen_token(holder_id)}
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return {
        "record_id": response.headers["Location"].rsplit("/", 1)[1],
        "reference": re.search(r'name="reference" type="hidden" value="([^"]+)"', page).group(1),
        "holder_id": holder_id,
    }


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        "[1, 2]",
        '"text"',
        "3",
        "null",
        DEEP,
        '{"a": ' * 5000 + "1" + "}" * 5000,
    ],
)
def test_a_record_body_that_is_not_an_object_is_refused(app, client, opened, body):
    before = snapshot(app)
    response = client.post("/checkpoint/records", data=body, content_type="application/json")
    assert response.status_code in (400, 422)
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "field, value",
    [
        ("temperature", "sNaN"),
        ("temperature", "NaN"),
        ("temperature", "-Infinity"),
        ("temperature", "1e999999"),
        ("latitude", "sNaN"),
        ("accuracy", "NaN"),
        ("temperature", [36.5, 37]),
        ("temperature", {"x": 1}),
        ("decision", ["pass"]),
        ("note", {"a": "b"}),
        ("record_id", 12),
        ("reference", None),
        ("temperature", True),
    ],
)
def test_record_values_that_are_not_numbers_or_strings_are_refused(
    app, client, opened, field, value
):
    body = {
        "record_id": opened["record_id"],
        "reference": opened["reference"],
        "temperature": "36.5",
        "decision": "pass",
        field: value,
    }
    before = snapshot(app)
    response = client.post(
        "/checkpoint/records", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code in (400, 403, 422), response.get_data(as_text=True)[:300]
    assert snapshot(app) == before


def test_a_plain_number_temperature_in_json_still_works(app, client, opened):
    body = {
        "record_id": opened["record_id"],
        "reference": opened["reference"],
        "temperature": 36.5,
        "decision": "pass",
    }
    assert client.post("/checkpoint/records", json=body).status_code == 201


@pytest.mark.parametrize(
    "body", ["[]", '["token"]', '"x"', "1", DEEP, '{"token": {"a": 1}}', '{"number": [1]}']
)
def test_api_verify_with_a_body_that_is_not_an_object(app, client, make_staff, body):
    from gantong.checkpoint import points

    _, _, point_id = make_staff()
    with app.app_context():
        token = points.new_api_token(point_id, "gate")
    before = snapshot(app)
    response = client.post(
        "/api/v1/verify",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (400, 422)
    assert snapshot(app) == before


def test_a_reset_code_in_arabic_indic_digits(app, client, make_user):
    _, phone = make_user()
    before = snapshot(app)
    response = client.post(
        "/account/password/reset",
        headers=EN,
        data={
            "phone": phone,
            "code": "١٢٣٤٥٦",
            "password": "a new password",
            "confirm": "a new password",
        },
    )
    assert response.status_code == 200 and "This code is wrong" in response.get_data(as_text=True)
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "role, fields, paths",
    [
        (
            "resident",
            {},
            [
                "/me/people/{n}",
                "/me/people/{n}/history",
                "/me/people/{n}/checks",
                "/me/applications/{n}",
                "/me/claims/{n}",
                "/entry/people/{n}/paper",
            ],
        ),
        (
            "officer",
            {"district_code": "360102"},
            [
                "/review/people/{n}",
                "/review/applications/{n}",
                "/review/claims/{n}",
                "/review/records/{n}",
            ],
        ),
        (
            "admin",
            {},
            [
                "/admin/accounts/{n}",
                "/admin/points/{n}",
                "/admin/risk-areas/{n}",
                "/admin/issuers/{n}",
            ],
        ),
    ],
)
@pytest.mark.parametrize("number", [HUGE, str(2**31), str(10**40)])
def test_huge_path_ids_are_not_found(client, make_user, role, fields, paths, number):
    login(client, make_user, role, **fields)
    for path in paths:
        assert client.get(path.format(n=number)).status_code == 404, path


@pytest.mark.parametrize(
    "path",
    [
        "/admin/audit?before=" + "9" * 40,
        "/admin/audit?before=-" + HUGE,
        "/admin/accounts?page=" + "9" * 40,
        "/admin/audit?actor=999999999999",
        "/admin/audit?start=0001-01-01&end=9999-12-31",
        "/admin/audit?start=9999-12-31",
        "/admin/audit?end=0001-01-01",
        "/stats/?start=0001-01-01",
        "/stats/?end=9999-12-31",
        "/stats/?start=9999-12-31&end=9999-12-31",
        "/stats/?start=0001-01-01&end=0001-01-02",
    ],
)
def test_extreme_query_values_on_admin_pages(client, make_user, path):
    login(client, make_user, "admin")
    response = client.get(path, headers=EN)
    assert response.status_code in (200, 400, 404), path


@pytest.mark.parametrize("query", ["age=%20", "age=x", "page=" + "9" * 40, "page=-1", "kind=%00"])
def test_odd_queue_filters(client, make_user, query):
    login(client, make_user, "officer", district_code="360102")
    assert client.get(f"/review/?{query}").status_code in (200, 400)


@pytest.mark.parametrize("point", ["abc", "1.5", HUGE, "-1", "٣"])
def test_a_non_numeric_point_in_the_new_account_form(app, client, make_user, point):
    login(client, make_user, "admin")
    before = snapshot(app)
    response = client.post(
        "/admin/accounts/new",
        headers=EN,
        data={"role": "staff", "phone": "13900000001", "point": point},
    )
    assert response.status_code == 200
    assert 'id="point-error"' in response.get_data(as_text=True)
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "path, data",
    [
        (
            "/register",
            {"phone": "13900000009", "password": "pass\x00word", "confirm": "pass\x00word"},
        ),
        ("/login", {"phone": "1390000\x000009", "password": "x"}),
        (
            "/me/people/new",
            {
                "name": "张\x00三",
                "doc_type": "resident_id",
                "doc_number": "360102199001011234",
                "nationality": "CN",
                "district": "360102",
                "address": "八一大道\x00",
            },
        ),
    ],
)
def test_a_nul_byte_in_a_text_field(app, client, make_user, path, data):
    login(client, make_user, "resident")
    before = snapshot(app)
    response = client.post(path, data=data, headers=EN)
    assert response.status_code in (200, 400)
    assert snapshot(app) == before


def test_a_nul_byte_in_a_search_or_a_query(client, make_user):
    login(client, make_user, "officer", district_code="360102")
    assert client.get("/review/search?q=%00abc").status_code in (200, 400)
    assert client.get("/review/?kind=%00").status_code in (200, 400)


def test_a_nul_byte_in_a_json_value(app, client, opened):
    body = {
        "record_id": opened["record_id"],
        "reference": opened["reference"],
        "temperature": "36.5",
        "decision": "pass",
        "note": "a\x00b",
    }
    before = snapshot(app)
    assert client.post("/checkpoint/records", json=body).status_code in (400, 422)
    assert snapshot(app) == before


def test_a_nul_byte_in_a_path(client, make_staff):
    _, phone, _ = make_staff()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    assert client.get("/checkpoint/records/ab%00cd").status_code == 404
