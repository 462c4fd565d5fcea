"""Pre-entry registration (gantong.entry.preentry), called directly: the planned, then the actual arrival."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest

from gantong.core import rules
from gantong.entry import preentry
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import (
    AuditEvent,
    ColourChange,
    Declaration,
    Holder,
    PreEntry,
    RiskArea,
    User,
    utcnow,
)
from gantong.web.paging import Page
from tests.conftest import resident_id

DISTRICT = "360102"


def count(model, *where):
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def arrival_events():
    return list(
        db.session.scalars(
            db.select(AuditEvent)
            .where(AuditEvent.action == "preentry.arrival")
            .order_by(AuditEvent.seq)
        )
    )


def register(
    account=None,
    category=preentry.FOREIGNER,
    planned=None,
    district=DISTRICT,
    number="K1234567",
    name="John Smith",
    now=None,
    **trip,
):
    """Register a journey as the trip form does (the form checks the answers; the service trusts them)."""
    fields = {
        "origin_country": "GB",
        "entry_port": "南昌昌北国际机场",
        "transport_number": "MU5043",
    }
    if category == preentry.HUBEI:
        fields = {"origin_division": "4201", "entry_port": "南昌西站", "transport_number": "G1234"}
    fields.update(trip)
    return preentry.register(
        account,
        registry.Identity(name, "passport", number, "GB", "GB", "360111", ""),
        preentry.Trip(
            category=category,
            planned_arrival=planned,
            destination_district=district,
            contact_phone="+447911123456",
            **fields,
        ),
        now=now,
    )


def only_hit(holder, now=None):
    [hit] = registry.colour_of(holder, now).hits
    return hit


@pytest.fixture
def officer(make_user):
    user_id, _ = make_user(
        role="officer", district_code=DISTRICT, badge_number="DH-1", department="东湖区疾控中心"
    )
    return user_id


@pytest.fixture
def key_area_hubei(app):
    with app.app_context():
        db.session.add(RiskArea(code="42", name="湖北省", days=14))
        db.session.commit()


# Registration.


def test_a_foreigner_registers_and_is_yellow_from_the_planned_arrival(app, make_user, today):
    user_id, _ = make_user(phone="+447911123456")
    planned = today + timedelta(days=3)
    moment = utcnow()
    with app.app_context():
        account = db.session.get(User, user_id)
        pre_entry = register(account, planned=planned, now=moment, origin_division="4201")
        db.session.commit()  # the caller (a request, a command) commits
        pre_entry = db.session.get(PreEntry, pre_entry.id)
        holder = pre_entry.holder
        # The destination district is the holder's district until they have a residence.
        assert (holder.account_id, holder.is_self, holder.district_code, holder.name) == (
            user_id,
            True,
            DISTRICT,
            "John Smith",
        )
        assert (pre_entry.category, pre_entry.origin_country, pre_entry.origin_division) == (
            "foreigner",
            "GB",
            None,
        )
        assert (pre_entry.entry_port, pre_entry.transport_number, pre_entry.contact_phone) == (
            "南昌昌北国际机场",
            "MU5043",
            "+447911123456",
        )
        assert (
            pre_entry.planned_arrival,
            pre_entry.destination_district,
            pre_entry.created_at,
        ) == (planned, DISTRICT, moment)
        assert (
            pre_entry.actual_arrival,
            pre_entry.arrival_source,
            pre_entry.arrival_confirmed_by,
        ) == (None, None, None)
        [declaration] = holder.declarations
        assert (declaration.entry_date, declaration.entry_port, declaration.author_id) == (
            planned,
            "南昌昌北国际机场",
            user_id,
        )
        assert (
            declaration.symptoms,
            declaration.close_contact,
            declaration.acknowledged,
            declaration.stays,
        ) == ("", False, True, [])
        # Quarantine counts from the planned date until the actual one is known.
        hit = only_hit(holder, moment)
        assert (hit.rule, hit.colour, hit.since, hit.until) == (
            "overseas_entry",
            "yellow",
            planned,
            planned + timedelta(days=14),
        )
        assert hit.params["arrival_confirmed"] is False
        assert holder.colour == "yellow"
        change = db.session.scalars(
            db.select(ColourChange).order_by(ColourChange.id.desc())
        ).first()
        assert (change.before, change.after, change.actor_id, change.at) == (
            None,
            "yellow",
            user_id,
            moment,
        )  # the first code
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "preentry.register")
        )
        assert (event.actor_id, event.subject_id, event.at) == (user_id, str(holder.id), moment)
        assert json.loads(event.after) == {
            "category": "foreigner",
            "planned_arrival": planned.isoformat(),
            "destination_district": DISTRICT,
        }


def test_an_overseas_returnee_without_an_entry_port_is_still_counted_from_the_planned_date(
    app, today
):
    planned = today + timedelta(days=1)
    with app.app_context():
        pre_entry = register(category=preentry.OVERSEAS_RETURNEE, planned=planned, entry_port="")
        [declaration] = pre_entry.holder.declarations
        assert (declaration.entry_date, declaration.entry_port) == (planned, None)
        assert only_hit(pre_entry.holder).until == planned + timedelta(days=14)


def test_a_second_person_on_an_account_is_not_its_self(app, make_user, make_holder, today):
    user_id, _ = make_user()
    make_holder(user_id)  # the account's own person
    with app.app_context():
        pre_entry = register(db.session.get(User, user_id), planned=today + timedelta(days=2))
        assert pre_entry.holder.account_id == user_id and pre_entry.holder.is_self is False


def test_someone_registered_without_an_account_has_no_phone_and_no_self(app, today):
    with app.app_context():
        pre_entry = register(None, planned=today + timedelta(days=2))
        holder = pre_entry.holder
        assert (holder.account_id, holder.is_self, holder.colour) == (None, False, "yellow")
        assert holder.declarations[0].author_id is None
        assert preentry.people_without_phone(DISTRICT) == [holder]


def test_an_unknown_category_is_refused_before_anything_is_written(app, today):
    with app.app_context():
        db.session.commit()  # what came before was its own request
        with pytest.raises(ValueError, match="category"):
            register(category="tourist", planned=today + timedelta(days=2))
        db.session.rollback()
        assert count(Holder) == count(PreEntry) == count(Declaration) == count(AuditEvent) == 0


def test_a_registered_document_is_refused_and_nothing_is_written(app, today):
    with app.app_context():
        register(planned=today + timedelta(days=2))
        events = count(AuditEvent)
        db.session.commit()  # what came before was its own request
        with pytest.raises(registry.DocumentTaken):
            register(planned=today + timedelta(days=5), name="Someone Else")
        db.session.rollback()
        assert (
            count(Holder) == count(PreEntry) == count(Declaration) == 1
            and count(AuditEvent) == events
        )


def test_from_hubei_a_stay_in_the_origin_ends_on_the_planned_arrival(app, key_area_hubei, today):
    planned = today + timedelta(days=1)
    with app.app_context():
        pre_entry = register(category=preentry.HUBEI, planned=planned, origin_country="GB")
        assert (pre_entry.origin_country, pre_entry.origin_division) == (None, "4201")
        [declaration] = pre_entry.holder.declarations
        assert declaration.entry_date is None and declaration.entry_port is None
        assert [(s.place_code, s.start, s.end) for s in declaration.stays] == [
            ("4201", today, planned)
        ]
        hit = only_hit(pre_entry.holder)
        assert (hit.rule, hit.colour, hit.until) == (
            "risk_area",
            "yellow",
            planned + timedelta(days=14),
        )
        assert pre_entry.holder.colour == "yellow"


def test_from_hubei_a_planned_arrival_already_past_stays_one_day(app, key_area_hubei, today):
    planned = today - timedelta(days=2)
    with app.app_context():
        pre_entry = register(category=preentry.HUBEI, planned=planned)
        [stay] = pre_entry.holder.declarations[0].stays
        assert (stay.start, stay.end) == (planned, planned)
        assert only_hit(pre_entry.holder).until == planned + timedelta(days=14)


def test_from_hubei_with_no_key_area_the_code_stays_green(app, today):
    with app.app_context():
        pre_entry = register(category=preentry.HUBEI, planned=today + timedelta(days=1))
        assert (
            registry.colour_of(pre_entry.holder).hits == () and pre_entry.holder.colour == "green"
        )


# The actual arrival: an officer's confirmation.


def test_an_earlier_actual_arrival_moves_the_end_earlier(app, officer, today):
    # Registered three weeks ago; came 14 days early, the most an arrival may be.
    planned, arrived = today + timedelta(days=1), today - timedelta(days=13)
    moment = utcnow()
    with app.app_context():
        pre_entry = register(planned=planned, now=moment - timedelta(days=21))
        preentry.confirm_arrival(pre_entry, arrived, db.session.get(User, officer), now=moment)
        db.session.commit()  # the caller (a request, a command) commits
        pre_entry = db.session.get(PreEntry, pre_entry.id)
        assert (
            pre_entry.actual_arrival,
            pre_entry.arrival_source,
            pre_entry.arrival_confirmed_by,
        ) == (arrived, "officer", officer)
        hit = only_hit(pre_entry.holder, moment)
        assert (hit.since, hit.until, hit.params["arrival"], hit.params["arrival_confirmed"]) == (
            arrived,
            today + timedelta(days=1),
            arrived,
            True,
        )
        # The planned date is kept as it was registered.
        assert (
            pre_entry.planned_arrival == planned
            and pre_entry.holder.declarations[0].entry_date == planned
        )
        [event] = arrival_events()
        assert (event.actor_id, event.subject_id, event.at) == (
            officer,
            str(pre_entry.holder_id),
            moment,
        )
        assert json.loads(event.before) == {"actual_arrival": None, "source": None}
        assert json.loads(event.after) == {
            "actual_arrival": arrived.isoformat(),
            "source": "officer",
        }
        # Fourteen days after the actual arrival the code turns green by itself.
        tomorrow = rules.day_start(today + timedelta(days=1)) + timedelta(hours=9)
        assert registry.store_colour(pre_entry.holder, tomorrow).colour == "green"


def test_a_late_actual_arrival_moves_the_end_later(app, officer, today):
    planned = today - timedelta(days=5)
    with app.app_context():
        pre_entry = register(planned=planned, now=utcnow() - timedelta(days=6))
        assert only_hit(pre_entry.holder).until == planned + timedelta(days=14)
        preentry.confirm_arrival(pre_entry, today, db.session.get(User, officer))
        assert only_hit(pre_entry.holder).until == today + timedelta(days=14)
        # On the day the planned count would have ended, the delayed traveller is still yellow.
        planned_end = rules.day_start(planned + timedelta(days=14)) + timedelta(hours=9)
        assert registry.store_colour(pre_entry.holder, planned_end).colour == "yellow"


def test_an_arrival_long_ago_turns_the_code_green_at_once(app, officer, today):
    with app.app_context():
        pre_entry = register(planned=today, now=utcnow() - timedelta(days=21))
        assert pre_entry.holder.colour == "yellow"
        preentry.confirm_arrival(
            pre_entry, today - timedelta(days=14), db.session.get(User, officer)
        )
        db.session.commit()
        holder = db.session.get(Holder, pre_entry.holder_id)
        assert holder.colour == "green" and registry.colour_of(holder).hits == ()
        change = db.session.scalars(
            db.select(ColourChange).order_by(ColourChange.id.desc())
        ).first()
        assert (change.before, change.after, change.actor_id) == ("yellow", "green", officer)


def test_from_hubei_the_actual_arrival_moves_the_end_of_the_stay(
    app, officer, key_area_hubei, today
):
    planned = today + timedelta(days=1)
    with app.app_context():
        pre_entry = register(
            category=preentry.HUBEI, planned=planned, now=utcnow() - timedelta(days=5)
        )
        preentry.confirm_arrival(
            pre_entry, today - timedelta(days=2), db.session.get(User, officer)
        )
        hit = only_hit(pre_entry.holder)
        assert (hit.rule, hit.params["left"], hit.until) == (
            "risk_area",
            today - timedelta(days=2),
            today + timedelta(days=12),
        )
        # The stored stay is not edited; the rules read it moved.
        [stay] = pre_entry.holder.declarations[0].stays
        assert stay.end == planned


def test_a_future_arrival_is_refused_and_nothing_changes(app, officer, today):
    with app.app_context():
        pre_entry = register(planned=today + timedelta(days=2))
        db.session.commit()  # what came before was its own request
        with pytest.raises(ValueError, match="in_future"):
            preentry.confirm_arrival(
                pre_entry, today + timedelta(days=1), db.session.get(User, officer)
            )
        db.session.rollback()
        pre_entry = db.session.get(PreEntry, pre_entry.id)
        assert (pre_entry.actual_arrival, pre_entry.arrival_source) == (
            None,
            None,
        ) and arrival_events() == []
        # Today itself is not in the future.
        preentry.confirm_arrival(pre_entry, today, db.session.get(User, officer))
        assert pre_entry.actual_arrival == today


# The actual arrival: the first verification at a checkpoint.


def test_the_first_checkpoint_verification_records_the_arrival_in_the_callers_transaction(
    app, make_staff, today
):
    staff_id, _, _ = make_staff()
    moment = utcnow()
    with app.app_context():
        pre_entry = register(planned=today + timedelta(days=4))
        db.session.commit()  # the registration was its own request
        holder, staff = pre_entry.holder, db.session.get(User, staff_id)
        assert preentry.note_checkpoint_arrival(holder, moment, actor=staff) is True
        assert (pre_entry.actual_arrival, pre_entry.arrival_source) == (
            rules.local_date(moment),
            "checkpoint",
        )
        [event] = arrival_events()
        assert (event.actor_id, event.at) == (staff_id, moment)
        assert json.loads(event.after) == {
            "actual_arrival": rules.local_date(moment).isoformat(),
            "source": "checkpoint",
        }
        # No commit of its own: the verification that called it commits or rolls back both.
        db.session.rollback()
        pre_entry = db.session.get(PreEntry, pre_entry.id)
        assert pre_entry.actual_arrival is None and arrival_events() == []
        assert preentry.note_checkpoint_arrival(pre_entry.holder, moment, actor=staff) is True
        registry.store_colour(pre_entry.holder, moment)
        db.session.commit()
        assert only_hit(pre_entry.holder, moment).until == today + timedelta(days=14)


def test_the_checkpoint_arrival_is_the_shanghai_date_of_the_verification(app, today):
    # 01:00 in Shanghai is 17:00 UTC the day before: the arrival is the Shanghai day.
    moment = (rules.day_start(today) + timedelta(hours=1)).astimezone(UTC)
    assert moment.date() == today - timedelta(days=1)
    with app.app_context():
        pre_entry = register(planned=today + timedelta(days=4))
        preentry.note_checkpoint_arrival(pre_entry.holder, moment)
        assert pre_entry.actual_arrival == today


def test_later_verifications_record_no_arrival(app, officer, make_holder, today):
    plain = make_holder()
    with app.app_context():
        pre_entry = register(planned=today + timedelta(days=4))
        first = utcnow() - timedelta(days=1)
        assert preentry.note_checkpoint_arrival(pre_entry.holder, first) is True
        db.session.commit()
        assert preentry.note_checkpoint_arrival(pre_entry.holder, utcnow()) is False
        assert pre_entry.actual_arrival == rules.local_date(first) and len(arrival_events()) == 1
        # Someone with no pre-entry has no arrival to record.
        assert preentry.note_checkpoint_arrival(db.session.get(Holder, plain), utcnow()) is False
        assert len(arrival_events()) == 1


def test_an_officer_corrects_a_checkpoint_arrival_and_the_trail_keeps_both(app, officer, today):
    with app.app_context():
        pre_entry = register(planned=today + timedelta(days=4), now=utcnow() - timedelta(days=5))
        preentry.note_checkpoint_arrival(pre_entry.holder, utcnow())
        db.session.commit()
        corrected = today - timedelta(days=3)
        preentry.confirm_arrival(pre_entry, corrected, db.session.get(User, officer))
        assert (pre_entry.actual_arrival, pre_entry.arrival_source) == (corrected, "officer")
        first, second = arrival_events()
        assert json.loads(first.after)["source"] == "checkpoint"
        assert json.loads(second.before) == {
            "actual_arrival": today.isoformat(),
            "source": "checkpoint",
        }
        assert only_hit(pre_entry.holder).until == corrected + timedelta(days=14)
        # Once known, a checkpoint does not move it again.
        assert preentry.note_checkpoint_arrival(pre_entry.holder, utcnow()) is False
        assert pre_entry.actual_arrival == corrected


# The officers' lists.


@pytest.fixture
def journeys(app, officer, today):
    """Four registrations to 360102 (two arrived), one elsewhere; return their ids by name."""
    with app.app_context():
        made = {}
        for name, number, planned, district in [
            ("soon", "K0000001", today + timedelta(days=2), DISTRICT),
            ("later", "K0000002", today + timedelta(days=5), DISTRICT),
            ("arrived_first", "K0000003", today + timedelta(days=1), DISTRICT),
            ("arrived_last", "K0000004", today + timedelta(days=9), DISTRICT),
            ("elsewhere", "K0000005", today + timedelta(days=3), "360111"),
        ]:
            # Registered five days ago: two of them have arrived since.
            made[name] = register(
                planned=planned,
                district=district,
                number=number,
                name=name,
                now=utcnow() - timedelta(days=5),
            ).id
        officer_account = db.session.get(User, officer)
        preentry.confirm_arrival(
            db.session.get(PreEntry, made["arrived_first"]),
            today - timedelta(days=3),
            officer_account,
        )
        preentry.confirm_arrival(
            db.session.get(PreEntry, made["arrived_last"]),
            today - timedelta(days=1),
            officer_account,
        )
        return made


def names(page):
    return [pre_entry.holder.name for pre_entry in page.rows]


def test_the_arrivals_list_is_the_districts_in_the_order_asked(app, journeys):
    with app.app_context():
        everyone = preentry.arrivals(DISTRICT)
        assert isinstance(everyone, Page) and (everyone.number, everyone.has_next) == (1, False)
        assert names(everyone) == [
            "arrived_last",
            "later",
            "soon",
            "arrived_first",
        ]  # latest plan first
        assert names(preentry.arrivals(DISTRICT, arrived=False)) == [
            "soon",
            "later",
        ]  # soonest first
        assert names(preentry.arrivals(DISTRICT, arrived=True)) == [
            "arrived_last",
            "arrived_first",
        ]  # latest first
        assert names(preentry.arrivals("360111")) == ["elsewhere"]
        assert preentry.arrivals("360103").rows == []


def test_the_arrivals_list_pages(app, journeys, monkeypatch):
    monkeypatch.setattr(preentry, "ARRIVALS_PAGE", 3)
    with app.app_context():
        first, second = preentry.arrivals(DISTRICT, page=1), preentry.arrivals(DISTRICT, page=2)
        assert (names(first), first.number, first.has_next) == (
            ["arrived_last", "later", "soon"],
            1,
            True,
        )
        assert (names(second), second.number, second.has_next) == (["arrived_first"], 2, False)
        beyond = preentry.arrivals(DISTRICT, page=3)
        assert (beyond.rows, beyond.number, beyond.has_next) == ([], 3, False)
        # Exactly one page full: no next page.
        monkeypatch.setattr(preentry, "ARRIVALS_PAGE", 2)
        expected = preentry.arrivals(DISTRICT, arrived=False)
        assert names(expected) == ["soon", "later"] and expected.has_next is False


def test_fifty_arrivals_fill_a_page_and_the_fifty_first_starts_the_next(app, today):
    planned = today + timedelta(days=7)
    with app.app_context():
        ids = [
            register(planned=planned, number=f"K{n:07d}", name=f"P{n}").id
            for n in range(preentry.ARRIVALS_PAGE + 1)
        ]
        first = preentry.arrivals(DISTRICT, arrived=False)
        # The same planned day: registered first, listed first.
        assert [row.id for row in first.rows] == ids[:50] and first.has_next
        second = preentry.arrivals(DISTRICT, arrived=False, page=2)
        assert [row.id for row in second.rows] == ids[50:] and not second.has_next
        assert [row.id for row in preentry.arrivals(DISTRICT).rows] == list(reversed(ids))[:50]


def test_people_without_phone_are_the_districts_holders_without_an_account_newest_first(
    app, make_user, make_holder, today
):
    with_phone = make_holder(make_user()[0])
    older = make_holder(None, name="王奶奶", number=resident_id("36010219400101123"))
    newer = make_holder(None, name="王爷爷", number=resident_id("36010219380101123"))
    make_holder(None, name="外区", number=resident_id("36010219500101123"), district="360111")
    with app.app_context():
        arrival = register(None, planned=today + timedelta(days=2)).holder_id
        found = [holder.id for holder in preentry.people_without_phone(DISTRICT)]
        assert found == [arrival, newer, older] and with_phone not in found
        assert [holder.id for holder in preentry.people_without_phone(DISTRICT, limit=2)] == [
            arrival,
            newer,
        ]
        assert [holder.name for holder in preentry.people_without_phone("360111")] == ["外区"]
        assert preentry.people_without_phone("360103") == []
