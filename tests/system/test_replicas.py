"""Lag-tolerant reads on a real streaming standby (gantong/web/replicas.py).

A primary and a hot standby of the module's own (tests/system/replica_cluster.py, about three
seconds to start); the app on the primary with DATABASE_REPLICA_URLS naming the standby. Every
statement the app sends is counted on the engine that ran it: the code page's SELECTs run on
the standby and none on the primary; with the standby's replay paused, a resident who has just
declared reads from the primary (and sees the new colour) while another still reads from the
standby; a stopped or lagging standby leaves every page at 200 from the primary; and no write
ever reaches the standby.
"""

from __future__ import annotations

import itertools
import time

import pytest
from sqlalchemy import event

from gantong import create_app
from gantong.extensions import db
from gantong.web import replicas
from tests.conftest import (
    PASSWORD,
    TEST_CONFIG,
    _create_empty_function,
    empty_database,
    resident_id,
)
from tests.system.replica_cluster import ReplicaPair
from tests.views.resident.test_resident_flow import declaration_form

pytestmark = [
    pytest.mark.postgres_only(reason="streaming replicas are PostgreSQL's"),
    # One pair of clusters for the module, on one worker.
    pytest.mark.xdist_group("replicas"),
]


@pytest.fixture(scope="module")
def pair():
    pair = ReplicaPair().start()
    try:
        schema = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": primary_url(pair)})
        with schema.app_context():
            db.create_all()
            _create_empty_function()
            db.session.commit()
            db.engine.dispose()
        yield pair
    finally:
        pair.stop()


def primary_url(pair: ReplicaPair) -> str:
    return pair.primary.url(pair.database, "postgresql+psycopg")


@pytest.fixture
def app_config(pair):
    return {
        **TEST_CONFIG,
        "SQLALCHEMY_DATABASE_URI": primary_url(pair),
        "DATABASE_REPLICA_URLS": pair.standby.url(pair.database),
        "REPLICA_MAX_LAG_SECONDS": 30,
        # Asked on every request here, so that a test sees a change at once (default: 1 s).
        "REPLICA_CHECK_SECONDS": 0,
    }


@pytest.fixture
def app(pair, app_config):
    """The app on the module's primary (not DATABASE_URL's database), reading on its standby."""
    app = create_app(app_config)
    yield app
    if not (pair.standby.data / "postmaster.pid").exists():
        pair.standby.start()
    pair.resume_replay()
    with app.app_context():
        db.session.remove()
        empty_database()
        db.engine.dispose()
    replicas.replicas_of(app).dispose()


class Counted:
    """The statements each engine ran, per request (BEGIN and COMMIT included)."""

    def __init__(self, app):
        with app.app_context():
            self.primary_engine = db.engine
        self.replica_engine = replicas.replicas_of(app).all()[0].engine
        self.primary: list[str] = []
        self.marks: list[str] = []
        self.replica: list[str] = []
        self.replica_ever: list[str] = []
        event.listen(self.primary_engine, "before_cursor_execute", self._on_primary)
        event.listen(self.replica_engine, "before_cursor_execute", self._on_replica)

    def _on_primary(self, conn, cursor, statement, *args) -> None:
        # A replica's check notes the primary's WAL position (test (a) counts those apart).
        (self.marks if statement == replicas.PRIMARY_POSITION_SQL else self.primary).append(
            statement
        )

    def _on_replica(self, conn, cursor, statement, *args) -> None:
        self.replica.append(statement)
        self.replica_ever.append(statement)

    def reset(self) -> None:
        self.primary.clear()
        self.marks.clear()
        self.replica.clear()

    def close(self) -> None:
        event.remove(self.primary_engine, "before_cursor_execute", self._on_primary)
        event.remove(self.replica_engine, "before_cursor_execute", self._on_replica)


@pytest.fixture
def counted(app):
    counter = Counted(app)
    yield counter
    counter.close()
    # (d) Whatever the test did, the standby was sent nothing but plain reads.
    for statement in counter.replica_ever:
        assert statement.lstrip().upper().startswith(("SELECT", "WITH")), statement
        assert "FOR UPDATE" not in statement.upper(), statement


_numbers = itertools.count(1)


