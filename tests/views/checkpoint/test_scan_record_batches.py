"""A batch of scan records (a JSON array): each record answered as if sent alone, stored with
one multi-row INSERT in one commit, counted against the limits record by record; a fever
still adds its hit; the answer comes after a durable commit."""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager

import pytest
from flask import has_request_context
from sqlalchemy import event

from gantong.extensions import db
from gantong.models import FeverFinding, VerificationRecord
from tests.conftest import PASSWORD


@pytest.fixture
def station(client, make_staff, make_holder):
    staff_id, phone, point_id = make_staff()
    holder_id = make_holder()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return {"staff_id": staff_id, "point_id": point_id, "holder_id": holder_id}


def scan(token, temperature="36.5", record_id=None):
    return {
        "record_id": record_id or str(uuid.uuid4()),
        "token": token,
        "scanned_at": int(time.time()),
        "shown_colour": "green",
        "offline": True,
        "temperature": temperature,
        "decision": "",
        "note": "",
    }


def stored_ids(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(db.select(VerificationRecord.record_id)))


@contextmanager
def statements(app):
    """The statements the app's engine sends, and its commits, while the block runs."""
    seen = {"statements": [], "commits": 0}

    def on_statement(conn, cursor, statement, *args):
        seen["statements"].append(" ".join(statement.split()))

    def on_commit(conn):
        seen["commits"] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)


def test_a_batch_is_stored_with_one_insert_in_one_commit_and_each_record_answered(
    app, client, station, screen_token
):
    token = screen_token(station["holder_id"])
    first = scan(token)
    assert client.post("/checkpoint/scan-records", json=first).status_code == 201
    forged = scan(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    batch = [scan(token) for _ in range(8)] + [first, {**first, "temperature": "36.7"}, forged]
    batch.append(batch[0])  # the same record twice in one batch: the second is a repeat
    with statements(app) as seen:
        response = client.post("/checkpoint/scan-records", json=batch)
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == [201] * 8 + [200, 409, 422, 200]
    assert [r["record_id"] for r in results] == [b["record_id"] for b in batch]
    assert all(r["stored"] and r["colour"] == "green" for r in results[:8])
    assert results[8]["stored"] is False and results[11]["stored"] is False
    assert results[9]["error"] == "conflict" and results[10]["error"] == "refused"
    inserts = [s for s in seen["statements"] if s.startswith("INSERT INTO verification_record")]
    assert len(inserts) == 1 and "ON CONFLICT" in inserts[0], seen["statements"]
    assert seen["commits"] == 1
    assert stored_ids(app) == {b["record_id"] for b in batch[:9]}
    # The same batch again: every record a repeat (or the same refusal), nothing inserted.
    with statements(app) as seen:
        again = client.post("/checkpoint/scan-records", json=batch).get_json()["results"]
    assert [r["status"] for r in again] == [200] * 9 + [409, 422, 200]
    assert not [s for s in seen["statements"] if s.startswith("INSERT")]


def test_a_fever_in_a_batch_adds_its_hit(app, client, station, screen_token):
    token = screen_token(station["holder_id"])
    batch = [scan(token), scan(token, temperature="38.6"), scan(token)]
    results = client.post("/checkpoint/scan-records", json=batch).get_json()["results"]
    assert [r["status"] for r in results] == [201, 201, 201]
    assert results[1]["fever"] and results[1]["colour"] != "green" and results[1]["worse"]
    with app.app_context():
        (finding,) = db.session.scalars(db.select(FeverFinding))
        assert finding.record_id == batch[1]["record_id"] and finding.temperature == 38.6


def test_a_batch_over_the_setting_is_refused_whole_and_an_empty_one_too(
    app, client, station, screen_token
):
    app.config["SCAN_RECORD_BATCH_MAX"] = 3
    token = screen_token(station["holder_id"])
    too_long = client.post("/checkpoint/scan-records", json=[scan(token) for _ in range(4)])
    assert too_long.status_code == 413 and too_long.get_json()["most"] == 3
    assert client.post("/checkpoint/scan-records", json=[]).status_code == 422
    assert stored_ids(app) == set()
    assert client.post("/checkpoint/scan-records", json=[scan(token)] * 1).status_code == 200


def test_malformed_records_of_a_batch_are_refused_one_by_one(app, client, station, screen_token):
    token = screen_token(station["holder_id"])
    good = scan(token)
    batch = [["token", token], {**scan(token), "scanned_at": "now"}, "x", good]
    response = client.post("/checkpoint/scan-records", json=batch)
    assert response.status_code == 200
    assert [r["status"] for r in response.get_json()["results"]] == [422, 422, 422, 201]
    assert stored_ids(app) == {good["record_id"]}


def test_every_record_of_a_batch_counts_against_the_limits(app, client, station, screen_token):
    app.config["RECORD_LIMIT_PER_STAFF"] = "5 per minute"
    token = screen_token(station["holder_id"])
    one = client.post("/checkpoint/scan-records", json=scan(token))
    assert one.status_code == 201
    batch = [scan(token) for _ in range(6)]
    response = client.post("/checkpoint/scan-records", json=batch)
    results = response.get_json()["results"]
    # Four fit beside the one sent alone; the rest are told to wait, and nothing of them stored.
    assert [r["status"] for r in results] == [201] * 4 + [429] * 2
    assert results[4]["error"] == "rate_limited" and results[4]["retry_after"] >= 1
    assert int(response.headers["Retry-After"]) >= 1
    assert stored_ids(app) == {one.get_json()["record_id"]} | {b["record_id"] for b in batch[:4]}
    # The budget is spent: a whole batch, or one alone, gets 429.
    assert client.post("/checkpoint/scan-records", json=[scan(token)]).status_code == 429
    assert client.post("/checkpoint/scan-records", json=scan(token)).status_code == 429


def test_a_commit_is_durable_before_the_answer(app, client, station, screen_token):
    """No synchronous=OFF or NORMAL on SQLite, no synchronous_commit=off on PostgreSQL: the
    request commits after its view and before its answer leaves (gantong/unit_of_work.py)."""
    with app.app_context():
        connection = db.session.connection()
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        else:
            assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
            assert connection.exec_driver_sql("SHOW fsync").scalar() == "on"
        db.session.rollback()
    commits = []
    with app.app_context():
        engine = db.engine

    def on_commit(conn):
        # Committed inside the request, before the response is handed to the server (not
        # after it, on close).
        commits.append(has_request_context())

    token = screen_token(station["holder_id"])
    event.listen(engine, "commit", on_commit)
    try:
        response = client.post("/checkpoint/scan-records", json=[scan(token)])
    finally:
        event.remove(engine, "commit", on_commit)
    assert response.status_code == 200 and commits == [True]
