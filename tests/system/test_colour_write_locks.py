"""Every write of a colour takes the holder's lock before it computes, on PostgreSQL as on
SQLite, with real threads and connections: a fever committed while another transaction is
between computing a colour and writing it is never overwritten, and each change leaves one
history row.

Each test stops a writer just after it computed a colour (registry.colour_of returned) and
lets a checkpoint record a fever from another connection then. Without the lock the fever
commits yellow and the writer stores its stale colour over it (and a second history row for
the one change); with it the fever waits for the writer's commit, then decides on the
writer's facts. A writer that inserted rows referring to the holder before locking it made
the fever's lock and its own update wait for each other: PostgreSQL's "deadlock detected".
"""

from __future__ import annotations

import threading
from datetime import date

import pytest

from gantong.checkpoint import verification
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import ColourChange, Holder, InformationPoint, User, utcnow

WRITER = "colour-writer"


@pytest.fixture
def racing(app, make_user, make_holder, make_staff, monkeypatch):
    """A holder whose stored colour is a stale red (their facts give green), a record opened
    for them at a point, and `run(write)`: `write()` in a thread that, once it has computed a
    colour, has a fever recorded from another connection."""
    account_id, _phone = make_user()
    staff_id, _staff_phone, point_id = make_staff()
    holder_id = make_holder(account_id)
    with app.app_context():
        record, _ = verification.open_record(
            db.session.get(Holder, holder_id),
            db.session.get(InformationPoint, point_id),
            db.session.get(User, staff_id),
            "camera",
            None,
            utcnow(),
        )
        pending = (record.record_id, verification.reference_for(record))
        db.session.execute(db.update(Holder).where(Holder.id == holder_id).values(colour="red"))
        db.session.commit()

    failures, fevers = [], []

    def fever():
        try:
            with app.app_context():
                verification.submit_record(
                    pending[1],
                    pending[0],
                    verification.RecordBody(temperature=38.6, decision="refer"),
                )
                db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported by the test
            failures.append(repr(error))

    computing = registry.colour_of

    def colour_of_then_a_fever(holder, now=None):
        result = computing(holder, now)
        if threading.current_thread().name == WRITER and not fevers:
            thread = threading.Thread(target=fever)
            fevers.append(thread)
            thread.start()
            # The fever commits now unless the holder is locked: then it waits for our commit
            # (the 3 s only bound that wait; nothing is asserted on time).
            thread.join(3)
        return result

    monkeypatch.setattr(registry, "colour_of", colour_of_then_a_fever)

    def run(write, prepare=None):
        if prepare is not None:
            monkeypatch.setattr(registry, "colour_of", computing)
            with app.app_context():
                prepare(db.session.get(Holder, holder_id))
                db.session.execute(
                    db.update(Holder).where(Holder.id == holder_id).values(colour="red")
                )
                db.session.commit()
            monkeypatch.setattr(registry, "colour_of", colour_of_then_a_fever)

        with app.app_context():
            run.since = db.session.scalar(db.select(db.func.max(ColourChange.id)))

        def target():
            try:
                with app.app_context():
                    write(db.session.get(Holder, holder_id))
                    db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported by the test
                failures.append(repr(error))

        writer = threading.Thread(target=target, name=WRITER)
        writer.start()
        writer.join()
        for thread in fevers:
            thread.join()
        assert fevers, "the writer never computed a colour"
        monkeypatch.setattr(registry, "colour_of", computing)
        return failures

    run.holder_id = holder_id
    run.account_id = account_id
    return run


def assert_consistent(app, racing):
    """The stored colour is what the rules give from the stored facts (the fever: yellow), and
    the history since the race began is one unbroken row per change from the stale red."""
    with app.app_context():
        holder = db.session.get(Holder, racing.holder_id)
        assert holder.colour == registry.colour_of(holder).colour == "yellow"
        changes = db.session.scalars(
            db.select(ColourChange)
            .where(ColourChange.holder_id == racing.holder_id, ColourChange.id > racing.since)
            .order_by(ColourChange.id)
        ).all()
        chain = [(change.before, change.after) for change in changes]
        assert [before for before, _ in chain] == ["red"] + [after for _, after in chain[:-1]]
        assert all(before != after for before, after in chain)
        assert chain[-1][1] == "yellow"


def test_a_checkpoint_verification_never_writes_its_colour_over_a_fever(app, racing):
    point_and_staff = {}
    with app.app_context():
        point_and_staff["point"] = db.session.scalars(db.select(InformationPoint)).first().id

    def verify(holder):
        point = db.session.get(InformationPoint, point_and_staff["point"])
        verification.open_record(holder, point, None, "camera", None, utcnow())

    assert racing(verify) == []
    assert_consistent(app, racing)


