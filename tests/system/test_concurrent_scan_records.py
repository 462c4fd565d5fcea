"""The scan page's records arrive while code pages refresh the same people's colours, at once, on
a file-backed SQLite database: the records read first and take the write lock only to write, so
no "database is locked", nothing lost, and no colour written from facts a fever had made stale."""

from __future__ import annotations

import random
import threading
import time
import uuid

from gantong.extensions import db
from gantong.holders import registry
from gantong.models import ColourChange, FeverFinding, Holder, VerificationRecord
from tests.conftest import PASSWORD, resident_id

PEOPLE, PAGE_THREADS, SCAN_THREADS, ROUNDS = 10, 2, 2, 3


def test_scan_records_racing_code_pages_lose_nothing(
    app, make_user, make_holder, make_staff, screen_token
):
    account_id, phone = make_user()
    _staff_id, staff_phone, _point_id = make_staff()
    holder_ids = [
        make_holder(account_id, name=f"测试{i}", number=resident_id(f"3601021990030{i:04d}"))
        for i in range(PEOPLE)
    ]
    tokens = {holder_id: screen_token(holder_id) for holder_id in holder_ids}
    with app.app_context():
        # A stored colour the facts no longer hold: the first page or scan of each has to write.
        db.session.execute(db.update(Holder).where(Holder.id.in_(holder_ids)).values(colour="red"))
        db.session.commit()

    failures, lock = [], threading.Lock()
    start = threading.Barrier(PAGE_THREADS + SCAN_THREADS)
    stored = []

    def pages(seed):
        client = app.test_client()
        client.post("/login", data={"phone": phone, "password": PASSWORD})
        order = holder_ids * ROUNDS
        random.Random(seed).shuffle(order)
        start.wait()
        for holder_id in order:
            try:
                assert client.get(f"/me/people/{holder_id}").status_code == 200
            except Exception as error:  # noqa: BLE001 - every failure is collected and reported
                with lock:
                    failures.append(repr(error))

    def scans(seed):
        client = app.test_client()
        client.post("/login", data={"phone": staff_phone, "password": PASSWORD})
        order = holder_ids * ROUNDS
        random.Random(seed).shuffle(order)
        start.wait()
        for i, holder_id in enumerate(order):
            fever = i % 3 == 0
            body = {
                "record_id": str(uuid.uuid4()),
                "token": tokens[holder_id],
                "scanned_at": int(time.time()),
                "shown_colour": "green",
                "offline": True,
                "temperature": "38.6" if fever else "36.5",
                "decision": "refer" if fever else "pass",
                "note": "",
            }
            try:
                response = client.post("/checkpoint/scan-records", json=body)
                assert response.status_code == 201, (
                    response.status_code,
                    response.get_data(as_text=True),
                )
                with lock:
                    stored.append(body["record_id"])
            except Exception as error:  # noqa: BLE001
                with lock:
                    failures.append(repr(error))

    threads = [threading.Thread(target=pages, args=(seed,)) for seed in range(PAGE_THREADS)]
    threads += [threading.Thread(target=scans, args=(100 + seed,)) for seed in range(SCAN_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    with app.app_context():
        ids = set(db.session.scalars(db.select(VerificationRecord.record_id)))
        assert ids == set(stored) and len(stored) == SCAN_THREADS * ROUNDS * PEOPLE
        assert db.session.scalar(
            db.select(db.func.count()).select_from(FeverFinding)
        ) == db.session.scalar(
            db.select(db.func.count())
            .select_from(VerificationRecord)
            .where(VerificationRecord.temperature >= 37.3)
        )
        for holder_id in holder_ids:
            holder = db.session.get(Holder, holder_id)
            assert holder.colour == registry.colour_of(holder).colour
            changes = db.session.scalars(
                db.select(ColourChange)
                .where(ColourChange.holder_id == holder_id)
                .order_by(ColourChange.id)
            ).all()
            assert changes[-1].after == holder.colour
            later = changes[1:]
            assert [change.before for change in later] == ["red"] + [
                change.after for change in later[:-1]
            ]
            assert all(change.before != change.after for change in later)
