"""A record the server refuses for the record limit (429) stays in the phone's queue, is not
listed as refused, and goes again after the wait the server gave."""

from __future__ import annotations

import json

from gantong.checkpoint import verification
from gantong.extensions import db
from gantong.models import Holder, InformationPoint, User, VerificationRecord, utcnow
from tests.e2e.test_scan_decisions_e2e import login


def test_a_record_over_the_limit_waits_in_the_queue_and_goes_later(
    app, live_server, page, make_staff, make_holder
):
    staff_id, staff_phone, point_id = make_staff()
    holder_id = make_holder()
    with app.app_context():
        point, staff = db.session.get(InformationPoint, point_id), db.session.get(User, staff_id)
        bodies = []
        for _ in range(2):
            record, _ = verification.open_record(
                db.session.get(Holder, holder_id), point, staff, "camera", None, utcnow()
            )
            bodies.append(
                {
                    "record_id": record.record_id,
                    "reference": verification.reference_for(record),
                    "temperature": "36.5",
                    "decision": "pass",
                }
            )
        db.session.commit()
    app.config["RECORD_LIMIT_PER_STAFF"] = "1 per minute"
    login(page, live_server, staff_phone)
    page.goto(live_server + "/checkpoint/")
    page.wait_for_function("() => window.gantongQueue")
    page.evaluate(
        "async (bodies) => { for (const b of bodies) window.gantongQueue.enqueue(b);"
        " await window.gantongQueue.flush(true); }",
        bodies,
    )
    queued = json.loads(page.evaluate("localStorage.getItem('gantong-record-queue')"))
    assert [item["record_id"] for item in queued] == [bodies[1]["record_id"]]
    assert page.evaluate("localStorage.getItem('gantong-record-failed')") in (None, "[]")
    held_until = float(page.evaluate("localStorage.getItem('gantong-record-hold')"))
    assert held_until > page.evaluate("Date.now()")

    # While the wait lasts the queue does not send; once it is over (moved here rather than
    # waited for) and the budget allows, the record goes.
    app.config["RECORD_LIMIT_PER_STAFF"] = "100 per minute"
    page.evaluate("() => window.gantongQueue.flush(true)")
    assert len(json.loads(page.evaluate("localStorage.getItem('gantong-record-queue')"))) == 1
    page.evaluate("localStorage.setItem('gantong-record-hold', '0')")
    page.wait_for_function(
        "() => localStorage.getItem('gantong-record-queue') === '[]'", timeout=15000
    )
    with app.app_context():
        assert (
            db.session.scalar(
                db.select(db.func.count())
                .select_from(VerificationRecord)
                .where(VerificationRecord.recorded_at.is_not(None))
            )
            == 2
        )
