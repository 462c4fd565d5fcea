"""Transcoding applications (gantong.review.applications), called directly."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from gantong.core import rules
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import (
    Application,
    AuditEvent,
    Clearance,
    ColourChange,
    Holder,
    Notification,
    User,
    utcnow,
)
from gantong.review import applications, official_records
from tests.conftest import resident_id

EVIDENCE = applications.Evidence(
    grounds="negative_test",
    test_date=date(2020, 2, 11),
    institution="南昌大学第一附属医院",
    report_number="NAT-2020-0211",
    note="两次阴性",
)


def count(model, *where):
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def actions():
    return list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.seq)))


def keys(holder):
    return [hit.key for hit in registry.colour_of(holder).hits]


@pytest.fixture
def fever(make_user, make_holder):
    """A resident who declared a fever and a dry cough: yellow, one symptoms hit."""
    user_id, _ = make_user()
    return user_id, make_holder(user_id, name="李小红", symptoms=["fever", "dry_cough"])


def test_the_hits_open_for_transcoding_leave_out_a_case_and_pending_ones(
    app, officer, make_user, make_holder
):
    user_id, _ = make_user()
    holder_id = make_holder(user_id, symptoms=["fever"])
    first, second = officer(), officer()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        entry = official_records.record(
            holder, db.session.get(User, first), "confirmed", "东卫疾控〔2020〕7号"
        )
        official_records.approve(entry, db.session.get(User, second), "两名医生确诊")
        case_key, symptoms_key = f"case:official:{entry.id}", keys(holder)[1]
        assert keys(holder) == [case_key, symptoms_key] and holder.colour == "red"
        # A case ends only with an official "cleared" record, never with a transcoding.
        assert [hit.key for hit in applications.open_hits(holder)] == [symptoms_key]
        with pytest.raises(applications.HitsUnavailable) as refused:
            applications.apply(holder, [case_key], EVIDENCE, holder.account)
        assert refused.value.args == ([case_key],)
        applications.apply(holder, [symptoms_key], EVIDENCE, holder.account)
        assert applications.open_hits(holder) == [] and applications.pending_keys(holder) == {
            symptoms_key
        }


def test_applying_files_a_pending_application_with_its_evidence(app, fever):
    user_id, holder_id = fever
    moment = utcnow() - timedelta(minutes=5)
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        [key] = keys(holder)
        # The same key named twice is stored once.
        application = applications.apply(holder, [key, key], EVIDENCE, holder.account, now=moment)
        db.session.commit()  # the caller (a request, a command) commits
        stored = db.session.get(Application, application.id)
        assert (stored.status, stored.hit_keys, stored.applicant_id, stored.created_at) == (
            "pending",
            key,
            user_id,
            moment,
        )
        assert (
            stored.grounds,
            stored.test_date,
            stored.institution,
            stored.report_number,
            stored.note,
        ) == (
            "negative_test",
            date(2020, 2, 11),
            "南昌大学第一附属医院",
            "NAT-2020-0211",
            "两次阴性",
        )
        assert stored.decided_by is None and stored.decided_at is None
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "application.create")
        )
        assert (event.actor_id, event.subject_id, event.at) == (
            user_id,
            str(application.id),
            moment,
        )
        assert json.loads(event.after) == {"status": "pending", "holder_id": holder_id}
        # Filing changes no colour.
        assert holder.colour == "yellow" and registry.colour_of(holder).colour == "yellow"
        assert applications.for_holder(holder) == [stored]


def test_several_hits_go_in_one_application_and_one_approval_clears_them_all(
    app, officer, make_user, make_holder
):
    user_id, _ = make_user()
    holder_id = make_holder(user_id, symptoms=["fever"])
    officer_id = officer()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        registry.declare(
            holder,
            registry.DeclarationFacts(symptoms=["fatigue"], close_contact=False, contact_date=None),
            holder.account,
        )
        both = keys(holder)
        assert len(both) == 2
        application = applications.apply(holder, both, EVIDENCE, holder.account)
        assert application.hit_keys == ",".join(both)
        applications.decide(application, db.session.get(User, officer_id), True, "阴性")
        assert sorted(db.session.scalars(db.select(Clearance.hit_key))) == sorted(both)
        assert registry.colour_of(holder).hits == () and holder.colour == "green"


@pytest.mark.parametrize("named", [[], ["symptoms:decl:999"], ["<the hit>", "symptoms:decl:999"]])
def test_an_application_naming_no_hit_or_an_unknown_one_is_refused_and_nothing_written(
    app, fever, named
):
    _, holder_id = fever
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        [key] = keys(holder)
        named = [key if name == "<the hit>" else name for name in named]
        db.session.commit()  # what came before was its own request
        before = actions()
        db.session.commit()  # what came before was its own request
        with pytest.raises(applications.HitsUnavailable) as refused:
            applications.apply(holder, named, EVIDENCE, holder.account)
        assert refused.value.args == ([name for name in named if name != key],)
        db.session.rollback()
        assert count(Application) == 0 and actions() == before


def test_a_hit_already_named_by_a_pending_application_is_refused(app, fever):
    _, holder_id = fever
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        [key] = keys(holder)
        applications.apply(holder, [key], EVIDENCE, holder.account)
        db.session.commit()  # what came before was its own request
        with pytest.raises(applications.HitsUnavailable):
            applications.apply(holder, [key], EVIDENCE, holder.account)
        db.session.rollback()
        assert count(Application) == 1


def test_an_approval_clears_the_hit_turns_the_code_green_audits_and_notifies(app, officer, fever):
    user_id, holder_id = fever
    officer_id = officer()
    moment = utcnow()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        [key] = keys(holder)
        application = applications.apply(
            holder, [key], EVIDENCE, holder.account, now=moment - timedelta(hours=1)
        )
        decided = applications.decide(
            application, db.session.get(User, officer_id), True, "  核酸阴性，报告属实 ", now=moment
        )
        assert decided is application
        db.session.commit()  # the caller (a request, a command) commits
        application = db.session.get(Application, application.id)
        assert (
            application.status,
            application.decided_by,
            application.decided_at,
            application.decision_reason,
        ) == ("approved", officer_id, moment, "核酸阴性，报告属实")
        [clearance] = db.session.scalars(db.select(Clearance)).all()
        assert (
            clearance.holder_id,
            clearance.hit_key,
            clearance.source,
            clearance.officer_id,
            clearance.at,
        ) == (holder_id, key, f"application:{application.id}", officer_id, moment)
        # The colour: recomputed and stored, with the officer and the reason in the history.
        assert registry.colour_of(holder, moment).colour == "green"
        holder = db.session.get(Holder, holder_id)
        assert (holder.colour, holder.colour_at) == ("green", moment)
        change = db.session.scalars(
            db.select(ColourChange).order_by(ColourChange.id.desc())
        ).first()
        assert (change.before, change.after, change.actor_id, change.reason) == (
            "yellow",
            "green",
            officer_id,
            "核酸阴性，报告属实",
        )
        approve = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "application.approve")
        )
        assert (approve.actor_id, approve.subject_id, approve.reason) == (
            officer_id,
            str(application.id),
            "核酸阴性，报告属实",
        )
        assert json.loads(approve.before) == {"status": "pending"}
        assert json.loads(approve.after) == {"status": "approved"}
        assert actions()[-2:] == ["application.approve", "colour.change"]
        decided_notice = db.session.scalar(
            db.select(Notification).where(Notification.kind == "application_decided")
        )
        assert decided_notice.account_id == user_id
        assert json.loads(decided_notice.params)["status"] == "approved"
        # A cleared hit stays cleared: the same fact offers nothing to apply for again.
        assert applications.open_hits(holder) == []


def test_a_rejection_keeps_the_colour_and_the_hit_can_be_applied_for_again(app, officer, fever):
    user_id, holder_id = fever
    officer_id = officer()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        [key] = keys(holder)
        application = applications.apply(holder, [key], EVIDENCE, holder.account)
        changes = count(ColourChange)
        applications.decide(
            application, db.session.get(User, officer_id), False, "报告编号查无此件"
        )
        assert (application.status, application.decision_reason) == ("rejected", "报告编号查无此件")
        assert count(Clearance) == 0 and count(ColourChange) == changes
        assert holder.colour == "yellow" and registry.colour_of(holder).colour == "yellow"
        assert actions()[-1] == "application.reject"
        notice = db.session.scalar(
            db.select(Notification).where(Notification.kind == "application_decided")
        )
        assert json.loads(notice.params)["status"] == "rejected"
        assert [hit.key for hit in applications.open_hits(holder)] == [key]


def test_an_approved_close_contact_stays_red_until_its_14_days_have_passed(
    app, officer, make_user, make_holder, today
):
    """Close contact ends 14 days after the contact *and* an approved negative test."""
    contact = today - timedelta(days=3)
    approved_id = make_holder(make_user()[0], contact_date=contact, close_contact=True)
    unapproved_id = make_holder(
        make_user()[0],
        number=resident_id("36010219900101456"),
        contact_date=contact,
        close_contact=True,
    )
    officer_id = officer()
    with app.app_context():
        approved, unapproved = (
            db.session.get(Holder, approved_id),
            db.session.get(Holder, unapproved_id),
        )
        [hit] = registry.colour_of(approved).hits
        assert (hit.rule, hit.colour, hit.until) == (
            "close_contact",
            "red",
            contact + timedelta(days=14),
        )
        application = applications.apply(approved, [hit.key], EVIDENCE, approved.account)
        applications.decide(application, db.session.get(User, officer_id), True, "核酸阴性")
        assert approved.colour == "red" and registry.colour_of(approved).colour == "red"
        day_15 = rules.day_start(contact + timedelta(days=14)) + timedelta(hours=1)
        assert registry.store_colour(approved, day_15).colour == "green"
        assert approved.colour == "green"
        # Without the approval, time alone does not end it.
        assert registry.store_colour(unapproved, day_15).colour == "red"


def test_a_decision_needs_a_reason_and_changes_nothing_without_one(app, officer, fever):
    _, holder_id = fever
    officer_id = officer()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        application = applications.apply(holder, keys(holder), EVIDENCE, holder.account)
        db.session.commit()  # what came before was its own request
        before = actions()
        for approve in (True, False):
            with pytest.raises(applications.ReasonRequired):
                applications.decide(application, db.session.get(User, officer_id), approve, "  ")
        db.session.rollback()
        assert db.session.get(Application, application.id).status == "pending"
        assert actions() == before and count(Clearance) == 0
        assert count(Notification, Notification.kind == "application_decided") == 0
        assert db.session.get(Holder, holder_id).colour == "yellow"


@pytest.mark.parametrize(
    ("role", "district"), [("officer", "360111"), ("admin", "360102"), ("officer", None)]
)
def test_only_an_officer_of_the_holders_district_decides(app, officer, fever, role, district):
    _, holder_id = fever
    outsider = officer(district, role=role)
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        application = applications.apply(holder, keys(holder), EVIDENCE, holder.account)
        db.session.commit()  # what came before was its own request
        before = actions()
        db.session.commit()  # what came before was its own request
        with pytest.raises(applications.OutOfDistrict):
            applications.decide(application, db.session.get(User, outsider), True, "阴性")
        db.session.rollback()
        assert db.session.get(Application, application.id).status == "pending"
        assert actions() == before and count(Clearance) == 0
        assert db.session.get(Holder, holder_id).colour == "yellow"


def test_a_decided_application_is_not_decided_again(app, officer, fever):
    _, holder_id = fever
    first, second = officer(), officer()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        application = applications.apply(holder, keys(holder), EVIDENCE, holder.account)
        applications.decide(application, db.session.get(User, first), False, "报告不清")
        db.session.commit()  # what came before was its own request
        before = actions()
        db.session.commit()  # what came before was its own request
        with pytest.raises(applications.NotPending):
            applications.decide(application, db.session.get(User, second), True, "阴性")
        db.session.rollback()
        application = db.session.get(Application, application.id)
        assert (application.status, application.decided_by) == ("rejected", first)
        assert actions() == before and count(Clearance) == 0


def test_the_applicant_withdraws_and_the_hit_is_open_again(app, officer, fever):
    user_id, holder_id = fever
    officer_id = officer()
    moment = utcnow()
    with app.app_context():
        holder, user = db.session.get(Holder, holder_id), db.session.get(User, user_id)
        [key] = keys(holder)
        application = applications.apply(
            holder, [key], EVIDENCE, user, now=moment - timedelta(hours=1)
        )
        assert applications.open_hits(holder) == []
        applications.withdraw(application, user, now=moment)
        db.session.commit()
        application = db.session.get(Application, application.id)
        assert (application.status, application.decided_at, application.decided_by) == (
            "withdrawn",
            moment,
            None,
        )
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "application.withdraw")
        )
        assert (event.actor_id, event.subject_id, event.at) == (
            user_id,
            str(application.id),
            moment,
        )
        assert (
            holder.colour == "yellow"
            and count(Notification, Notification.kind == "application_decided") == 0
        )
        assert [hit.key for hit in applications.open_hits(holder)] == [key]
        # Withdrawn is final: neither withdrawn again nor decided.
        db.session.commit()  # what came before was its own request
        with pytest.raises(applications.NotPending):
            applications.withdraw(application, user)
        db.session.commit()  # what came before was its own request
        with pytest.raises(applications.NotPending):
            applications.decide(application, db.session.get(User, officer_id), True, "阴性")
        db.session.rollback()
        assert (
            db.session.get(Application, application.id).status == "withdrawn"
            and count(Clearance) == 0
        )
        # A new application for the same hit may be filed.
        again = applications.apply(holder, [key], EVIDENCE, user)
        assert [item.id for item in applications.for_holder(holder)] == [again.id, application.id]
