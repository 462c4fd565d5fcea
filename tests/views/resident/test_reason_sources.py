"""A reason's source names the record the fact came from and the day that record was made, not the
fact's own day: a declaration, a pre-entry registration, a checkpoint arrival, an officer's record,
a checkpoint's temperature."""

from __future__ import annotations

from datetime import timedelta

from gantong.entry import preentry
from gantong.extensions import db
from gantong.holders import registry
from gantong.models import Holder, User, utcnow
from tests.conftest import PASSWORD
from tests.views.resident.test_resident_flow import declaration_form

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def en_day(day):
    return f"{day.day} {day:%b} {day.year}"


def zh_day(day):
    return f"{day.year}年{day.month}月{day.day}日"


def test_a_declared_contact_names_the_declarations_day_not_the_contacts(
    client, make_user, make_holder, today
):
    user_id, phone = make_user()
    holder_id = make_holder(user_id)
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    contact = today - timedelta(days=7)
    response = client.post(
        f"/me/people/{holder_id}/declare",
        data=declaration_form(close_contact="y", contact_date=contact.isoformat()),
    )
    assert response.status_code == 303
    page = client.get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    assert f"Close contact with a case on {en_day(contact)}" in page
    assert f"Source: your declaration of {en_day(today)}" in page
    assert f"your declaration of {en_day(contact)}" not in page
    zh = client.get(f"/me/people/{holder_id}", headers=ZH).get_data(as_text=True)
    assert f"您{zh_day(today)}的申报" in zh
    assert f"您{zh_day(contact)}的申报" not in zh


def test_a_foreigners_checkpoint_arrival_is_not_called_their_declaration(
    app, client, make_user, today
):
    user_id, phone = make_user(phone="+447911123456")
    registered_at = utcnow() - timedelta(days=3)
    with app.app_context():
        pre_entry = preentry.register(
            db.session.get(User, user_id),
            registry.Identity("John Smith", "passport", "K1234567", "GB", "GB", "360102", ""),
            preentry.Trip(
                category="foreigner",
                planned_arrival=today - timedelta(days=1),
                destination_district="360102",
                contact_phone="+447911123456",
                origin_country="GB",
                entry_port="Changbei",
                transport_number="MU5043",
            ),
            now=registered_at,
        )
        holder = db.session.get(Holder, pre_entry.holder_id)
        preentry.note_checkpoint_arrival(holder, utcnow())
        registry.store_colour(holder)
        holder_id = holder.id
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    page = client.get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    assert f"Entered from overseas on {en_day(today)}" in page
    assert f"Source: arrival recorded at a checkpoint on {en_day(today)}" in page
    assert "your declaration" not in page
    zh = client.get(f"/me/people/{holder_id}", headers=ZH).get_data(as_text=True)
    assert "的申报" not in zh and "卡口" in zh


def test_before_arrival_the_source_is_the_registration_of_its_own_day(
    app, client, make_user, today
):
    user_id, phone = make_user(phone="+447911123456")
    registered_at = utcnow() - timedelta(days=2)
    planned = today + timedelta(days=3)
    with app.app_context():
        pre_entry = preentry.register(
            db.session.get(User, user_id),
            registry.Identity("John Smith", "passport", "K1234567", "GB", "GB", "360102", ""),
            preentry.Trip(
                category="foreigner",
                planned_arrival=planned,
                destination_district="360102",
                contact_phone="+447911123456",
                origin_country="GB",
                entry_port="Changbei",
                transport_number="MU5043",
            ),
            now=registered_at,
        )
        holder_id = pre_entry.holder_id
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    page = client.get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    registered_on = today - timedelta(days=2)
    assert (
        f"Source: your pre-entry registration of {en_day(registered_on)}, planned arrival on {en_day(planned)}"
        in page
    )


def test_an_official_close_contact_names_the_records_day(
    app, client, make_user, make_holder, today
):
    from gantong.review import official_records

    user_id, phone = make_user()
    holder_id = make_holder(user_id)
    first_id, _ = make_user(role="officer", district_code="360102", badge_number="DH-1")
    second_id, _ = make_user(role="officer", district_code="360102", badge_number="DH-2")
    contact = today - timedelta(days=5)
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        record = official_records.record(
            holder, db.session.get(User, first_id), "close_contact", "东卫疾控〔2020〕3号", contact
        )
        official_records.approve(record, db.session.get(User, second_id), "属实")
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    page = client.get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    assert f"Close contact with a case on {en_day(contact)}" in page
    assert f"Source: official record of {en_day(today)}" in page


def test_an_officers_confirmation_names_the_day_it_was_made_not_the_arrival(
    app, client, make_user, today
):
    user_id, phone = make_user(phone="+447911123456")
    officer_id, _ = make_user(role="officer", district_code="360102", badge_number="DH-1")
    with app.app_context():
        pre_entry = preentry.register(
            db.session.get(User, user_id),
            registry.Identity("John Smith", "passport", "K1234567", "GB", "GB", "360102", ""),
            preentry.Trip(
                category="foreigner",
                planned_arrival=today - timedelta(days=4),
                destination_district="360102",
                contact_phone="+447911123456",
                origin_country="GB",
                entry_port="Changbei",
                transport_number="MU5043",
            ),
            now=utcnow() - timedelta(days=10),
        )
        arrived = today - timedelta(days=5)
        preentry.confirm_arrival(pre_entry, arrived, db.session.get(User, officer_id))
        holder_id = pre_entry.holder_id
    client.post("/login", data={"phone": phone, "password": PASSWORD})
    page = client.get(f"/me/people/{holder_id}", headers=EN).get_data(as_text=True)
    assert f"Entered from overseas on {en_day(arrived)}" in page
    assert f"Source: an officer's confirmation of the arrival, {en_day(today)}" in page
    zh = client.get(f"/me/people/{holder_id}", headers=ZH).get_data(as_text=True)
    assert f"来源：{zh_day(today)}工作人员确认的抵达" in zh
