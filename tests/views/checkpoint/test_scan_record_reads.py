"""What a batch of scan records reads, and how its write goes: one statement reads the stored
ids, the keys, the holders with their colour's facts, the phones' devices and the paper codes of
the whole batch (gantong/checkpoint/scan_records.py, read_batch); nothing it reads is cached, so
a key retired or a phone removed a moment ago stops verifying at once; a batch that writes only
its records is one INSERT, a transaction by itself, and one with a fever one transaction."""

from __future__ import annotations

import base64
import time
import uuid
from contextlib import contextmanager

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import event

from gantong.codes import keys, paper
from gantong.core import credentials
from gantong.extensions import db
from gantong.models import FeverFinding, Holder, SigningKey, VerificationRecord
from tests.conftest import PASSWORD, resident_id


@contextmanager
def statements(app):
    """The statements the app's engine sends while the block runs."""
    seen: list[str] = []

    def on_statement(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)


def scan(token, temperature="36.5", shown="green", later=0):
    return {
        "record_id": str(uuid.uuid4()),
        "token": token,
        "scanned_at": int(time.time()) + later,
        "shown_colour": shown,
        "offline": False,
        "temperature": temperature,
        "decision": "",
        "note": "",
    }


@pytest.fixture
def staff_client(app, make_staff):
    _staff_id, phone, _point_id = make_staff()
    client = app.test_client()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return client


@pytest.fixture
def phone(app, make_user, make_holder):
    """A resident's holder with a registered phone: a presentation maker, and the phone's id."""
    user_id, number = make_user()
    holder_id = make_holder(user_id, number=resident_id("36010219900101099"))
    client = app.test_client()
    client.post("/login", data={"phone": number, "password": PASSWORD})
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    public = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    device = client.post("/me/devices", json={"public_key": public}).get_json()["id"]
    document = client.get(f"/me/people/{holder_id}/credential?device={device}").get_json()
    signed = base64.urlsafe_b64decode(document["credential"] + "==")
    return {
        "client": client,
        "device": device,
        "holder_id": holder_id,
        "present": lambda: credentials.present(signed, int(time.time()), key),
    }


def paper_text(app, holder_id) -> str:
    with app.app_context():
        printed = paper.issue(db.session.get(Holder, holder_id))
        db.session.commit()
        return paper.token_text(printed)


def test_a_batch_of_every_kind_of_code_reads_in_one_statement(
    app, staff_client, make_holder, screen_token, phone
):
    holder_ids = [make_holder(number=resident_id(f"360102199001011{i:02d}")) for i in range(3)]
    # Scanned a second after the holders' codes were given (a scan time is whole seconds): the
    # stored colour has not changed since the scan, so no colour history is read.
    batch = [scan(screen_token(holder_id), later=1) for holder_id in holder_ids]
    batch.append(scan(phone["present"](), later=1))
    batch.append(scan(paper_text(app, holder_ids[0]), later=1))
    stored_before = scan(screen_token(holder_ids[1]), later=1)
    assert staff_client.post("/checkpoint/scan-records", json=stored_before).status_code == 201
    batch.append(stored_before)  # a repeat: answered from the same read
    with statements(app) as seen:
        response = staff_client.post("/checkpoint/scan-records", json=batch)
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == [201] * 5 + [200], results
    selects = [s for s in seen if s.startswith("SELECT")]
    # The staff account with its point, then everything the checks need: before, one query for
    # the ids, one for the keys, one for the holders, one per holder for the facts, one for the
    # paper code, two for the presentation (its device, its holder).
    assert len(selects) == 2, selects
    assert [s for s in seen if s.startswith("INSERT")] == [
        s for s in seen if s.startswith("INSERT INTO verification_record")
    ]
    with app.app_context():
        stored = dict(
            db.session.execute(
                db.select(VerificationRecord.record_id, VerificationRecord.holder_id)
            ).all()
        )
    expected = holder_ids + [phone["holder_id"], holder_ids[0]]
    assert [stored[b["record_id"]] for b in batch[:5]] == expected


def test_a_key_retired_between_two_records_refuses_the_second_at_once(
    app, staff_client, make_holder, screen_token
):
    holder_id = make_holder()
    old_token = screen_token(holder_id)
    first = staff_client.post("/checkpoint/scan-records", json=scan(old_token))
    assert first.status_code == 201
    with app.app_context():
        old_kid = db.session.scalar(db.select(SigningKey.kid).where(SigningKey.signing))
        keys.rotate()
        keys.retire(old_kid, force=True)
        db.session.commit()
    # The same process, the same key read a moment ago: refused now, not after a cache expires.
    second = staff_client.post("/checkpoint/scan-records", json=scan(old_token))
    assert second.status_code == 422 and second.get_json()["reason"] == "key_retired"
    # The new key's codes verify.
    assert (
        staff_client.post(
            "/checkpoint/scan-records", json=scan(screen_token(holder_id))
        ).status_code
        == 201
    )


def test_a_removed_phone_presentation_is_refused_at_once(app, staff_client, phone):
    assert (
        staff_client.post("/checkpoint/scan-records", json=scan(phone["present"]())).status_code
        == 201
    )
    assert phone["client"].post(f"/me/devices/{phone['device']}/remove").status_code == 303
    # Scanned after the removal (a second on: the scan time is whole seconds).
    refused = staff_client.post("/checkpoint/scan-records", json=scan(phone["present"](), later=1))
    assert refused.status_code == 422 and refused.get_json()["reason"] == "revoked"


@pytest.mark.postgres_only(reason="PostgreSQL's transactions on the wire")
def test_records_alone_are_one_insert_and_a_fever_one_transaction_with_its_finding(
    app, staff_client, make_holder, screen_token
):
    holder_id = make_holder()
    token = screen_token(holder_id)
    with statements(app) as plain:
        answer = staff_client.post("/checkpoint/scan-records", json=[scan(token), scan(token)])
    assert [r["status"] for r in answer.get_json()["results"]] == [201, 201]
    # The INSERT is a transaction by itself: no BEGIN before it.
    assert "BEGIN" not in plain, plain
    with statements(app) as fever:
        answer = staff_client.post(
            "/checkpoint/scan-records", json=[scan(token), scan(token, temperature="38.6")]
        )
    results = answer.get_json()["results"]
    assert [r["status"] for r in results] == [201, 201] and results[1]["fever"]
    # The holder locked, the records and the finding written and the colour stored in one.
    begins = [i for i, s in enumerate(fever) if s == "BEGIN"]
    inserts = [i for i, s in enumerate(fever) if s.startswith("INSERT INTO verification_record")]
    assert len(begins) == 1 and begins[0] < inserts[0], fever
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(FeverFinding)) == 1
        assert db.session.get(Holder, holder_id).colour != "green"
