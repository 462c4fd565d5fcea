"""Official case records (gantong.review.official_records), called directly: the two-officer rule."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from gantong.extensions import db
from gantong.holders import registry
from gantong.models import (
    AuditEvent,
    ColourChange,
    Holder,
    Notification,
    OfficialRecord,
    User,
    utcnow,
)
from gantong.review import official_records

BASIS = "东卫疾控〔2020〕7号"


def count(model, *where):
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def actions():
    return list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.seq)))


def event(action):
    return db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc())
    ).first()


@pytest.fixture
def people(officer, make_user, make_holder):
    """A green resident of 360102 and two officers of the district."""
    user_id, _ = make_user()
    return make_holder(user_id, name="李小红"), officer(), officer()


def get(model, item_id):
    return db.session.get(model, item_id)


@pytest.mark.parametrize("status", ["confirmed", "suspected", "close_contact"])
def test_a_red_making_record_waits_for_a_second_officer_and_changes_nothing_yet(
    app, people, status, today
):
    holder_id, first, _ = people
    moment = utcnow()
    with app.app_context():
        holder = get(Holder, holder_id)
        entry = official_records.record(
            holder,
            get(User, first),
            status,
            f"  {BASIS} ",
            contact_date=today - timedelta(days=1),
            now=moment,
        )
        db.session.commit()  # the caller (a request, a command) commits
        entry = get(OfficialRecord, entry.id)
        assert (entry.state, entry.status, entry.basis, entry.recorded_by, entry.recorded_at) == (
            "pending",
            status,
            BASIS,
            first,
            moment,
        )
        assert (entry.approved_by, entry.decided_at, entry.department) == (
            None,
            None,
            "东湖区疾控中心",
        )
        assert entry.contact_date == (
            today - timedelta(days=1) if status == "close_contact" else None
        )
        # Not in force: no hit, no colour change, nothing told to the holder yet.
        assert registry.colour_of(holder).hits == () and get(Holder, holder_id).colour == "green"
        assert count(Notification, Notification.kind == "official_record") == 0
        assert "colour.change" not in actions()
        # The trail names the subject, never the status (health data).
        recorded = event("official.record")
        assert (recorded.actor_id, recorded.subject_id, recorded.reason) == (
            first,
            str(entry.id),
            BASIS,
        )
        assert json.loads(recorded.after) == {"state": "pending", "holder_id": holder_id}
        assert status not in recorded.before + recorded.after


def test_a_second_officers_approval_puts_it_in_force_and_turns_the_code_red(app, people):
    holder_id, first, second = people
    recorded_at, approved_at = utcnow() - timedelta(hours=2), utcnow()
    with app.app_context():
        holder = get(Holder, holder_id)
        entry = official_records.record(
            holder, get(User, first), "confirmed", BASIS, now=recorded_at
        )
        returned = official_records.approve(
            entry, get(User, second), " 两次核酸阳性 ", now=approved_at
        )
        assert returned is entry
        db.session.commit()  # the caller (a request, a command) commits
        entry = get(OfficialRecord, entry.id)
        assert (entry.state, entry.approved_by, entry.decided_at, entry.decision_reason) == (
            "in_force",
            second,
            approved_at,
            "两次核酸阳性",
        )
        [hit] = registry.colour_of(holder, approved_at).hits
        assert (hit.key, hit.rule, hit.colour) == (f"case:official:{entry.id}", "case", "red")
        holder = get(Holder, holder_id)
        assert (holder.colour, holder.colour_at) == ("red", approved_at)
        change = db.session.scalars(
            db.select(ColourChange).order_by(ColourChange.id.desc())
        ).first()
        assert (change.before, change.after, change.actor_id, change.reason, change.rules) == (
            "green",
            "red",
            second,
            BASIS,
            "case",
        )
        approved = event("official.approve")
        assert (approved.actor_id, approved.subject_id, approved.reason) == (
            second,
            str(entry.id),
            "两次核酸阳性",
        )
        assert json.loads(approved.before) == {"state": "pending"}
        assert json.loads(approved.after) == {"state": "in_force"}
        notice = db.session.scalar(
            db.select(Notification).where(Notification.kind == "official_record")
        )
        params = json.loads(notice.params)
        assert (params["status"], params["basis"], params["department"]) == (
            "confirmed",
            BASIS,
            "东湖区疾控中心",
        )
        assert params["badge"] == get(User, second).badge_number


def test_an_approved_close_contact_counts_from_its_contact_date(app, people, today):
    holder_id, first, second = people
    contact = today - timedelta(days=4)
    with app.app_context():
        entry = official_records.record(
            get(Holder, holder_id), get(User, first), "close_contact", BASIS, contact_date=contact
        )
        official_records.approve(entry, get(User, second), "流调确认")
        [hit] = registry.colour_of(get(Holder, holder_id)).hits
        assert (hit.rule, hit.colour, hit.since, hit.until) == (
            "close_contact",
            "red",
            contact,
            contact + timedelta(days=14),
        )


def test_nobody_approves_their_own_record(app, people):
    holder_id, first, _ = people
    with app.app_context():
        entry = official_records.record(
            get(Holder, holder_id), get(User, first), "suspected", BASIS
        )
        db.session.commit()  # what came before was its own request
        before = actions()
        db.session.commit()  # what came before was its own request
        with pytest.raises(official_records.SelfApproval):
            official_records.approve(entry, get(User, first), "我确认")
        db.session.rollback()
        entry = get(OfficialRecord, entry.id)
        assert (entry.state, entry.approved_by) == ("pending", None)
        assert actions() == before and get(Holder, holder_id).colour == "green"


def test_its_author_may_reject_it_and_then_nobody_approves_it(app, people):
    holder_id, first, second = people
    moment = utcnow()
    with app.app_context():
        entry = official_records.record(
            get(Holder, holder_id), get(User, first), "confirmed", BASIS
        )
        official_records.reject(entry, get(User, first), "录错了人", now=moment)
        db.session.commit()
        entry = get(OfficialRecord, entry.id)
        assert (entry.state, entry.approved_by, entry.decided_at, entry.decision_reason) == (
            "rejected",
            None,
            moment,
            "录错了人",
        )
        rejected = event("official.reject")
        assert rejected.actor_id == first and json.loads(rejected.after) == {"state": "rejected"}
        assert get(Holder, holder_id).colour == "green"
        assert count(Notification, Notification.kind == "official_record") == 0
        db.session.commit()  # what came before was its own request
        with pytest.raises(official_records.NotPending):
            official_records.approve(entry, get(User, second), "确认")
        db.session.rollback()
        assert (
            get(OfficialRecord, entry.id).state == "rejected"
            and get(Holder, holder_id).colour == "green"
        )


def test_a_record_in_force_is_not_decided_again(app, people, officer):
    holder_id, first, second = people
    third = officer()
    with app.app_context():
        entry = official_records.record(
            get(Holder, holder_id), get(User, first), "confirmed", BASIS
        )
        official_records.approve(entry, get(User, second), "确认")
        db.session.commit()  # what came before was its own request
        before = actions()
        db.session.commit()  # what came before was its own request
        with pytest.raises(official_records.NotPending):
            official_records.approve(entry, get(User, third), "再确认")
        db.session.commit()  # what came before was its own request
        with pytest.raises(official_records.NotPending):
            official_records.reject(entry, get(User, third), "撤回")
        db.session.rollback()
        entry = get(OfficialRecord, entry.id)
        assert (entry.state, entry.approved_by) == ("in_force", second) and actions() == before
        assert get(Holder, holder_id).colour == "red"


@pytest.mark.parametrize("decide", [official_records.approve, official_records.reject])
def test_a_decision_needs_a_reason(app, people, decide):
    holder_id, first, second = people
    with app.app_context():
        entry = official_records.record(
            get(Holder, holder_id), get(User, first), "confirmed", BASIS
        )
        db.session.commit()  # what came before was its own request
        with pytest.raises(official_records.ReasonRequired):
            decide(entry, get(User, second), "   ")
        db.session.rollback()
        assert get(OfficialRecord, entry.id).state == "pending"


@pytest.mark.parametrize(
    ("role", "district"), [("officer", "360111"), ("admin", "360102"), ("officer", None)]
)
def test_only_officers_of_the_holders_district_record_or_decide(
    app, people, officer, role, district
):
    holder_id, first, _ = people
    outsider = officer(district, role=role)
    with app.app_context():
        db.session.commit()  # what came before was its own request
        with pytest.raises(official_records.OutOfDistrict):
            official_records.record(get(Holder, holder_id), get(User, outsider), "confirmed", BASIS)
        db.session.commit()  # what came before was its own request
        with pytest.raises(official_records.OutOfDistrict):
            official_records.record(get(Holder, holder_id), get(User, outsider), "cleared", BASIS)
        db.session.rollback()
        assert count(OfficialRecord) == 0
        entry = official_records.record(
            get(Holder, holder_id), get(User, first), "confirmed", BASIS
        )
        db.session.commit()
        for decide in (official_records.approve, official_records.reject):
            with pytest.raises(official_records.OutOfDistrict):
                decide(entry, get(User, outsider), "确认")
        db.session.rollback()
        assert (
            get(OfficialRecord, entry.id).state == "pending"
            and get(Holder, holder_id).colour == "green"
        )


@pytest.mark.parametrize(
    ("status", "basis", "contact"),
    [
        ("recovered", BASIS, None),  # not a status
        ("", BASIS, None),
        ("confirmed", "", None),  # no basis
        ("confirmed", "  \n ", None),
        ("suspected", "号" * 101, None),  # longer than the column
        ("close_contact", BASIS, None),  # a close contact needs its date
    ],
)
def test_an_invalid_record_is_refused_and_nothing_written(app, people, status, basis, contact):
    holder_id, first, _ = people
    with app.app_context():
        db.session.commit()  # what came before was its own request
        before = actions()
        db.session.commit()  # what came before was its own request
        with pytest.raises(official_records.InvalidRecord):
            official_records.record(
                get(Holder, holder_id), get(User, first), status, basis, contact_date=contact
            )
        db.session.rollback()
        assert count(OfficialRecord) == 0 and actions() == before


def test_a_basis_of_100_characters_is_kept_whole(app, people):
    holder_id, first, _ = people
    with app.app_context():
        entry = official_records.record(
            get(Holder, holder_id), get(User, first), "suspected", "号" * 100
        )
        db.session.commit()
        assert get(OfficialRecord, entry.id).basis == "号" * 100


def test_one_officer_records_cleared_in_force_at_once_and_it_ends_the_case(app, people, officer):
    holder_id, first, second = people
    clearing = officer()
    case_at = utcnow() - timedelta(days=3)
    moment = utcnow()
    with app.app_context():
        holder = get(Holder, holder_id)
        case = official_records.record(holder, get(User, first), "confirmed", BASIS, now=case_at)
        official_records.approve(case, get(User, second), "确诊", now=case_at)
        assert holder.colour == "red"
        cleared = official_records.record(
            holder,
            get(User, clearing),
            "cleared",
            "东卫疾控〔2020〕30号",
            contact_date=moment.date(),
            now=moment,
        )
        db.session.commit()
        cleared = get(OfficialRecord, cleared.id)
        # "Cleared" can only lower a colour, so it needs no second officer.
        assert (cleared.state, cleared.decided_at, cleared.approved_by, cleared.contact_date) == (
            "in_force",
            moment,
            None,
            None,
        )
        assert json.loads(event("official.record").after) == {
            "state": "in_force",
            "holder_id": holder_id,
        }
        assert registry.colour_of(get(Holder, holder_id), moment).hits == ()
        change = db.session.scalars(
            db.select(ColourChange).order_by(ColourChange.id.desc())
        ).first()
        assert (change.before, change.after, change.actor_id) == ("red", "green", clearing)
        assert get(Holder, holder_id).colour == "green"
        kinds = list(db.session.scalars(db.select(Notification.kind).order_by(Notification.id)))
        assert kinds.count("official_record") == 2  # the case in force, then the clearing


def test_a_case_approved_after_a_cleared_record_is_red_again(app, people):
    holder_id, first, second = people
    start = utcnow() - timedelta(hours=3)
    with app.app_context():
        holder = get(Holder, holder_id)
        official_records.record(
            holder, get(User, first), "cleared", "东卫疾控〔2020〕30号", now=start
        )
        again = official_records.record(
            holder, get(User, first), "confirmed", BASIS, now=start + timedelta(hours=1)
        )
        assert holder.colour == "green"
        official_records.approve(again, get(User, second), "复阳", now=start + timedelta(hours=2))
        assert holder.colour == "red"


def test_the_holders_records_come_newest_first_and_only_officers_are_named(app, people, make_user):
    holder_id, first, second = people
    resident_id, _ = make_user()
    with app.app_context():
        holder = get(Holder, holder_id)
        older = official_records.record(holder, get(User, first), "suspected", BASIS)
        newer = official_records.record(holder, get(User, second), "cleared", BASIS)
        assert official_records.for_holder(holder) == [newer, older]
        named = official_records.officers_among([first, second, resident_id, None])
        assert sorted(named) == [first, second] and named[first].role == "officer"
        assert official_records.officers_among([None]) == {}
