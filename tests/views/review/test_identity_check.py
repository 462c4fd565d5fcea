"""Identity squatting and its remedy, through the test client: a new account adds a stranger's
document as a "parent" and declares a close contact (the stranger is red); at the service desk an
officer checks the stranger's document in person, a second officer confirms, the code moves to
the stranger's own account, the proxy's declaration is voided and the proxy flagged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gantong.extensions import db
from gantong.holders import sms
from gantong.models import AuditEvent, ColourChange, Declaration, Holder, IdentityCheck, User
from tests.conftest import PASSWORD, resident_id

EN = {"Accept-Language": "en"}
DEPARTMENT = "东湖区疾控中心"
STRANGER_DOC = resident_id("36010219580303123")
PROXY_PHONE, STRANGER_PHONE = "13811110000", "13822220000"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SMS_BACKEND": "memory"}


def login(app, phone):
    client = app.test_client()
    response = client.post("/login", data={"phone": phone, "password": PASSWORD})
    assert response.status_code == 303
    return client


def register(app, phone):
    client = app.test_client()
    response = client.post(
        "/register", data={"phone": phone, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert response.status_code == 303
    return client


def person_form(**overrides):
    return {
        "name": "王老汉",
        "doc_type": "resident_id",
        "doc_number": STRANGER_DOC,
        "doc_country": "",
        "nationality": "CN",
        "district": "360102",
        "address": "八一大道 9 号",
        "relation": "parent",
        **overrides,
    }


def declaration_form(**overrides):
    form = {"acknowledge": "y"}
    for index in range(3):
        form.update(
            {f"stays-{index}-{name}": "" for name in ("province", "city", "county", "start", "end")}
        )
    form.update(overrides)
    return form


@pytest.fixture
def officers(make_user):
    """Officers A and B of the stranger's district (东湖区), C of another; their phones."""
    _a, phone_a = make_user(
        role="officer", district_code="360102", badge_number="DH-0301", department=DEPARTMENT
    )
    _b, phone_b = make_user(
        role="officer", district_code="360102", badge_number="DH-0307", department=DEPARTMENT
    )
    _c, phone_c = make_user(
        role="officer", district_code="360103", badge_number="XH-0401", department="西湖区疾控中心"
    )
    return {"A": phone_a, "B": phone_b, "C": phone_c}


@pytest.fixture
def squatted(app, today):
    """The proxy account adds the stranger as a parent and declares a close contact: red."""
    proxy = register(app, PROXY_PHONE)
    response = proxy.post("/me/people/new", data=person_form())
    assert response.status_code == 303
    with app.app_context():
        holder_id = db.session.scalar(db.select(Holder.id).where(Holder.doc_number == STRANGER_DOC))
    response = proxy.post(
        f"/me/people/{holder_id}/declare",
        data=declaration_form(
            close_contact="y", contact_date=(today - timedelta(days=2)).isoformat()
        ),
    )
    assert response.status_code == 303
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        assert holder.colour == "red"
        declaration_id = holder.declarations[-1].id
    return {"proxy": proxy, "holder_id": holder_id, "declaration_id": declaration_id}


def check_form(**overrides):
    return {
        "doc_type": "resident_id",
        "doc_number": STRANGER_DOC,
        "seen": "y",
        "phone": STRANGER_PHONE,
        **overrides,
    }


