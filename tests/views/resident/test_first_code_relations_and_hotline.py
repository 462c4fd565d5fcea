"""No code before a declaration, the relation of each person, only the actions that can change
the colour, and the district hotline that administrators set."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gantong.codes import paper
from gantong.entry import preentry
from gantong.extensions import db
from gantong.holders import hotlines, registry
from gantong.models import AuditEvent, ColourChange, DistrictHotline, Holder, User
from gantong.review import official_records
from tests.conftest import PASSWORD, resident_id
from tests.views.resident.test_resident_flow import identity_form, registered
from tests.views.review.test_review import DEPARTMENT

EN = {"Accept-Language": "en"}


def identity(name="王五", first17="36010219900101123"):
    return registry.Identity(
        name=name,
        doc_type="resident_id",
        doc_number=resident_id(first17),
        doc_country="",
        nationality="CN",
        district_code="360102",
        address="八一大道 1 号",
    )


# No code before a declaration


def test_saving_the_identity_issues_no_code(app, client):
    registered(client)
    client.post("/me/people/new", data=identity_form())
    page = client.get("/me/people/1", headers=EN).get_data(as_text=True)
    assert "No code yet" in page and 'id="declare-first" href="/me/people/1/declare"' in page
    assert 'class="number"' not in page and "Green code" not in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ColourChange)) == 0
        # Nothing a checkpoint could look up: its number finds no one while it has no code.
        holder = db.session.get(Holder, 1)
        assert registry.holders_by_number(registry.dynamic_number(holder)) == []
        assert not registry.has_code(db.session.get(Holder, 1))
    listing = client.get("/me/people/new")
    assert listing.status_code == 200


def test_the_first_declaration_issues_the_code_once(app, client):
    registered(client)
    client.post("/me/people/new", data=identity_form())
    client.post("/me/people/1/declare", data={"acknowledge": "y"})
    client.post("/me/people/1/declare", data={"acknowledge": "y"})
    with app.app_context():
        changes = db.session.scalars(db.select(ColourChange)).all()
        assert [(change.before, change.after) for change in changes] == [(None, "green")]
        actions = db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        assert actions.count("code.issue") == 1 and "colour.change" not in actions
    page = client.get("/me/people/1", headers=EN).get_data(as_text=True)
    assert "Green code" in page and "code created" in page


def test_a_refused_declaration_issues_no_code(app, client):
    registered(client)
    client.post("/me/people/new", data=identity_form())
    response = client.post("/me/people/1/declare", data={"acknowledge": ""})
    assert response.status_code == 200
    with app.app_context():
        assert not registry.has_code(db.session.get(Holder, 1))


def test_a_pre_entry_registrant_has_a_code_once_registered_not_before(app, make_user, today):
    user_id, _ = make_user(phone="+447911123456")
    with app.app_context():
        account = db.session.get(User, user_id)
        trip = preentry.Trip(
            category=preentry.FOREIGNER,
            planned_arrival=today + timedelta(days=2),
            destination_district="360102",
            contact_phone="+447911123456",
            origin_country="GB",
        )
        person = registry.Identity("John Smith", "passport", "K1234567", "GB", "GB", "360102", "")
        entry = preentry.register(account, person, trip)
        holder = entry.holder
        assert registry.has_code(holder)
        changes = registry.colour_history(holder)
        assert [(change.before, change.after) for change in changes] == [(None, "yellow")]


def test_a_record_an_officer_puts_in_force_gives_a_code_without_a_declaration(app, make_user):
    officer_id, _ = make_user(
        role="officer", district_code="360102", badge_number="DH-1", department=DEPARTMENT
    )
    second_id, _ = make_user(
        role="officer", district_code="360102", badge_number="DH-5", department=DEPARTMENT
    )
    with app.app_context():
        holder = registry.add_holder(None, identity())
        assert not registry.has_code(holder)
        entry = official_records.record(
            holder, db.session.get(User, officer_id), "suspected", "东卫疾控〔2020〕1号"
        )
        assert not registry.has_code(holder)  # pending: not in force yet
        official_records.approve(entry, db.session.get(User, second_id), "核实")
        assert registry.has_code(holder) and holder.colour == "red"
        assert registry.colour_history(holder)[-1].before is None


def test_an_officers_paper_registration_is_a_code_at_once(app, make_user):
    officer_id, _ = make_user(
        role="officer", district_code="360102", badge_number="DH-2", department=DEPARTMENT
    )
    with app.app_context():
        holder, _paper = paper.register_for_paper(identity(), db.session.get(User, officer_id))
        assert registry.has_code(holder)


# The relation


def test_a_family_member_is_stored_with_the_relation_chosen(app, client):
    registered(client)
    client.post("/me/people/new", data=identity_form())
    form = identity_form(
        name="张小明", doc_number=resident_id("36010220150606002"), is_self="", relation="child"
    )
    assert client.post("/me/people/new", data=form).status_code == 303
    with app.app_context():
        relations = db.session.execute(
            db.select(Holder.name, Holder.relation).order_by(Holder.id)
        ).all()
    assert [tuple(row) for row in relations] == [("张小三", "self"), ("张小明", "child")]
    client.post("/me/people/1/declare", data={"acknowledge": "y"})
    client.post("/me/people/2/declare", data={"acknowledge": "y"})
    page = client.get("/me").get_data(as_text=True)
    assert "张小三（本人）" in page and "张小明（子女）" in page and "张*" not in page


def test_an_unknown_relation_is_refused_next_to_the_field(app, client):
    registered(client)
    client.post("/me/people/new", data=identity_form())
    form = identity_form(
        name="张小明", doc_number=resident_id("36010220150606002"), is_self="", relation="boss"
    )
    response = client.post("/me/people/new", data=form, headers=EN)
    assert response.status_code == 200
    assert 'id="relation-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Holder)) == 1


# Only the actions that can change the colour


@pytest.fixture
def logged_in(client, make_user, make_holder):
    def make(**facts):
        user_id, phone = make_user()
        holder_id = make_holder(user_id, **facts)
        client.post("/login", data={"phone": phone, "password": PASSWORD})
        return holder_id

    return make


def test_a_confirmed_case_is_not_offered_a_transcoding(app, client, logged_in, make_user):
    holder_id = logged_in()
    first, _ = make_user(
        role="officer", district_code="360102", badge_number="DH-3", department=DEPARTMENT
    )
    second, _ = make_user(
        role="officer", district_code="360102", badge_number="DH-4", department=DEPARTMENT
    )
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        entry = official_records.record(
            holder, db.session.get(User, first), "confirmed", "东卫疾控〔2020〕9号"
        )
        official_records.approve(entry, db.session.get(User, second), "核实")
        assert holder.colour == "red"
    page = client.get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    assert "Red code" in page
    assert 'id="apply"' not in page and "Apply for transcoding" not in page
    # A wrong record can still be claimed against.
    assert 'id="claim"' in page


def test_a_green_code_is_offered_neither(client, logged_in):
    holder_id = logged_in()
    page = client.get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    assert "Green code" in page and 'id="apply"' not in page and 'id="claim"' not in page


def test_a_fever_is_offered_both_until_each_is_pending(app, client, logged_in):
    holder_id = logged_in(symptoms=["fever"])
    page = client.get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    assert 'id="apply"' in page and 'id="claim"' in page
    with app.app_context():
        from gantong.review import applications

        holder = db.session.get(Holder, holder_id)
        key = applications.open_hits(holder)[0].key
        applications.apply(
            holder,
            [key],
            applications.Evidence(
                grounds="other",
                test_date=None,
                institution="",
                report_number="",
                isolation_end=None,
                note="已经退烧",
            ),
            holder.account,
        )
    page = client.get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    assert 'id="apply"' not in page and 'id="claim"' in page


# The district hotline


def test_the_code_page_shows_12320_until_an_admin_sets_the_districts_hotline(
    app, client, logged_in, make_user
):
    holder_id = logged_in()
    page = client.get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    assert 'href="tel:12320">12320<' in page
    admin_id, admin_phone = make_user(role="admin")
    admin = app.test_client()
    admin.post("/login", data={"phone": admin_phone, "password": PASSWORD})
    response = admin.post("/admin/hotlines", data={"district": "360102", "phone": "0791-8620 1234"})
    assert response.status_code == 303
    page = client.get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    assert 'href="tel:079186201234">0791-8620 1234<' in page
    listing = admin.get("/admin/hotlines", headers=EN).get_data(as_text=True)
    assert "0791-8620 1234" in listing and "Donghu District" in listing
    with app.app_context():
        assert (
            db.session.scalar(db.select(AuditEvent.action).order_by(AuditEvent.seq.desc()))
            == "hotline.set"
        )
    # Empty: back to the national hotline.
    admin.post("/admin/hotlines", data={"district": "360102", "phone": ""})
    with app.app_context():
        assert hotlines.hotline("360102") == "12320"
        assert db.session.get(DistrictHotline, "360102") is None


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"district": "360102", "phone": "call us"}, "phone"),
        ({"district": "110101", "phone": "12320"}, "district"),
    ],
)
def test_a_bad_hotline_is_refused_next_to_the_field_and_nothing_saved(
    app, client, make_user, form, field
):
    _, phone = make_user(role="admin")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    response = client.post("/admin/hotlines", data=form, headers=EN)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and f'value="{form["phone"]}"' in html
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(DistrictHotline)) == 0


@pytest.mark.parametrize("role", ["resident", "officer", "staff"])
def test_only_admins_set_hotlines(client, make_user, make_point, role):
    fields = {"district_code": "360102"} if role == "officer" else {}
    if role == "staff":
        fields = {"point_id": make_point()}
    _, phone = make_user(role=role, **fields)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    assert client.get("/admin/hotlines").status_code == 403
    assert (
        client.post("/admin/hotlines", data={"district": "360102", "phone": "1"}).status_code == 403
    )