def resident(client, make_user, make_holder) -> int:
    """A logged-in resident with one holder; their code page seen once (the first signing key
    is made by the first code page, on the primary)."""
    user_id, phone = make_user(phone=f"+86137{next(_numbers):08d}")
    holder_id = make_holder(user_id, number=resident_id(f"36010219900101{next(_numbers):03d}"))
    assert client.post("/login", data={"phone": phone, "password": PASSWORD}).status_code == 303
    assert client.get(f"/me/people/{holder_id}").status_code == 200
    return holder_id


def phone_key() -> str:
    """A phone's P-256 public key as the page sends it (base64url, uncompressed)."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def standby_colour(pair: ReplicaPair, holder_id: int) -> str:
    return pair.standby.sql(f"SELECT colour FROM holder WHERE id = {holder_id}", pair.database)[0][
        0
    ]


def test_the_code_page_reads_on_the_standby_and_sends_the_primary_nothing(
    app, client, make_user, make_holder, pair, counted
):
    holder_id = resident(client, make_user, make_holder)
    pair.wait_replayed()
    counted.reset()
    page = client.get(f"/me/people/{holder_id}")
    assert page.status_code == 200
    # Checked on every request here (REPLICA_CHECK_SECONDS 0): the check notes where the
    # primary's WAL is, its one statement there; no read of the page goes to the primary.
    assert counted.marks == [replicas.PRIMARY_POSITION_SQL] and counted.primary == []
    # Between checks (deployed: once a second a process) the primary is sent nothing at all.
    replicas.replicas_of(app).check_every = 60
    counted.reset()
    page = client.get(f"/me/people/{holder_id}")
    assert 'class="card green' in page.get_data(as_text=True)
    assert counted.primary == [] and counted.marks == []
    # The account with its people, then the page's own query (at most a few SELECTs).
    assert 1 <= len(counted.replica) <= 4, counted.replica
    assert all(statement.lstrip().upper().startswith("SELECT") for statement in counted.replica)


def test_off_without_replica_urls_everything_stays_on_the_primary(
    pair, make_user, make_holder, client, app
):
    # The same app but configured without replicas: no replica set, no routing.
    bare = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": primary_url(pair)})
    assert replicas.replicas_of(bare) is None
    with bare.app_context():
        engine = db.engine
    sent: list[str] = []
    listener = lambda conn, cursor, statement, *args: sent.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        user_id, phone = make_user()
        holder_id = make_holder(user_id)
        other = bare.test_client()
        other.post("/login", data={"phone": phone, "password": PASSWORD})
        sent.clear()
        assert other.get(f"/me/people/{holder_id}").status_code == 200
        assert sent, "the code page read on the primary"
    finally:
        event.remove(engine, "before_cursor_execute", listener)
        with bare.app_context():
            db.engine.dispose()


def test_with_replay_paused_the_one_who_declared_reads_the_primary_and_the_others_the_standby(
    app, make_user, make_holder, pair, counted
):
    writer, reader = app.test_client(), app.test_client()
    writer_holder = resident(writer, make_user, make_holder)
    reader_holder = resident(reader, make_user, make_holder)
    pair.wait_replayed()
    pair.pause_replay()

    declared = writer.post(
        f"/me/people/{writer_holder}/declare", data=declaration_form(symptoms="fever")
    )
    assert declared.status_code == 303
    # The standby has not seen it: a page read there would still be green.
    assert standby_colour(pair, writer_holder) == "green"

    counted.reset()
    page = writer.get(f"/me/people/{writer_holder}")
    assert page.status_code == 200
    assert 'class="card yellow' in page.get_data(as_text=True)
    assert counted.replica == []
    assert counted.primary

    counted.reset()
    assert reader.get(f"/me/people/{reader_holder}").status_code == 200
    assert counted.primary == []
    assert counted.replica

    # Once the standby has replayed the declaration, the writer reads there again.
    pair.resume_replay()
    pair.wait_replayed()
    assert standby_colour(pair, writer_holder) == "yellow"
    counted.reset()
    page = writer.get(f"/me/people/{writer_holder}")
    assert 'class="card yellow' in page.get_data(as_text=True)
    assert counted.primary == []
    assert counted.replica


def test_a_colour_changed_by_the_code_page_is_written_on_the_primary(
    app, client, make_user, make_holder, pair, counted
):
    holder_id = resident(client, make_user, make_holder)
    # The stored colour is stale (what a colour that ends with time looks like to the page):
    # the page decides again under the holder's lock, on the primary, and stores the change.
    pair.primary.sql(f"UPDATE holder SET colour = 'red' WHERE id = {holder_id}", pair.database)
    pair.wait_replayed()
    counted.reset()
    page = client.get(f"/me/people/{holder_id}")
    assert page.status_code == 200
    assert 'class="card green' in page.get_data(as_text=True)
    writes = [s for s in counted.primary if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert any("INTO colour_change" in s for s in writes), counted.primary
    assert any("FOR UPDATE" in s for s in counted.primary)
    rows = pair.primary.sql(f"SELECT colour FROM holder WHERE id = {holder_id}", pair.database)
    assert rows == [("green",)]
    # And the account is pinned to the primary until the standby has that change.
    with client.session_transaction() as cookie:
        assert replicas.PIN in cookie


def test_a_standby_that_lags_beyond_the_setting_is_skipped(
    app, make_user, make_holder, pair, counted
):
    app.config["REPLICA_MAX_LAG_SECONDS"] = 0.5
    replicas.replicas_of(app).max_lag = 0.5
    writer, reader = app.test_client(), app.test_client()
    writer_holder = resident(writer, make_user, make_holder)
    reader_holder = resident(reader, make_user, make_holder)
    pair.wait_replayed()
    pair.pause_replay()
    writer.post(f"/me/people/{writer_holder}/declare", data=declaration_form(symptoms="fever"))
    time.sleep(0.6)  # the last transaction the standby replayed is now older than the setting
    counted.reset()
    assert reader.get(f"/me/people/{reader_holder}").status_code == 200
    assert counted.replica == []
    assert counted.primary
    assert replicas.replicas_of(app).all()[0].lag_seconds > 0.5


def test_a_standby_cut_off_from_its_primary_is_skipped_once_it_is_too_far_behind(
    app, make_user, make_holder, pair, counted
):
    """A standby whose WAL receiver lost the primary has replayed all it received, so its own
    figures say it lags by nothing while it falls behind for ever: it was used for good."""
    app.config["REPLICA_MAX_LAG_SECONDS"] = 0.5
    replicas.replicas_of(app).max_lag = 0.5
    writer, other_device = app.test_client(), app.test_client()
    holder_id = resident(writer, make_user, make_holder)
    with other_device.session_transaction() as cookie, writer.session_transaction() as logged_in:
        cookie.update(logged_in)  # the same account on a second phone: not pinned by the writer
    pair.wait_replayed()
    conninfo = pair.standby.sql("SHOW primary_conninfo")[0][0]
    pair.standby.sql("ALTER SYSTEM SET primary_conninfo = ''")
    pair.standby.sql("SELECT pg_reload_conf()")
    try:
        deadline = time.monotonic() + 10
        while pair.standby.sql("SELECT count(*) FROM pg_stat_wal_receiver")[0][0]:
            assert time.monotonic() < deadline, "the standby's WAL receiver did not stop"
            time.sleep(0.05)
        writer.post(f"/me/people/{holder_id}/declare", data=declaration_form(symptoms="fever"))
        assert standby_colour(pair, holder_id) == "green"  # the standby never gets it
        time.sleep(0.6)
        counted.reset()
        page = other_device.get(f"/me/people/{holder_id}").get_data(as_text=True)
        assert 'class="card yellow' in page
        assert counted.replica == []
        replica = replicas.replicas_of(app).all()[0]
        assert not replica.usable and replica.lag_seconds == 0  # its own figures saw no lag
    finally:
        quoted = conninfo.replace("'", "''")
        pair.standby.sql(f"ALTER SYSTEM SET primary_conninfo = '{quoted}'")
        pair.standby.sql("SELECT pg_reload_conf()")
        pair.wait_replayed()


@pytest.mark.parametrize("connection", ["pooled", "new"])
def test_a_stopped_standby_leaves_every_page_answering_from_the_primary(
    app, make_user, make_holder, pair, counted, connection
):
    reader = app.test_client()
    holder_id = resident(reader, make_user, make_holder)
    pair.wait_replayed()
    counted.reset()
    assert reader.get(f"/me/people/{holder_id}").status_code == 200
    assert counted.replica  # a pooled connection to the standby is open now
    # Checked once a second, as deployed: the standby was fine a moment ago, so the next
    # request still goes to it, meets a dead connection and runs again on the primary.
    app.config["REPLICA_CHECK_SECONDS"] = 1
    replicas.replicas_of(app).check_every = 1
    pair.standby.stop()
    if connection == "new":
        # No pooled connection left: the request's first read meets a refused connect.
        replicas.replicas_of(app).all()[0].engine.dispose()
    counted.reset()
    for _ in range(3):
        assert reader.get(f"/me/people/{holder_id}").status_code == 200
    assert replicas.replicas_of(app).fallbacks == 1
    assert counted.primary
    # Skipped since (down: asked again after DOWN_RETRY_SECONDS), without a failed statement more.
    assert not replicas.replicas_of(app).all()[0].usable


def test_the_phone_credential_and_the_verifier_bundle_read_on_the_standby(
    app, client, make_user, make_holder, pair, counted
):
    holder_id = resident(client, make_user, make_holder)
    pair.wait_replayed()
    counted.reset()
    assert client.get("/.well-known/gantong-verifier.json").status_code == 200
    assert client.get("/.well-known/jwks.json").status_code == 200
    assert counted.primary == []
    assert counted.replica
    # A phone registered (a write, on the primary) is read back at once: its account is pinned
    # to the primary until the standby has it, even with replay paused.
    pair.pause_replay()
    key = phone_key()
    device = client.post("/me/devices", json={"public_key": key, "label": "phone"})
    assert device.status_code == 201, device.get_data(as_text=True)
    counted.reset()
    credential = client.get(f"/me/people/{holder_id}/credential?device={device.get_json()['id']}")
    assert credential.status_code == 200, credential.get_data(as_text=True)
    assert counted.replica == []
    pair.resume_replay()
    pair.wait_replayed()
    counted.reset()
    again = client.get(
        f"/me/people/{holder_id}/credential?device={device.get_json()['id']}",
        headers={"If-None-Match": credential.headers["ETag"]},
    )
    assert again.status_code == 304
    assert counted.primary == []
    assert counted.replica


def test_policy_is_found_through_wrapping_decorators():
    import functools

    @replicas.lag_tolerant(read_your_writes=False)
    def view():
        return "ok"

    @functools.wraps(view)
    def wrapper():
        return view()

    assert replicas.policy_of(wrapper) == replicas.Policy(read_your_writes=False)
    assert replicas.policy_of(lambda: None) is None


def test_the_scan_reads_on_the_standby_and_stores_each_record_once_on_the_primary(
    app, client, make_staff, make_holder, screen_token, pair, counted
):
    from tests.views.checkpoint.test_scan_records import scan

    _staff_id, phone, _point_id = make_staff()
    holder_id = make_holder(number=resident_id("36010219900101777"))
    assert client.post("/login", data={"phone": phone, "password": PASSWORD}).status_code == 303
    token = screen_token(holder_id)
    warm = client.post("/checkpoint/scan-records", json=scan(token))  # the first key's use
    assert warm.status_code == 201
    pair.wait_replayed()
    pair.pause_replay()

    body = scan(token)
    counted.reset()
    first = client.post("/checkpoint/scan-records", json=body)
    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json()["colour"] == "green"
    # The checks read on the standby; the primary gets the INSERT, a transaction by itself
    # (committed as it completes: no BEGIN and COMMIT round trips), and nothing else.
    assert counted.replica
    assert [s.split()[0] for s in counted.primary] == ["INSERT"], counted.primary
    # Sent again while the standby has not seen it: the standby finds no such id, the INSERT
    # on the primary skips it, and it is answered as the repeat it is, stored once.
    counted.reset()
    again = client.post("/checkpoint/scan-records", json=body)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json()["stored"] is False
    conflict = client.post("/checkpoint/scan-records", json={**body, "temperature": "36.7"})
    assert conflict.status_code == 409
    stored = pair.primary.sql(
        f"SELECT count(*) FROM verification_record WHERE record_id = '{body['record_id']}'",
        pair.database,
    )
    assert stored == [(1,)]
    # No pin: the volunteer's next scan reads on the standby again.
    with client.session_transaction() as cookie:
        assert replicas.PIN not in cookie


def test_the_checkpoint_s_bundle_and_scan_records_are_lag_tolerant(app):
    views = app.view_functions
    assert replicas.policy_of(views["checkpoint.verifier_bundle"]) == replicas.Policy()
    assert replicas.policy_of(views["checkpoint.scan_record"]) == replicas.Policy(
        read_your_writes=False
    )