def record_check(client, holder_id, declaration_id, **overrides):
    response = client.post(
        f"/review/people/{holder_id}/identity",
        data={**check_form(**overrides), "void": [str(declaration_id)]},
        headers=EN,
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def state_of(app, holder_id):
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        account = db.session.get(User, holder.account_id)
        return holder.colour, account.phone


def test_the_stranger_is_told_to_go_to_a_service_desk_not_to_file_a_claim(app, squatted):
    stranger = register(app, STRANGER_PHONE)
    response = stranger.post("/me/people/new", data=person_form(relation="child"), headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "registered already" in html
    assert "service desk" in html and "checks it in person" in html
    assert "file a claim" not in html


def test_an_officer_registering_the_stranger_at_entry_is_pointed_to_the_identity_check(
    app, squatted, officers
):
    response = login(app, officers["A"]).post(
        "/entry/holders/new",
        data={
            "name": "王老汉",
            "doc_type": "resident_id",
            "doc_number": STRANGER_DOC,
            "doc_country": "",
            "nationality": "CN",
            "address": "八一大道 9 号",
        },
        headers=EN,
    )
    html = response.get_data(as_text=True)
    assert "registered already" in html and "Identity check in person" in html
    assert "handle a claim" not in html


def test_two_officers_move_the_stranger_to_their_own_account_and_the_code_turns_back(
    app, squatted, officers
):
    holder_id, declaration_id = squatted["holder_id"], squatted["declaration_id"]
    stranger = register(app, STRANGER_PHONE)
    officer_a, officer_b = login(app, officers["A"]), login(app, officers["B"])

    # The desk finds the code by the document handed over.
    found = officer_a.get(
        "/review/identity", query_string={"doc_type": "resident_id", "doc_number": STRANGER_DOC}
    )
    assert f"/review/people/{holder_id}/identity" in found.get_data(as_text=True)
    page = officer_a.get(f"/review/people/{holder_id}/identity", headers=EN).get_data(as_text=True)
    assert "declared by the account holding the code (138****0000)" in page

    check_id = record_check(officer_a, holder_id, declaration_id)
    # Recorded, nothing changed yet: one officer alone moves no code.
    assert state_of(app, holder_id) == ("red", "+86" + PROXY_PHONE)
    with app.app_context():
        check = db.session.get(IdentityCheck, check_id)
        assert (check.doc_type_seen, check.doc_number_seen, check.state) == (
            "resident_id",
            STRANGER_DOC,
            "pending",
        )
        assert db.session.get(User, check.checked_by).phone == officers["A"]

    # The officer who checked cannot confirm their own check.
    own = officer_a.post(
        f"/review/identity/{check_id}", data={"decision": "approve", "reason": "本人"}
    )
    assert own.status_code == 403
    assert state_of(app, holder_id) == ("red", "+86" + PROXY_PHONE)

    response = officer_b.post(
        f"/review/identity/{check_id}",
        data={"decision": "approve", "reason": "本人持身份证到窗口核验"},
    )
    assert response.status_code == 303
    assert state_of(app, holder_id) == ("green", "+86" + STRANGER_PHONE)
    with app.app_context():
        declaration = db.session.get(Declaration, declaration_id)
        assert declaration.voided_at is not None and declaration.void_reason
        proxy = db.session.scalar(db.select(User).where(User.phone == "+86" + PROXY_PHONE))
        assert proxy.flagged_at is not None and proxy.flag_reason == f"identity_check:{check_id}"
        holder = db.session.get(Holder, holder_id)
        assert holder.is_self and holder.relation == "self"
        change = db.session.scalars(
            db.select(ColourChange).where(ColourChange.holder_id == holder_id)
        ).all()[-1]
        assert (change.before, change.after) == ("red", "green")
        assert db.session.get(User, change.actor_id).phone == officers["B"]
        actions = set(db.session.scalars(db.select(AuditEvent.action)))
        assert {"identity.check", "identity.confirm", "declaration.void", "holder.move"} <= actions
        assert "account.flag" in actions

    # The stranger sees their code, and who declared what for them.
    assert stranger.get(f"/me/people/{holder_id}").status_code == 200
    history = stranger.get(f"/me/people/{holder_id}/history", headers=EN).get_data(as_text=True)
    assert "declared by account 138****0000" in history and "voided on" in history
    assert "own declaration" not in history

    # The proxy holds the stranger no more, and may add nobody until reviewed.
    proxy = squatted["proxy"]
    assert proxy.get(f"/me/people/{holder_id}").status_code == 404
    assert "cannot add people" in proxy.get("/me/people/new", headers=EN).get_data(as_text=True)
    again = proxy.post(
        "/me/people/new", data=person_form(doc_number=resident_id("36010219600101123")), headers=EN
    )
    assert again.status_code == 200 and "cannot add people" in again.get_data(as_text=True)

    # Officers see the flag in the person's file of a holder the proxy still has.
    page = officer_b.get(f"/review/identity/{check_id}", headers=EN).get_data(as_text=True)
    assert "flagged" in page


def test_the_checkpoint_no_code_lane_shows_the_colour_after_the_remedy(
    app, squatted, officers, make_staff
):
    _staff_id, staff_phone, _point = make_staff()
    staff = login(app, staff_phone)

    def lane():
        return staff.post(
            "/checkpoint/verify/document",
            data={"doc_number": STRANGER_DOC, "name": "王老汉"},
            headers=EN,
            follow_redirects=True,
        ).get_data(as_text=True)

    assert "Red" in lane() and "Green" not in lane()
    check_id = record_check(
        login(app, officers["A"]), squatted["holder_id"], squatted["declaration_id"]
    )
    login(app, officers["B"]).post(
        f"/review/identity/{check_id}", data={"decision": "approve", "reason": "本人核验"}
    )
    html = lane()
    assert "Green" in html and "Red" not in html


def test_a_new_account_is_opened_for_a_number_without_one_and_its_password_goes_to_it(
    app, squatted, officers
):
    check_id = record_check(
        login(app, officers["A"]),
        squatted["holder_id"],
        squatted["declaration_id"],
        phone="13833330000",
    )
    sms.outbox(app).clear()
    login(app, officers["B"]).post(
        f"/review/identity/{check_id}", data={"decision": "approve", "reason": "本人核验"}
    )
    assert state_of(app, squatted["holder_id"]) == ("green", "+8613833330000")
    with app.app_context():
        account = db.session.scalar(db.select(User).where(User.phone == "+8613833330000"))
        assert account.role == "resident" and account.must_change_password
    texts = [phone for phone, _text in sms.outbox(app)]
    assert "+8613833330000" in texts


def test_a_rejected_check_changes_nothing(app, squatted, officers):
    check_id = record_check(
        login(app, officers["A"]), squatted["holder_id"], squatted["declaration_id"]
    )
    response = login(app, officers["A"]).post(
        f"/review/identity/{check_id}", data={"decision": "reject", "reason": "证件照片不符"}
    )
    assert response.status_code == 303
    assert state_of(app, squatted["holder_id"]) == ("red", "+86" + PROXY_PHONE)
    with app.app_context():
        assert db.session.get(IdentityCheck, check_id).state == "rejected"
        assert db.session.get(Declaration, squatted["declaration_id"]).voided_at is None
    # Decided: a late confirmation does nothing.
    login(app, officers["B"]).post(
        f"/review/identity/{check_id}", data={"decision": "approve", "reason": "迟到的确认"}
    )
    assert state_of(app, squatted["holder_id"]) == ("red", "+86" + PROXY_PHONE)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"doc_number": resident_id("36010219580303124")},
            "doc_number",
            "This is not the document the code was registered with.",
        ),
        ({"seen": ""}, "seen", "Only a document checked in person moves a code."),
        ({"phone": ""}, "phone", "Enter the person's mobile number."),
    ],
)
def test_a_bad_check_is_told_next_to_its_field_and_nothing_is_written(
    app, squatted, officers, overrides, field, message
):
    response = login(app, officers["A"]).post(
        f"/review/people/{squatted['holder_id']}/identity",
        data={**check_form(**overrides), "void": [str(squatted["declaration_id"])]},
        headers=EN,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="{field}-error">{message}' in html.replace("&#39;", "'")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(IdentityCheck)) == 0


def test_a_work_accounts_number_is_refused(app, squatted, officers):
    response = login(app, officers["A"]).post(
        f"/review/people/{squatted['holder_id']}/identity",
        data=check_form(phone=officers["C"]),
        headers=EN,
    )
    assert "belongs to a work account" in response.get_data(as_text=True)


def test_another_districts_officer_gets_404_and_residents_and_staff_403(
    app, squatted, officers, make_staff
):
    holder_id = squatted["holder_id"]
    check_id = record_check(login(app, officers["A"]), holder_id, squatted["declaration_id"])
    other = login(app, officers["C"])
    assert other.get(f"/review/people/{holder_id}/identity").status_code == 404
    assert other.post(f"/review/people/{holder_id}/identity", data=check_form()).status_code == 404
    assert other.get(f"/review/identity/{check_id}").status_code == 404
    assert (
        other.post(
            f"/review/identity/{check_id}", data={"decision": "approve", "reason": "越权"}
        ).status_code
        == 404
    )
    found = other.get(
        "/review/identity", query_string={"doc_type": "resident_id", "doc_number": STRANGER_DOC}
    ).get_data(as_text=True)
    assert f"/review/people/{holder_id}/identity" not in found and "王老汉" not in found
    _staff_id, staff_phone, _point = make_staff()
    for client in (squatted["proxy"], login(app, staff_phone)):
        assert client.get("/review/identity").status_code == 403
        assert client.get(f"/review/people/{holder_id}/identity").status_code == 403
        assert (
            client.post(
                f"/review/identity/{check_id}", data={"decision": "approve", "reason": "x"}
            ).status_code
            == 403
        )
    assert state_of(app, holder_id) == ("red", "+86" + PROXY_PHONE)


def test_what_the_proxy_declares_while_the_check_waits_is_voided_too(
    app, squatted, officers, today
):
    holder_id = squatted["holder_id"]
    check_id = record_check(login(app, officers["A"]), holder_id, squatted["declaration_id"])
    response = squatted["proxy"].post(
        f"/me/people/{holder_id}/declare",
        data=declaration_form(close_contact="y", contact_date=today.isoformat()),
    )
    assert response.status_code == 303
    login(app, officers["B"]).post(
        f"/review/identity/{check_id}", data={"decision": "approve", "reason": "本人核验"}
    )
    assert state_of(app, holder_id) == ("green", "+86" + STRANGER_PHONE)
    with app.app_context():
        voided = db.session.scalars(
            db.select(Declaration.voided_at).where(Declaration.holder_id == holder_id)
        ).all()
        assert len(voided) == 2 and all(voided)
