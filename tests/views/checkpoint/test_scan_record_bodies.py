"""Whatever a scan-records body holds, the answer is a 4xx with a JSON error, never a 500, on
SQLite and PostgreSQL; and an over-long login number does not break the rate-limit counters."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from gantong.extensions import db
from gantong.models import VerificationRecord
from tests.conftest import PASSWORD


@pytest.fixture
def station(client, make_staff, make_holder, screen_token):
    _staff_id, phone, _point_id = make_staff()
    holder_id = make_holder()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return screen_token(holder_id)


def good(token: str) -> dict:
    return {
        "record_id": str(uuid.uuid4()),
        "token": token,
        "scanned_at": int(time.time()),
        "shown_colour": "green",
        "offline": True,
        "temperature": "36.5",
        "decision": "",
        "note": "",
    }


class Raw(str):
    """A body sent as this text (too deep for Python's own JSON encoder)."""


def deep_note(body: dict) -> Raw:
    text = json.dumps({**body, "note": None})
    return Raw(text.replace("null", "[" * 5000 + '"x"' + "]" * 5000, 1))


# (name, change): `change` turns a good body into the bad one.
BODIES = [
    # An array is a batch (tests/views/checkpoint/test_scan_record_batches.py); an empty one
    # is refused whole.
    ("empty array", lambda body: []),
    ("string", lambda body: "token"),
    ("number", lambda body: 5),
    ("null", lambda body: None),
    ("token number", lambda body: {**body, "token": 5}),
    ("token list", lambda body: {**body, "token": [body["token"]]}),
    ("token object", lambda body: {**body, "token": {"text": body["token"]}}),
    ("record id number", lambda body: {**body, "record_id": 12345}),
    ("note number", lambda body: {**body, "note": 5}),
    ("note object", lambda body: {**body, "note": {"a": 1}}),
    ("shown colour list", lambda body: {**body, "shown_colour": ["green"]}),
    ("decision number", lambda body: {**body, "decision": 1}),
    ("temperature list", lambda body: {**body, "temperature": [36.5]}),
    ("latitude string", lambda body: {**body, "latitude": "north"}),
    ("offline string", lambda body: {**body, "offline": {"x": 1}}),
    ("scanned_at huge", lambda body: {**body, "scanned_at": 10**30}),
    ("scanned_at beyond datetime", lambda body: {**body, "scanned_at": 10**13}),
    ("scanned_at negative", lambda body: {**body, "scanned_at": -1}),
    ("scanned_at very negative", lambda body: {**body, "scanned_at": -(10**20)}),
    ("scanned_at float", lambda body: {**body, "scanned_at": body["scanned_at"] + 0.5}),
    ("scanned_at huge float", lambda body: {**body, "scanned_at": 1e308}),
    ("scanned_at true", lambda body: {**body, "scanned_at": True}),
    ("scanned_at string", lambda body: {**body, "scanned_at": "now"}),
    ("scanned_at null", lambda body: {**body, "scanned_at": None}),
    ("deep nesting", deep_note),
    ("deep nesting at the top", lambda body: Raw("[" * 100000 + "]" * 100000)),
    ("NUL in the note", lambda body: {**body, "note": "at the gate\x00"}),
    ("NUL in the token", lambda body: {**body, "token": body["token"] + "\x00"}),
    ("NUL in the decision", lambda body: {**body, "decision": "pass\x00"}),
    ("NUL in the record id", lambda body: {**body, "record_id": body["record_id"][:-1] + "\x00"}),
    ("NUL in the colour", lambda body: {**body, "shown_colour": "green\x00"}),
]


@pytest.mark.parametrize(
    "change", [change for _name, change in BODIES], ids=[n for n, _c in BODIES]
)
def test_a_malformed_scan_record_body_gets_a_json_4xx(app, client, station, change):
    body = change(good(station))
    response = client.post(
        "/checkpoint/scan-records",
        data=body if isinstance(body, Raw) else json.dumps(body),
        content_type="application/json",
    )
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.is_json and ("error" in response.get_json() or "errors" in response.get_json())
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(VerificationRecord.id))) == 0


def test_a_good_body_is_still_stored(app, client, station):
    response = client.post("/checkpoint/scan-records", json=good(station))
    assert response.status_code == 201, response.get_data(as_text=True)


def test_a_login_with_a_thousand_character_number_is_answered_and_counted(app, client):
    # Five failed tries a minute for one address and number (LOGIN_LIMIT_PER_PAIR): the sixth
    # is held back, so the long key was stored and counted.
    answers = [
        client.post("/login", data={"phone": "1" * 1000, "password": "wrong"}).status_code
        for _ in range(6)
    ]
    assert answers == [200] * 5 + [429]
    # Another long number is another key: its first try is not held back.
    other = client.post("/login", data={"phone": "1" * 999 + "2", "password": "wrong"})
    assert other.status_code == 200


def test_long_rate_limit_keys_are_stored_short_and_stay_distinct():
    from gantong.web import rate_limits

    one, two = "k" * 1000, "k" * 999 + "j"
    assert len(rate_limits.stored_key(one)) <= 255
    assert rate_limits.stored_key(one) != rate_limits.stored_key(two)
    assert rate_limits.stored_key("login:+8613800000000") == "login:+8613800000000"
