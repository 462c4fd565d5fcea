"""My Claim (gantong.review.claims), called directly: filing, deciding, the correction it writes."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from gantong.extensions import db
from gantong.holders import registry
from gantong.models import (
    AuditEvent,
    Claim,
    Clearance,
    ColourChange,
    Declaration,
    FeverFinding,
    Holder,
    Notification,
    OfficialRecord,
    User,
    utcnow,
)
from gantong.review import applications, claims, official_records
from tests.conftest import resident_id

BASIS = "东卫疾控〔2020〕12号"


def count(model, *where):
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def actions():
    return list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.seq)))


def only_key(holder, now=None):
    [hit] = registry.colour_of(holder, now).hits
    return hit.key


def file(holder, key, now=None):
    return claims.file(holder, key, "我没有发热", "无症状", "勾错了选项", holder.account, now=now)


@pytest.fixture
def fever(make_user, make_holder):
    """A resident who declared a fever: yellow, one symptoms hit from a declaration."""
    user_id, _ = make_user()
    return user_id, make_holder(user_id, name="李小红", symptoms=["fever"])


@pytest.fixture
def case(app, officer, make_user, make_holder):
    """A resident with a confirmed case in force (two officers), an hour ago: red."""
    user_id, _ = make_user()
    holder_id = make_holder(user_id, name="王大明", number=resident_id("36010219850505321"))
    first, second = officer(), officer()
    at = utcnow() - timedelta(hours=1)
    with app.app_context():
        entry = official_records.record(
            db.session.get(Holder, holder_id),
            db.session.get(User, first),
            "confirmed",
            "东卫疾控〔2020〕7号",
            now=at,
        )
        official_records.approve(entry, db.session.get(User, second), "核酸阳性", now=at)
        assert db.session.get(Holder, holder_id).colour == "red"
        return holder_id, f"case:official:{entry.id}"


@pytest.mark.parametrize(
    ("key", "source"),
    [
        ("symptoms:decl:5", "decl"),
        ("close_contact:decl:2", "decl"),
        ("risk_area:decl:3:4201", "decl"),
        ("case:official:7", "official"),
        ("close_contact:official:8", "official"),
        ("checkpoint_fever:fever:4", "fever"),
        ("", ""),
    ],
)
@pytest.mark.nodb
def test_the_source_of_a_hit_is_read_from_its_key(key, source):
    assert claims.hit_source(key) == source


def test_a_claim_may_name_any_active_hit_even_a_case(app, fever, case):
    _, fever_id = fever
    case_holder, case_key = case
    with app.app_context():
        assert [hit.key for hit in claims.open_hits(db.session.get(Holder, case_holder))] == [
            case_key
        ]
        holder = db.session.get(Holder, fever_id)
        key = only_key(holder)
        # A pending transcoding of the same hit does not stop a claim that the fact was wrong.
        applications.apply(holder, [key], applications.Evidence("negative_test"), holder.account)
        assert [hit.key for hit in claims.open_hits(holder)] == [key]


def test_filing_stores_a_pending_acknowledged_claim_and_takes_the_hit_off_the_open_list(app, fever):
    user_id, holder_id = fever
    moment = utcnow() - timedelta(minutes=3)
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        key = only_key(holder)
        claim = file(holder, key, now=moment)
        db.session.commit()  # the caller (a request, a command) commits
        claim = db.session.get(Claim, claim.id)
        assert (
            claim.status,
            claim.hit_key,
            claim.applicant_id,
            claim.acknowledged,
            claim.created_at,
        ) == ("pending", key, user_id, True, moment)
        assert (claim.wrong_fact, claim.correct_fact, claim.explanation) == (
            "我没有发热",
            "无症状",
            "勾错了选项",
        )
        event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "claim.create"))
        assert (event.actor_id, event.subject_id, event.at) == (user_id, str(claim.id), moment)
        assert json.loads(event.after) == {"status": "pending", "holder_id": holder_id}
        assert claims.open_hits(holder) == [] and claims.pending_keys(holder) == {key}
        assert holder.colour == "yellow"


def test_claims_about_something_else_name_no_hit_and_may_be_several(app, fever):
    _, holder_id = fever
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        first, second = file(holder, ""), file(holder, "")
        assert first.hit_key == second.hit_key == "" and claims.pending_keys(holder) == set()
        assert claims.for_holder(holder) == [second, first]


@pytest.mark.parametrize("key", ["symptoms:decl:999", "case:official:1", "not a key"])
def test_a_fact_not_behind_the_code_is_refused_and_nothing_written(app, fever, key):
    _, holder_id = fever
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        db.session.commit()  # what came before was its own request
        before = actions()
        db.session.commit()  # what came before was its own request
        with pytest.raises(claims.FactUnavailable) as refused:
            file(holder, key)
        assert refused.value.args == (key,)
        db.session.rollback()
        assert count(Claim) == 0 and actions() == before


def test_a_fact_under_a_pending_claim_is_refused(app, fever):
    _, holder_id = fever
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        key = only_key(holder)
        file(holder, key)
        db.session.commit()  # what came before was its own request
        with pytest.raises(claims.FactUnavailable):
            file(holder, key)
        db.session.rollback()
        assert count(Claim) == 1


def test_accepting_a_wrong_declaration_adds_the_correction_never_edits_and_turns_green(
    app, officer, fever
):
    user_id, holder_id = fever
    officer_id = officer()
    moment = utcnow()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        key = only_key(holder)
        original = db.session.scalar(db.select(Declaration))
        claim = file(holder, key, now=moment - timedelta(hours=1))
        claims.decide(claim, db.session.get(User, officer_id), True, " 核实为误填 ", now=moment)
        db.session.commit()  # the caller (a request, a command) commits
        claim = db.session.get(Claim, claim.id)
        assert (claim.status, claim.decided_by, claim.decided_at, claim.decision_reason) == (
            "accepted",
            officer_id,
            moment,
            "核实为误填",
        )
        # The wrong declaration is kept as it was; the correction is a new one, by the officer.
        declarations = db.session.scalars(db.select(Declaration).order_by(Declaration.id)).all()
        assert [d.id for d in declarations] == [original.id, declarations[1].id]
        assert declarations[0].symptoms == "fever"
        correction = declarations[1]
        assert claim.correction == f"declaration:{correction.id}"
        assert (
            correction.author_id,
            correction.symptoms,
            correction.close_contact,
            correction.made_at,
        ) == (officer_id, "", False, moment)
        [clearance] = db.session.scalars(db.select(Clearance)).all()
        assert (clearance.hit_key, clearance.source, clearance.officer_id) == (
            key,
            f"claim:{claim.id}",
            officer_id,
        )
        # The colour follows at once, stored with the officer's reason.
        assert registry.colour_of(holder, moment).colour == "green"
        holder = db.session.get(Holder, holder_id)
        assert holder.colour == "green"
        change = db.session.scalars(
            db.select(ColourChange).order_by(ColourChange.id.desc())
        ).first()
        assert (change.before, change.after, change.actor_id, change.reason) == (
            "yellow",
            "green",
            officer_id,
            "核实为误填",
        )
        event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "claim.accept"))
        assert (event.actor_id, event.subject_id, event.reason) == (
            officer_id,
            str(claim.id),
            "核实为误填",
        )
        assert json.loads(event.after) == {"status": "accepted", "correction": claim.correction}
        notice = db.session.scalar(
            db.select(Notification).where(Notification.kind == "claim_decided")
        )
        assert notice.account_id == user_id and json.loads(notice.params)["status"] == "accepted"


def test_an_accepted_claim_ends_a_close_contact_at_once(
    app, officer, make_user, make_holder, today
):
    """The contact never happened, so it does not wait for its 14 days (unlike a transcoding)."""
    holder_id = make_holder(
        make_user()[0], close_contact=True, contact_date=today - timedelta(days=2)
    )
    officer_id = officer()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        assert holder.colour == "red"
        claim = file(holder, only_key(holder))
        claims.decide(claim, db.session.get(User, officer_id), True, "当日不在现场")
        assert claim.correction.startswith("declaration:")
        assert holder.colour == "green" and registry.colour_of(holder).hits == ()


def test_correcting_an_official_record_needs_a_legal_basis(app, officer, case):
    holder_id, key = case
    officer_id = officer()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        claim = file(holder, key)
        db.session.commit()  # what came before was its own request
        records, before = count(OfficialRecord), actions()
        for basis in ("", "   "):
            with pytest.raises(claims.BasisRequired):
                claims.decide(
                    claim, db.session.get(User, officer_id), True, "复核阴性", basis=basis
                )
        db.session.rollback()
        assert db.session.get(Claim, claim.id).status == "pending"
        assert count(OfficialRecord) == records and actions() == before
        assert db.session.get(Holder, holder_id).colour == "red"
        # Rejecting needs none.
        claims.decide(claim, db.session.get(User, officer_id), False, "确诊属实")
        assert claim.status == "rejected" and claim.correction == ""
        assert db.session.get(Holder, holder_id).colour == "red"


def test_accepting_a_wrong_official_record_writes_a_cleared_record_in_force(app, officer, case):
    holder_id, key = case
    officer_id = officer(department="南昌市疾控中心")
    moment = utcnow()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        claim = file(holder, key, now=moment - timedelta(minutes=30))
        claims.decide(
            claim,
            db.session.get(User, officer_id),
            True,
            "复核为误报",
            basis=" 东卫疾控〔2020〕12号 ",
            now=moment,
        )
        db.session.commit()
        claim = db.session.get(Claim, claim.id)
        cleared = db.session.scalar(
            db.select(OfficialRecord).where(OfficialRecord.status == "cleared")
        )
        assert claim.correction == f"official:{cleared.id}"
        # One officer may: "cleared" can only lower a colour.
        assert (
            cleared.state,
            cleared.basis,
            cleared.department,
            cleared.recorded_by,
            cleared.approved_by,
        ) == ("in_force", BASIS, "南昌市疾控中心", officer_id, None)
        assert (cleared.recorded_at, cleared.decided_at, cleared.decision_reason) == (
            moment,
            moment,
            "复核为误报",
        )
        # The wrong record stays as it was; no clearance is written for an official fact.
        wrong = db.session.get(OfficialRecord, int(key.rsplit(":", 1)[1]))
        assert (wrong.status, wrong.state) == ("confirmed", "in_force")
        assert count(Clearance) == 0
        assert db.session.get(Holder, holder_id).colour == "green"
        assert registry.colour_of(db.session.get(Holder, holder_id), moment).hits == ()
        assert actions()[-3:] == ["official.record", "claim.accept", "colour.change"]
        record_event = db.session.scalars(
            db.select(AuditEvent)
            .where(AuditEvent.action == "official.record")
            .order_by(AuditEvent.seq.desc())
        ).first()
        assert record_event.reason == BASIS
        assert json.loads(record_event.after) == {
            "state": "in_force",
            "holder_id": holder_id,
            "claim_id": claim.id,
        }


def test_accepting_a_wrong_checkpoint_fever_clears_it(app, officer, make_user, make_holder):
    holder_id = make_holder(make_user()[0])
    officer_id = officer()
    with app.app_context():
        db.session.add(
            FeverFinding(
                holder_id=holder_id,
                record_id=str(uuid.uuid4()),
                point_name="东湖站",
                temperature=38.1,
                at=utcnow(),
            )
        )
        holder = db.session.get(Holder, holder_id)
        registry.store_colour(holder)
        assert holder.colour == "yellow"
        key = only_key(holder)
        assert claims.hit_source(key) == "fever"
        claim = file(holder, key)
        declarations = count(Declaration)
        claims.decide(claim, db.session.get(User, officer_id), True, "体温计故障")
        clearance = db.session.scalar(db.select(Clearance))
        assert (
            claim.correction == f"clearance:{clearance.id}"
            and clearance.source == f"claim:{claim.id}"
        )
        # A clearance, not a new declaration.
        assert count(Declaration) == declarations and holder.colour == "green"


def test_accepting_a_claim_about_something_else_writes_nothing_to_correct(app, officer, fever):
    _, holder_id = fever
    officer_id = officer()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        claim = file(holder, "")
        changes = count(ColourChange)
        claims.decide(claim, db.session.get(User, officer_id), True, "已更正地址")
        assert (claim.status, claim.correction) == ("accepted", "")
        assert count(Clearance) == 0 and count(Declaration) == 1 and count(ColourChange) == changes
        assert holder.colour == "yellow"


def test_a_rejected_claim_keeps_the_fact_and_the_colour(app, officer, fever):
    _, holder_id = fever
    officer_id = officer()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        key = only_key(holder)
        claim = file(holder, key)
        claims.decide(claim, db.session.get(User, officer_id), False, "申报属实")
        assert (claim.status, claim.correction, claim.decision_reason) == (
            "rejected",
            "",
            "申报属实",
        )
        assert count(Clearance) == 0 and count(Declaration) == 1 and holder.colour == "yellow"
        assert actions()[-1] == "claim.reject"
        notice = db.session.scalar(
            db.select(Notification).where(Notification.kind == "claim_decided")
        )
        assert json.loads(notice.params)["status"] == "rejected"
        assert [hit.key for hit in claims.open_hits(holder)] == [key]


def test_a_decision_needs_a_reason(app, officer, fever):
    _, holder_id = fever
    officer_id = officer()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        claim = file(holder, only_key(holder))
        db.session.commit()  # what came before was its own request
        before = actions()
        for accept in (True, False):
            with pytest.raises(claims.ReasonRequired):
                claims.decide(claim, db.session.get(User, officer_id), accept, " \n ")
        db.session.rollback()
        assert db.session.get(Claim, claim.id).status == "pending" and actions() == before
        assert count(Declaration) == 1 and count(Clearance) == 0


@pytest.mark.parametrize(
    ("role", "district"), [("officer", "360111"), ("resident", "360102"), ("officer", None)]
)
def test_only_an_officer_of_the_holders_district_decides(app, officer, fever, role, district):
    _, holder_id = fever
    outsider = officer(district, role=role)
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        claim = file(holder, only_key(holder))
        db.session.commit()  # what came before was its own request
        before = actions()
        db.session.commit()  # what came before was its own request
        with pytest.raises(claims.OutOfDistrict):
            claims.decide(claim, db.session.get(User, outsider), True, "误填")
        db.session.rollback()
        assert db.session.get(Claim, claim.id).status == "pending" and actions() == before
        assert count(Declaration) == 1 and db.session.get(Holder, holder_id).colour == "yellow"


def test_a_decided_claim_is_not_decided_again(app, officer, fever):
    _, holder_id = fever
    first, second = officer(), officer()
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        claim = file(holder, only_key(holder))
        claims.decide(claim, db.session.get(User, first), False, "申报属实")
        db.session.commit()  # what came before was its own request
        with pytest.raises(claims.NotPending):
            claims.decide(claim, db.session.get(User, second), True, "误填")
        db.session.rollback()
        claim = db.session.get(Claim, claim.id)
        assert (claim.status, claim.decided_by) == ("rejected", first)
        assert count(Declaration) == 1 and count(Clearance) == 0


def test_the_applicant_withdraws_and_may_claim_the_fact_again(app, officer, fever):
    user_id, holder_id = fever
    officer_id = officer()
    moment = utcnow()
    with app.app_context():
        holder, user = db.session.get(Holder, holder_id), db.session.get(User, user_id)
        key = only_key(holder)
        claim = file(holder, key, now=moment - timedelta(hours=1))
        claims.withdraw(claim, user, now=moment)
        db.session.commit()
        claim = db.session.get(Claim, claim.id)
        assert (claim.status, claim.decided_at, claim.decided_by, claim.correction) == (
            "withdrawn",
            moment,
            None,
            "",
        )
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "claim.withdraw")
        )
        assert (event.actor_id, event.subject_id) == (user_id, str(claim.id))
        assert (
            holder.colour == "yellow"
            and count(Notification, Notification.kind == "claim_decided") == 0
        )
        assert [hit.key for hit in claims.open_hits(holder)] == [key]
        db.session.commit()  # what came before was its own request
        with pytest.raises(claims.NotPending):
            claims.withdraw(claim, user)
        db.session.commit()  # what came before was its own request
        with pytest.raises(claims.NotPending):
            claims.decide(claim, db.session.get(User, officer_id), True, "误填")
        db.session.rollback()
        assert db.session.get(Claim, claim.id).status == "withdrawn" and count(Clearance) == 0
        assert file(holder, key).status == "pending"
