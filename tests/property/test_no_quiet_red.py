"""No quiet red: over random sequences of declarations, checkpoint records, applications, claims and
official records, no officer's action turns a code red without a second, different officer's approval,
and every colour change has its audit event in an unbroken chain.

A holder's own declaration (a declared close contact, say) may turn their own code red at once: that
is their own report, and it is audited too.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gantong import audit
from gantong.admin import staff_accounts
from gantong.auth import accounts
from gantong.auth.accounts import PhoneTaken
from gantong.checkpoint import verification
from gantong.core import date_windows, rules
from gantong.extensions import db
from gantong.holders import registry, sms
from gantong.models import (
    Application,
    AuditEvent,
    Claim,
    ColourChange,
    Holder,
    IdentityCheck,
    InformationPoint,
    OfficialRecord,
    User,
    VerificationRecord,
    utcnow,
)
from gantong.review import applications, claims, identity_checks, official_records
from tests.conftest import resident_id

DISTRICT, OTHER_DISTRICT = "360102", "360103"
# Officers A and B of the holder's district, C of another one.
OFFICERS = ("A", "B", "C")


def _empty_database() -> None:
    # Core deletes, past the ORM: the audit trail's append-only guard watches the ORM only.
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


class NoQuietRed(RuleBasedStateMachine):
    app = None  # set by the test: the app fixture

    def __init__(self):
        super().__init__()
        self.context = self.app.app_context()
        self.context.push()
        _empty_database()
        # Accounts straight into the table: hashing real passwords would slow every example.
        resident = User(phone="+8613800000001", password_hash="-", role="resident")
        officers = {
            "A": User(
                phone="+8613900000301",
                password_hash="-",
                role="officer",
                district_code=DISTRICT,
                badge_number="DH-0301",
                department="东湖区疾控中心",
            ),
            "B": User(
                phone="+8613900000307",
                password_hash="-",
                role="officer",
                district_code=DISTRICT,
                badge_number="DH-0307",
                department="东湖区疾控中心",
            ),
            "C": User(
                phone="+8613900000401",
                password_hash="-",
                role="officer",
                district_code=OTHER_DISTRICT,
                badge_number="XH-0401",
                department="西湖区疾控中心",
            ),
        }
        point = InformationPoint(
            name="南昌站北广场", district_code=DISTRICT, latitude=28.6, longitude=115.9
        )
        db.session.add_all([resident, *officers.values(), point])
        db.session.commit()
        staff = User(phone="+8613800000002", password_hash="-", role="staff", point_id=point.id)
        db.session.add(staff)
        db.session.commit()
        holder = registry.add_holder(
            resident,
            registry.Identity(
                name="王五",
                doc_type="resident_id",
                doc_number=resident_id("36010219770707345"),
                doc_country="",
                nationality="CN",
                district_code=DISTRICT,
                address="八一大道 1 号",
            ),
            is_self=True,
        )
        # Ids, not objects: the chain check empties the session as it goes.
        self.ids = {
            "resident": resident.id,
            "staff": staff.id,
            "point": point.id,
            "holder": holder.id,
            **{name: officer.id for name, officer in officers.items()},
        }
        self.today = rules.local_date(utcnow())

    @property
    def holder(self) -> Holder:
        return db.session.get(Holder, self.ids["holder"])

    @property
    def resident(self) -> User:
        return db.session.get(User, self.ids["resident"])

    @property
    def staff(self) -> User:
        return db.session.get(User, self.ids["staff"])

    @property
    def point(self) -> InformationPoint:
        return db.session.get(InformationPoint, self.ids["point"])

    def officer(self, who: str) -> User:
        return db.session.get(User, self.ids[who])

    def teardown(self):
        db.session.remove()
        self.context.pop()

    # Helpers.

    def _last_change_id(self) -> int:
        return db.session.scalar(db.select(db.func.max(ColourChange.id))) or 0

    def _turned_red_since(self, change_id: int) -> list[ColourChange]:
        query = db.select(ColourChange).where(
            ColourChange.id > change_id,
            ColourChange.after == rules.RED,
            ColourChange.before != rules.RED,
        )
        return list(db.session.scalars(query))

    def _assert_no_red_by(self, change_id: int, step: str) -> None:
        reds = self._turned_red_since(change_id)
        assert not reds, (
            f"{step} turned the code red without a second officer: {[(c.actor_id, c.reason) for c in reds]}"
        )

    # The holder's own acts and the checkpoint.

    @rule(
        symptoms=st.lists(st.sampled_from(rules.SYMPTOMS), max_size=2, unique=True),
        close_contact=st.booleans(),
        days_ago=st.integers(0, 20),
    )
    def declare(self, symptoms, close_contact, days_ago):
        before = self._last_change_id()
        registry.declare(
            self.holder,
            registry.DeclarationFacts(
                symptoms=symptoms,
                close_contact=close_contact,
                contact_date=self.today - timedelta(days=days_ago) if close_contact else None,
            ),
            author=self.resident,
        )
        for change in self._turned_red_since(before):
            # Only their own report of a close contact can do this, and it is theirs.
            assert change.actor_id == self.ids["resident"] and close_contact

    @rule(temperature=st.sampled_from([36.4, 37.0, 37.3, 38.6]))
    def checkpoint_record(self, temperature):
        before = self._last_change_id()
        now = utcnow()
        record, _result = verification.open_record(
            self.holder, self.point, self.staff, "camera", None, now
        )
        verification.submit_record(
            verification.reference_for(record),
            record.record_id,
            verification.RecordBody(temperature=temperature, decision=""),  # the rules decide
            now,
        )
        self._assert_no_red_by(before, "a checkpoint record")

    @rule(data=st.data(), who=st.sampled_from(OFFICERS))
    def void_checkpoint_record(self, data, who):
        records = [
            record
            for record in db.session.scalars(db.select(VerificationRecord))
            if verification.can_void(record, self.officer(who))
        ]
        if not records:
            return
        before = self._last_change_id()
        verification.void_record(
            data.draw(st.sampled_from(records)), self.officer(who), "体温计故障"
        )
        self._assert_no_red_by(before, "voiding a record")

    # Transcoding applications.

    @rule(data=st.data(), grounds=st.sampled_from(applications.GROUNDS))
    def apply(self, data, grounds):
        hits = applications.open_hits(self.holder)
        if not hits:
            return
        keys = data.draw(
            st.lists(st.sampled_from([hit.key for hit in hits]), min_size=1, unique=True)
        )
        before = self._last_change_id()
        applications.apply(
            self.holder,
            keys,
            applications.Evidence(
                grounds,
                test_date=self.today,
                institution="南昌大学一附院",
                report_number="NAT-1",
                isolation_end=self.today,
                note="已满",
            ),
            self.resident,
        )
        assert self._last_change_id() == before

    @rule(data=st.data(), who=st.sampled_from(OFFICERS), approve=st.booleans())
    def decide_application(self, data, who, approve):
        pending = list(
            db.session.scalars(db.select(Application).where(Application.status == "pending"))
        )
        if not pending:
            return
        item = data.draw(st.sampled_from(pending))
        before = self._last_change_id()
        if who == "C":
            db.session.commit()  # what came before was its own request
            with pytest.raises(applications.OutOfDistrict):
                applications.decide(item, self.officer(who), approve, "核酸阴性")
            db.session.rollback()
        else:
            applications.decide(item, self.officer(who), approve, "核酸阴性")
        self._assert_no_red_by(before, f"officer {who} deciding an application")

    @rule(data=st.data())
    def withdraw_application(self, data):
        pending = list(
            db.session.scalars(db.select(Application).where(Application.status == "pending"))
        )
        if pending:
            applications.withdraw(data.draw(st.sampled_from(pending)), self.resident)

    # My Claim.

    @rule(data=st.data())
    def file_claim(self, data):
        keys = [hit.key for hit in claims.open_hits(self.holder)] + [""]
        claims.file(
            self.holder, data.draw(st.sampled_from(keys)), "不实", "更正", "", self.resident
        )

    @rule(data=st.data(), who=st.sampled_from(OFFICERS), accept=st.booleans())
    def decide_claim(self, data, who, accept):
        pending = list(db.session.scalars(db.select(Claim).where(Claim.status == "pending")))
        if not pending:
            return
        item = data.draw(st.sampled_from(pending))
        before = self._last_change_id()
        if who == "C":
            db.session.commit()  # what came before was its own request
            with pytest.raises(claims.OutOfDistrict):
                claims.decide(item, self.officer(who), accept, "核实", basis="东卫〔2020〕1号")
            db.session.rollback()
        else:
            claims.decide(item, self.officer(who), accept, "核实", basis="东卫〔2020〕1号")
        self._assert_no_red_by(before, f"officer {who} deciding a claim")

    # Official records and the second officer.

    @rule(
        who=st.sampled_from(OFFICERS),
        status=st.sampled_from(official_records.STATUSES),
        days_ago=st.integers(0, 20),
    )
    def record_official(self, who, status, days_ago):
        before = self._last_change_id()
        contact = self.today - timedelta(days=days_ago)
        if status == "close_contact" and contact not in date_windows.recent(self.today):
            # A contact outside the rules' look-back is refused, never recorded.
            db.session.commit()
            with pytest.raises(official_records.InvalidRecord):
                official_records.record(
                    self.holder, self.officer(who), status, "东卫疾控〔2020〕12号", contact
                )
            db.session.rollback()
        elif who == "C":
            db.session.commit()  # what came before was its own request
            with pytest.raises(official_records.OutOfDistrict):
                official_records.record(
                    self.holder, self.officer(who), status, "东卫疾控〔2020〕12号", contact
                )
            db.session.rollback()
        else:
            official_records.record(
                self.holder, self.officer(who), status, "东卫疾控〔2020〕12号", contact
            )
        self._assert_no_red_by(before, f"officer {who} recording {status}")

    @rule(data=st.data(), who=st.sampled_from(OFFICERS), approve=st.booleans())
    def decide_official(self, data, who, approve):
        pending = list(
            db.session.scalars(db.select(OfficialRecord).where(OfficialRecord.state == "pending"))
        )
        if not pending:
            return
        entry = data.draw(st.sampled_from(pending))
        officer = self.officer(who)
        before = self._last_change_id()
        decide = official_records.approve if approve else official_records.reject
        if who == "C":
            db.session.commit()  # what came before was its own request
            with pytest.raises(official_records.OutOfDistrict):
                decide(entry, officer, "已核对")
            db.session.rollback()
        elif approve and entry.recorded_by == officer.id:
            db.session.commit()  # what came before was its own request
            with pytest.raises(official_records.SelfApproval):
                decide(entry, officer, "我批准我自己")
            db.session.rollback()
            assert db.session.get(OfficialRecord, entry.id).state == "pending"
        else:
            decide(entry, officer, "已核对")
        if not (approve and who != "C" and entry.recorded_by != officer.id):
            self._assert_no_red_by(before, f"officer {who} deciding a record")

    @rule()
    def recompute(self):
        before = self._last_change_id()
        sum(registry.recompute_in_pages())
        self._assert_no_red_by(before, "the recompute job")

    # What must hold after every step.

    @invariant()
    def every_turn_to_red_has_two_officers_or_is_the_holders_own(self):
        changes = db.session.scalars(
            db.select(ColourChange).where(
                ColourChange.after == rules.RED, ColourChange.before != rules.RED
            )
        )
        for change in changes:
            if change.actor_id == self.ids["resident"]:
                continue
            approved = db.session.scalars(
                db.select(OfficialRecord).where(
                    OfficialRecord.holder_id == change.holder_id,
                    OfficialRecord.approved_by == change.actor_id,
                    OfficialRecord.decided_at == change.at,
                )
            ).all()
            assert approved, (
                f"change {change.id} to red by {change.actor_id} has no approved record behind it"
            )
            for entry in approved:
                assert entry.recorded_by != entry.approved_by
                assert db.session.get(User, entry.recorded_by).role == "officer"
                assert db.session.get(User, entry.approved_by).role == "officer"

    @invariant()
    def every_colour_change_has_its_audit_event(self):
        changes = sorted(
            (change.holder_id, change.at, change.before, change.after)
            for change in db.session.scalars(
                db.select(ColourChange).where(ColourChange.before.is_not(None))
            )
        )
        events = sorted(
            (
                int(event.subject_id),
                event.at,
                json.loads(event.before)["colour"],
                json.loads(event.after)["colour"],
            )
            for event in db.session.scalars(
                db.select(AuditEvent).where(AuditEvent.action == "colour.change")
            )
        )
        assert changes == events
        holder = self.holder
        assert holder.colour == registry.colour_of(holder).colour

    @invariant()
    def the_chain_holds(self):
        check = audit.verify_chain()
        assert check.ok, check.problem


def test_no_officer_turns_a_code_red_alone_and_every_change_is_audited(app):
    NoQuietRed.app = app
    run_state_machine_as_test(
        NoQuietRed,
        settings=settings(
            max_examples=40,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


# One person with every account they can obtain (nobody alone may make a code red): an administrator account, an officer
# account of another district, and any account whose one-time password reaches one of their own
# phones. Nobody else acts: whatever they try, the holder's code does not turn red.
OWN_PHONES = ("+8613700000001", "+8613700000002", "+8613700000003")


class NobodyAlone(RuleBasedStateMachine):
    app = None

    def __init__(self):
        super().__init__()
        self.context = self.app.app_context()
        self.context.push()
        self.app.config["SMS_BACKEND"] = "memory"
        sms.outbox(self.app).clear()
        _empty_database()
        resident = User(phone="+8613800000001", password_hash="-", role="resident")
        honest = [
            User(
                phone="+8613900000301",
                password_hash="-",
                role="officer",
                district_code=DISTRICT,
                badge_number="DH-0301",
                department="东湖区疾控中心",
            ),
            User(
                phone="+8613900000307",
                password_hash="-",
                role="officer",
                district_code=DISTRICT,
                badge_number="DH-0307",
                department="东湖区疾控中心",
            ),
            User(phone="+8613900000004", password_hash="-", role="admin"),
        ]
        # What the person holds from the start: their admin account and an officer account
        # of another district (both set up properly before).
        own_admin = User(phone="+8613700000000", password_hash="-", role="admin")
        own_officer = User(
            phone="+8613700000009",
            password_hash="-",
            role="officer",
            district_code=OTHER_DISTRICT,
            badge_number="XH-0999",
            department="西湖区疾控中心",
        )
        point = InformationPoint(
            name="南昌站北广场", district_code=DISTRICT, latitude=28.6, longitude=115.9
        )
        db.session.add_all([resident, *honest, own_admin, own_officer, point])
        db.session.commit()
        holder = registry.add_holder(
            resident,
            registry.Identity(
                name="王五",
                doc_type="resident_id",
                doc_number=resident_id("36010219770707345"),
                doc_country="",
                nationality="CN",
                district_code=DISTRICT,
                address="八一大道 1 号",
            ),
            is_self=True,
        )
        db.session.commit()
        self.holder_id, self.point_id = holder.id, point.id
        self.start = {own_admin.id, own_officer.id}
        self.others = [user.id for user in honest]

    def teardown(self):
        self.app.config["SMS_BACKEND"] = "log"
        db.session.remove()
        self.context.pop()

    def held(self, role: str | None = None) -> list[User]:
        """Every account the person holds: the first two, and any whose password went to their phones."""
        reached = {phone for phone, _text in sms.outbox(self.app) if phone in OWN_PHONES}
        users = db.session.scalars(
            db.select(User).where(User.id.in_(self.start) | User.phone.in_(reached))
        ).all()
        return [user for user in users if user.active and (role is None or user.role == role)]

    def managed(self) -> list[User]:
        return list(
            db.session.scalars(db.select(User).where(User.role != "resident").order_by(User.id))
        )

    @property
    def holder(self) -> Holder:
        return db.session.get(Holder, self.holder_id)

    @rule(
        data=st.data(),
        role=st.sampled_from(staff_accounts.MANAGED_ROLES),
        phone=st.sampled_from(OWN_PHONES),
        district=st.sampled_from([DISTRICT, OTHER_DISTRICT]),
    )
    def create_account(self, data, role, phone, district):
        admin = data.draw(st.sampled_from(self.held("admin")))
        binding = staff_accounts.Binding(
            point_id=self.point_id, district_code=district, badge_number="X-1", department="某部门"
        )
        try:
            staff_accounts.create_account(role, phone, binding, actor=admin)
        except PhoneTaken:
            db.session.rollback()
        else:
            db.session.commit()  # each rule is a request of its own

    @rule(data=st.data(), district=st.sampled_from([DISTRICT, OTHER_DISTRICT]))
    def move_an_account(self, data, district):
        admin = data.draw(st.sampled_from(self.held("admin")))
        user = data.draw(st.sampled_from(self.managed()))
        if user.role == "admin":
            return
        staff_accounts.update_binding(
            user,
            staff_accounts.Binding(
                point_id=self.point_id,
                district_code=district,
                badge_number=user.badge_number or "X-2",
                department=user.department or "某部门",
            ),
            actor=admin,
        )
        db.session.commit()

    @rule(data=st.data())
    def reset_a_password(self, data):
        admin = data.draw(st.sampled_from(self.held("admin")))
        staff_accounts.reset_password(data.draw(st.sampled_from(self.managed())), actor=admin)
        db.session.commit()

    @rule(data=st.data())
    def confirm_a_change(self, data):
        pending = staff_accounts.pending_changes()
        if not pending:
            return
        change = data.draw(st.sampled_from(pending))
        admin = data.draw(st.sampled_from(self.held("admin")))
        try:
            staff_accounts.confirm(change, admin)
        except (staff_accounts.OwnRequest, staff_accounts.NotPending, PhoneTaken):
            db.session.rollback()
        else:
            # Only another person's administrator account could have confirmed it.
            assert change.requested_by != admin.id
            db.session.commit()

    @rule(data=st.data(), status=st.sampled_from(official_records.STATUSES))
    def record_official(self, data, status):
        officers = self.held("officer")
        if not officers:
            return
        try:
            official_records.record(
                self.holder,
                data.draw(st.sampled_from(officers)),
                status,
                "东卫〔2020〕1号",
                utcnow().date(),
            )
        except official_records.OutOfDistrict:
            db.session.rollback()
        else:
            db.session.commit()

    @rule(data=st.data())
    def approve_official(self, data):
        pending = list(
            db.session.scalars(db.select(OfficialRecord).where(OfficialRecord.state == "pending"))
        )
        officers = self.held("officer")
        if not pending or not officers:
            return
        try:
            official_records.approve(
                data.draw(st.sampled_from(pending)), data.draw(st.sampled_from(officers)), "已核对"
            )
        except (official_records.OutOfDistrict, official_records.SelfApproval):
            db.session.rollback()
        else:
            db.session.commit()

    @invariant()
    def the_code_is_not_red(self):
        assert self.holder.colour != rules.RED
        assert not db.session.scalars(
            db.select(OfficialRecord).where(OfficialRecord.state == "in_force")
        ).all()

    @invariant()
    def no_credential_reaches_the_person_but_for_their_own_staff_accounts(self):
        held = self.held()
        assert all(user.role == "staff" or user.id in self.start for user in held), [
            (user.id, user.role) for user in held
        ]


def test_nobody_alone_makes_a_code_red_with_every_account_they_can_obtain(app):
    NobodyAlone.app = app
    run_state_machine_as_test(
        NobodyAlone,
        settings=settings(
            max_examples=30,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


# The same person, once another administrator has confirmed one of their requests (believing
# it, as a second administrator does): an administrator account on a phone the person holds.
# The rule counts people, not accounts, so that account cannot confirm what the person's first
# account asks (nor the other way round), and the one slip gives them no more than the one
# account it confirmed.
class NobodyAloneAfterOneSlip(NobodyAlone):
    def __init__(self):
        super().__init__()
        # The slip, before anything else: the person's administrator account asks for an
        # administrator account on one of their phones, and another administrator confirms it.
        [own_admin] = self.held("admin")
        change = staff_accounts.create_account(
            "admin", OWN_PHONES[0], staff_accounts.Binding(), actor=own_admin
        )
        other_admin = db.session.get(User, self.others[-1])
        self.slipped = staff_accounts.confirm(change, other_admin).id
        db.session.commit()

    @invariant()
    def no_credential_reaches_the_person_but_for_their_own_staff_accounts(self):
        held = self.held()
        allowed = self.start | {self.slipped}
        assert all(user.role == "staff" or user.id in allowed for user in held), [
            (user.id, user.role) for user in held
        ]


def test_nobody_alone_makes_a_code_red_through_an_account_another_admin_confirmed(app):
    NobodyAloneAfterOneSlip.app = app
    run_state_machine_as_test(
        NobodyAloneAfterOneSlip,
        settings=settings(
            max_examples=60,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


# The same person once held two officer accounts of the holder's district (they worked there),
# deactivated when they left; they still know the passwords and keep copied cookies. Reactivating
# an officer gives its power back, so it waits for a second administrator: with their own
# administrator account alone the person cannot bring the two back and make the code red.
class NobodyAloneWithFormerOfficers(NobodyAlone):
    def __init__(self):
        super().__init__()
        former = [
            User(
                phone=phone,
                password_hash="-",
                role="officer",
                district_code=DISTRICT,
                badge_number=f"DH-09{index}",
                department="东湖区疾控中心",
                active=False,
            )
            for index, phone in enumerate(OWN_PHONES[1:])
        ]
        db.session.add_all(former)
        db.session.commit()
        self.former = {user.id for user in former}

    def held(self, role: str | None = None) -> list[User]:
        held = {user.id: user for user in super().held(role)}
        for user_id in self.former:
            user = db.session.get(User, user_id)
            if user.active and (role is None or user.role == role):
                held[user.id] = user
        return list(held.values())

    @rule(data=st.data())
    def reactivate_an_account(self, data):
        inactive = [user for user in self.managed() if not user.active]
        if not inactive:
            return
        admin = data.draw(st.sampled_from(self.held("admin")))
        staff_accounts.set_active(data.draw(st.sampled_from(inactive)), True, admin, "返岗")
        db.session.commit()


def test_nobody_alone_brings_back_former_officer_accounts_to_make_a_code_red(app):
    NobodyAloneWithFormerOfficers.app = app
    run_state_machine_as_test(
        NobodyAloneWithFormerOfficers,
        settings=settings(
            max_examples=30,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


# Identity squatting: one person, with a proxy resident account, registers a stranger's document
# (a valid check digit is all it takes) and declares a close contact for them. The stranger goes
# to the service desk: two honest officers of the district check the document in person and move
# the code to the stranger's own account. Whatever the person does meanwhile and after, with every
# account they can obtain (more resident accounts on their phones, an officer account of another
# district), the stranger's code does not stay red or turn red again once the remedy is in effect.
STRANGER_PHONE = "+8613600000001"


class SquattedStranger(RuleBasedStateMachine):
    app = None

    def __init__(self):
        super().__init__()
        self.context = self.app.app_context()
        self.context.push()
        _empty_database()
        stranger = User(phone=STRANGER_PHONE, password_hash="-", role="resident")
        honest = {
            "A": User(
                phone="+8613900000301",
                password_hash="-",
                role="officer",
                district_code=DISTRICT,
                badge_number="DH-0301",
                department="东湖区疾控中心",
            ),
            "B": User(
                phone="+8613900000307",
                password_hash="-",
                role="officer",
                district_code=DISTRICT,
                badge_number="DH-0307",
                department="东湖区疾控中心",
            ),
        }
        proxy = User(phone=OWN_PHONES[0], password_hash="-", role="resident")
        own_officer = User(
            phone="+8613700000009",
            password_hash="-",
            role="officer",
            district_code=OTHER_DISTRICT,
            badge_number="XH-0999",
            department="西湖区疾控中心",
        )
        db.session.add_all([stranger, *honest.values(), proxy, own_officer])
        db.session.commit()
        self.identity = registry.Identity(
            name="王老汉",
            doc_type="resident_id",
            doc_number=resident_id("36010219580303123"),
            doc_country="",
            nationality="CN",
            district_code=DISTRICT,
            address="八一大道 9 号",
        )
        holder = registry.add_holder(proxy, self.identity, relation="parent")
        registry.declare(holder, self._close_contact(), author=proxy)
        db.session.commit()
        assert holder.colour == rules.RED
        self.holder_id, self.stranger_id = holder.id, stranger.id
        self.honest = {name: officer.id for name, officer in honest.items()}
        self.own_officer_id = own_officer.id

    def teardown(self):
        db.session.remove()
        self.context.pop()

    def _close_contact(self) -> registry.DeclarationFacts:
        return registry.DeclarationFacts(
            symptoms=["fever"], close_contact=True, contact_date=utcnow().date()
        )

    @property
    def holder(self) -> Holder:
        return db.session.get(Holder, self.holder_id)

    def held(self) -> list[User]:
        """The person's resident accounts: the proxy, and any registered on their own phones."""
        return list(
            db.session.scalars(
                db.select(User).where(User.phone.in_(OWN_PHONES), User.role == "resident")
            )
        )

    def remedied(self) -> bool:
        return (
            db.session.scalar(
                db.select(IdentityCheck.id).where(
                    IdentityCheck.holder_id == self.holder_id, IdentityCheck.state == "done"
                )
            )
            is not None
        )

    # The person.

    @rule(phone=st.sampled_from(OWN_PHONES))
    def register_an_account(self, phone):
        try:
            accounts.register(phone, "-")
        except PhoneTaken:
            db.session.rollback()
        else:
            db.session.commit()

    @rule(data=st.data())
    def add_the_stranger_again(self, data):
        account = data.draw(st.sampled_from(self.held()))
        with pytest.raises((registry.DocumentTaken, registry.AccountFlagged)):
            registry.add_holder(account, self.identity, relation="parent")
        db.session.rollback()

    @rule(data=st.data())
    def declare_for_everyone_held(self, data):
        account = data.draw(st.sampled_from(self.held()))
        for holder in list(account.holders):
            try:
                registry.declare(holder, self._close_contact(), author=account)
            except registry.AccountFlagged:
                db.session.rollback()
            else:
                db.session.commit()

    @rule(data=st.data())
    def check_the_stranger_with_their_own_officer_account(self, data):
        own_officer = db.session.get(User, self.own_officer_id)
        with pytest.raises(identity_checks.OutOfDistrict):
            identity_checks.record(
                self.holder,
                own_officer,
                self.identity.doc_type,
                self.identity.doc_number,
                data.draw(st.sampled_from(OWN_PHONES)),
                [],
            )
        db.session.rollback()
        pending = identity_checks.for_district(DISTRICT)
        if pending:
            with pytest.raises(identity_checks.OutOfDistrict):
                identity_checks.confirm(pending[0], own_officer, "我确认")
            db.session.rollback()

    # The honest officers at the service desk, the stranger's document in hand.

    def _waiting(self) -> bool:
        return identity_checks.pending_for(self.holder) is not None

    @precondition(lambda self: not self.remedied() and not self._waiting())
    @rule()
    def officer_a_checks_the_document(self):
        holder = self.holder
        identity_checks.record(
            holder,
            db.session.get(User, self.honest["A"]),
            holder.doc_type,
            holder.doc_number,
            STRANGER_PHONE,
            [declaration.id for declaration in identity_checks.voidable(holder)],
        )
        db.session.commit()
        assert self.holder.account_id != self.stranger_id or self.remedied()

    @precondition(lambda self: self._waiting())
    @rule()
    def officer_b_confirms(self):
        pending = identity_checks.pending_for(self.holder)
        identity_checks.confirm(pending, db.session.get(User, self.honest["B"]), "本人持证核验")
        db.session.commit()

    @invariant()
    def after_the_remedy_the_stranger_is_theirs_and_not_red(self):
        if not self.remedied():
            return
        holder = self.holder
        assert holder.account_id == self.stranger_id
        assert holder.colour != rules.RED, "the proxy kept the stranger red after the remedy"
        assert registry.colour_of(holder).colour != rules.RED
        assert all(holder.id not in {h.id for h in account.holders} for account in self.held())


def test_nobody_alone_keeps_a_stranger_red_with_a_proxy_account_after_the_remedy(app):
    SquattedStranger.app = app
    run_state_machine_as_test(
        SquattedStranger,
        settings=settings(
            max_examples=30,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
