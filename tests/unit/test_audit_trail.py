"""The audit trail's hash chain: tampering straight in the database is found and named."""

from __future__ import annotations

import pytest

from gantong import audit
from gantong.extensions import db
from gantong.models import AuditEvent


@pytest.fixture
def chain(app):
    """Five events appended as the app appends them."""
    with app.app_context():
        for number in range(1, 6):
            audit.append(
                "application.approve",
                "application",
                number,
                actor=number,
                before={"status": "pending"},
                after={"status": "approved"},
                reason=f"理由 {number}",
            )
        db.session.commit()
        head = audit.verify_chain()
        assert head.ok and head.count == 5
    return head.head_hash


def sql(app, statement, **params):
    """Tamper as an intruder with database access would: plain SQL, past the app."""
    with app.app_context():
        db.session.execute(db.text(statement), params)
        db.session.commit()


def check(app):
    with app.app_context():
        return audit.verify_chain()


def test_an_intact_chain_verifies_and_gives_its_head_hash(app, chain):
    result = check(app)
    assert result.ok and result.count == 5 and result.head_hash == chain
    output = app.test_cli_runner().invoke(args=["gantong", "audit", "verify"])
    assert output.exit_code == 0 and "ok: 5 events" in output.output and chain in output.output


def test_a_changed_event_is_found(app, chain):
    sql(app, "UPDATE audit_event SET reason = :reason WHERE seq = 3", reason="改过的理由")
    result = check(app)
    assert not result.ok and result.first_broken == 3 and result.count == 2
    assert "changed" in result.problem


def test_a_changed_actor_is_found(app, chain):
    sql(app, "UPDATE audit_event SET actor_id = 99 WHERE seq = 4")
    assert check(app).first_broken == 4


def test_a_deleted_event_is_found(app, chain):
    sql(app, "DELETE FROM audit_event WHERE seq = 2")
    result = check(app)
    assert not result.ok and result.first_broken == 3
    assert "deleted or reordered" in result.problem


def test_reordered_events_are_found(app, chain):
    # Swap events 2 and 3 by their sequence numbers (through a free number, for the primary key).
    sql(app, "UPDATE audit_event SET seq = 1000 WHERE seq = 2")
    sql(app, "UPDATE audit_event SET seq = 2 WHERE seq = 3")
    sql(app, "UPDATE audit_event SET seq = 3 WHERE seq = 1000")
    result = check(app)
    assert not result.ok and result.first_broken == 2


def test_a_rewritten_tail_shows_only_against_the_kept_head_hash(app, chain):
    # Deleting the newest event leaves a valid, shorter chain: the head hash kept elsewhere differs.
    sql(app, "DELETE FROM audit_event WHERE seq = 5")
    result = check(app)
    assert result.ok and result.count == 4 and result.head_hash != chain


def test_the_cli_names_the_first_broken_event(app, chain):
    sql(app, "UPDATE audit_event SET after = :after WHERE seq = 4", after='{"status": "rejected"}')
    output = app.test_cli_runner().invoke(args=["gantong", "audit", "verify"])
    assert output.exit_code == 1
    assert "BROKEN at event 4" in output.output and "3 events verified" in output.output


def test_the_app_never_updates_or_deletes_an_event(app, chain):
    with app.app_context():
        event = db.session.get(AuditEvent, 2)
        event.reason = "quietly changed"
        with pytest.raises(audit.AppendOnly):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEvent, 2))
        with pytest.raises(audit.AppendOnly):
            db.session.flush()
        db.session.rollback()
    assert check(app).ok


def test_a_decision_writes_its_event_in_the_same_transaction(app, make_user, make_holder):
    from gantong.models import Holder, User
    from gantong.review import applications

    user_id, _ = make_user()
    officer_id, _ = make_user(
        role="officer", district_code="360102", badge_number="DH-0301", department="东湖区疾控中心"
    )
    holder_id = make_holder(user_id, symptoms=["fever"])
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        hits = applications.open_hits(holder)
        item = applications.apply(
            holder, [hits[0].key], applications.Evidence("other", note="隔离期满"), holder.account
        )
        applications.decide(item, db.session.get(User, officer_id), True, "同意")
        events = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.seq)).all()
        decision = next(event for event in events if event.action == "application.approve")
        assert (decision.actor_id, decision.subject_id, decision.reason) == (
            officer_id,
            str(item.id),
            "同意",
        )
        # Subject ids only: no health data in the event.
        assert "fever" not in decision.after and "symptoms" not in decision.after
        assert audit.verify_chain().ok
