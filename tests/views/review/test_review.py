"""The district officer's review: queue, people, decisions and official records, through the test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from gantong.extensions import db
from gantong.holders import sms
from gantong.models import (
    Application,
    AuditEvent,
    Claim,
    Clearance,
    ColourChange,
    Declaration,
    Holder,
    Notification,
    OfficialRecord,
    utcnow,
)
from gantong.review import applications, claims
from tests.conftest import PASSWORD, resident_id

EN = {"Accept-Language": "en"}
DEPARTMENT = "东湖区疾控中心"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SMS_BACKEND": "memory"}


@pytest.fixture
def officer(make_user):
    """Make an officer; the first of a district is DH-0301, then DH-0307."""

    def make(district="360102", badge="DH-0301"):
        return make_user(
            role="officer", district_code=district, badge_number=badge, department=DEPARTMENT
        )

    return make


@pytest.fixture
def login(app):
    """Return a new client logged in as the given phone number."""

    def make(phone):
        client = app.test_client()
        response = client.post("/login", data={"phone": phone, "password": PASSWORD})
        assert response.status_code == 303
        return client

    return make


@pytest.fixture
def fever(make_user, make_holder):
    """A resident who declared a fever: yellow."""
    user_id, phone = make_user()
    holder_id = make_holder(user_id, name="李小红", symptoms=["fever"])
    return {"user_id": user_id, "phone": phone, "holder_id": holder_id}


def file_application(app, holder_id, **evidence):
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        keys = [hit.key for hit in applications.open_hits(holder)]
        proof = applications.Evidence(
            **{
                "grounds": "negative_test",
                "test_date": utcnow().date(),
                "institution": "南昌大学第一附属医院",
                "report_number": "NAT-2020-0211",
                **evidence,
            }
        )
        return applications.apply(holder, keys, proof, holder.account).id


def file_claim(app, holder_id, hit_prefix=""):
    with app.app_context():
        holder = db.session.get(Holder, holder_id)
        key = next(
            (hit.key for hit in claims.open_hits(holder) if hit.key.startswith(hit_prefix)), ""
        )
        return claims.file(
            holder, key, "I had no fever", "No symptoms", "I ticked the wrong box", holder.account
        ).id


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def colour(app, holder_id):
    with app.app_context():
        return db.session.get(Holder, holder_id).colour


def error_next_to(html: str, field_id: str) -> str:
    match = re.search(
        rf'id="{field_id}"[^>]*>[^<]*</textarea>\s*<p class="error" id="{field_id}-error">([^<]+)</p>',
        html,
    ) or re.search(
        rf'id="{field_id}"[^>]*>\s*<p class="error" id="{field_id}-error">([^<]+)</p>', html
    )
    assert match, f"no error next to {field_id}"
    return match.group(1)


# Access: roles, districts, accounts.


@pytest.mark.parametrize("role", ["resident", "staff", "admin"])
@pytest.mark.parametrize(
    "path",
    [
        "/review/",
        "/review/people?q=x",
        "/review/people/1",
        "/review/applications/1",
        "/review/claims/1",
        "/review/records/1",
    ],
)
def test_only_officers_may_open_review_pages(make_user, make_point, login, role, path):
    fields = {"point_id": make_point()} if role == "staff" else {}
    _, phone = make_user(role=role, **fields)
    assert login(phone).get(path).status_code == 403


def test_review_needs_a_login(client):
    response = client.get("/review/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_officer_of_another_district_gets_404_for_the_person_and_every_request(
    app, officer, login, fever
):
    application_id = file_application(app, fever["holder_id"])
    claim_id = file_claim(app, fever["holder_id"])
    _, phone_a = officer()
    with app.app_context():
        from gantong.models import User
        from gantong.review import official_records

        holder = db.session.get(Holder, fever["holder_id"])
        record_id = official_records.record(
            holder,
            db.session.scalar(db.select(User).where(User.phone == phone_a)),
            "suspected",
            "东卫疾控〔2020〕7号",
        ).id
    _, phone = officer(district="360103", badge="XH-0101")
    other = login(phone)
    paths = [
        f"/review/people/{fever['holder_id']}",
        f"/review/applications/{application_id}",
        f"/review/claims/{claim_id}",
        f"/review/records/{record_id}",
    ]
    for path in paths:
        response = other.get(path)
        assert response.status_code == 404, path
        assert "李小红" not in response.get_data(as_text=True)
    # Posting a decision is refused the same way, and changes nothing.
    for path in paths[1:]:
        assert other.post(path, data={"decision": "reject", "reason": "no"}).status_code == 404
    assert (
        other.post(paths[0] + "/records", data={"status": "confirmed", "basis": "X"}).status_code
        == 404
    )
    with app.app_context():
        assert db.session.get(Application, application_id).status == "pending"
        assert db.session.get(Claim, claim_id).status == "pending"
        assert db.session.get(OfficialRecord, record_id).state == "pending"
    # Their own queue and search show nothing of it.
    assert "李小红" not in other.get("/review/").get_data(as_text=True)
    found = other.get("/review/people?q=李小红").get_data(as_text=True)
    assert f"/review/people/{fever['holder_id']}" not in found and resident_id() not in found


def test_the_officer_of_the_district_sees_the_full_identity(app, officer, login, fever):
    _, phone = officer()
    html = (
        login(phone).get(f"/review/people/{fever['holder_id']}", headers=EN).get_data(as_text=True)
    )
    assert "李小红" in html and resident_id() in html
    assert "Yellow code" in html and "Fever" in html


def test_search_finds_people_of_the_district_by_document_or_name(app, officer, login, fever):
    _, phone = officer()
    client = login(phone)
    html = client.get("/review/people", query_string={"q": resident_id()}).get_data(as_text=True)
    assert f"/review/people/{fever['holder_id']}" in html
    html = client.get("/review/people", query_string={"q": "李小红"}).get_data(as_text=True)
    assert f"/review/people/{fever['holder_id']}" in html


# Decisions on applications.


def test_a_rejection_without_a_reason_fails_with_a_message_and_changes_nothing(
    app, officer, login, fever
):
    application_id = file_application(app, fever["holder_id"])
    _, phone = officer()
    events = count(app, AuditEvent)
    response = login(phone).post(
        f"/review/applications/{application_id}",
        data={"decision": "reject", "reason": "  "},
        headers=EN,
    )
    assert response.status_code == 200
    assert (
        error_next_to(response.get_data(as_text=True), "reason")
        == "Give the reason for the decision."
    )
    with app.app_context():
        item = db.session.get(Application, application_id)
        assert item.status == "pending" and item.decided_by is None and item.decision_reason == ""
    assert count(app, AuditEvent) == events
    assert (
        count(app, Clearance) == 0
        and count(app, Notification, Notification.kind == "application_decided") == 0
    )
    assert colour(app, fever["holder_id"]) == "yellow"


def test_an_approval_without_a_reason_fails_too(app, officer, login, fever):
    application_id = file_application(app, fever["holder_id"])
    _, phone = officer()
    response = login(phone).post(
        f"/review/applications/{application_id}", data={"decision": "approve", "reason": ""}
    )
    assert response.status_code == 200 and 'id="reason-error"' in response.get_data(as_text=True)
    assert colour(app, fever["holder_id"]) == "yellow"


def test_an_approval_clears_the_named_hits_recomputes_audits_and_notifies(
    app, officer, login, fever
):
    application_id = file_application(app, fever["holder_id"])
    officer_id, phone = officer()
    response = login(phone).post(
        f"/review/applications/{application_id}",
        data={"decision": "approve", "reason": "核酸阴性，报告属实"},
    )
    assert response.status_code == 303
    assert colour(app, fever["holder_id"]) == "green"
    with app.app_context():
        item = db.session.get(Application, application_id)
        assert (item.status, item.decided_by, item.decision_reason) == (
            "approved",
            officer_id,
            "核酸阴性，报告属实",
        )
        cleared = db.session.scalars(db.select(Clearance)).all()
        assert [(c.hit_key, c.source, c.officer_id) for c in cleared] == [
            (item.hit_keys, f"application:{application_id}", officer_id)
        ]
        change = db.session.scalars(
            db.select(ColourChange).order_by(ColourChange.id.desc())
        ).first()
        assert (change.before, change.after, change.actor_id, change.reason) == (
            "yellow",
            "green",
            officer_id,
            "核酸阴性，报告属实",
        )
        actions = [
            e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.seq))
        ]
        assert actions[-2:] == ["application.approve", "colour.change"]
        kinds = [
            n.kind for n in db.session.scalars(db.select(Notification).order_by(Notification.id))
        ]
        # The declared fever gave a yellow first code (no change to tell); then the decision,
        # then the change it made.
        assert kinds == ["application_decided", "colour_change"]
    texts = [text for phone_to, text in sms.outbox(app) if phone_to == fever["phone"]]
    assert len(texts) == 2
    # The SMS says what happened and links to the notification, which carries the reason.
    assert (
        "第1号转码申请已通过" in texts[0]
        and "/me/notifications#n" in texts[0]
        and "绿码" in texts[1]
    )


def test_a_decided_application_cannot_be_decided_again(app, officer, login, fever):
    application_id = file_application(app, fever["holder_id"])
    _, phone = officer()
    client = login(phone)
    client.post(
        f"/review/applications/{application_id}",
        data={"decision": "reject", "reason": "报告号查无此件"},
    )
    response = client.post(
        f"/review/applications/{application_id}",
        data={"decision": "approve", "reason": "再看"},
        headers=EN,
        follow_redirects=True,
    )
    assert "This was decided already." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Application, application_id).status == "rejected"
    assert colour(app, fever["holder_id"]) == "yellow"


# The queue.


def test_the_queue_lists_pending_requests_oldest_first_filtered_and_paged(
    app, officer, login, make_user, make_holder
):
    _, phone = officer()
    now = utcnow()
    ages = {}
    for index, days in enumerate([0, 2, 5, 9]):
        user_id, _ = make_user()
        holder_id = make_holder(
            user_id,
            name=f"王{index}号",
            number=resident_id(f"3601021990010{index}123"),
            symptoms=["fever"],
        )
        ages[days] = file_application(app, holder_id)
    with app.app_context():
        for days, application_id in ages.items():
            db.session.get(Application, application_id).created_at = now - timedelta(
                days=days, hours=1
            )
        db.session.commit()
    client = login(phone)
    html = client.get("/review/", headers=EN).get_data(as_text=True)
    order = [int(n) for n in re.findall(r'/review/applications/(\d+)"', html)]
    assert order == [ages[9], ages[5], ages[2], ages[0]]
    html = client.get("/review/?age=3", headers=EN).get_data(as_text=True)
    assert [int(n) for n in re.findall(r'/review/applications/(\d+)"', html)] == [ages[9], ages[5]]
    assert "/review/applications/" not in client.get("/review/?kind=claim").get_data(as_text=True)

    # htmx asks for the list only; the page is the same URL.
    fragment = client.get(
        "/review/?kind=application", headers={"HX-Request": "true", "HX-Target": "queue-list"}
    )
    text = fragment.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="queue-list">') and "<html" not in text
    assert "HX-Request" in fragment.headers["Vary"]

    # Plain pagination links under the list.
    from gantong.review import queries

    with app.app_context():
        page = queries.pending_queue("360102", per_page=3)
        assert (page.pages, page.total) == (2, 4)
        assert [entry.item.id for entry in page.items] == [ages[9], ages[5], ages[2]]
        assert [
            entry.item.id for entry in queries.pending_queue("360102", page=2, per_page=3).items
        ] == [ages[0]]


def test_the_queue_has_plain_page_links(app, officer, login, make_user, make_holder):
    app.config["REVIEW_PAGE_SIZE"] = 1
    _, phone = officer()
    for index in range(2):
        user_id, _ = make_user()
        holder_id = make_holder(
            user_id, number=resident_id(f"3601021990010{index}123"), symptoms=["fever"]
        )
        file_application(app, holder_id)
    html = login(phone).get("/review/?kind=application", headers=EN).get_data(as_text=True)
    assert re.search(r'<a href="/review/\?kind=application&amp;page=2" rel="next">', html)
    assert "Page 1 of 2" in html


# Official records and the second officer.


def test_a_red_record_waits_for_a_second_officer_and_its_author_cannot_approve_it(
    app, officer, login, fever
):
    a_id, phone_a = officer(badge="DH-0301")
    b_id, phone_b = officer(badge="DH-0307")
    client_a = login(phone_a)
    response = client_a.post(
        f"/review/people/{fever['holder_id']}/records",
        data={"status": "confirmed", "basis": "东卫疾控〔2020〕12号"},
    )
    assert response.status_code == 303
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert colour(app, fever["holder_id"]) == "yellow"

    page = client_a.get(f"/review/records/{record_id}", headers=EN).get_data(as_text=True)
    assert 'value="approve"' not in page and "you cannot approve it" in page
    assert (
        client_a.post(
            f"/review/records/{record_id}", data={"decision": "approve", "reason": "我批准我自己"}
        ).status_code
        == 403
    )
    with app.app_context():
        assert db.session.get(OfficialRecord, record_id).state == "pending"
    assert colour(app, fever["holder_id"]) == "yellow"

    client_b = login(phone_b)
    assert 'value="approve"' in client_b.get(f"/review/records/{record_id}").get_data(as_text=True)
    response = client_b.post(
        f"/review/records/{record_id}", data={"decision": "approve", "reason": "已核对病例报告"}
    )
    assert response.status_code == 303
    assert colour(app, fever["holder_id"]) == "red"
    with app.app_context():
        entry = db.session.get(OfficialRecord, record_id)
        assert (entry.state, entry.recorded_by, entry.approved_by) == ("in_force", a_id, b_id)
        change = db.session.scalars(
            db.select(ColourChange).order_by(ColourChange.id.desc())
        ).first()
        assert (change.after, change.actor_id, change.reason) == (
            "red",
            b_id,
            "东卫疾控〔2020〕12号",
        )
        actions = [
            e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.seq))
        ]
        assert actions[-3:] == ["official.record", "official.approve", "colour.change"]
    # The holder sees who did it.
    html = (
        login(fever["phone"])
        .get(f"/me/people/{fever['holder_id']}", headers=EN)
        .get_data(as_text=True)
    )
    assert "Red code" in html and "DH-0307" in html and DEPARTMENT in html


def test_a_cleared_record_is_in_force_at_once(app, officer, login, fever):
    _, phone_a = officer(badge="DH-0301")
    _, phone_b = officer(badge="DH-0307")
    client_a = login(phone_a)
    response = client_a.post(
        f"/review/people/{fever['holder_id']}/records",
        data={"status": "suspected", "basis": "东卫疾控〔2020〕3号"},
    )
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    login(phone_b).post(
        f"/review/records/{record_id}", data={"decision": "approve", "reason": "属实"}
    )
    assert colour(app, fever["holder_id"]) == "red"
    client_a.post(
        f"/review/people/{fever['holder_id']}/records",
        data={"status": "cleared", "basis": "东卫疾控〔2020〕9号"},
    )
    assert colour(app, fever["holder_id"]) == "yellow"  # the declared fever remains


def test_a_close_contact_record_needs_its_date_and_a_basis(app, officer, login, fever):
    _, phone = officer()
    response = login(phone).post(
        f"/review/people/{fever['holder_id']}/records",
        data={"status": "close_contact", "basis": ""},
        headers=EN,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert error_next_to(html, "contact_date") == "Give the date of the contact."
    assert error_next_to(html, "basis") == "Give the case or notice number."
    assert count(app, OfficialRecord) == 0


def test_the_author_may_withdraw_a_pending_record(app, officer, login, fever):
    _, phone = officer()
    client = login(phone)
    response = client.post(
        f"/review/people/{fever['holder_id']}/records",
        data={"status": "confirmed", "basis": "东卫疾控〔2020〕12号"},
    )
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/review/records/{record_id}", data={"decision": "reject", "reason": "录错了人"})
    with app.app_context():
        assert db.session.get(OfficialRecord, record_id).state == "rejected"
    assert colour(app, fever["holder_id"]) == "yellow"


# Claims.


def test_an_accepted_claim_about_a_declaration_adds_a_correction_and_clears_the_fact(
    app, officer, login, fever
):
    claim_id = file_claim(app, fever["holder_id"], "symptoms")
    officer_id, phone = officer()
    with app.app_context():
        before = [(d.id, d.symptoms) for d in db.session.scalars(db.select(Declaration))]
    response = login(phone).post(
        f"/review/claims/{claim_id}", data={"decision": "accept", "reason": "系统误勾选"}
    )
    assert response.status_code == 303
    assert colour(app, fever["holder_id"]) == "green"
    with app.app_context():
        item = db.session.get(Claim, claim_id)
        assert item.status == "accepted" and item.correction.startswith("declaration:")
        declarations = db.session.scalars(db.select(Declaration).order_by(Declaration.id)).all()
        # The wrong declaration is untouched; the correction is a new one, by the officer.
        assert [(d.id, d.symptoms) for d in declarations[:-1]] == before
        assert declarations[-1].author_id == officer_id and declarations[-1].symptoms == ""
        assert item.correction == f"declaration:{declarations[-1].id}"
        assert db.session.scalar(db.select(Clearance.source)) == f"claim:{claim_id}"
    html = (
        login(fever["phone"])
        .get(f"/me/people/{fever['holder_id']}/history", headers=EN)
        .get_data(as_text=True)
    )
    assert "correction by" in html and "DH-0301" in html


def test_an_accepted_claim_about_an_official_record_needs_a_basis_and_writes_a_cleared_record(
    app, officer, login, fever
):
    _, phone_a = officer(badge="DH-0301")
    _, phone_b = officer(badge="DH-0307")
    response = login(phone_a).post(
        f"/review/people/{fever['holder_id']}/records",
        data={"status": "suspected", "basis": "东卫疾控〔2020〕3号"},
    )
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    client_b = login(phone_b)
    client_b.post(f"/review/records/{record_id}", data={"decision": "approve", "reason": "属实"})
    claim_id = file_claim(app, fever["holder_id"], "case:")
    response = client_b.post(
        f"/review/claims/{claim_id}", data={"decision": "accept", "reason": "查无此人"}, headers=EN
    )
    assert response.status_code == 200
    assert (
        error_next_to(response.get_data(as_text=True), "basis")
        == "Correcting an official record needs its legal basis."
    )
    assert colour(app, fever["holder_id"]) == "red"
    client_b.post(
        f"/review/claims/{claim_id}",
        data={"decision": "accept", "reason": "查无此人", "basis": "东卫疾控〔2020〕15号"},
    )
    assert colour(app, fever["holder_id"]) == "yellow"
    with app.app_context():
        cleared = db.session.scalars(
            db.select(OfficialRecord).where(OfficialRecord.status == "cleared")
        ).one()
        assert cleared.state == "in_force" and cleared.basis == "东卫疾控〔2020〕15号"
        assert db.session.get(OfficialRecord, record_id).state == "in_force"  # never edited
        assert db.session.get(Claim, claim_id).correction == f"official:{cleared.id}"


def test_a_rejected_claim_changes_no_fact(app, officer, login, fever):
    claim_id = file_claim(app, fever["holder_id"], "symptoms")
    _, phone = officer()
    login(phone).post(
        f"/review/claims/{claim_id}", data={"decision": "reject", "reason": "与就诊记录不符"}
    )
    assert colour(app, fever["holder_id"]) == "yellow"
    assert count(app, Clearance) == 0 and count(app, Declaration) == 1
    with app.app_context():
        assert db.session.get(Claim, claim_id).status == "rejected"
        latest = db.session.scalars(
            db.select(Notification).order_by(Notification.id.desc())
        ).first()
        assert latest.kind == "claim_decided"


def test_review_pages_carry_no_inline_script_or_style(app, officer, login, fever):
    application_id = file_application(app, fever["holder_id"])
    _, phone = officer()
    client = login(phone)
    for path in [
        "/review/",
        f"/review/people/{fever['holder_id']}",
        f"/review/applications/{application_id}",
        "/review/people?q=x",
    ]:
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html) and not re.search(r"\sstyle=", html), path
        assert (
            'name="csrf_token"' in html or path.startswith("/review/people?") or path == "/review/"
        ), path


def test_the_review_demo_command_files_an_application_for_the_demo_resident(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["gantong", "review", "demo"]).exit_code != 0  # needs the demo first
    assert runner.invoke(args=["gantong", "demo"]).exit_code == 0
    result = runner.invoke(args=["gantong", "review", "demo"])
    assert result.exit_code == 0 and "application 1 filed" in result.output
    assert "pending already" in runner.invoke(args=["gantong", "review", "demo"]).output
    result = runner.invoke(args=["gantong", "review", "pending", "--district", "360102"])
    assert "application  1" in result.output


def test_the_decision_page_shows_the_holders_declarations_hits_checks_and_history(
    app, officer, login, fever, make_staff, screen_token
):
    staff_id, staff_phone, _ = make_staff()
    staff = login(staff_phone)
    response = staff.post(
        "/checkpoint/verify/token",
        data={"token": screen_token(fever["holder_id"]), "method": "camera"},
    )
    assert response.status_code == 303
    application_id = file_application(app, fever["holder_id"])
    _, phone = officer()
    html = (
        login(phone)
        .get(f"/review/applications/{application_id}", headers=EN)
        .get_data(as_text=True)
    )
    for heading in ("Reasons now", "Declarations", "Checkpoint records", "Colour changes"):
        assert f"<h2>{heading}</h2>" in html
    assert "Symptoms declared: Fever" in html  # the hit
    assert "东湖站" in html  # the checkpoint record
    history = html.split("<h2>Colour changes</h2>")[1]
    assert "Yellow code" in history and "Green code" not in history  # the first code, yellow
    assert "李小红" in html and resident_id() in html


def test_an_accepted_claim_about_a_close_contact_turns_the_code_green_at_once(
    app, officer, login, make_user, make_holder, today
):
    from datetime import timedelta

    user_id, _ = make_user()
    holder_id = make_holder(
        user_id, name="王五", close_contact=True, contact_date=today - timedelta(days=2)
    )
    assert colour(app, holder_id) == "red"
    claim_id = file_claim(app, holder_id, "close_contact")
    _, phone = officer()
    response = login(phone).post(
        f"/review/claims/{claim_id}", data={"decision": "accept", "reason": "查无接触"}
    )
    assert response.status_code == 303
    # The contact never happened: no 14-day wait for a fact found to be wrong.
    assert colour(app, holder_id) == "green"
