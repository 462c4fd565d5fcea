"""On SQLite the checkpoint's pages read without the write lock; only what writes takes it."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from gantong.extensions import db
from tests.conftest import PASSWORD

pytestmark = pytest.mark.sqlite_only(reason="SQLite's write lock only")


@pytest.fixture
def begun(app):
    """The BEGIN statements issued while the test runs, in order."""
    statements = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("BEGIN"):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    yield statements
    event.remove(engine, "before_cursor_execute", note)


@pytest.fixture
def station(client, make_staff, make_holder, screen_token):
    """A logged-in volunteer who has verified one holder: the record page's path and the holder."""
    _staff_id, phone, _point_id = make_staff()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    holder_id = make_holder()
    answer = client.post(
        "/checkpoint/verify/token", data={"method": "camera", "token": screen_token(holder_id)}
    )
    assert answer.status_code == 303
    return {"record_path": answer.headers["Location"], "holder_id": holder_id}


@pytest.mark.parametrize(
    "path", ["/checkpoint/", "/checkpoint/scan", "RECORD", "/checkpoint/bundle.json"]
)
def test_the_checkpoint_pages_read_without_the_write_lock(client, station, begun, path):
    begun.clear()
    assert client.get(station["record_path"] if path == "RECORD" else path).status_code == 200
    assert begun and "BEGIN IMMEDIATE" not in begun


def test_a_verify_takes_the_write_lock_once_for_the_record(client, station, screen_token, begun):
    token = screen_token(station["holder_id"])
    begun.clear()
    answer = client.post("/checkpoint/verify/token", data={"method": "camera", "token": token})
    assert answer.status_code == 303
    assert begun.count("BEGIN IMMEDIATE") == 1 and begun[0] == "BEGIN"


def test_the_volunteers_point_comes_with_the_account_in_one_query(app, client, station):
    selects = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SELECT"):
            selects.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get("/checkpoint/scan").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    # Every checkpoint request checks the point is active: not a second query for it.
    assert "information_point" in selects[0] and "FROM user" in selects[0]
    assert not [s for s in selects if "FROM information_point" in " ".join(s.split())], selects
