"""What applications, claims and official records share (gantong.review.decisions), called directly."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Application, AuditEvent, Claim, Clearance, Holder, User, utcnow
from gantong.review import applications, claims, decisions, official_records
from tests.conftest import USING_POSTGRES


def events(action):
    return list(
        db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    )


def registry_key(holder):
    """The key of the holder's one hit."""
    [hit] = registry.colour_of(holder).hits
    return hit.key


@pytest.mark.nodb
def test_the_three_services_raise_the_shared_exceptions():
    # Views catch them from the service they call; they must be the very same classes.
    for module in (applications, claims, official_records):
        assert module.NotPending is decisions.NotPending
        assert module.OutOfDistrict is decisions.OutOfDistrict
        assert module.ReasonRequired is decisions.ReasonRequired


@pytest.mark.nodb
def test_a_reason_is_returned_stripped():
    assert decisions.required_reason("  核酸阴性，报告属实 \n") == "核酸阴性，报告属实"


@pytest.mark.nodb
@pytest.mark.parametrize("blank", [None, "", "   ", "\t\n"])
def test_a_blank_reason_is_refused(blank):
    with pytest.raises(decisions.ReasonRequired):
        decisions.required_reason(blank)


def test_an_officer_of_the_holders_district_passes_the_check(app, officer, make_holder):
    officer_id = officer("360102")
    holder_id = make_holder(district="360102")
    with app.app_context():
        decisions.check_officer(db.session.get(User, officer_id), db.session.get(Holder, holder_id))


@pytest.mark.parametrize(
    ("role", "district"),
    [
        ("officer", "360111"),  # another district
        ("officer", "3601"),  # the city above is not the district
        ("officer", None),  # an officer without a district
        ("admin", "360102"),  # other roles, even with the district set
        ("resident", "360102"),
    ],
)
def test_anyone_else_is_out_of_district(app, officer, make_holder, role, district):
    user_id = officer(district, role=role)
    holder_id = make_holder(district="360102")
    with app.app_context():
        with pytest.raises(decisions.OutOfDistrict):
            decisions.check_officer(
                db.session.get(User, user_id), db.session.get(Holder, holder_id)
            )


def test_staff_are_out_of_district(app, make_staff, make_holder):
    staff_id, _, _ = make_staff()
    holder_id = make_holder()
    with app.app_context():
        with pytest.raises(decisions.OutOfDistrict):
            decisions.check_officer(
                db.session.get(User, staff_id), db.session.get(Holder, holder_id)
            )


def test_file_pending_stores_commits_and_audits(app, make_user, make_holder):
    user_id, _ = make_user()
    holder_id = make_holder(user_id, symptoms=["fever"])
    moment = utcnow() - timedelta(hours=2)
    with app.app_context():
        holder, user = db.session.get(Holder, holder_id), db.session.get(User, user_id)
        key = registry_key(holder)
        item = Claim(
            holder_id=holder.id,
            applicant_id=user.id,
            hit_key=key,
            wrong_fact="a",
            correct_fact="b",
            acknowledged=True,
            status=decisions.PENDING,
            created_at=moment,
        )
        returned = decisions.file_pending(item, "claim", user, moment)
        assert returned is item and item.id is not None
        db.session.commit()  # the caller (a request, a command) commits
        stored = db.session.get(Claim, item.id)
        assert stored.status == "pending" and stored.created_at == moment
        [event] = events("claim.create")
        assert (event.subject_type, event.subject_id, event.actor_id, event.at) == (
            "claim",
            str(item.id),
            user_id,
            moment,
        )
        assert json.loads(event.after) == {"status": "pending", "holder_id": holder_id}


def test_lock_pending_rereads_the_item_so_a_decision_made_meanwhile_is_seen(
    app, make_user, make_holder
):
    user_id, _ = make_user()
    holder_id = make_holder(user_id, symptoms=["fever"])
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        application = applications.apply(
            holder, [registry_key(holder)], applications.Evidence("negative_test"), holder.account
        )
        decisions.lock_pending(application)  # pending: passes
        db.session.commit()
        # Another officer decides it past this session's copy (plain SQL: the identity map keeps "pending").
        db.session.execute(
            db.text("UPDATE application SET status = 'approved' WHERE id = :id"),
            {"id": application.id},
        )
        assert application.status == "pending"
        with pytest.raises(decisions.NotPending):
            decisions.lock_pending(application)
        assert application.status == "approved"


