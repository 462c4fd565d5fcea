"""The code page refreshes colours while checkpoints record fevers for the same people, at once,
on a file-backed SQLite database: no "database is locked", and no colour written from facts
that a concurrent fever had made stale (the code page reads without the write lock)."""

from __future__ import annotations

import random
import threading

from gantong.checkpoint import verification
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import ColourChange, Holder, InformationPoint, User, utcnow
from tests.conftest import PASSWORD, resident_id

PEOPLE, PAGE_THREADS, ROUNDS = 12, 3, 4


def test_colour_refreshes_racing_fever_records_lose_nothing(
    app, make_user, make_holder, make_staff
):
    account_id, phone = make_user()
    staff_id, _staff_phone, point_id = make_staff()
    holder_ids = [
        make_holder(account_id, name=f"测试{i}", number=resident_id(f"3601021990020{i:04d}"))
        for i in range(PEOPLE)
    ]
    with app.app_context():
        point, staff = db.session.get(InformationPoint, point_id), db.session.get(User, staff_id)
        pending = []
        for holder_id in holder_ids:
            record, _ = verification.open_record(
                db.session.get(Holder, holder_id), point, staff, "scan", None, utcnow()
            )
            pending.append((record.record_id, verification.reference_for(record)))
        # A stored colour the facts no longer hold: every code page load has to write.
        db.session.execute(db.update(Holder).where(Holder.id.in_(holder_ids)).values(colour="red"))
        db.session.commit()

    failures, lock = [], threading.Lock()
    start = threading.Barrier(PAGE_THREADS + 1)

    def pages(seed):
        client = app.test_client()
        client.post("/login", data={"phone": phone, "password": PASSWORD})
        order = holder_ids * ROUNDS
        random.Random(seed).shuffle(order)
        start.wait()
        for holder_id in order:
            try:
                response = client.get(f"/me/people/{holder_id}")
                assert response.status_code == 200, response.status_code
            except Exception as error:  # noqa: BLE001 - every failure is collected and reported
                with lock:
                    failures.append(repr(error))

    def fevers():
        order = list(pending)
        random.Random(99).shuffle(order)
        start.wait()
        for record_id, reference in order:
            try:
                with app.app_context():
                    verification.submit_record(
                        reference,
                        record_id,
                        verification.RecordBody(temperature=38.6, decision="refer"),
                    )
            except Exception as error:  # noqa: BLE001
                with lock:
                    failures.append(repr(error))

    threads = [threading.Thread(target=pages, args=(seed,)) for seed in range(PAGE_THREADS)]
    threads.append(threading.Thread(target=fevers))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    with app.app_context():
        for holder_id in holder_ids:
            holder = db.session.get(Holder, holder_id)
            assert holder.colour == registry.colour_of(holder).colour != "green"
            changes = db.session.scalars(
                db.select(ColourChange)
                .where(ColourChange.holder_id == holder_id)
                .order_by(ColourChange.id)
            ).all()
            assert changes[-1].after == holder.colour
            # One unbroken history from the forged red: each change starts where the last one left.
            later = changes[1:]
            assert [change.before for change in later] == ["red"] + [
                change.after for change in later[:-1]
            ]
            assert all(change.before != change.after for change in later)
            assert later[-1].after == holder.colour


def test_a_fever_recorded_between_the_code_pages_read_and_its_write_is_not_overwritten(
    app, client, make_user, make_holder, make_staff, monkeypatch
):
    """The lost update, forced: the code page has read the facts (stored red, facts green) and is
    about to write green when a checkpoint commits a fever; the page must write the fever's colour."""
    account_id, phone = make_user()
    staff_id, _staff_phone, point_id = make_staff()
    holder_id = make_holder(account_id)
    with app.app_context():
        record, _ = verification.open_record(
            db.session.get(Holder, holder_id),
            db.session.get(InformationPoint, point_id),
            db.session.get(User, staff_id),
            "scan",
            None,
            utcnow(),
        )
        record_id, reference = record.record_id, verification.reference_for(record)
        db.session.execute(db.update(Holder).where(Holder.id == holder_id).values(colour="red"))
        db.session.commit()

    def fever():
        with app.app_context():
            verification.submit_record(
                reference, record_id, verification.RecordBody(temperature=38.6, decision="refer")
            )

    original, interleaved = registry.lock, []

    def lock_after_a_fever(holder):
        # The code page has read the facts and is about to take the lock for its colour write
        # (its numbers' write locks nothing here): another connection commits a fever first.
        if not interleaved:
            interleaved.append(True)
            thread = threading.Thread(target=fever)
            thread.start()
            thread.join()
        original(holder)

    monkeypatch.setattr(registry, "lock", lock_after_a_fever)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    assert client.get(f"/me/people/{holder_id}").status_code == 200
    assert interleaved
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        assert holder.colour == registry.colour_of(holder).colour != "green"
        latest = db.session.scalars(
            db.select(ColourChange)
            .where(ColourChange.holder_id == holder_id)
            .order_by(ColourChange.id.desc())
        ).first()
        assert latest.after == holder.colour