def test_the_nightly_recompute_never_writes_its_colour_over_a_fever(app, racing):
    def recompute(_holder):
        for _changed in registry.recompute_in_pages():
            pass

    assert racing(recompute) == []
    assert_consistent(app, racing)


def test_a_declaration_locks_the_holder_before_its_rows_and_its_colour(app, racing):
    def declare(holder):
        registry.declare(
            holder,
            registry.DeclarationFacts(symptoms=[], close_contact=False, contact_date=None),
            db.session.get(User, racing.account_id),
        )

    assert racing(declare) == []
    assert_consistent(app, racing)


def test_refreshing_a_risk_areas_holders_never_writes_over_a_fever(app, racing):
    from gantong.admin import risk_areas

    def a_stay(holder):
        # A stay in the district: the area's refresh recomputes this holder's stored colour.
        registry.declare(
            holder,
            registry.DeclarationFacts(
                symptoms=[],
                close_contact=False,
                contact_date=None,
                stays=[("360102", date.today(), date.today())],
            ),
            None,
        )

    def refresh(_holder):
        risk_areas.refresh_affected({"360102"})

    assert racing(refresh, prepare=a_stay) == []
    assert_consistent(app, racing)


def both_at_the_lock(monkeypatch):
    """Two threads come to the holder's lock at once (each the first time it takes one), as
    under load: whatever each wrote before, it holds while it waits for the lock."""
    both_ready = threading.Barrier(2)
    locking, waited = registry.lock, threading.local()

    def lock_when_both_are_ready(holder):
        if not getattr(waited, "done", False):
            waited.done = True
            try:
                both_ready.wait(5)  # only bounds the wait of a thread the other one blocks
            except threading.BrokenBarrierError:
                pass
        locking(holder)

    monkeypatch.setattr(registry, "lock", lock_when_both_are_ready)


def test_two_fevers_scanned_at_once_for_one_person_do_not_deadlock(
    app, make_holder, make_staff, screen_token, monkeypatch
):
    """Two volunteers' scan records with a fever for the same person, both past their checks at
    once: each takes the holder's lock before its record refers to the holder. Had each
    inserted its record first, each would hold a key-share lock the other's lock waits for:
    "deadlock detected" on PostgreSQL, a 500 for one of them."""
    import time
    import uuid

    from gantong.checkpoint import scan_records

    holder_id = make_holder()
    token = screen_token(holder_id)
    volunteers = [make_staff() for _ in range(2)]
    both_at_the_lock(monkeypatch)
    failures = []

    def scan(staff_id, point_id):
        try:
            with app.app_context():
                scan_records.submit(
                    scan_records.ScanRecord(
                        record_id=str(uuid.uuid4()),
                        token=token,
                        scanned_at=int(time.time()),
                        shown_colour="green",
                        offline=False,
                        body=verification.RecordBody(temperature=38.6, decision="refer"),
                    ),
                    db.session.get(InformationPoint, point_id),
                    db.session.get(User, staff_id),
                )
                db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported by the test
            failures.append(repr(error))

    threads = [
        threading.Thread(target=scan, args=(staff_id, point_id))
        for staff_id, _phone, point_id in volunteers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        assert holder.colour == registry.colour_of(holder).colour == "yellow"
        changes = db.session.scalars(
            db.select(ColourChange).where(
                ColourChange.holder_id == holder_id, ColourChange.before.is_not(None)
            )
        ).all()
        assert [(change.before, change.after) for change in changes] == [("green", "yellow")]


def test_two_declarations_for_one_person_at_once_do_not_deadlock(
    app, make_user, make_holder, monkeypatch
):
    """A declaration locks the holder before its rows refer to the holder: had each of two
    declarations (two phones of one family) inserted first, each would hold a key-share lock
    the other's lock waits for ("deadlock detected" on PostgreSQL, a 500)."""
    account_id, _phone = make_user()
    holder_id = make_holder(account_id)
    both_at_the_lock(monkeypatch)
    failures = []

    def declare(symptoms):
        try:
            with app.app_context():
                registry.declare(
                    db.session.get(Holder, holder_id),
                    registry.DeclarationFacts(
                        symptoms=symptoms, close_contact=False, contact_date=None
                    ),
                    db.session.get(User, account_id),
                )
                db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported by the test
            failures.append(repr(error))

    threads = [threading.Thread(target=declare, args=(s,)) for s in ([], ["fever"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        assert holder.colour == registry.colour_of(holder).colour