def test_lock_pending_reads_the_state_of_an_official_record(app, officer, make_holder):
    officer_id = officer()
    holder_id = make_holder()
    with app.app_context():
        entry = official_records.record(
            db.session.get(Holder, holder_id),
            db.session.get(User, officer_id),
            "suspected",
            "东卫疾控〔2020〕7号",
        )
        decisions.lock_pending(entry, "state")
        db.session.commit()
        db.session.execute(
            db.text("UPDATE official_record SET state = 'rejected' WHERE id = :id"),
            {"id": entry.id},
        )
        with pytest.raises(decisions.NotPending):
            decisions.lock_pending(entry, "state")


def test_withdraw_marks_the_item_withdrawn_once_and_audits_it(app, make_user, make_holder):
    user_id, _ = make_user()
    holder_id = make_holder(user_id, symptoms=["fever"])
    moment = utcnow()
    with app.app_context():
        holder, user = db.session.get(Holder, holder_id), db.session.get(User, user_id)
        claim = claims.file(holder, registry_key(holder), "fever", "no fever", "", user)
        decisions.withdraw(claim, "claim", user, moment)
        db.session.commit()  # the caller (a request, a command) commits
        claim = db.session.get(Claim, claim.id)
        assert (claim.status, claim.decided_at, claim.decided_by) == ("withdrawn", moment, None)
        [event] = events("claim.withdraw")
        assert (event.actor_id, event.subject_id, event.at) == (user_id, str(claim.id), moment)
        assert json.loads(event.before) == {"status": "pending"}
        assert json.loads(event.after) == {"status": "withdrawn"}
        db.session.commit()  # what came before was its own request
        with pytest.raises(decisions.NotPending):
            decisions.withdraw(claim, "claim", user, moment + timedelta(minutes=1))
        db.session.rollback()
        assert len(events("claim.withdraw")) == 1
        assert db.session.get(Claim, claim.id).decided_at == moment


def test_a_decided_item_cannot_be_withdrawn(app, officer, make_user, make_holder):
    user_id, _ = make_user()
    holder_id = make_holder(user_id, symptoms=["fever"])
    officer_id = officer()
    with app.app_context():
        holder, user = db.session.get(Holder, holder_id), db.session.get(User, user_id)
        application = applications.apply(
            holder, [registry_key(holder)], applications.Evidence("negative_test"), user
        )
        applications.decide(application, db.session.get(User, officer_id), False, "报告不清")
        db.session.commit()  # what came before was its own request
        with pytest.raises(decisions.NotPending):
            decisions.withdraw(application, "application", user, utcnow())
        db.session.rollback()
        assert db.session.get(Application, application.id).status == "rejected"
        assert events("application.withdraw") == []


def test_two_officers_deciding_at_once_cannot_both_pass(app, officer, make_user, make_holder):
    user_id, _ = make_user()
    holder_id = make_holder(user_id, symptoms=["fever"])
    approver, rejecter = officer(), officer()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        application_id = applications.apply(
            holder, [registry_key(holder)], applications.Evidence("negative_test"), holder.account
        ).id
    start, loaded = threading.Barrier(2, timeout=30), threading.Barrier(2, timeout=30)
    outcomes, errors = {}, []

    def decide(officer_id, approve):
        try:
            with app.app_context():
                start.wait()
                item = db.session.get(Application, application_id)
                assert item.status in ("pending", "approved", "rejected")
                if USING_POSTGRES:
                    # Both read it pending before either decides (on SQLite the first read
                    # already takes the write lock, so the two run one after the other).
                    assert item.status == "pending"
                    loaded.wait()
                try:
                    applications.decide(item, db.session.get(User, officer_id), approve, "理由")
                    outcomes[approve] = "decided"
                except decisions.NotPending:
                    outcomes[approve] = "not pending"
        except Exception as error:  # shown by the assertion below
            errors.append(error)

    threads = [
        threading.Thread(target=decide, args=(approver, True)),
        threading.Thread(target=decide, args=(rejecter, False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(outcomes.values()) == ["decided", "not pending"]
    [winner] = [approve for approve, outcome in outcomes.items() if outcome == "decided"]
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.status == ("approved" if winner else "rejected")
        assert application.decided_by == (approver if winner else rejecter)
        assert len(events("application.approve")) + len(events("application.reject")) == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(Clearance)) == (
            1 if winner else 0
        )
        assert db.session.get(Holder, holder_id).colour == ("green" if winner else "yellow")
