"""Pre-entry registration, the officers' arrivals list, and arrival at the first checkpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gantong.core import rules
from gantong.entry import preentry
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import AuditEvent, Declaration, Holder, PreEntry, RiskArea, User, utcnow
from tests.conftest import PASSWORD, resident_id

EN = {"Accept-Language": "en"}


def trip_form(today, **overrides):
    form = {
        "category": "foreigner",
        "name": "John Smith",
        "doc_type": "passport",
        "doc_number": "K1234567",
        "doc_country": "GB",
        "nationality": "GB",
        "origin_country": "GB",
        "origin_division": "",
        "entry_port": "Nanchang Changbei International Airport",
        "transport_number": "mu 5043",
        "planned_arrival": (today + timedelta(days=3)).isoformat(),
        "destination": "360102",
        "contact_phone": "+44 7911 123456",
        "acknowledge": "y",
    }
    form.update(overrides)
    return form


@pytest.fixture
def traveller(client, make_user):
    """A resident account with an international number, logged in, no holder yet."""
    user_id, phone = make_user(phone="+447911123456")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return user_id


def holder_of(app, user_id) -> Holder:
    return db.session.scalar(db.select(Holder).where(Holder.account_id == user_id))


def test_an_international_number_signs_up_and_lands_on_the_journey_form(app, client):
    response = client.post(
        "/entry/register",
        data={"phone": "+1 415 555 2671", "password": PASSWORD, "confirm": PASSWORD},
        headers=EN,
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/entry/trip")
    with app.app_context():
        assert db.session.scalar(db.select(User.phone)) == "+14155552671"
    page = client.get("/entry/trip", headers=EN).get_data(as_text=True)
    assert "Foreigner entering the province" in page and "Planned arrival date" in page
    # The account's own number is the contact phone until changed.
    assert 'value="+14155552671"' in page


def test_a_taken_number_is_told_next_to_the_field(client, make_user):
    _, phone = make_user(phone="+14155552671")
    response = client.post(
        "/entry/register",
        data={"phone": "+1 415 555 2671", "password": PASSWORD, "confirm": PASSWORD},
        headers=EN,
    )
    assert response.status_code == 200
    assert "This number has an account already" in response.get_data(as_text=True)


def test_a_foreigner_registers_and_gets_a_yellow_code_that_turns_green_14_days_after_arrival(
    app, client, traveller, today
):
    response = client.post("/entry/trip", data=trip_form(today), headers=EN)
    assert response.status_code == 303
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Yellow code" in page
    planned = today + timedelta(days=3)
    green_on = planned + timedelta(days=14)
    assert f"Turns green by itself on {green_on.day} {green_on:%b} {green_on.year}" in page
    with app.app_context():
        holder = holder_of(app, traveller)
        assert holder.colour == "yellow" and holder.is_self
        # The destination district is their district until they have a residence.
        assert holder.district_code == "360102" and holder.address == ""
        assert (holder.doc_type, holder.doc_country, holder.doc_number) == (
            "passport",
            "GB",
            "K1234567",
        )
        pre_entry = db.session.scalar(db.select(PreEntry))
        assert pre_entry.category == "foreigner" and pre_entry.origin_country == "GB"
        assert pre_entry.transport_number == "MU5043" and pre_entry.contact_phone == "+447911123456"
        assert pre_entry.planned_arrival == planned and pre_entry.actual_arrival is None
        declaration = db.session.scalar(db.select(Declaration))
        assert declaration.entry_date == planned and declaration.acknowledged
        actions = list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.seq)))
        # The registration complete, the first code is issued (yellow), not changed from green.
        assert "preentry.register" in actions and actions.count("code.issue") == 1
        assert "colour.change" not in actions


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"doc_type": "resident_id", "doc_number": resident_id()},
            "doc_number",
            "Foreigners register with their passport.",
        ),
        ({"nationality": "CN"}, "nationality", "a foreigner's is not China"),
        (
            {"origin_country": ""},
            "origin_country",
            "Choose the country or region you are coming from.",
        ),
        ({"entry_port": ""}, "entry_port", "Give the port where you will enter China."),
        ({"transport_number": ""}, "transport_number", "Give your flight or train number."),
        ({"transport_number": "MU-5043!"}, "transport_number", "2 to 10 letters and digits"),
        ({"planned_arrival": "2000-01-01"}, "planned_arrival", "This date has passed."),
        ({"destination": "110101"}, "destination", "Choose the district you are going to."),
        ({"contact_phone": "12345"}, "contact_phone", "international number starting with +"),
        ({"acknowledge": ""}, "acknowledge", "You must confirm that the declaration is true."),
        (
            {"category": "hubei", "origin_division": "3601"},
            "origin_division",
            "Choose where in Hubei you are coming from.",
        ),
    ],
)
def test_a_wrong_answer_is_told_next_to_its_field_and_nothing_is_written(
    app, client, traveller, today, overrides, field, message
):
    response = client.post("/entry/trip", data=trip_form(today, **overrides), headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    assert 'value="John Smith"' in page  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Holder)) == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(PreEntry)) == 0


def test_a_registered_document_is_refused_without_saying_whose(
    app, client, traveller, today, make_holder
):
    with app.app_context():
        registry.add_holder(
            None,
            registry.Identity("Someone Else", "passport", "K1234567", "GB", "GB", "360102", "x"),
        )
    response = client.post("/entry/trip", data=trip_form(today), headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "This document is registered already" in page and "Someone Else" not in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(PreEntry)) == 0


def test_the_whole_path_is_in_english(client, today):
    start = client.get("/entry/", headers=EN).get_data(as_text=True)
    assert "Register before you arrive" in start and "+44" in start
    assert 'lang="en"' in start
    register = client.get("/entry/register", headers=EN).get_data(as_text=True)
    assert "Step 1 of 2" in register and "+country code" in register


@pytest.mark.parametrize("role", ["staff", "officer", "admin"])
def test_only_residents_register_journeys(client, make_user, make_point, role):
    fields = {"district_code": "360102"} if role == "officer" else {}
    if role == "staff":
        fields["point_id"] = make_point()
    _, phone = make_user(role=role, **fields)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    assert client.get("/entry/trip").status_code == 403


def test_the_journey_form_needs_a_login(client):
    response = client.get("/entry/trip")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def register_directly(
    app,
    user_id=None,
    category="foreigner",
    planned=None,
    district="360102",
    name="John Smith",
    number="K1234567",
    now=None,
    **trip,
):
    with app.app_context():
        account = db.session.get(User, user_id) if user_id else None
        pre_entry = preentry.register(
            account,
            registry.Identity(name, "passport", number, "GB", "GB", district, ""),
            preentry.Trip(
                category=category,
                planned_arrival=planned,
                destination_district=district,
                contact_phone="+447911123456",
                **trip,
            ),
            now=now,
        )
        return pre_entry.id, pre_entry.holder_id


@pytest.fixture
def officer(client, make_user):
    user_id, phone = make_user(
        role="officer", district_code="360102", badge_number="DH-1", department="东湖区疾控中心"
    )
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    return user_id


def test_the_destination_districts_officer_sees_the_arrival_with_its_colour(
    app, client, today, make_user
):
    user_id, _ = make_user()
    register_directly(
        app,
        user_id,
        planned=today + timedelta(days=2),
        origin_country="GB",
        entry_port="Changbei",
        transport_number="MU5043",
    )
    register_directly(
        app,
        None,
        planned=today + timedelta(days=5),
        district="360111",
        name="Jane Roe",
        number="K7654321",
        origin_country="US",
        entry_port="Changbei",
        transport_number="MU5044",
    )
    _, phone = make_user(role="officer", district_code="360102")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    page = client.get("/entry/arrivals", headers=EN).get_data(as_text=True)
    assert "John Smith" in page and "K1234567" in page  # officers see full identities
    assert "Foreigner entering the province" in page and "Yellow code" in page
    assert "United Kingdom" in page and "MU5043" in page
    assert "Jane Roe" not in page  # another district's arrival


def test_the_arrivals_list_is_for_officers_only(client, make_user):
    _, phone = make_user()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    assert client.get("/entry/arrivals").status_code == 403
    assert client.post("/entry/arrivals/1", data={}).status_code == 403


def test_an_officer_confirms_the_arrival_and_quarantine_counts_from_it(app, client, today, officer):
    pre_entry_id, holder_id = register_directly(
        app,
        planned=today + timedelta(days=1),
        origin_country="GB",
        entry_port="Changbei",
        transport_number="MU5043",
        now=utcnow() - timedelta(days=21),
    )
    arrived = today - timedelta(days=13)  # came 14 days earlier than planned: one day left
    response = client.post(
        f"/entry/arrivals/{pre_entry_id}?show=expected",
        data={f"arrival{pre_entry_id}-arrived_on": arrived.isoformat()},
        headers=EN,
    )
    assert response.status_code == 303
    with app.app_context():
        pre_entry = db.session.get(PreEntry, pre_entry_id)
        assert pre_entry.actual_arrival == arrived and pre_entry.arrival_source == "officer"
        assert pre_entry.arrival_confirmed_by == officer
        result = registry.colour_of(db.session.get(Holder, holder_id))
        assert result.turns_green_on() == arrived + timedelta(days=14)
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "preentry.arrival")
        )
        assert event.actor_id == officer
        # Fourteen days after the actual arrival the code turns green by itself.
        later = utcnow() + timedelta(days=1)
        assert registry.store_colour(db.session.get(Holder, holder_id), later).colour == "green"
    arrived_page = client.get("/entry/arrivals?show=arrived", headers=EN).get_data(as_text=True)
    assert "John Smith" in arrived_page and "Arrived" in arrived_page


def test_a_future_arrival_date_is_refused_next_to_the_field(app, client, today, officer):
    pre_entry_id, _ = register_directly(
        app,
        planned=today + timedelta(days=2),
        origin_country="GB",
        entry_port="Changbei",
        transport_number="MU5043",
    )
    response = client.post(
        f"/entry/arrivals/{pre_entry_id}",
        data={f"arrival{pre_entry_id}-arrived_on": (today + timedelta(days=1)).isoformat()},
        headers=EN,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert (
        f'id="arrival{pre_entry_id}-arrived_on-error"' in page
        and "This date is in the future." in page
    )
    with app.app_context():
        assert db.session.get(PreEntry, pre_entry_id).actual_arrival is None


def test_another_districts_officer_gets_404(app, client, today, make_user):
    pre_entry_id, _ = register_directly(
        app,
        planned=today + timedelta(days=2),
        origin_country="GB",
        entry_port="Changbei",
        transport_number="MU5043",
    )
    _, phone = make_user(role="officer", district_code="360111")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    response = client.post(
        f"/entry/arrivals/{pre_entry_id}",
        data={f"arrival{pre_entry_id}-arrived_on": today.isoformat()},
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(PreEntry, pre_entry_id).actual_arrival is None


def test_the_first_checkpoint_verification_is_the_actual_arrival(
    app, client, today, make_staff, screen_token
):
    _, holder_id = register_directly(
        app,
        planned=today + timedelta(days=4),
        origin_country="GB",
        entry_port="Changbei",
        transport_number="MU5043",
    )
    _, phone, _ = make_staff()
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    for _ in range(2):
        response = client.post("/checkpoint/verify/token", data={"token": screen_token(holder_id)})
        assert response.status_code == 303
    with app.app_context():
        pre_entry = db.session.scalar(db.select(PreEntry))
        assert pre_entry.actual_arrival == today and pre_entry.arrival_source == "checkpoint"
        holder = db.session.get(Holder, holder_id)
        assert registry.colour_of(holder).turns_green_on() == today + timedelta(days=14)
        arrivals = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "preentry.arrival")
        ).all()
        assert len(arrivals) == 1  # only the first verification


def test_from_hubei_the_key_area_counts_from_the_planned_then_the_actual_arrival(
    app, today, make_user
):
    with app.app_context():
        db.session.add(RiskArea(code="42", name="湖北省", days=14))
        db.session.commit()
    planned = today + timedelta(days=1)
    user_id, _ = make_user()
    _, holder_id = register_directly(
        app,
        user_id,
        category="hubei",
        planned=planned,
        origin_division="4201",
        entry_port="南昌西站",
        transport_number="G1234",
    )
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        result = registry.colour_of(holder)
        assert holder.colour == "yellow" and result.hits[0].rule == "risk_area"
        assert result.turns_green_on() == planned + timedelta(days=14)
        pre_entry = db.session.scalar(db.select(PreEntry))
        assert pre_entry.origin_division == "4201" and pre_entry.origin_country is None
        pre_entry.actual_arrival = today - timedelta(days=2)
        db.session.commit()
        assert registry.colour_of(holder).turns_green_on() == today + timedelta(days=12)


def test_from_hubei_with_no_key_area_there_is_no_quarantine(app, today, make_user):
    user_id, _ = make_user()
    _, holder_id = register_directly(
        app, user_id, category="hubei", planned=today + timedelta(days=1), origin_division="42"
    )
    with app.app_context():
        assert db.session.get(Holder, holder_id).colour == "green"


@pytest.mark.nodb
def test_a_later_journey_keeps_its_own_entry_date():
    """The actual arrival moves the pre-entry's date, not a later entry declared since."""
    today = rules.local_date(utcnow())
    planned, actual, later = today, today - timedelta(days=1), today + timedelta(days=30)
    first = rules.Declaration(
        id=1,
        made_at=utcnow(),
        symptoms=frozenset(),
        close_contact=False,
        contact_date=None,
        entry_date=planned,
    )
    assert rules.with_actual_arrival((first,), None, planned, actual) == ((first,), actual)
    second = rules.Declaration(
        id=2,
        made_at=utcnow(),
        symptoms=frozenset(),
        close_contact=False,
        contact_date=None,
        entry_date=later,
    )
    assert rules.with_actual_arrival((first, second), None, planned, actual)[1] is None


def test_each_arrival_form_carries_its_own_csrf_token(app, client, today, officer):
    import re

    pre_entry_id, _ = register_directly(
        app,
        planned=today + timedelta(days=2),
        origin_country="GB",
        entry_port="Changbei",
        transport_number="MU5043",
    )
    app.config["WTF_CSRF_ENABLED"] = True
    field = f"arrival{pre_entry_id}-arrived_on"
    assert (
        client.post(f"/entry/arrivals/{pre_entry_id}", data={field: today.isoformat()}).status_code
        == 400
    )
    page = client.get("/entry/arrivals").get_data(as_text=True)
    token = re.search(
        rf'name="arrival{pre_entry_id}-csrf_token" type="hidden" value="([^"]+)"', page
    ).group(1)
    response = client.post(
        f"/entry/arrivals/{pre_entry_id}",
        data={field: today.isoformat(), f"arrival{pre_entry_id}-csrf_token": token},
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(PreEntry, pre_entry_id).actual_arrival == today
